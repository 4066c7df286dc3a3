r"""BFGS: quasi-Newton with a dense inverse-Hessian approximation H ≈ (∇²f)⁻¹ of shape (n, n).

Each iteration takes the quasi-Newton direction and a line search,

    d = −H g,   θ₊ = θ + t d   (t from a strong-Wolfe search, c₁ = 1e-4, c₂ = 0.9),

then, with s = θ₊ − θ = t d, y = g₊ − g and ρ = 1/(yᵀs), the BFGS update

    H₊ = (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ
       = H − ρ (s (Hy)ᵀ + (Hy) sᵀ) + (ρ² yᵀHy + ρ) s sᵀ          (O(n²) per iteration).

H₀ = I; before the first update H is rescaled to (yᵀs / yᵀy) I (Nocedal & Wright eq. 6.20), so the
first quasi-Newton step has the right length. The update keeps H positive definite only if
yᵀs > 0, which a Wolfe step guarantees; when yᵀs ≤ 0 (numerically: ≤ 1e-12·‖s‖‖y‖, e.g. after
a backtracking step) the update is **skipped**: ``state["skipped_updates"]`` counts it and a
``RuntimeWarning`` says so once per optimizer. If d is not a descent direction or the line search
finds no better point, H is reset to I and the iteration retried along −g.

The first step ever has length t = min(1, 1/‖g‖₂)·lr (SciPy's first guess); later t starts at lr.
Stops as L-BFGS: ‖g‖_∞ ≤ ``tolerance_grad``, |Δf| or ‖t d‖_∞ below ``tolerance_change``,
``max_iter`` iterations or ``max_eval`` evaluations per ``step``. Memory O(n²): meant for up to a
few thousand parameters. H and the last gradient persist across ``step`` calls.
"""

import math
import warnings

import numpy as np

from .base import ClosureOptimizer, check_number, check_stopping, first_evaluation, resolve_line_search, stop_reason

__all__ = ["BFGS"]


def bfgs_update(H, s, y):
    """H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ in place (ρ = 1/yᵀs); H of shape (n, n)."""
    rho = 1.0 / float(y.dot(s))
    Hy = H @ y
    yHy = float(y.dot(Hy))
    H -= rho * (np.outer(s, Hy) + np.outer(Hy, s))
    H += (rho * rho * yHy + rho) * np.outer(s, s)
    return H


class BFGS(ClosureOptimizer):
    """BFGS with a dense inverse Hessian (see the module docstring).

    Args: ``params`` (one group), ``lr`` = 1 (initial step of each line search),
    ``max_iter`` = 20, ``max_eval`` = 2·max_iter + 25, ``tolerance_grad`` = 1e-7,
    ``tolerance_change`` = 1e-9, ``line_search_fn`` = ``"strong_wolfe"`` (or ``"backtracking"``
    or a callable), ``c1`` = 1e-4, ``c2`` = 0.9.
    """

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9,
                 line_search_fn="strong_wolfe", c1=1e-4, c2=0.9):
        max_eval = check_stopping(lr, max_iter, max_eval, tolerance_grad, tolerance_change)
        check_number("c1", c1, low=0.0, high=1.0, low_open=True, high_open=True)
        check_number("c2", c2, low=c1, high=1.0, low_open=True, high_open=True)
        resolve_line_search(line_search_fn)
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                        tolerance_change=tolerance_change, line_search_fn=line_search_fn, c1=c1, c2=c2)
        super().__init__(params, defaults)
        self._warned = False

    def _skip(self, state, ys):
        state["skipped_updates"] = state.get("skipped_updates", 0) + 1
        if not self._warned:
            self._warned = True
            warnings.warn(f"BFGS: skipped the inverse-Hessian update because sᵀy = {ys:.3g} ≤ 0 (the curvature "
                          "condition failed, so the update would not stay positive definite); "
                          "state['skipped_updates'] counts such skips", RuntimeWarning, stacklevel=5)

    def _run(self, oracle, group, state):
        search = resolve_line_search(group["line_search_fn"], group["c1"], group["c2"])
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        flat = oracle.flat
        n = flat.n

        orig_loss, f, g, report, done = first_evaluation(oracle, tol_grad)
        if done:
            return orig_loss, report
        H = state.get("H")
        if H is None or H.shape != (n, n):
            H = np.eye(n, dtype=flat.dtype)
            state["scaled"] = False
        state.setdefault("skipped_updates", 0)

        reason, t, it = "max_iter", None, 0
        while it < max_iter:
            if oracle.func_evals >= max_eval:
                reason = "max_eval"
                break
            it += 1
            state["n_iter"] += 1
            d = -(H @ g)
            gtd = float(g.dot(d))
            if not gtd < 0:  # H lost positive definiteness numerically: restart from -g
                H[...] = np.eye(n)
                state["scaled"] = False
                d = -g
                gtd = -float(g.dot(g))
            t = min(1.0, 1.0 / math.sqrt(-gtd)) * lr if state["n_iter"] == 1 else lr
            x = flat.get()
            res = search(oracle.directional(x, d), t, d, f, g, gtd, max(max_eval - oracle.func_evals, 1))
            if res.t == 0:
                flat.set(x)
                if state.get("scaled", False):  # retry once along -g with a fresh H
                    H[...] = np.eye(n)
                    state["scaled"] = False
                    if oracle.func_evals < max_eval:
                        continue
                reason = "line_search_failed: " + res.reason
                t = 0.0
                break
            t = res.t
            flat.set(x + t * d)
            s = t * d
            y = res.g - g
            ys = float(y.dot(s))
            f_prev = f
            f, g = res.f, res.g
            if ys > 1e-12 * float(np.linalg.norm(s) * np.linalg.norm(y)):
                if not state.get("scaled", False):
                    H[...] = np.eye(n) * (ys / float(y.dot(y)))
                    state["scaled"] = True
                bfgs_update(H, s, y)
            else:
                self._skip(state, ys)
            stop = stop_reason(oracle, max_eval, it, max_iter, g, tol_grad, s, f, f_prev, tol_change)
            if stop is not None:
                reason = stop
                break
        state["H"] = H
        report.update(iterations=it, step_size=t, loss=f, reason=reason)
        return orig_loss, report
