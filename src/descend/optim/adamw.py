"""AdamW (Loshchilov & Hutter 2019): Adam with decoupled weight decay, as in PyTorch.

Side by side with :mod:`~descend.optim.adam` (ε = ``lr``, λ = ``weight_decay``)::

    Adam  (L2):         g ← g + λ θ, then the Adam step on g
    AdamW (decoupled):  θ ← θ − ε λ θ (= θ (1 − ε λ)), then the Adam step on the raw g

With L2, the decay term is divided by √r̂ like the gradient, so weights with large gradients are
decayed less; decoupled decay shrinks every weight by the same factor. PyTorch (and descend) scale
the decay by the current, possibly scheduled ε; the paper scales λ by the schedule multiplier only.
Defaults as PyTorch: ``weight_decay=1e-2``.
"""

from .adam import Adam, adam_update

__all__ = ["AdamW", "adamw_update"]


def adamw_update(param, grad, exp_avg, exp_avg_sq, step, lr, beta1=0.9, beta2=0.999, eps=1e-8, weight_decay=1e-2,
                 amsgrad=False, max_exp_avg_sq=None, maximize=False):
    """One AdamW step in place: θ ← θ (1 − ελ), then :func:`~descend.optim.adam.adam_update`."""
    adam_update(param, grad, exp_avg, exp_avg_sq, step, lr, beta1, beta2, eps, weight_decay, amsgrad,
                max_exp_avg_sq, maximize, decoupled_weight_decay=True)


class AdamW(Adam):
    """AdamW (see the module docstring): Adam's declarations with ``weight_decay=1e-2`` and
    ``decoupled_weight_decay`` fixed to True."""

    hyperparameters = Adam.hyperparameters.replace(weight_decay=1e-2).fix(decoupled_weight_decay=True)
