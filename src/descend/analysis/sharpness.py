"""How sharp a minimum is: the Hessian's top eigenvalue and Keskar et al.'s ε-sharpness (2017).

A flat minimum is one where the loss stays low in a wide neighbourhood; a sharp one rises fast
around it. Two measures: λ_max(∇²L(θ)), the curvature along the sharpest direction, and

    φ_ε(θ) = 100 · (max_{y ∈ C_ε} L(θ + y) − L(θ)) / (1 + L(θ)),
    C_ε = {y : |y_i| ≤ ε (|θ_i| + 1)},

the largest relative rise of the loss in a box whose size follows each weight's magnitude.
Keskar et al. approximate the maximum with a few L-BFGS-B iterations; here it is projected
sign-gradient ascent in the box (the box's own geometry: each step moves every coordinate by a
fixed fraction of its half-width, then clips), from a random point of the box, keeping the
highest loss seen. Any ascent finds a lower bound of the true maximum.
"""

import numpy as np

from .. import autodiff as ad
from .checks import positive_float, positive_int, rng
from .eigen import run_lanczos
from .hessian import HessianOperator, loss_value
from .lanczos import default_tol

__all__ = ["sharpness"]


def sharpness(loss_fn, params, epsilon=1e-3, steps=20, seed=0, tol=None, hvp="forward-over-reverse"):
    """{"top_eigenvalue", "epsilon_sharpness", "epsilon", "loss", "max_loss", "steps"}:
    λ_max of ∇²L(θ) (Lanczos, see :func:`hessian_eigenvalues`) and Keskar et al.'s φ_ε in percent,
    with the maximum over C_ε found by ``steps`` steps of projected sign-gradient ascent (step
    size 2/steps of each half-width, one gradient each). The parameters are moved during the
    search and restored bit for bit afterwards (also on an exception). ``hvp`` as in
    :func:`~descend.analysis.hessian_eigenvalues`.
    """
    who = "sharpness"
    epsilon = positive_float(epsilon, "epsilon", who)
    steps = positive_int(steps, "steps", who)
    gen = rng(seed, who)
    op = HessianOperator(loss_fn, params, who, hvp)
    tol = default_tol(op.dtype) if tol is None else positive_float(tol, "tol", who)
    lz, idx = run_lanczos(op, 1, "largest", tol, min(op.n, 110), seed, who)
    top = float(lz.ritz()[0][idx[0]])
    space = op.space
    theta = space.get().astype(np.float64)
    half = epsilon * (np.abs(theta) + 1)
    with space.kept():
        with ad.no_grad():
            base = loss_value(loss_fn(), who)
        y = gen.uniform(-1, 1, size=space.n) * half
        best = base
        for _ in range(steps + 1):
            space.set(theta + y)
            with ad.enable_grad():
                loss = loss_fn()
                value = loss_value(loss, who)
                grads = ad.autograd_grad(loss, space.params, allow_unused=True)
            best = max(best, value)
            y = np.clip(y + (2 / steps) * half * np.sign(space.join(grads)), -half, half)
    return {"top_eigenvalue": top, "epsilon_sharpness": 100 * (best - base) / (1 + base), "epsilon": epsilon,
            "loss": base, "max_loss": best, "steps": steps}
