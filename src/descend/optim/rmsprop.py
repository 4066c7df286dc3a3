"""RMSProp (Hinton 2012), centered variant, momentum and Nesterov momentum, as in PyTorch.

Notes' notation: ε = ``lr``, ρ = ``alpha`` (decay), δ = ``eps``, r the running mean of g², α =
``momentum``, λ = ``weight_decay``; g negated first when ``maximize``::

    g ← g + λ θ
    r ← ρ r + (1 − ρ) g ⊙ g
    centered:  a ← a + (1 − ρ)(g − a);  d = √(r − a ⊙ a) + δ      otherwise d = √r + δ
    α = 0:     θ ← θ − ε g / d
    α > 0:     b ← α b + g / d;  θ ← θ − ε b                        (b starts at zero)
    nesterov:  b ← α b + g / d;  θ ← θ − ε (g / d + α b)

δ is outside the root (PyTorch's choice; the notes and Keras write √(δ + r)), and r is not
bias-corrected. ``nesterov=True`` is not in PyTorch: it is the notes' "RMSProp with Nesterov
momentum" written with PyTorch's Nesterov reparametrisation (as in ``SGD(nesterov=True)``), with
the gradient at the current θ; the notes' look-ahead form is
:func:`descend.optim.functional.rmsprop_nesterov_step`.
"""

import numpy as np

from . import fused
from .gradient import coupled_grad
from .hyperparameters import Flag, Hyperparameters, Number
from .optimizer import Optimizer
from .parallel import across_threads, scratch

__all__ = ["RMSprop", "rmsprop_update"]


def rmsprop_update(param, grad, square_avg, lr, alpha=0.99, eps=1e-8, weight_decay=0.0, momentum=0.0,
                   centered=False, momentum_buffer=None, grad_avg=None, maximize=False, nesterov=False):
    """One RMSprop step in place on ``param``, ``square_avg`` (r), ``momentum_buffer`` (b, when
    momentum > 0) and ``grad_avg`` (a, when centered)."""
    if not maximize and fused.rmsprop(param, grad, square_avg, lr, alpha, eps, weight_decay, momentum, centered,
                                      momentum_buffer, grad_avg, nesterov):
        return  # the same arithmetic in one pass (Numba; see optim/fused.py)
    grad = coupled_grad(param, grad, weight_decay, maximize)
    t = scratch(param, 0)
    square_avg *= alpha
    np.square(grad, out=t)
    t *= 1.0 - alpha
    square_avg += t
    if centered:
        np.subtract(grad, grad_avg, out=t)
        t *= 1.0 - alpha
        grad_avg += t
        np.square(grad_avg, out=t)
        np.subtract(square_avg, t, out=t)
        np.sqrt(t, out=t)
    else:
        np.sqrt(square_avg, out=t)
    t += eps
    np.divide(grad, t, out=t)   # t = g / d
    if momentum > 0:
        momentum_buffer *= momentum
        momentum_buffer += t
        if nesterov:
            t2 = scratch(param, 2)
            np.multiply(momentum_buffer, momentum, out=t2)
            t += t2
            t *= lr
        else:
            np.multiply(momentum_buffer, lr, out=t)
    else:
        t *= lr
    param -= t


def nesterov_needs_momentum(group, owner=None):
    """Rule: ``nesterov=True`` needs momentum > 0."""
    if group.get("nesterov") and group["momentum"] <= 0:
        raise ValueError(f"Nesterov momentum requires momentum > 0; got momentum={group['momentum']!r}")


class RMSprop(Optimizer):
    """RMSprop (see the module docstring). State: ``step``, ``square_avg``, ``momentum_buffer``
    (momentum > 0), ``grad_avg`` (centered)."""

    hyperparameters = Hyperparameters(
        Number("lr", 1e-2, low=0.0, label="learning rate lr", doc="ε, the step size"),
        Number("alpha", 0.99, low=0.0, high=1.0, doc="ρ, the decay rate of the mean of g²"),
        Number("eps", 1e-8, low=0.0, low_open=True, label="epsilon eps", doc="δ, added to √r"),
        Number("weight_decay", 0.0, low=0.0, doc="λ, L2 penalty coupled into g"),
        Number("momentum", 0.0, low=0.0, doc="α, the momentum factor"),
        Flag("centered", False, doc="divide by the estimated standard deviation √(r − a²)"),
        Flag("maximize", False, keyword_only=True, doc="ascend instead of descend"),
        Flag("nesterov", False, keyword_only=True, doc="Nesterov momentum (beyond PyTorch)"),
        rules=[nesterov_needs_momentum])

    def _update_group(self, group, grads, loss):
        """With the fused kernels available, every tensor of the group goes through the multi-tensor
        kernel in one thread (the same numbers as one update per tensor; see
        :meth:`Adam._fused_many <descend.optim.adam.Adam._fused_many>` for why one thread); else one
        by one. The step count is not in the update, so parameters at different steps go together."""
        if grads and not group["maximize"] and fused.available() and \
                fused.numbers(group["lr"], group["alpha"], group["eps"], group["weight_decay"], group["momentum"]):
            mom, centered = group["momentum"], group["centered"]
            names = ("square_avg",) + (("momentum_buffer",) if mom > 0 else ()) + (("grad_avg",) if centered else ())
            plan = fused.plan(self, group, grads, names)
            if plan is None:   # a state or a buffer not made yet (a first step, an option turned on)
                for p, _ in grads:
                    self._init_state(group, p)
                plan = fused.plan(self, group, grads, names)
            if plan is not None:
                for st in plan.states:
                    st["step"] += 1
                fused.rmsprop_many(plan, grads, group["lr"], group["alpha"], group["eps"], group["weight_decay"], mom,
                                   centered, group["nesterov"])
                return
        for p, g in grads:
            self._update_param(group, p, g)

    def _init_state(self, group, p):
        """The state of ``p`` as the first step makes it (zeros), and the buffers an option turned on
        later needs."""
        st = self.state[p]
        if not st:
            st["step"] = 0
            st["square_avg"] = np.zeros_like(p.data)
            if group["momentum"] > 0:
                st["momentum_buffer"] = np.zeros_like(p.data)
            if group["centered"]:
                st["grad_avg"] = np.zeros_like(p.data)
        if group["momentum"] > 0 and "momentum_buffer" not in st:
            st["momentum_buffer"] = np.zeros_like(p.data)
        if group["centered"] and "grad_avg" not in st:
            st["grad_avg"] = np.zeros_like(p.data)
        return st

    def _update_param(self, group, p, g):
        st = self._init_state(group, p)
        st["step"] += 1
        across_threads(rmsprop_update, dict(param=p.data, grad=g, square_avg=st["square_avg"],
                                            momentum_buffer=st.get("momentum_buffer"), grad_avg=st.get("grad_avg")),
                       lr=group["lr"], alpha=group["alpha"], eps=group["eps"], weight_decay=group["weight_decay"],
                       momentum=group["momentum"], centered=group["centered"], maximize=group["maximize"],
                       nesterov=group["nesterov"])
