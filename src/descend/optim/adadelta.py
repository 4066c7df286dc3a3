"""AdaDelta (Zeiler 2012), as in PyTorch.

Notes' notation: ρ = ``rho``, δ = ``eps``, E[g²] the running mean of g² (``square_avg``), E[Δ²]
the running mean of squared updates (``acc_delta``), ε = ``lr`` (1 in Zeiler's method),
λ = ``weight_decay``; g negated first when ``maximize``::

    g ← g + λ θ
    E[g²] ← ρ E[g²] + (1 − ρ) g ⊙ g
    Δ = √(E[Δ²] + δ) / √(E[g²] + δ) ⊙ g          (E[Δ²] of the previous step)
    E[Δ²] ← ρ E[Δ²] + (1 − ρ) Δ ⊙ Δ
    θ ← θ − ε Δ

δ is inside both roots.
"""

import numpy as np

from .gradient import coupled_grad
from .hyperparameters import Flag, Hyperparameters, Number
from .optimizer import Optimizer
from .parallel import across_threads, scratch

__all__ = ["Adadelta", "adadelta_update"]


def adadelta_update(param, grad, square_avg, acc_delta, lr=1.0, rho=0.9, eps=1e-6, weight_decay=0.0, maximize=False):
    """One AdaDelta step in place on ``param``, ``square_avg`` (E[g²]) and ``acc_delta`` (E[Δ²])."""
    grad = coupled_grad(param, grad, weight_decay, maximize)
    t = scratch(param, 0)
    u = scratch(param, 2)
    square_avg *= rho
    np.square(grad, out=t)
    t *= 1.0 - rho
    square_avg += t
    np.add(square_avg, eps, out=t)
    np.sqrt(t, out=t)                 # std
    np.add(acc_delta, eps, out=u)
    np.sqrt(u, out=u)
    u /= t
    u *= grad                         # Δ
    acc_delta *= rho
    np.square(u, out=t)
    t *= 1.0 - rho
    acc_delta += t
    u *= lr
    param -= u


class Adadelta(Optimizer):
    """AdaDelta (see the module docstring). State: ``step``, ``square_avg``, ``acc_delta``."""

    hyperparameters = Hyperparameters(
        Number("lr", 1.0, low=0.0, label="learning rate lr", doc="ε, scales Δ (1 in Zeiler's method)"),
        Number("rho", 0.9, low=0.0, high=1.0, doc="ρ, the decay rate of E[g²] and E[Δ²]"),
        Number("eps", 1e-6, low=0.0, low_open=True, label="epsilon eps", doc="δ, inside both roots"),
        Number("weight_decay", 0.0, low=0.0, doc="λ, L2 penalty coupled into g"),
        Flag("maximize", False, keyword_only=True, doc="ascend instead of descend"))

    def _update_param(self, group, p, g):
        st = self.state[p]
        if not st:
            st["step"] = 0
            st["square_avg"] = np.zeros_like(p.data)
            st["acc_delta"] = np.zeros_like(p.data)
        st["step"] += 1
        across_threads(adadelta_update, dict(param=p.data, grad=g, square_avg=st["square_avg"],
                                             acc_delta=st["acc_delta"]),
                       lr=group["lr"], rho=group["rho"], eps=group["eps"], weight_decay=group["weight_decay"],
                       maximize=group["maximize"])
