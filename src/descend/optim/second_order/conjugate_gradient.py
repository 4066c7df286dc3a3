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

from .base import ClosureOptimizer, check_number, check_stopping, first_evaluation, resolve_line_search, stop_reason

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
    """Nonlinear conjugate gradient (see the module docstring).

    Args: ``params`` (one group), ``lr`` = 1 (scales the first trial step), ``beta`` =
    ``"polak-ribiere"``, ``restart`` = None (= n) or an int, ``max_iter`` = 20, ``max_eval`` =
    2·max_iter + 1, ``tolerance_grad`` = 1e-7, ``tolerance_change`` = 1e-9, ``line_search_fn`` =
    ``"strong_wolfe"`` (or a callable with the signature of ``line_search.strong_wolfe``),
    ``c1`` = 1e-4, ``c2`` = 0.4.
    """

    def __init__(self, params, lr=1, beta="polak-ribiere", restart=None, max_iter=20, max_eval=None,
                 tolerance_grad=1e-7, tolerance_change=1e-9, line_search_fn="strong_wolfe", c1=1e-4, c2=0.4):
        max_eval = check_stopping(lr, max_iter, max_eval, tolerance_grad, tolerance_change)
        if beta not in _BETAS:
            raise ValueError(f"beta={beta!r}; expected one of {', '.join(repr(b) for b in _BETAS)}")
        if restart is not None:
            check_number("restart", restart, low=1, integer=True)
        check_number("c1", c1, low=0.0, high=1.0, low_open=True, high_open=True)
        check_number("c2", c2, low=c1, high=1.0, low_open=True, high_open=True)
        resolve_line_search(line_search_fn)
        defaults = dict(lr=lr, beta=beta, restart=restart, max_iter=max_iter, max_eval=max_eval,
                        tolerance_grad=tolerance_grad, tolerance_change=tolerance_change,
                        line_search_fn=line_search_fn, c1=c1, c2=c2)
        super().__init__(params, defaults)

    def _run(self, oracle, group, state):
        search = resolve_line_search(group["line_search_fn"], group["c1"], group["c2"])
        lr, max_iter, max_eval = group["lr"], group["max_iter"], group["max_eval"]
        tol_grad, tol_change = group["tolerance_grad"], group["tolerance_change"]
        flat = oracle.flat
        restart = group["restart"] or flat.n

        orig_loss, f, g, report, done = first_evaluation(oracle, tol_grad)
        if done:
            return orig_loss, report
        d, g_prev = state.get("d"), state.get("prev_flat_grad")
        f_prev = state.get("prev_loss")
        since = state.get("since_restart", 0)
        state.setdefault("restarts", 0)
        if d is None or f_prev is None:
            f_prev = f + float(np.linalg.norm(g)) / 2

        reason, t, it = "max_iter", None, 0
        while it < max_iter:
            if oracle.func_evals >= max_eval:
                reason = "max_eval"
                break
            it += 1
            state["n_iter"] += 1
            jammed = (group["beta"] == "fletcher-reeves" and g_prev is not None and powell_restart(g, g_prev))
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
            gtd = float(g.dot(d))
            t = min(1.0, 1.01 * 2 * (f - f_prev) / gtd) if f_prev > f else 1.0
            t = t * lr if t > 0 and math.isfinite(t) else lr
            x = flat.get()
            res = search(oracle.directional(x, d), t, d, f, g, gtd, max(max_eval - oracle.func_evals, 1))
            if res.t == 0:
                flat.set(x)
                if since > 1:  # retry once along -g
                    d, g_prev, since = None, None, 0
                    state["restarts"] += 1
                    if oracle.func_evals < max_eval:
                        continue
                reason = "line_search_failed: " + res.reason
                t = 0.0
                break
            t = res.t
            flat.set(x + t * d)
            f_prev, g_prev = f, g
            f, g = res.f, res.g
            stop = stop_reason(oracle, max_eval, it, max_iter, g, tol_grad, t * d, f, f_prev, tol_change)
            if stop is not None:
                reason = stop
                break
        state.update(d=d if t else None, prev_flat_grad=g_prev, prev_loss=f_prev, since_restart=since)
        report.update(iterations=it, step_size=t, loss=f, reason=reason)
        return orig_loss, report
