"""Hutchinson's estimator of the Hessian's trace tr(H) = Σᵢ λᵢ.

For a random vector z with independent Rademacher entries (±1 with probability ½),
E[zᵀ H z] = Σᵢⱼ H_ij E[zᵢ zⱼ] = tr(H), and Var[zᵀ H z] = 2 Σ_{i≠j} H_ij². The mean of ``samples``
such products estimates tr(H) with standard error s/√samples (s the sample standard deviation),
so the error falls as 1/√samples: four times the products for half the error.
"""

import math

import numpy as np

from .checks import positive_int, rng
from .hessian import HessianOperator
from .progress import progress_bar

__all__ = ["hessian_trace"]


def hessian_trace(loss_fn, params, samples=100, seed=0, hvp="forward-over-reverse", progress=False):
    """(estimate, standard error) of tr(∇²L(θ)) from ``samples`` ≥ 2 Rademacher probes z,
    each costing one Hessian-vector product: the mean of zᵀ H z and s/√samples.

    Deterministic for a given ``seed``; ``hvp`` and ``progress`` as in :func:`hessian_eigenvalues`;
    the parameters are only read.
    """
    who = "hessian_trace"
    samples = positive_int(samples, "samples", who, 2)
    op = HessianOperator(loss_fn, params, who, hvp)
    gen = rng(seed, who)
    quad = np.empty(samples)
    with progress_bar(progress, samples, "Hessian trace") as op.bar:
        for s in range(samples):
            z = gen.integers(0, 2, size=op.n).astype(op.dtype) * 2 - 1
            quad[s] = float(np.dot(z.astype(np.float64), op.matvec(z).astype(np.float64)))
    return float(quad.mean()), float(quad.std(ddof=1) / math.sqrt(samples))
