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

from .base import ClosureOptimizer, check_number, is_finite, max_norm
from .line_search import strong_wolfe

__all__ = ["LBFGS"]

_MAX_HALVINGS = 60


class LBFGS(ClosureOptimizer):
    """L-BFGS with PyTorch's semantics and defaults (see the module docstring).

    Args: ``params`` (one group), ``lr`` = 1, ``max_iter`` = 20 (iterations per ``step``),
    ``max_eval`` = max_iter·5//4, ``tolerance_grad`` = 1e-7, ``tolerance_change`` = 1e-9,
    ``history_size`` = 100, ``line_search_fn`` = None or ``"strong_wolfe"``.
    """

    def __init__(self, params, lr=1, max_iter=20, max_eval=None, tolerance_grad=1e-7, tolerance_change=1e-9,
                 history_size=100, line_search_fn=None):
        check_number("learning rate lr", lr, low=0.0)
        check_number("max_iter", max_iter, low=1, integer=True)
        if max_eval is None:
            max_eval = max_iter * 5 // 4
        check_number("max_eval", max_eval, low=1, integer=True)
        check_number("tolerance_grad", tolerance_grad, low=0.0)
        check_number("tolerance_change", tolerance_change, low=0.0)
        check_number("history_size", history_size, low=1, integer=True)
        if line_search_fn not in (None, "strong_wolfe"):
            raise ValueError(f"line_search_fn={line_search_fn!r}; expected None or 'strong_wolfe'")
        defaults = dict(lr=lr, max_iter=max_iter, max_eval=max_eval, tolerance_grad=tolerance_grad,
                        tolerance_change=tolerance_change, history_size=history_size, line_search_fn=line_search_fn)
        super().__init__(params, defaults)

    def _evaluate_fixed_step(self, oracle, x, t, d):
        """Evaluate θ = x + t·d (already set); halve t while the loss or gradient is not finite."""
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
        return loss, f, g, t, halvings

    def _run(self, oracle, group, state):
        lr = group["lr"]
        max_iter = group["max_iter"]
        max_eval = group["max_eval"]
        tolerance_grad = group["tolerance_grad"]
        tolerance_change = group["tolerance_change"]
        line_search_fn = group["line_search_fn"]
        history_size = group["history_size"]
        flat = oracle.flat

        orig_loss, loss, flat_grad = oracle.evaluate()
        unchecked = state.pop("unchecked_step", None)
        if unchecked is not None and not is_finite(loss, flat_grad):
            x_prev = flat.get() - unchecked * state["d"]
            flat.set(x_prev + unchecked * state["d"] / 2)
            orig_loss, loss, flat_grad, t_ok, _ = self._evaluate_fixed_step(oracle, x_prev, unchecked / 2, state["d"])
            state["t"] = t_ok
        current_evals = 1
        report = {"iterations": 0, "step_size": None, "loss": loss, "reason": "tolerance_grad"}
        if max_norm(flat_grad) <= tolerance_grad:
            return orig_loss, report
        if not is_finite(loss, flat_grad):
            report["reason"] = "non_finite_loss"
            return orig_loss, report

        d = state.get("d")
        t = state.get("t")
        old_dirs = state.get("old_dirs")
        old_stps = state.get("old_stps")
        ro = state.get("ro")
        H_diag = state.get("H_diag")
        prev_flat_grad = state.get("prev_flat_grad")
        prev_loss = state.get("prev_loss")

        n_iter = 0
        reason = "max_iter"
        evaluated = True
        while n_iter < max_iter:
            n_iter += 1
            state["n_iter"] += 1

            # direction d = -H g by the two-loop recursion
            if state["n_iter"] == 1:
                d = -flat_grad
                old_dirs, old_stps, ro = [], [], []
                H_diag = 1
            else:
                y = flat_grad - prev_flat_grad
                s = d * t
                ys = float(y.dot(s))
                if ys > 1e-10:
                    if len(old_dirs) == history_size:
                        old_dirs.pop(0)
                        old_stps.pop(0)
                        ro.pop(0)
                    old_dirs.append(y)
                    old_stps.append(s)
                    ro.append(1.0 / ys)
                    H_diag = ys / float(y.dot(y))
                num_old = len(old_dirs)
                if "al" not in state:
                    state["al"] = [None] * history_size
                al = state["al"]
                q = -flat_grad
                for i in range(num_old - 1, -1, -1):
                    al[i] = float(old_stps[i].dot(q)) * ro[i]
                    q += -al[i] * old_dirs[i]
                d = r = q * H_diag
                for i in range(num_old):
                    be_i = float(old_dirs[i].dot(r)) * ro[i]
                    r += (al[i] - be_i) * old_stps[i]

            if prev_flat_grad is None:
                prev_flat_grad = flat_grad.copy()
            else:
                prev_flat_grad[...] = flat_grad
            prev_loss = loss

            # step length
            if state["n_iter"] == 1:
                t = min(1.0, 1.0 / float(np.abs(flat_grad).sum())) * lr
            else:
                t = lr

            gtd = float(flat_grad.dot(d))
            if gtd > -tolerance_change:
                reason = "tolerance_change"
                break

            ls_func_evals = 0
            if line_search_fn is not None:
                x_init = flat.get()
                res = strong_wolfe(oracle.directional(x_init, d), t, d, loss, flat_grad, gtd,
                                   max_ls=max_eval - current_evals)
                loss, flat_grad, t, ls_func_evals = res.f, res.g, res.t, res.evals
                flat.set(x_init)
                flat.add(t, d)
                opt_cond = max_norm(flat_grad) <= tolerance_grad
            else:
                x_prev = flat.get() if n_iter != max_iter else None
                flat.add(t, d)
                if n_iter != max_iter:
                    ev_before = oracle.func_evals
                    _, loss, flat_grad, t, _ = self._evaluate_fixed_step(oracle, x_prev, t, d)
                    opt_cond = max_norm(flat_grad) <= tolerance_grad
                    ls_func_evals = oracle.func_evals - ev_before
                else:
                    evaluated = False

            current_evals += ls_func_evals

            if n_iter == max_iter:
                reason = "max_iter"
                break
            if current_evals >= max_eval:
                reason = "max_eval"
                break
            if opt_cond:
                reason = "tolerance_grad"
                break
            if max_norm(d * t) <= tolerance_change:
                reason = "tolerance_change"
                break
            if abs(loss - prev_loss) < tolerance_change:
                reason = "tolerance_change"
                break

        state["d"] = d
        state["t"] = t
        state["old_dirs"] = old_dirs
        state["old_stps"] = old_stps
        state["ro"] = ro
        state["H_diag"] = H_diag
        state["prev_flat_grad"] = prev_flat_grad
        state["prev_loss"] = prev_loss
        if not evaluated:
            state["unchecked_step"] = t
        report.update(iterations=n_iter, step_size=float(t) if t is not None else None,
                      loss=loss if evaluated else None, reason=reason)
        return orig_loss, report
