r"""Nonlinear conjugate gradient: d₀ = −g₀,  dₖ₊₁ = −gₖ₊₁ + βₖ dₖ,  θₖ₊₁ = θₖ + tₖ dₖ (line search).

With y = gₖ₊₁ − gₖ, the choices of β (``beta=``):

- ``"polak-ribiere"`` (default, PR+, as SciPy's ``CG``):  β = max(0, gₖ₊₁ᵀy / gₖᵀgₖ)
  — the notes' βₜ = (gₜ − gₜ₋₁)ᵀgₜ / gₜ₋₁ᵀgₜ₋₁, clipped at 0 so it restarts itself;
- ``"fletcher-reeves"``:  β = gₖ₊₁ᵀgₖ₊₁ / gₖᵀgₖ, with **Powell's restart test**: restart when
  |gₖ₊₁ᵀgₖ| ≥ 0.2 ‖gₖ₊₁‖² (successive gradients far from orthogonal). FR's β never falls to 0 by
  itself, so without it FR can jam, taking tiny steps along a stale direction (Powell 1977,
  "Restart procedures for the conjugate gradient method", Math. Programming 12, 241–254;
  Nocedal & Wright, *Numerical Optimization*, 2nd ed., §5.2, eq. 5.52);
- ``"hestenes-stiefel"`` (HS+):  β = max(0, gₖ₊₁ᵀy / dₖᵀy);
- ``"dai-yuan"``:  β = gₖ₊₁ᵀgₖ₊₁ / dₖᵀy.

On a quadratic with an exact line search all four coincide with linear CG and reach the minimum
in at most n iterations. The direction is reset to −g (a **restart**) every ``restart``
iterations (default n, the parameter count) and whenever it loses descent: gᵀd > −0.01‖g‖²
(SciPy's sufficient-descent test), which also covers gᵀd ≥ 0.

Line search: strong Wolfe with c₁ = 1e-4 and c₂ = 0.4 (SciPy's CG setting; c₂ < ½ keeps FR
directions descent directions), first trial t = min(1, 1.01·2(f − f_prev)/gᵀd)·lr (SciPy's
guess from the last decrease; f_prev = f + ‖g‖/2 on the first iteration). Stops as L-BFGS.
The previous g and d persist across ``step`` calls.
"""

import math

import numpy as np

from ..hyperparameters import Choice, Hyperparameters, Integer
from .base import ClosureOptimizer, c1_below_c2, line_search_settings, stopping

__all__ = ["ConjugateGradient", "cg_beta", "powell_restart"]

_BETAS = ("polak-ribiere", "fletcher-reeves", "hestenes-stiefel", "dai-yuan")

#: Powell's restart threshold ν: restart Fletcher-Reeves when |gₖ₊₁ᵀgₖ| ≥ ν ‖gₖ₊₁‖²
POWELL_NU = 0.2


def powell_restart(g_new, g):
    """Powell's test: True when |gₖ₊₁ᵀgₖ| ≥ 0.2 ‖gₖ₊₁‖² (the gradients are no longer nearly orthogonal)."""
    return abs(float(g_new.dot(g))) >= POWELL_NU * float(g_new.dot(g_new))


def cg_beta(kind, g_new, g, d):
    """β for the new direction −g_new + β d (``kind`` one of the four names above)."""
    y = g_new - g
    if kind == "polak-ribiere":
        return max(0.0, float(g_new.dot(y)) / float(g.dot(g)))
    if kind == "fletcher-reeves":
        return float(g_new.dot(g_new)) / float(g.dot(g))
    dy = float(d.dot(y))
    if dy == 0:
        return 0.0
    if kind == "hestenes-stiefel":
        return max(0.0, float(g_new.dot(y)) / dy)
    return float(g_new.dot(g_new)) / dy


class ConjugateGradient(ClosureOptimizer):
    """Nonlinear conjugate gradient (see the module docstring). ``params``: one group.
    State: ``d``, ``prev_flat_grad``, ``prev_loss``, ``since_restart``, ``restarts``."""

    hyperparameters = Hyperparameters(
        *stopping()[:1],
        Choice("beta", "polak-ribiere", choices=_BETAS, doc="the formula for β"),
        Integer("restart", None, low=1, optional=True, doc="restart every this many iterations (None: n)"),
        *stopping()[1:],
        *line_search_settings("strong_wolfe", c2=0.4),
        rules=[c1_below_c2])

    def _start(self, run, f, g):
        state = run.state
        state.setdefault("restarts", 0)
        state.setdefault("since_restart", 0)
        if state.get("d") is None or state.get("prev_loss") is None:
            state["prev_loss"] = f + float(np.linalg.norm(g)) / 2   # SciPy's guess of the last decrease

    def _direction(self, run, f, g):
        """d = −g + β d_prev, or −g at a restart: every ``restart`` iterations, on Powell's test
        (Fletcher-Reeves), or when d is no sufficient descent direction (gᵀd > −0.01‖g‖²)."""
        state, group = run.state, run.group
        d, g_prev, since = state.get("d"), state.get("prev_flat_grad"), state["since_restart"]
        restart = group["restart"] or run.flat.n
        jammed = group["beta"] == "fletcher-reeves" and g_prev is not None and powell_restart(g, g_prev)
        if jammed:
            state["restarts"] += 1
        if d is not None and g_prev is not None and since < restart and not jammed:
            d = -g + cg_beta(group["beta"], g, g_prev, d) * d
            since += 1
            if float(g.dot(d)) > -0.01 * float(g.dot(g)):  # lost (sufficient) descent: restart
                state["restarts"] += 1
                d = None
        else:
            d = None
        if d is None:
            d, since = -g, 1
        state["d"], state["since_restart"] = d, since
        return d

    def _initial_step(self, run, f, g, d, gtd):
        """SciPy's guess from the last decrease: min(1, 1.01·2(f_prev − f)/(−gᵀd))·lr."""
        f_prev = run.state["prev_loss"]
        t = min(1.0, 1.01 * 2 * (f - f_prev) / gtd) if f_prev > f else 1.0
        return t * run.group["lr"] if t > 0 and math.isfinite(t) else run.group["lr"]

    def _remember(self, run, move, f_prev, g_prev):
        run.state["prev_loss"], run.state["prev_flat_grad"] = f_prev, g_prev

    def _restart(self, run):
        """A failed search along a conjugate direction: retry along −g (once)."""
        state = run.state
        if state["since_restart"] > 1:
            state["d"], state["prev_flat_grad"], state["since_restart"] = None, None, 0
            state["restarts"] += 1
            return True
        return False

    def _finish(self, run, t):
        if not t:
            run.state["d"] = None
