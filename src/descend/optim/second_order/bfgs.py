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

from ..hyperparameters import Hyperparameters
from .base import ClosureOptimizer, c1_below_c2, line_search_settings, stopping

__all__ = ["BFGS", "bfgs_update"]


def bfgs_update(H, s, y):
    """H ← (I − ρ s yᵀ) H (I − ρ y sᵀ) + ρ s sᵀ in place (ρ = 1/yᵀs); H of shape (n, n)."""
    rho = 1.0 / float(y.dot(s))
    Hy = H @ y
    yHy = float(y.dot(Hy))
    H -= rho * (np.outer(s, Hy) + np.outer(Hy, s))
    H += (rho * rho * yHy + rho) * np.outer(s, s)
    return H


class BFGS(ClosureOptimizer):
    """BFGS with a dense inverse Hessian (see the module docstring). ``params``: one group.
    State: ``H`` (n × n), ``scaled``, ``skipped_updates``."""

    hyperparameters = Hyperparameters(*stopping(), *line_search_settings("strong_wolfe"), rules=[c1_below_c2])

    def _start(self, run, f, g):
        state, n = run.state, run.flat.n
        if state.get("H") is None or state["H"].shape != (n, n):
            state["H"] = np.eye(n, dtype=run.flat.dtype)
            state["scaled"] = False
        state.setdefault("skipped_updates", 0)

    def _direction(self, run, f, g):
        """d = −H g; if H has lost positive definiteness numerically (gᵀd ≥ 0), H ← I and d = −g."""
        H = run.state["H"]
        d = -(H @ g)
        if not float(g.dot(d)) < 0:
            self._reset(run.state)
            d = -g
        return d

    def _initial_step(self, run, f, g, d, gtd):
        """SciPy's first guess min(1, 1/‖g‖₂)·lr on the very first iteration (d = −g), lr after."""
        lr = run.group["lr"]
        return min(1.0, 1.0 / math.sqrt(-gtd)) * lr if run.state["n_iter"] == 1 else lr

    def _remember(self, run, move, f_prev, g_prev):
        """The BFGS update with s = t d, y = g₊ − g (H first rescaled to (yᵀs/yᵀy) I); skipped, and
        counted, when yᵀs ≤ 1e-12 ‖s‖ ‖y‖."""
        state, s = run.state, move.step
        y = move.g - g_prev
        ys = float(y.dot(s))
        if ys > 1e-12 * float(np.linalg.norm(s) * np.linalg.norm(y)):
            if not state.get("scaled", False):
                state["H"][...] = np.eye(run.flat.n) * (ys / float(y.dot(y)))
                state["scaled"] = True
            bfgs_update(state["H"], s, y)
        else:
            state["skipped_updates"] = state.get("skipped_updates", 0) + 1
            if not getattr(self, "_warned", False):
                self._warned = True
                warnings.warn(f"BFGS: skipped the inverse-Hessian update because sᵀy = {ys:.3g} ≤ 0 (the curvature "
                              "condition failed, so the update would not stay positive definite); "
                              "state['skipped_updates'] counts such skips", RuntimeWarning, stacklevel=4)

    def _restart(self, run):
        """A failed search after H was built: H ← I and retry along −g (once)."""
        if run.state.get("scaled", False):
            self._reset(run.state)
            return True
        return False

    @staticmethod
    def _reset(state):
        state["H"][...] = np.eye(state["H"].shape[0])
        state["scaled"] = False
