r"""Newton's method with Levenberg-Marquardt damping: θ ← θ − t (H + αI)⁻¹ g.

The notes' Newton step θ* = θ₀ − H⁻¹g jumps to the minimum of the local quadratic model
f(θ₀ + p) ≈ f(θ₀) + gᵀp + ½ pᵀHp. Each iteration here

1. forms the full Hessian H = ∇²f(θ) (n × n) column by column, Heⱼ, with n forward-over-reverse
   Hessian-vector products of the closure (:meth:`~.oracle.Oracle.hvp`), and symmetrises it;
2. solves (H + αI) p = −g by a Cholesky factorisation H + αI = LLᵀ. If the factorisation fails
   (H + αI not positive definite) the damping grows, α ← max(2α, β), β = 10⁻³·max(mean|Hᵢᵢ|, 10⁻⁸)
   (Nocedal & Wright, Algorithm 3.3), until it succeeds;
3. takes θ₊ = θ + t p with t from a line search (``line_search_fn="backtracking"``, Armijo with
   t₀ = ``lr``, the default; ``"strong_wolfe"``; or None: t = ``lr``, and a step that does not
   decrease f is rejected and retried with more damping — the trust-region form of
   Levenberg-Marquardt);
4. with ``adaptive_damping`` (default) updates α by the reduction ratio
   ρ = (f(θ₊) − f(θ)) / (t gᵀp + ½ t² pᵀHp): α × 3/2 if ρ < 1/4, α × 2/3 if ρ > 3/4
   (:func:`~.reduction_ratio.update_damping`; α below 10⁻¹²·β drops to 0, so close to the
   minimum the method becomes pure Newton and converges quadratically).

Cost: n Hessian-vector products (each a small multiple of a gradient) and one O(n³) Cholesky
per iteration, O(n²) memory. The constructor refuses more than ``max_params`` parameters
(default 2000, raise it if you mean it). Stops as L-BFGS (``tolerance_grad`` on ‖g‖_∞,
``tolerance_change`` on |Δf| and ‖t p‖_∞, ``max_iter``, ``max_eval``); α persists across steps.
"""

import math

import numpy as np

from ..hyperparameters import Flag, Hyperparameters, Integer, Number
from .base import ClosureOptimizer, Move, is_finite, line_search_settings, resolve_line_search, stopping
from .reduction_ratio import reduction_ratio, update_damping

__all__ = ["Newton", "damped_newton_direction"]


def damped_newton_direction(H, g, alpha, max_tries=60):
    """p = −(H + αI)⁻¹ g by Cholesky, growing α until H + αI is positive definite.

    Returns (p, α used, number of failed factorisations). H (n, n) symmetric, g (n,).
    """
    n = H.shape[0]
    beta = 1e-3 * max(float(np.abs(np.diag(H)).mean()) if n else 0.0, 1e-8)
    eye = np.eye(n, dtype=H.dtype)
    fails = 0
    for _ in range(max_tries):
        try:
            L = np.linalg.cholesky(H + alpha * eye)
        except np.linalg.LinAlgError:
            fails += 1
            alpha = max(2.0 * alpha, beta)
            continue
        p = np.linalg.solve(L.T, np.linalg.solve(L, -g))
        if np.isfinite(p).all():
            return p, alpha, fails
        fails += 1
        alpha = max(2.0 * alpha, beta)
    raise np.linalg.LinAlgError(f"Newton: H + αI stayed singular or indefinite up to α = {alpha:.3g}")


def fits_max_params(group, owner=None):
    """Rule: at most ``max_params`` parameter entries (the Hessian is n × n)."""
    params = group.get("params")
    if params is None:
        return
    n = sum(p.data.size for p in params)
    if n > group["max_params"]:
        mb = n * n * params[0].data.itemsize / 2 ** 20
        raise ValueError(f"Newton: the parameters have n={n} entries, above max_params={group['max_params']}. The full "
                         f"Hessian needs O(n²) memory (here {mb:.0f} MB), n Hessian-vector products and an O(n³) "
                         f"Cholesky factorisation per iteration. Pass max_params={n} (or more) to allow it, or use "
                         "HessianFree or LBFGS, which need only O(n) memory")


class Newton(ClosureOptimizer):
    """Damped Newton with Levenberg-Marquardt damping (see the module docstring). ``params``: one
    group. State: ``damping`` (α, carried across steps)."""

    hyperparameters = Hyperparameters(
        *stopping(),
        Number("damping", 0.0, low=0.0, doc="α, the initial Levenberg-Marquardt damping"),
        Flag("adaptive_damping", True, doc="update α by the reduction ratio ρ"),
        line_search_settings("backtracking", allow_none=True)[0],
        Integer("max_params", 2000, low=1, doc="refuse more parameter entries than this (O(n²) memory)"),
        rules=[fits_max_params])

    def hessian(self, oracle):
        """The full Hessian H (n, n) at the current θ: column j is H eⱼ (forward-over-reverse)."""
        n = oracle.n
        H = np.empty((n, n), dtype=oracle.flat.dtype)
        e = np.zeros(n, dtype=oracle.flat.dtype)
        for j in range(n):
            e[j] = 1
            H[:, j] = oracle.hvp(e)[0]
            e[j] = 0
        return (H + H.T) / 2

    def _start(self, run, f, g):
        run.state.setdefault("damping", run.group["damping"])

    def _direction(self, run, f, g):
        """The Hessian H (the move solves (H + αI) p = −g for the damping α it settles on)."""
        return self.hessian(run.oracle)

    def _move(self, run, f, g, H, last):
        """Solve (H + αI) p = −g, step along p (line search or fixed), judge the step by ρ and update
        α; a step that does not decrease f is retried with more damping until the budget runs out."""
        group, state, flat, oracle = run.group, run.state, run.flat, run.oracle
        search = resolve_line_search(group["line_search_fn"])
        adaptive, lr = group["adaptive_damping"], group["lr"]
        alpha = state["damping"]
        beta = 1e-3 * max(float(np.abs(np.diag(H)).mean()), 1e-8)
        x = flat.get()
        moved = False
        while oracle.func_evals < run.max_eval:
            p, alpha, _ = damped_newton_direction(H, g, alpha)
            gtp = float(g.dot(p))
            if not gtp < 0:  # p = 0 within rounding: nothing left to gain
                break
            pHp = float(p.dot(H @ p))
            if search is None:
                t = lr
                f_new, g_new = oracle.evaluate_at(x + t * p)
                ok = is_finite(f_new, g_new) and f_new < f
            else:
                res = search(oracle.directional(x, p), lr, p, f, g, gtp, run.evals_left())
                t, f_new, g_new, ok = res.t, res.f, res.g, res.t > 0
            predicted = t * gtp + 0.5 * t * t * pHp
            rho = reduction_ratio(f, f_new, predicted) if ok else -math.inf
            if adaptive and abs(predicted) > 1e-14 * max(1.0, abs(f)):  # ρ is rounding noise below that
                alpha = update_damping(alpha, rho) if alpha > 0 or rho >= 0.25 else beta
                if alpha < 1e-12 * beta:
                    alpha = 0.0
            if ok:
                moved = True
                break
            flat.set(x)
            alpha = max(alpha * 4.0, beta) if adaptive else max(2.0 * alpha, beta)  # rejected: damp harder
        state["damping"] = alpha
        if not moved:
            flat.set(x)
            return Move(0.0, outcome="max_eval" if oracle.func_evals >= run.max_eval else "no_decrease")
        step = t * p
        flat.set(x + step)
        return Move(t, f_new, g_new, step)

    def _report(self, run):
        return {"damping": run.state.get("damping", run.group["damping"])}
