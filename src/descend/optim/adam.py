"""Adam (Kingma & Ba 2015), with AMSGrad and L2 weight decay, as in PyTorch.

Notes' notation: ε = ``lr``, ρ₁, ρ₂ = ``betas``, δ = ``eps``, s and r the first and second
moment estimates, t the step (from 1), λ = ``weight_decay``, g negated first when ``maximize``::

    g ← g + λ θ                               (L2, coupled into the gradient; see AdamW)
    s ← ρ₁ s + (1 − ρ₁) g
    r ← ρ₂ r + (1 − ρ₂) g ⊙ g
    r_max ← max(r_max, r), used in place of r  (amsgrad; on the raw, not bias-corrected r)
    θ ← θ − ε / (1 − ρ₁ᵗ) · s / (√r / √(1 − ρ₂ᵗ) + δ)

δ is added after bias-correcting √r (the notes' ŝ / (√r̂ + δ)). Keras instead folds the
corrections into the step size and adds δ to the uncorrected √r.

The notes' form, written as the notes write it, is :func:`descend.optim.functional.adam_step`;
``tests/optim/test_equations.py::test_adam_class_equals_the_notes_adam_step`` checks that this
class (PyTorch's arithmetic, one pass fewer) follows it to 1e-12 over 40 steps.
"""

import math

import numpy as np

from . import fused
from .gradient import coupled_grad
from .hyperparameters import Flag, Hyperparameters, Number, Pair
from .optimizer import Optimizer
from .parallel import across_threads, scratch

__all__ = ["Adam", "adam_update"]


def step_terms(step, lr, beta1, beta2, eps):
    """(δ √bc₂, ε √bc₂ / bc₁) with bc₁ = 1 − ρ₁ᵗ and bc₂ = 1 − ρ₂ᵗ: the bias corrections folded into
    θ ← θ − (ε √bc₂ / bc₁) · s / (√r + δ √bc₂), which equals ε ŝ / (√r̂ + δ) with one pass fewer."""
    bc1, bc2_sqrt = 1.0 - beta1 ** step, math.sqrt(1.0 - beta2 ** step)
    return eps * bc2_sqrt, lr * bc2_sqrt / bc1


def adam_update(param, grad, exp_avg, exp_avg_sq, step, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=0.0,
                amsgrad=False, max_exp_avg_sq=None, maximize=False, decoupled_weight_decay=False):
    """One Adam step in place on ``param``, ``exp_avg`` (s), ``exp_avg_sq`` (r) and
    ``max_exp_avg_sq`` (amsgrad); ``step`` is t after incrementing (1 on the first step).
    ``decoupled_weight_decay=True`` is AdamW's θ ← θ (1 − ελ) before the update."""
    if weight_decay != 0 and decoupled_weight_decay:
        param *= 1.0 - lr * weight_decay
    grad = coupled_grad(param, grad, 0.0 if decoupled_weight_decay else weight_decay, maximize)
    eps_term, step_scale = step_terms(step, lr, beta1, beta2, eps)
    if not amsgrad and fused.adam(param, grad, exp_avg, exp_avg_sq, beta1, beta2, eps_term, step_scale):
        return  # the same arithmetic in one pass (Numba; see optim/fused.py)
    t = scratch(param, 0)
    # s ← s + (1 − ρ₁)(g − s)
    np.subtract(grad, exp_avg, out=t)
    t *= 1.0 - beta1
    exp_avg += t
    # r ← ρ₂ r + (1 − ρ₂) g²
    exp_avg_sq *= beta2
    np.square(grad, out=t)
    t *= 1.0 - beta2
    exp_avg_sq += t
    if amsgrad:
        np.maximum(max_exp_avg_sq, exp_avg_sq, out=max_exp_avg_sq)
        np.sqrt(max_exp_avg_sq, out=t)
    else:
        np.sqrt(exp_avg_sq, out=t)
    # ε_t s / (√r / √bc₂ + δ) / bc₁ = (ε √bc₂ / bc₁) · s / (√r + δ √bc₂): one pass fewer
    t += eps_term
    np.divide(exp_avg, t, out=t)
    t *= step_scale
    param -= t


class Adam(Optimizer):
    """Adam (see the module docstring). State per parameter: ``step``, ``exp_avg``, ``exp_avg_sq``
    (and ``max_exp_avg_sq`` with amsgrad)."""

    hyperparameters = Hyperparameters(
        Number("lr", 1e-3, low=0.0, label="learning rate lr", doc="ε, the step size"),
        Pair("betas", (0.9, 0.999),
             Number("beta1", low=0.0, high=1.0, high_open=True, label="betas[0] (beta1)"),
             Number("beta2", low=0.0, high=1.0, high_open=True, label="betas[1] (beta2)"),
             doc="ρ₁, ρ₂: decay rates of the first and second moment estimates"),
        Number("eps", 1e-8, low=0.0, low_open=True, label="epsilon eps", doc="δ, added to √r̂"),
        Number("weight_decay", 0.0, low=0.0, doc="λ, L2 penalty (decoupled with decoupled_weight_decay)"),
        Flag("amsgrad", False, doc="use max(r_max, r) in place of r"),
        Flag("maximize", False, keyword_only=True, doc="ascend instead of descend"),
        Flag("decoupled_weight_decay", False, keyword_only=True, doc="AdamW's θ ← θ(1 − ελ)"))

    def _update_group(self, group, grads, loss):
        """With the fused kernels available, every tensor of the group goes through the multi-tensor
        kernel in one thread (the same numbers as one update per tensor); else one by one."""
        if grads and not group["amsgrad"] and not group["maximize"] and fused.available() and \
                (group["weight_decay"] == 0 or group["decoupled_weight_decay"]) and \
                fused.numbers(group["lr"], *group["betas"], group["eps"], group["weight_decay"]) and \
                self._fused_many(group, grads):
            return
        for p, g in grads:
            self._update_param(group, p, g)

    def _fused_many(self, group, grads):
        """The Adam step of every (p, g) in ``grads`` in a few fused multi-tensor calls; False
        (nothing changed) when the parameters are at different steps or the kernel does not take
        the arrays.

        One thread: the kernel is compute-bound (a division and a square root per value), and
        splitting it between the two cores of the machine it was measured on took 200 µs for 535k
        values where one core took 160 µs. The group's :class:`~descend.optim.fused.Plan` (θ, s and
        r and their addresses) is made once and kept while those arrays stay the same, so a step
        costs the kernel call and a few identity checks per tensor."""
        names = ("exp_avg", "exp_avg_sq")
        plan = fused.plan(self, group, grads, names)
        if plan is None:   # a parameter without state yet, or arrays the kernel does not take
            states = [self.state[p] for p, _ in grads]
            step = states[0]["step"] if states[0] else 0
            if any((st["step"] if st else 0) != step for st in states):
                return False  # parameters at different steps: one at a time
            for (p, _), st in zip(grads, states):
                if not st:  # the state as _update_param makes it (keys in that order)
                    st["step"] = 0
                    st["exp_avg"] = np.zeros_like(p.data)
                    st["exp_avg_sq"] = np.zeros_like(p.data)
            plan = fused.plan(self, group, grads, names)
            if plan is None:
                return False
        steps = plan.steps()
        step = steps[0]
        if steps.count(step) != len(steps):
            return False  # parameters at different steps: one at a time
        for st in plan.states:
            st["step"] = step + 1
        beta1, beta2 = group["betas"]
        lr, wd = group["lr"], group["weight_decay"]
        fused.adam_many(plan, grads, beta1, beta2, *step_terms(step + 1, lr, beta1, beta2, group["eps"]),
                        decay=lr * wd)   # wd ≠ 0 only with decoupled_weight_decay: AdamW's θ ← θ (1 − ελ)
        return True

    def _update_param(self, group, p, g):
        beta1, beta2 = group["betas"]
        st = self.state[p]
        if not st:
            st["step"] = 0
            st["exp_avg"] = np.zeros_like(p.data)
            st["exp_avg_sq"] = np.zeros_like(p.data)
            if group["amsgrad"]:
                st["max_exp_avg_sq"] = np.zeros_like(p.data)
        st["step"] += 1
        across_threads(adam_update, dict(param=p.data, grad=g, exp_avg=st["exp_avg"], exp_avg_sq=st["exp_avg_sq"],
                                         max_exp_avg_sq=st.get("max_exp_avg_sq")),
                       step=st["step"], lr=group["lr"], beta1=beta1, beta2=beta2, eps=group["eps"],
                       weight_decay=group["weight_decay"], amsgrad=group["amsgrad"], maximize=group["maximize"],
                       decoupled_weight_decay=group["decoupled_weight_decay"])
