"""Comparisons (<, <=, >, >=, ==, !=, isnan, isfinite): boolean tensors that never require grad."""

import numpy as np

from ..tensor import Tensor
from .convert import pair


def _compare(ufunc, name):
    def compare(a, b):
        a, b = pair(a, b, name)
        return Tensor._make(ufunc(a.data, b.data))

    compare.__name__ = name
    compare.__doc__ = f"Elementwise {name}; a boolean tensor without gradient."
    return compare


lt = _compare(np.less, "lt")
le = _compare(np.less_equal, "le")
gt = _compare(np.greater, "gt")
ge = _compare(np.greater_equal, "ge")
eq = _compare(np.equal, "eq")
ne = _compare(np.not_equal, "ne")


def isnan(x):
    """A bool Tensor, True where x is NaN (not differentiable)."""
    return Tensor._make(np.isnan(x.data))


def isfinite(x):
    """A bool Tensor, True where x is neither NaN nor ±∞ (not differentiable)."""
    return Tensor._make(np.isfinite(x.data))


def isinf(x):
    """A bool Tensor, True where x is +∞ or −∞ (not differentiable)."""
    return Tensor._make(np.isinf(x.data))


def logical_not(x):
    return Tensor._make(np.logical_not(x.data))
