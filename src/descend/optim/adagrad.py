"""Adagrad (Duchi et al. 2011), as in PyTorch.

Notes' notation: ε = ``lr``, δ = ``eps``, r the sum of squared gradients (PyTorch's ``sum``,
started at ``initial_accumulator_value``), t the step (from 1), λ = ``weight_decay``; g negated
first when ``maximize``::

    g ← g + λ θ
    ε_t = ε / (1 + (t − 1) · lr_decay)
    r ← r + g ⊙ g
    θ ← θ − ε_t g / (√r + δ)

PyTorch conventions kept: the state ``sum`` is created when the optimizer is built (not at the
first step), the decay uses t − 1 (the first step uses ε itself), and δ is outside the root.
"""

import numpy as np

from . import fused
from .gradient import coupled_grad
from .hyperparameters import Flag, Hyperparameters, Number
from .optimizer import Optimizer
from .parallel import across_threads, scratch

__all__ = ["Adagrad", "adagrad_update"]


def decayed_lr(step, lr, lr_decay):
    """ε_t = ε / (1 + (t − 1)·lr_decay) at step t (from 1)."""
    return lr / (1.0 + (step - 1) * lr_decay)


def adagrad_update(param, grad, state_sum, step, lr, lr_decay=0.0, weight_decay=0.0, eps=1e-10, maximize=False):
    """One Adagrad step in place on ``param`` and ``state_sum`` (r); ``step`` = t (1 first)."""
    clr = decayed_lr(step, lr, lr_decay)
    if not maximize and fused.adagrad(param, grad, state_sum, clr, eps, weight_decay):
        return  # the same arithmetic in one pass (Numba; see optim/fused.py)
    grad = coupled_grad(param, grad, weight_decay, maximize)
    t = scratch(param, 0)
    np.square(grad, out=t)
    state_sum += t
    np.sqrt(state_sum, out=t)
    t += eps
    np.divide(grad, t, out=t)
    t *= clr
    param -= t


class Adagrad(Optimizer):
    """Adagrad (see the module docstring). State: ``step``, ``sum`` (created with the group)."""

    hyperparameters = Hyperparameters(
        Number("lr", 1e-2, low=0.0, label="learning rate lr", doc="ε, the step size"),
        Number("lr_decay", 0.0, low=0.0, doc="ε_t = ε / (1 + (t − 1)·lr_decay)"),
        Number("weight_decay", 0.0, low=0.0, doc="λ, L2 penalty coupled into g"),
        Number("initial_accumulator_value", 0.0, low=0.0, doc="r at the start"),
        Number("eps", 1e-10, low=0.0, low_open=True, label="epsilon eps", doc="δ, added to √r"),
        Flag("maximize", False, keyword_only=True, doc="ascend instead of descend"))

    def _init_group_state(self, group):
        for p in group["params"]:
            st = self.state[p]
            st["step"] = 0
            st["sum"] = np.full_like(p.data, group["initial_accumulator_value"])

    def _update_group(self, group, grads, loss):
        """With the fused kernels available, the tensors of the group at each step go through the
        multi-tensor kernel in one thread (the same numbers as one update per tensor; see
        :meth:`Adam._fused_many <descend.optim.adam.Adam._fused_many>` for why one thread); else one
        by one."""
        plan = None
        if grads and not group["maximize"] and fused.available() and \
                fused.numbers(group["lr"], group["lr_decay"], group["eps"], group["weight_decay"]):
            plan = fused.plan(self, group, grads, ("sum",))
        if plan is None:
            for p, g in grads:
                self._update_param(group, p, g)
            return
        for st in plan.states:
            st["step"] += 1
        steps = plan.steps()
        at_step = {steps[0]: None}   # ε_t depends on t: the tensors at each step together (None: all)
        if steps.count(steps[0]) != len(steps):   # (a tensor skipped steps)
            at_step = {}
            for k, step in enumerate(steps):
                at_step.setdefault(step, set()).add(k)
        lr, lr_decay, eps, wd = group["lr"], group["lr_decay"], group["eps"], group["weight_decay"]
        for step, at in at_step.items():
            fused.adagrad_many(plan, grads, decayed_lr(step, lr, lr_decay), eps, wd, at)

    def _update_param(self, group, p, g):
        st = self.state[p]
        st["step"] += 1
        across_threads(adagrad_update, dict(param=p.data, grad=g, state_sum=st["sum"]), step=st["step"],
                       lr=group["lr"], lr_decay=group["lr_decay"], weight_decay=group["weight_decay"], eps=group["eps"],
                       maximize=group["maximize"])
