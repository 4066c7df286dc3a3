"""What kind of point θ is, by the second-order test: the gradient and the signs of H's eigenvalues.

At a critical point (∇L(θ) = 0), L(θ + d) = L(θ) + ½ dᵀ H d + O(‖d‖³): if every eigenvalue of H
is positive, θ is a (strict) local minimum; if every one is negative, a maximum; if there are
both, a saddle, which L descends along the eigenvectors of negative eigenvalues; if the
extreme eigenvalues are ≥ 0 (or ≤ 0) with some of them zero, the test cannot decide
(degenerate: a flat valley, or a minimum of higher order). The number of negative eigenvalues
is the index of the saddle.
"""

import numpy as np

from .checks import positive_float, positive_int, rng
from .density import quadrature_nodes
from .eigen import run_lanczos
from .hessian import HessianOperator
from .lanczos import default_tol

__all__ = ["critical_point", "classify"]


def classify(grad_norm, min_eigenvalue, max_eigenvalue, grad_tol, eig_tol):
    """The kind of point: "not critical" if ‖g‖ > grad_tol; else, with eigenvalues within ±eig_tol
    counted as zero, "minimum", "maximum", "saddle" or "degenerate"."""
    if grad_norm > grad_tol:
        return "not critical"
    if min_eigenvalue > eig_tol:
        return "minimum"
    if max_eigenvalue < -eig_tol:
        return "maximum"
    if min_eigenvalue < -eig_tol and max_eigenvalue > eig_tol:
        return "saddle"
    return "degenerate"


def critical_point(loss_fn, params, grad_tol=None, eig_tol=None, exact_max=500, seed=0, steps=40, runs=4,
                   hvp="forward-over-reverse"):
    """A dict describing θ = ``params`` as a point of L = ``loss_fn()``:

    - ``loss``, ``grad_norm`` = ‖∇L(θ)‖, ``n`` (the number of parameters);
    - ``min_eigenvalue``, ``max_eigenvalue`` of H = ∇²L(θ);
    - ``negative_count``: the number of eigenvalues < −eig_tol, exact when n ≤ ``exact_max``
      (H is then formed from n Hessian-vector products and all its eigenvalues computed:
      ``negative_count_exact`` is True); otherwise λ_min and λ_max come from one Lanczos run (at
      most 120 products, a RuntimeWarning if they have not converged) and the count is estimated
      as n × the mass of the stochastic Lanczos quadrature below −eig_tol (``runs`` probes ×
      ``steps`` products);
    - ``kind``: "minimum", "maximum", "saddle", "degenerate" or "not critical" (see :func:`classify`);
    - ``grad_tol`` and ``eig_tol``, the tolerances used. By default grad_tol = ε^(1/3)·max(1, |L|)
      and eig_tol = ε^(1/3)·max|λ|, ε the machine epsilon of the parameters' dtype (6e-6 relative
      in float64, 5e-3 in float32): near, not at, a critical point (‖g‖ small but not zero) the
      eigenvalues differ from those at the point itself by about that much, so eigenvalues within
      ±eig_tol are counted as zero.

    Deterministic for a given ``seed``; ``hvp`` as in :func:`~descend.analysis.hessian_eigenvalues`;
    the parameters are only read.
    """
    who = "critical_point"
    exact_max = positive_int(exact_max, "exact_max", who, 0)
    steps, runs = positive_int(steps, "steps", who), positive_int(runs, "runs", who)
    gen = rng(seed, who)
    op = HessianOperator(loss_fn, params, who, hvp)
    eps = float(np.finfo(op.dtype).eps)
    if op.n <= exact_max:
        eigenvalues = np.linalg.eigvalsh(op.dense().astype(np.float64))
        lo, hi = float(eigenvalues[0]), float(eigenvalues[-1])
    else:
        lz, idx = run_lanczos(op, 1, "both", default_tol(op.dtype), min(op.n, 120), int(gen.integers(2**31)), who)
        theta = lz.ritz()[0]
        lo, hi = float(theta[idx[0]]), float(theta[idx[-1]])
    g = float(np.linalg.norm(op.gradient.astype(np.float64)))
    grad_tol = (eps ** (1 / 3) * max(1.0, abs(op.value)) if grad_tol is None
                else positive_float(grad_tol, "grad_tol", who, True))
    eig_tol = (eps ** (1 / 3) * max(abs(lo), abs(hi)) if eig_tol is None
               else positive_float(eig_tol, "eig_tol", who, True))
    if op.n <= exact_max:
        negative = int(np.count_nonzero(eigenvalues < -eig_tol))
    else:
        nodes, weights = quadrature_nodes(op, steps, runs, gen)
        negative = round(op.n * float(weights[nodes < -eig_tol].sum()))
        # the extreme eigenvalues are known: at least one is negative if λ_min is, at most n − 1 if λ_max is not
        negative = min(max(negative, int(lo < -eig_tol)), op.n - int(hi >= -eig_tol))
    return {"kind": classify(g, lo, hi, grad_tol, eig_tol), "loss": op.value, "grad_norm": g,
            "min_eigenvalue": lo, "max_eigenvalue": hi, "negative_count": negative,
            "negative_count_exact": op.n <= exact_max, "n": op.n, "grad_tol": grad_tol, "eig_tol": eig_tol}
