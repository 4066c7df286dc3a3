r"""L-BFGS: limited-memory BFGS, step for step equal to ``torch.optim.LBFGS`` (PyTorch 2.13).

L-BFGS keeps the last m pairs sₖ = θₖ₊₁ − θₖ, yₖ = gₖ₊₁ − gₖ (ρₖ = 1/yₖᵀsₖ) and applies the
BFGS inverse-Hessian approximation Hₖ to −g without forming it (two-loop recursion):

    q = −g;  for i = newest … oldest:  αᵢ = ρᵢ sᵢᵀq,  q ← q − αᵢ yᵢ
    r = γ q,  γ = H_diag = yᵀs / yᵀy  (of the newest pair)
    for i = oldest … newest:  βᵢ = ρᵢ yᵢᵀr,  r ← r + (αᵢ − βᵢ) sᵢ
    d = r  (= −H g)

A pair is stored only if yᵀs > 1e-10 (curvature condition), the oldest dropped beyond
``history_size``. The first direction ever is d = −g with step t = min(1, 1/‖g‖₁)·lr; later
t = lr. Without a line search θ ← θ + t d; with ``line_search_fn="strong_wolfe"`` t comes from
:func:`~.line_search.strong_wolfe` (c₁ = 1e-4, c₂ = 0.9) with at most ``max_eval`` − (evaluations
so far) evaluations. One ``step`` does at most ``max_iter`` iterations and stops when
‖g‖_∞ ≤ ``tolerance_grad``, gᵀd > −``tolerance_change``, ‖t d‖_∞ ≤ ``tolerance_change``,
|f − f_prev| < ``tolerance_change`` or the evaluations reach ``max_eval``. The history, d, t,
H_diag and the previous gradient persist across ``step`` calls (state of the first parameter,
PyTorch's keys: ``d, t, old_dirs, old_stps, ro, H_diag, prev_flat_grad, prev_loss, al``).

Beyond PyTorch (only where PyTorch would produce NaN): a fixed step whose loss or gradient is
not finite is halved (re-evaluating) until it is, and a step taken without evaluation (the last
iteration of a ``step``) is halved the same way at the start of the next ``step`` if the loss
there is not finite.
"""


import numpy as np

from ..hyperparameters import Choice, Hyperparameters, Integer
from .base import ClosureOptimizer, Move, is_finite, stopping
from .line_search import strong_wolfe

__all__ = ["LBFGS"]

_MAX_HALVINGS = 60


class LBFGS(ClosureOptimizer):
    """L-BFGS with PyTorch's semantics and defaults (see the module docstring). ``params``: one
    group. State (PyTorch's keys): ``d``, ``t``, ``old_dirs``, ``old_stps``, ``ro``, ``H_diag``,
    ``prev_flat_grad``, ``prev_loss``, ``al``."""

    hyperparameters = Hyperparameters(
        *stopping(max_eval=lambda values: values["max_iter"] * 5 // 4,
                  max_eval_doc="closure calls per step() (None: max_iter·5//4)", lr_low_open=False),
        Integer("history_size", 100, low=1, doc="m, the number of (s, y) pairs kept"),
        Choice("line_search_fn", None, choices=("strong_wolfe",), optional=True,
               doc="None (fixed step t = lr) or 'strong_wolfe'"))

    def _first_evaluation(self, run):
        """f and g at θ; if the previous step ended with an unevaluated fixed step into a region where
        the loss is not finite, that step is halved first (beyond PyTorch, which would return NaN)."""
        state, flat = run.state, run.flat
        orig_loss, f, g = run.oracle.evaluate()
        unchecked = state.pop("unchecked_step", None)
        if unchecked is not None and not is_finite(f, g):
            x_prev = flat.get() - unchecked * state["d"]
            flat.set(x_prev + unchecked * state["d"] / 2)
            orig_loss, f, g, state["t"] = self._evaluate_fixed_step(run, x_prev, unchecked / 2, state["d"])
        return orig_loss, f, g

    def _evaluate_fixed_step(self, run, x, t, d):
        """Evaluate θ = x + t·d (already set); halve t while the loss or gradient is not finite."""
        oracle = run.oracle
        loss, f, g = oracle.evaluate()
        halvings = 0
        while not is_finite(f, g) and halvings < _MAX_HALVINGS:
            t = t / 2
            halvings += 1
            oracle.flat.set(x + t * d)
            loss, f, g = oracle.evaluate()
        if not is_finite(f, g):
            t = 0.0
            oracle.flat.set(x)
            loss, f, g = oracle.evaluate()
        return loss, f, g, t

    def _direction(self, run, f, g):
        """Fold the last pair (y = g − g_prev, s = t·d) into the memory, then d = −H g by the
        two-loop recursion; PyTorch's order, which also remembers a step taken without evaluation
        (the last of a ``step``) once the next ``step`` has evaluated g there. Also sets t.
        None (stop) when gᵀd > −tolerance_change."""
        state, group = run.state, run.group
        if state["n_iter"] == 1:
            d = -g
            state.update(old_dirs=[], old_stps=[], ro=[], H_diag=1)
        else:
            old_dirs, old_stps, ro = state["old_dirs"], state["old_stps"], state["ro"]
            y = g - state["prev_flat_grad"]
            s = state["d"] * state["t"]
            ys = float(y.dot(s))
            if ys > 1e-10:
                if len(old_dirs) == group["history_size"]:
                    old_dirs.pop(0)
                    old_stps.pop(0)
                    ro.pop(0)
                old_dirs.append(y)
                old_stps.append(s)
                ro.append(1.0 / ys)
                state["H_diag"] = ys / float(y.dot(y))
            if "al" not in state:
                state["al"] = [None] * group["history_size"]
            al = state["al"]
            q = -g
            for i in range(len(old_dirs) - 1, -1, -1):
                al[i] = float(old_stps[i].dot(q)) * ro[i]
                q += -al[i] * old_dirs[i]
            d = r = q * state["H_diag"]
            for i in range(len(old_dirs)):
                be_i = float(old_dirs[i].dot(r)) * ro[i]
                r += (al[i] - be_i) * old_stps[i]
        prev = state.get("prev_flat_grad")
        if prev is None:
            state["prev_flat_grad"] = g.copy()
        else:
            prev[...] = g
        state["prev_loss"] = f
        state["d"] = d
        state["t"] = (min(1.0, 1.0 / float(np.abs(g).sum())) if state["n_iter"] == 1 else 1.0) * group["lr"]
        if float(g.dot(d)) > -group["tolerance_change"]:
            return None
        return d

    def _move(self, run, f, g, d, last):
        """Strong Wolfe from t, or PyTorch's fixed step θ ← θ + t d (evaluated unless ``last``;
        halved while the loss there is not finite)."""
        state, flat, oracle = run.state, run.flat, run.oracle
        t = state["t"]
        if run.group["line_search_fn"] is not None:
            x = flat.get()
            res = strong_wolfe(oracle.directional(x, d), t, d, f, g, float(g.dot(d)),
                               max_ls=run.max_eval - oracle.func_evals)
            flat.set(x)
            flat.add(res.t, d)
            state["t"] = res.t
            return Move(res.t, res.f, res.g, d * res.t)
        if last:
            flat.add(t, d)
            state["unchecked_step"] = t
            return Move(t, f, g, d * t, evaluated=False)
        x = flat.get()
        flat.add(t, d)
        _, f_new, g_new, t = self._evaluate_fixed_step(run, x, t, d)
        state["t"] = t
        return Move(t, f_new, g_new, d * t)
