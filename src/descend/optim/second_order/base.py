"""Plumbing shared by the closure-driven methods (L-BFGS, BFGS, nonlinear CG, Newton, Hessian-free).

``ClosureOptimizer`` is an :class:`~descend.optim.optimizer.Optimizer` with one parameter group,
seen as one flat vector θ ∈ ℝⁿ (:class:`~.flat.FlatParams`). ``step(closure)`` builds an
:class:`~.oracle.Oracle` from the closure, runs the subclass's ``_run(oracle, group, state)``
(up to ``max_iter`` iterations), and keeps what happened in ``state["report"]`` (also
``opt.report``), a JSON-able dict:

- ``iterations``: iterations done in this step;
- ``func_evals``: closure calls (f and ∇f) in this step; ``hvp_evals``: Hessian- or
  Gauss-Newton-vector products in this step;
- ``step_size``: the last step length t; ``loss``: f at the final θ (None if not evaluated);
- ``reason``: why the step stopped (``"tolerance_grad"``, ``"tolerance_change"``,
  ``"max_iter"``, ``"max_eval"``, ``"line_search_failed"``, ...).

As in ``torch.optim.LBFGS``, the global state lives in ``opt.state[first parameter]`` and has the
running totals ``func_evals`` and ``n_iter``; ``step`` returns the loss the closure gave at the
start of the step.
"""

import math

import numpy as np

from ...autodiff.mode import no_grad
from ..optimizer import Optimizer, check_number
from .flat import FlatParams
from .line_search import backtracking, strong_wolfe
from .oracle import Oracle

__all__ = ["ClosureOptimizer", "check_number", "check_stopping", "first_evaluation", "resolve_line_search", "stop_reason"]


def max_norm(g):
    """‖g‖_∞ (0 for an empty vector)."""
    return float(np.abs(g).max()) if g.size else 0.0


def check_stopping(lr, max_iter, max_eval, tolerance_grad, tolerance_change):
    """Validate the settings every closure method shares; returns ``max_eval`` (default 2·max_iter + 25)."""
    check_number("learning rate lr", lr, low=0.0, low_open=True)
    check_number("max_iter", max_iter, low=1, integer=True)
    if max_eval is None:
        max_eval = 2 * max_iter + 25
    check_number("max_eval", max_eval, low=1, integer=True)
    check_number("tolerance_grad", tolerance_grad, low=0.0)
    check_number("tolerance_change", tolerance_change, low=0.0)
    return max_eval


def first_evaluation(oracle, tol_grad):
    """Evaluate f and ∇f at the current θ. Returns (the closure's loss, f, g, the step's report,
    whether the step is over already: ‖g‖_∞ ≤ tolerance_grad, or f or g not finite)."""
    orig_loss, f, g = oracle.evaluate()
    report = {"iterations": 0, "step_size": None, "loss": f, "reason": "tolerance_grad"}
    if max_norm(g) <= tol_grad:
        return orig_loss, f, g, report, True
    if not is_finite(f, g):
        report["reason"] = "non_finite_loss"
        return orig_loss, f, g, report, True
    return orig_loss, f, g, report, False


def stop_reason(oracle, max_eval, it, max_iter, g, tol_grad, step, f, f_prev, tol_change):
    """Why the step ends after an iteration that moved θ by ``step`` (None: go on).

    Out of evaluations; ‖g‖_∞ ≤ tolerance_grad; or ‖Δθ‖_∞ ≤ tolerance_change or |f − f_prev| <
    tolerance_change — the tests of ``torch.optim.LBFGS``, in its order.
    """
    if oracle.func_evals >= max_eval and it < max_iter:
        return "max_eval"
    if max_norm(g) <= tol_grad:
        return "tolerance_grad"
    if max_norm(step) <= tol_change or abs(f - f_prev) < tol_change:
        return "tolerance_change"
    return None


def is_finite(f, g):
    return math.isfinite(f) and bool(np.isfinite(g).all())


class ClosureOptimizer(Optimizer):
    """Base of the methods driven by ``loss = opt.step(closure)`` over one flat parameter vector."""

    needs_closure = True

    def __init__(self, params, defaults):
        super().__init__(params, defaults)
        if len(self.param_groups) != 1:
            raise ValueError(f"{type(self).__name__} doesn't support per-parameter options (parameter groups); "
                             f"got {len(self.param_groups)} groups")
        self._params = self.param_groups[0]["params"]
        self._flat = None

    def _flat_params(self):
        params = self._params
        if self._flat is None or len(self._flat.params) != len(params) or any(
                a is not b for a, b in zip(self._flat.params, params)):
            self._flat = FlatParams(params)
        return self._flat

    def _global_state(self):
        return self.state[self._params[0]]

    @property
    def report(self):
        """What the last ``step`` did (see the module docstring), or None before the first step."""
        return self._global_state().get("report")

    def step(self, closure, **options):
        """Run up to ``max_iter`` iterations; ``closure`` zeroes grads, computes the loss, calls
        ``backward()`` and returns the loss. Returns the loss at the start of the step.
        ``options`` go to the method (HessianFree: ``curvature_closure``, ``output_fn``, ``loss_fn``)."""
        if closure is None:
            raise ValueError(f"{type(self).__name__}.step needs a closure that re-evaluates the model and returns the loss")
        oracle = Oracle(self._flat_params(), closure)
        state = self._global_state()
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        with no_grad():
            orig_loss, report = self._run(oracle, self.param_groups[0], state, **options)
        report["func_evals"] = oracle.func_evals
        report["hvp_evals"] = oracle.hvp_evals
        state["func_evals"] += oracle.func_evals
        state["report"] = report
        return orig_loss

    def state_dict(self):
        """As :meth:`Optimizer.state_dict`, with the history lists (L-BFGS pairs) copied too."""
        sd = super().state_dict()
        for entry in sd["state"].values():
            for k, v in entry.items():
                if isinstance(v, list):
                    entry[k] = [a.copy() if isinstance(a, np.ndarray) else a for a in v]
                elif isinstance(v, dict):
                    entry[k] = dict(v)
        return sd

    def load_state_dict(self, state_dict):
        """As :meth:`Optimizer.load_state_dict`; lists and arrays are copied, not shared."""
        super().load_state_dict(state_dict)
        for entry in self.state.values():
            for k, v in entry.items():
                if isinstance(v, list):
                    entry[k] = [a.copy() if isinstance(a, np.ndarray) else a for a in v]

    def _run(self, oracle, group, state, **options):  # pragma: no cover - every subclass defines it
        raise TypeError(f"{type(self).__name__} must define _run(oracle, group, state)")


def resolve_line_search(line_search_fn, c1=1e-4, c2=0.9, allow_none=False, where="line_search_fn"):
    """The line search named by ``line_search_fn`` as ``search(phi, t, d, f, g, gtd, max_ls)``.

    ``"strong_wolfe"`` (with c₁, c₂), ``"backtracking"`` (Armijo with c₁), a callable with the
    signature of :func:`~.line_search.strong_wolfe` (it gets ``max_ls=`` as a keyword and must
    return a :class:`~.line_search.LineSearchResult`), or None (only if ``allow_none``).
    """
    if line_search_fn == "strong_wolfe":
        return lambda phi, t, d, f, g, gtd, max_ls: strong_wolfe(phi, t, d, f, g, gtd, c1=c1, c2=c2, max_ls=max_ls)
    if line_search_fn == "backtracking":
        return lambda phi, t, d, f, g, gtd, max_ls: backtracking(phi, t, d, f, g, gtd, c1=c1, max_ls=max_ls)
    if line_search_fn is None and allow_none:
        return None
    if callable(line_search_fn):
        return lambda phi, t, d, f, g, gtd, max_ls: line_search_fn(phi, t, d, f, g, gtd, max_ls=max_ls)
    expected = "'strong_wolfe', 'backtracking', a callable" + (" or None" if allow_none else "")
    raise ValueError(f"{where}={line_search_fn!r}; expected {expected}")
