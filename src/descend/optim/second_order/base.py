"""The one iteration loop of the closure-driven methods (L-BFGS, BFGS, nonlinear CG, Newton, Hessian-free).

``ClosureOptimizer`` is an :class:`~descend.optim.optimizer.Optimizer` with one parameter group,
seen as one flat vector θ ∈ ℝⁿ (:class:`~.flat.FlatParams`). ``step(closure)`` builds an
:class:`~.oracle.Oracle` from the closure and runs the loop below; a method supplies only its
search direction and its memory::

    f, g = f(θ), ∇f(θ)                          (stop at once if ‖g‖_∞ ≤ tolerance_grad)
    repeat up to max_iter times:
        d = direction(f, g)                     method: −H g, −g + β d, the two-loop recursion, ...
        move θ along d: θ ← θ + t d             default: a line search from the method's first t;
                                                Newton and Hessian-free: their damped model steps
        remember(s = t d, y = g₊ − g)           method: BFGS's H update, CG's previous g and d
        stop on ‖g‖_∞ ≤ tolerance_grad, ‖t d‖_∞ ≤ tolerance_change, |Δf| < tolerance_change
                or max_eval closure calls

A move may also be *rejected* (θ unchanged; the next iteration tries again, e.g. with more
damping) or *fail* (the step ends, saying why). What happened is kept in ``state["report"]``
(also ``opt.report``), a JSON-able dict:

- ``iterations``: iterations done in this step;
- ``func_evals``: closure calls (f and ∇f) in this step; ``hvp_evals``: Hessian- or
  Gauss-Newton-vector products in this step;
- ``step_size``: the last step length t (0 if the last iteration did not move); ``loss``: f at the
  final θ (None if not evaluated);
- ``reason``: why the step stopped (``"tolerance_grad"``, ``"tolerance_change"``, ``"max_iter"``,
  ``"max_eval"``, ``"line_search_failed: ..."``, ``"no_decrease"``, ``"non_finite_loss"``).

As in ``torch.optim.LBFGS``, the global state lives in ``opt.state[first parameter]`` and has the
running totals ``func_evals`` and ``n_iter``; ``step`` returns the loss the closure gave at the
start of the step.
"""

import math
from typing import NamedTuple

import numpy as np

from ...autodiff.mode import no_grad
from ..hyperparameters import Choice, Integer, Number
from ..optimizer import Optimizer, own_step_path
from .flat import FlatParams
from .line_search import backtracking, strong_wolfe
from .oracle import Oracle

__all__ = ["ClosureOptimizer", "Move", "Run", "stopping", "line_search_settings", "resolve_line_search",
           "stop_reason", "max_norm", "is_finite"]


def max_norm(g):
    """‖g‖_∞ (0 for an empty vector)."""
    return float(np.abs(g).max()) if g.size else 0.0


def is_finite(f, g):
    """Whether the loss f and every entry of the gradient g are finite."""
    return math.isfinite(f) and bool(np.isfinite(g).all())


def stopping(lr=1, max_iter=20, max_eval=lambda values: 2 * values["max_iter"] + 25,
             max_eval_doc="closure calls per step() (None: 2·max_iter + 25)", lr_low_open=True):
    """The declarations every closure method shares: ``lr``, ``max_iter``, ``max_eval`` (None →
    derived from ``max_iter``), ``tolerance_grad`` and ``tolerance_change``."""
    return (Number("lr", lr, low=0.0, low_open=lr_low_open, label="learning rate lr",
                   doc="the first trial step length (scaled)"),
            Integer("max_iter", max_iter, low=1, doc="iterations per step()"),
            Integer("max_eval", None, low=1, derive=max_eval, doc=max_eval_doc),
            Number("tolerance_grad", 1e-7, low=0.0, doc="stop when ‖g‖_∞ ≤ it"),
            Number("tolerance_change", 1e-9, low=0.0, doc="stop when |Δf| or ‖Δθ‖_∞ is below it"))


def line_search_settings(default, c2=0.9, allow_none=False):
    """The declarations of a method with a line search: ``line_search_fn``, ``c1``, ``c2``."""
    return (Choice("line_search_fn", default, choices=("strong_wolfe", "backtracking"), callable_ok=True,
                   optional=allow_none, doc="how the step length t is found"),
            Number("c1", 1e-4, low=0.0, high=1.0, low_open=True, high_open=True, doc="Armijo constant"),
            Number("c2", c2, low=0.0, high=1.0, low_open=True, high_open=True, doc="curvature constant"))


def c1_below_c2(group, owner=None):
    """Rule: 0 < c₁ < c₂ < 1."""
    if not group["c1"] < group["c2"]:
        raise ValueError(f"Invalid c2={group['c2']!r}{' for ' + owner if owner else ''}: expected c1 < c2 < 1 "
                         f"(c1={group['c1']!r})")


def stop_reason(oracle, max_eval, it, max_iter, g, tol_grad, step, f, f_prev, tol_change):
    """Why the step ends after an iteration that moved θ by ``step`` (None: go on).

    ‖g‖_∞ ≤ tolerance_grad; ‖Δθ‖_∞ ≤ tolerance_change or |f − f_prev| < tolerance_change (the
    tests of ``torch.optim.LBFGS``); or out of closure calls."""
    if max_norm(g) <= tol_grad:
        return "tolerance_grad"
    if max_norm(step) <= tol_change or abs(f - f_prev) < tol_change:
        return "tolerance_change"
    if oracle.func_evals >= max_eval and it < max_iter:
        return "max_eval"
    return None


def resolve_line_search(line_search_fn, c1=1e-4, c2=0.9):
    """The line search named by ``line_search_fn`` as ``search(phi, t, d, f, g, gtd, max_ls)``.

    ``"strong_wolfe"`` (with c₁, c₂), ``"backtracking"`` (Armijo with c₁), a callable with the
    signature of :func:`~.line_search.strong_wolfe` (it gets ``max_ls=`` as a keyword and must
    return a :class:`~.line_search.LineSearchResult`), or None (no search: None is returned).
    """
    if line_search_fn == "strong_wolfe":
        return lambda phi, t, d, f, g, gtd, max_ls: strong_wolfe(phi, t, d, f, g, gtd, c1=c1, c2=c2, max_ls=max_ls)
    if line_search_fn == "backtracking":
        return lambda phi, t, d, f, g, gtd, max_ls: backtracking(phi, t, d, f, g, gtd, c1=c1, max_ls=max_ls)
    if line_search_fn is None:
        return None
    return lambda phi, t, d, f, g, gtd, max_ls: line_search_fn(phi, t, d, f, g, gtd, max_ls=max_ls)


class Move(NamedTuple):
    """What one iteration's move did. ``outcome``: ``"moved"`` (θ moved by ``step`` = t·d to where
    f and g were evaluated; ``evaluated=False``: not evaluated there, f and g are stale),
    ``"rejected"`` (θ unchanged; the next iteration tries again) or the reason the step ends
    (θ unchanged)."""

    t: float
    f: float = None
    g: np.ndarray = None
    step: np.ndarray = None
    evaluated: bool = True
    outcome: str = "moved"


class Run:
    """One ``step``: the ``oracle``, the group's settings ``group``, the method's ``state`` (its
    memory, kept across steps), the step's ``options`` and ``flat`` (the parameters as a vector);
    methods may keep what one iteration passes from ``direction`` to ``move`` on it."""

    def __init__(self, oracle, group, state, options):
        self.oracle = oracle
        self.group = group
        self.state = state
        self.options = options
        self.flat = oracle.flat
        self.max_eval = group["max_eval"]

    def evals_left(self):
        """Closure calls left in this step's budget (at least 1)."""
        return max(self.max_eval - self.oracle.func_evals, 1)


class ClosureOptimizer(Optimizer):
    """Base of the methods driven by ``loss = opt.step(closure)`` over one flat parameter vector:
    the loop of the module docstring; subclasses define the hooks ``_direction`` and ``_remember``
    (and ``_initial_step``, ``_restart``, or their own ``_move``)."""

    needs_closure = True

    def add_param_group(self, param_group):
        """As :meth:`Optimizer.add_param_group`; a closure method takes one group only."""
        if self.param_groups:
            raise ValueError(f"{type(self).__name__} doesn't support per-parameter options (parameter groups); "
                             f"got more than one group")
        super().add_param_group(param_group)

    @property
    def _params(self):
        return self.param_groups[0]["params"]

    def _flat_params(self):
        flat = getattr(self, "_flat", None)
        params = self._params
        if flat is None or len(flat.params) != len(params) or any(a is not b for a, b in zip(flat.params, params)):
            flat = self._flat = FlatParams(params)
        return flat

    def _global_state(self):
        return self.state[self._params[0]]

    @property
    def report(self):
        """What the last ``step`` did (see the module docstring), or None before the first step."""
        return self._global_state().get("report")

    @own_step_path
    def step(self, closure, **options):
        """Run up to ``max_iter`` iterations; ``closure`` zeroes grads, computes the loss, calls
        ``backward()`` and returns the loss. Returns the loss at the start of the step.
        ``options`` go to the method (HessianFree: ``curvature_closure``, ``output_fn``, ``loss_fn``)."""
        if closure is None:
            raise ValueError(f"{type(self).__name__}.step needs a closure that re-evaluates the model and returns "
                             "the loss")
        self._check_lr()
        self._check_options(options)
        oracle = Oracle(self._flat_params(), closure, where=f"{type(self).__name__}.step(closure): the closure")
        state = self._global_state()
        state.setdefault("func_evals", 0)
        state.setdefault("n_iter", 0)
        run = Run(oracle, self.param_groups[0], state, options)
        with no_grad():
            orig_loss, report = self._run(run)
        report.update(func_evals=oracle.func_evals, hvp_evals=oracle.hvp_evals, **self._report(run))
        state["func_evals"] += oracle.func_evals
        state["report"] = report
        self._step_count += 1
        return orig_loss

    def _check_options(self, options):
        """Refuse options the method does not take (HessianFree takes some)."""
        if options:
            raise TypeError(f"{type(self).__name__}.step() got unexpected options {sorted(options)}")

    # ------------------------------------------------------------------ the loop
    def _run(self, run):
        """The iteration loop (module docstring); returns (the closure's first loss, the report)."""
        group, state, oracle = run.group, run.state, run.oracle
        max_iter, tol_grad, tol_change = group["max_iter"], group["tolerance_grad"], group["tolerance_change"]
        orig_loss, f, g = self._first_evaluation(run)
        report = {"iterations": 0, "step_size": None, "loss": f, "reason": "tolerance_grad"}
        if max_norm(g) <= tol_grad:
            return orig_loss, report
        if not is_finite(f, g):
            report["reason"] = "non_finite_loss"
            return orig_loss, report
        self._start(run, f, g)
        reason, t, it, evaluated = "max_iter", None, 0, True
        while it < max_iter:
            it += 1
            state["n_iter"] += 1
            d = self._direction(run, f, g)
            if d is None:   # no descent direction left
                reason, t = "tolerance_change", 0.0
                break
            move = self._move(run, f, g, d, last=it == max_iter)
            if move.outcome == "rejected":
                t = 0.0
                if oracle.func_evals >= run.max_eval:
                    reason = "max_eval"
                    break
                continue
            if move.outcome != "moved":
                t = 0.0
                if self._restart(run) and oracle.func_evals < run.max_eval:
                    continue
                reason = move.outcome
                break
            f_prev, g_prev = f, g
            f, g, t = move.f, move.g, move.t
            if not move.evaluated:   # the last iteration's fixed step (L-BFGS): nothing to test
                evaluated = False
                break
            self._remember(run, move, f_prev, g_prev)
            stop = stop_reason(oracle, run.max_eval, it, max_iter, g, tol_grad, move.step, f, f_prev, tol_change)
            if stop is not None:
                reason = stop
                break
        self._finish(run, t)
        report.update(iterations=it, step_size=None if t is None else float(t), loss=f if evaluated else None,
                      reason=reason)
        return orig_loss, report

    # ------------------------------------------------------------------ hooks
    def _first_evaluation(self, run):
        """(the closure's loss, f, g) at the current θ."""
        return run.oracle.evaluate()

    def _start(self, run, f, g):
        """Prepare the memory once the first evaluation showed there is work to do."""

    def _direction(self, run, f, g):
        """The search direction d at θ (or what ``_move`` needs to find the step); None: stop."""
        raise TypeError(f"{type(self).__name__} must define _direction(run, f, g)")

    def _initial_step(self, run, f, g, d, gtd):
        """The first trial step length of the line search."""
        return run.group["lr"]

    def _move(self, run, f, g, d, last):
        """Default: a line search along d (``line_search_fn``, c₁, c₂) from ``_initial_step``."""
        group, flat = run.group, run.flat
        search = resolve_line_search(group["line_search_fn"], group["c1"], group["c2"])
        gtd = float(g.dot(d))
        t = self._initial_step(run, f, g, d, gtd)
        x = flat.get()
        res = search(run.oracle.directional(x, d), t, d, f, g, gtd, run.evals_left())
        if res.t == 0:
            flat.set(x)
            return Move(0.0, outcome="line_search_failed: " + res.reason)
        step = res.t * d
        flat.set(x + step)
        return Move(res.t, res.f, res.g, step)

    def _remember(self, run, move, f_prev, g_prev):
        """Fold the accepted move (s = ``move.step``, y = ``move.g`` − ``g_prev``) into the memory."""

    def _restart(self, run):
        """After a failed line search: reset the memory and return True to retry along −g."""
        return False

    def _finish(self, run, t):
        """Store what the memory needs at the end of the step (t: the last step length)."""

    def _report(self, run):
        """Extra entries of the report (e.g. the damping)."""
        return {}
