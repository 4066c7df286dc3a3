"""The primitives, grouped by kind, and the binding of their operators and methods to Tensor.

``tensor.py`` knows nothing of the operations; importing this package attaches them
(``x + y``, ``x.exp()``, ``x.sum(dim=1)``, ``x[idx]``, ``x @ w``...), so ``ops`` may import
``tensor`` and never the other way round.
"""

from ..tensor import Tensor
from . import compare, elementwise, linalg, reduce, shape
from .compare import eq, ge, gt, isfinite, isinf, isnan, le, logical_not, lt, ne
from .elementwise import (abs, add, clamp, cos, div, exp, log, log1p, maximum, minimum, mul, neg, pow, relu, sigmoid,
                          sign, sin, sqrt, square, sub, tanh, to, where)
from .linalg import matmul, outer
from .reduce import (all, amax, amin, any, argmax, argmin, log_softmax, logsumexp, max, mean, min, softmax, std, sum,
                     var)
from .shape import (broadcast_to, cat, expand, flatten, getitem, mT, permute, reshape, squeeze, stack, sum_to,
                    transpose, unsqueeze, view)


def expand_as(x, other):
    """x broadcast to ``other``'s shape (``x.expand(*other.shape)``)."""
    return expand(x, *other.shape)


def view_as(x, other):
    """x with ``other``'s shape (``x.reshape(*other.shape)``)."""
    return reshape(x, *other.shape)


def reshape_as(x, other):
    """x with ``other``'s shape (``x.reshape(*other.shape)``)."""
    return reshape(x, *other.shape)


def float_(x):
    """x as float32 (``x.to(dc.float32)``); differentiable."""
    return to(x, "float32")


def double(x):
    """x as float64 (``x.to(dc.float64)``); differentiable."""
    return to(x, "float64")


def long(x):
    """x as int64 (``x.to(dc.int64)``), e.g. class labels."""
    return to(x, "int64")


def _bind():
    def flip(f):
        return lambda a, b: f(b, a)

    methods = {
        "__add__": add, "__radd__": flip(add), "__sub__": sub, "__rsub__": flip(sub),
        "__mul__": mul, "__rmul__": flip(mul), "__truediv__": div, "__rtruediv__": flip(div),
        "__pow__": pow, "__rpow__": flip(pow), "__matmul__": matmul, "__rmatmul__": flip(matmul),
        "__neg__": neg, "__pos__": lambda x: x, "__abs__": abs,
        "__lt__": lt, "__le__": le, "__gt__": gt, "__ge__": ge, "__eq__": eq, "__ne__": ne,
        "__invert__": logical_not, "__getitem__": getitem,
        "add": add, "sub": sub, "mul": mul, "div": div, "pow": pow, "matmul": matmul,
        "exp": exp, "log": log, "log1p": log1p, "sqrt": sqrt, "sin": sin, "cos": cos, "tanh": tanh,
        "sigmoid": sigmoid, "relu": relu, "abs": abs, "sign": sign, "clamp": clamp, "clip": clamp,
        "maximum": maximum, "minimum": minimum, "square": square, "neg": neg,
        "lt": lt, "le": le, "gt": gt, "ge": ge, "eq": eq, "ne": ne,
        "isnan": isnan, "isfinite": isfinite, "isinf": isinf,
        "sum": sum, "mean": mean, "var": var, "std": std, "max": max, "min": min, "amax": amax, "amin": amin,
        "logsumexp": logsumexp, "argmax": argmax, "argmin": argmin, "softmax": softmax, "log_softmax": log_softmax,
        "any": any, "all": all,
        "reshape": reshape, "view": view, "flatten": flatten, "permute": permute, "transpose": transpose,
        "squeeze": squeeze, "unsqueeze": unsqueeze, "expand": expand, "broadcast_to": broadcast_to,
        "expand_as": expand_as, "view_as": view_as, "reshape_as": reshape_as,
        "to": to, "float": float_, "double": double, "long": long,
    }
    for name, fn in methods.items():
        setattr(Tensor, name, fn)
    Tensor.T = property(shape.T)
    Tensor.mT = property(mT)


_bind()
