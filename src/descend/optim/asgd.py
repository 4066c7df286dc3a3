"""Averaged SGD (Polyak & Juditsky 1992; Bottou's schedule), as ``torch.optim.ASGD``.

Notes' notation: η_t the step size (starts at ε = ``lr``), λ = ``lambd``, α = ``alpha``,
t₀ = ``t0``, θ̄ the Polyak average (``ax``), μ_t its weight, w = ``weight_decay``::

    g ← g + w θ
    θ ← θ (1 − λ η_t) − η_t g
    θ̄ ← θ̄ + μ_t (θ − θ̄)     (θ̄ ← θ while μ_t = 1)
    η_{t+1} = ε / (1 + λ ε t)^α;   μ_{t+1} = 1 / max(1, t − t₀)

The averaged parameters θ̄ are in ``state[p]["ax"]``; the model itself keeps θ.
"""

import numpy as np

from .hyperparameters import Flag, Hyperparameters, Number
from .optimizer import Optimizer
from .parallel import scratch

__all__ = ["ASGD", "asgd_update"]


def asgd_update(param, grad, ax, step, eta, mu, lr=1e-2, lambd=1e-4, alpha=0.75, t0=1e6, weight_decay=0.0,
                maximize=False):
    """One ASGD step in place on ``param`` and ``ax``; returns the new (eta, mu)."""
    t = scratch(param, 0)
    if maximize:
        np.negative(grad, out=t)
    else:
        t[...] = grad
    if weight_decay != 0:
        u = scratch(param, 1)
        np.multiply(param, weight_decay, out=u)
        t += u
    param *= 1.0 - lambd * eta
    t *= eta
    param -= t
    if mu != 1:
        np.subtract(param, ax, out=t)
        t *= mu
        ax += t
    else:
        ax[...] = param
    new_eta = lr / ((1.0 + lambd * lr * step) ** alpha)
    new_mu = 1.0 / max(1.0, step - t0)
    return new_eta, new_mu


class ASGD(Optimizer):
    """ASGD (see the module docstring). State: ``step``, ``eta``, ``mu``, ``ax`` (the average θ̄)."""

    hyperparameters = Hyperparameters(
        Number("lr", 1e-2, low=0.0, label="learning rate lr", doc="ε, the first step size η₁"),
        Number("lambd", 1e-4, low=0.0, doc="λ, the decay term"),
        Number("alpha", 0.75, low=0.0, doc="α, the power of the step-size decay"),
        Number("t0", 1e6, low=0.0, doc="t₀, the step at which averaging starts"),
        Number("weight_decay", 0.0, low=0.0, doc="L2 penalty coupled into g"),
        Flag("maximize", False, keyword_only=True, doc="ascend instead of descend"))

    def _update_param(self, group, p, g):
        st = self.state[p]
        if not st:
            st["step"] = 0
            st["eta"] = float(group["lr"])
            st["mu"] = 1.0
            st["ax"] = np.zeros_like(p.data)
        st["step"] += 1
        st["eta"], st["mu"] = asgd_update(p.data, g, st["ax"], st["step"], st["eta"], st["mu"], group["lr"],
                                          group["lambd"], group["alpha"], group["t0"], group["weight_decay"],
                                          group["maximize"])
