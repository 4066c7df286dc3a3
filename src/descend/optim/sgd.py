"""Stochastic gradient descent with momentum, dampening, Nesterov and L2 weight decay.

PyTorch's rule (ε = ``lr``, α = ``momentum``, τ = ``dampening``, λ = ``weight_decay``, g the
gradient, negated first when ``maximize``)::

    g ← g + λ θ                                  (if λ ≠ 0)
    b ← g                                        (first step: a copy, no dampening)
    b ← α b + (1 − τ) g                          (later steps)
    g ← g + α b   if nesterov   else   g ← b     (if α ≠ 0)
    θ ← θ − ε g

The notes' forms and how they map onto it:

- classical velocity ``v ← α v − ε g; θ ← θ + v``: the same trajectory as ``SGD(lr=ε,
  momentum=α)`` while ε is constant (v = −ε b). PyTorch keeps b unscaled by ε, so when a schedule
  changes ε the whole accumulated velocity is rescaled at once; the notes' v keeps its old scale.
- exponential-moving-average momentum ``g ← ρ g + (1 − ρ) G``: ``momentum=ρ, dampening=ρ``
  (except that PyTorch's first buffer is G itself, not (1 − ρ) G).
- Nesterov momentum (gradient at the look-ahead point θ + α v): PyTorch's ``nesterov=True`` is
  Sutskever et al.'s (2013) reparametrisation ``θ ← θ − ε (g + α b)`` with the gradient taken at
  the current θ. The notes' exact forms are in :mod:`descend.optim.functional`.
"""

import numpy as np

from . import fused
from .gradient import coupled_grad
from .hyperparameters import Flag, Hyperparameters, Number
from .optimizer import Optimizer
from .parallel import across_threads, scratch

__all__ = ["SGD", "sgd_update"]


def sgd_update(param, grad, momentum_buffer, lr, momentum=0.0, dampening=0.0, weight_decay=0.0,
               nesterov=False, maximize=False):
    """One SGD step in place on ``param`` (and ``momentum_buffer``), arrays of one shape.

    Returns the momentum buffer (a new array on the first step when ``momentum != 0``; None when
    ``momentum == 0``). ``grad`` is never modified."""
    if not maximize and (momentum == 0 or momentum_buffer is not None) and \
            fused.sgd(param, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov):
        return momentum_buffer  # the same arithmetic in one pass (Numba; see optim/fused.py)
    d = coupled_grad(param, grad, weight_decay, maximize)
    if momentum != 0:
        if momentum_buffer is None:
            momentum_buffer = d.copy()
        else:
            momentum_buffer *= momentum
            if dampening == 0:
                momentum_buffer += d
            else:
                t = scratch(param, 0)
                np.multiply(d, 1.0 - dampening, out=t)
                momentum_buffer += t
        if nesterov:
            t = scratch(param, 0)
            np.multiply(momentum_buffer, momentum, out=t)
            t += d
            t *= lr
        else:
            t = scratch(param, 0)
            np.multiply(momentum_buffer, lr, out=t)
        param -= t
        return momentum_buffer
    t = scratch(param, 0)
    np.multiply(d, lr, out=t)
    param -= t
    return None


def nesterov_needs_momentum(group, owner=None):
    """Rule: ``nesterov=True`` needs momentum > 0 and dampening = 0 (PyTorch's)."""
    if group.get("nesterov") and (group["momentum"] <= 0 or group["dampening"] != 0):
        raise ValueError(f"Nesterov momentum requires a momentum > 0 and zero dampening; got "
                         f"momentum={group['momentum']!r}, dampening={group['dampening']!r}")


class SGD(Optimizer):
    """Stochastic gradient descent (see the module docstring for the rule and the notes' forms).
    State per parameter: ``momentum_buffer`` (when momentum ≠ 0)."""

    hyperparameters = Hyperparameters(
        Number("lr", 1e-3, low=0.0, label="learning rate lr", doc="ε, the step size"),
        Number("momentum", 0.0, low=0.0, doc="α, the momentum factor"),
        Number("dampening", 0.0, doc="τ, the weight (1 − τ) of the new gradient in the buffer"),
        Number("weight_decay", 0.0, low=0.0, doc="λ, L2 penalty coupled into g"),
        Flag("nesterov", False, doc="Sutskever's reparametrised Nesterov momentum"),
        Flag("maximize", False, keyword_only=True, doc="ascend instead of descend"),
        rules=[nesterov_needs_momentum])

    def _update_group(self, group, grads, loss):
        """With the fused kernels available, every tensor of the group goes through the multi-tensor
        kernel in one thread (the same numbers as one update per tensor; see
        :meth:`Adam._fused_many <descend.optim.adam.Adam._fused_many>` for why one thread), once
        every momentum buffer exists; else one by one."""
        mom = group["momentum"]
        if grads and not group["maximize"] and fused.available() and \
                fused.numbers(group["lr"], mom, group["dampening"], group["weight_decay"]):
            plan = fused.plan(self, group, grads, ("momentum_buffer",) if mom != 0 else ())
            if plan is not None:
                fused.sgd_many(plan, grads, group["lr"], mom, group["dampening"], group["weight_decay"],
                               group["nesterov"])
                return
        for p, g in grads:
            self._update_param(group, p, g)

    def _update_param(self, group, p, g):
        lr, mom, damp, wd = group["lr"], group["momentum"], group["dampening"], group["weight_decay"]
        nest, maxi = group["nesterov"], group["maximize"]
        st = self.state[p]
        buf = st.get("momentum_buffer")
        if mom != 0 and buf is None:   # first step: the buffer is created from g
            st["momentum_buffer"] = sgd_update(p.data, g, None, lr, mom, damp, wd, nest, maxi)
        else:
            across_threads(sgd_update, dict(param=p.data, grad=g, momentum_buffer=buf if mom != 0 else None), lr=lr,
                           momentum=mom, dampening=damp, weight_decay=wd, nesterov=nest, maximize=maxi)
