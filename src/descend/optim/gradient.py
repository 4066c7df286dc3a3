"""The gradient an update uses: g ← ±g + λθ (maximize, and L2 weight decay coupled into g).

PyTorch's SGD, Adam (without decoupling), RMSprop, Adagrad and Adadelta all start from this g.
"""

import numpy as np

from .parallel import scratch

__all__ = ["coupled_grad"]


def coupled_grad(param, grad, weight_decay, maximize):
    """g ← ±g + λθ (sign flipped for ``maximize``, λ = ``weight_decay``) in scratch slot 1, or
    ``grad`` itself when neither applies. ``grad`` is never modified."""
    if weight_decay == 0 and not maximize:
        return grad
    d = scratch(param, 1)
    if weight_decay != 0:
        np.multiply(param, weight_decay, out=d)
        if maximize:
            d -= grad
        else:
            d += grad
    else:
        np.negative(grad, out=d)
    return d
