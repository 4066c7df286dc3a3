"""Small helpers shared by the functional forms: the fast-path test, reductions, argument checks."""

import numpy as np

from descend.autodiff.mode import fast  # noqa: F401  (re-exported for the functional forms)
from descend.autodiff.tensor import Tensor

REDUCTIONS = ("mean", "sum", "none")


def const(array):
    """A Tensor wrapping ``array`` that records nothing."""
    return Tensor._make(array)


def as_tensor(x, name, like=None):
    """``x`` as a Tensor (NumPy arrays and numbers are wrapped; floats take ``like``'s dtype)."""
    if isinstance(x, Tensor):
        return x
    arr = np.asarray(x)
    if arr.dtype == object:
        raise TypeError(f"{name}: expected a Tensor or array, got {type(x).__name__}")
    if like is not None and arr.dtype.kind == "f":
        arr = arr.astype(like.data.dtype, copy=False)
    return Tensor._make(arr)


def check_tensor(x, name, what="input"):
    """Raise TypeError unless ``x`` is a Tensor."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: {what} must be a Tensor, got {type(x).__name__}")
    return x


def check_float(x, name, what="input"):
    """Raise TypeError unless ``x`` is a floating Tensor."""
    check_tensor(x, name, what)
    if x.data.dtype.kind != "f":
        raise TypeError(f"{name}: {what} must be a floating tensor, got dtype {x.data.dtype}")
    return x


def check_reduction(reduction, name, extra=()):
    """Raise ValueError unless ``reduction`` is 'mean', 'sum', 'none' (or one of ``extra``)."""
    allowed = REDUCTIONS + tuple(extra)
    if reduction not in allowed:
        raise ValueError(f"{name}: reduction={reduction!r}; expected one of {', '.join(map(repr, allowed))}")


def reduce(loss, reduction):
    """Apply a reduction ('mean', 'sum' or 'none') to an elementwise loss Tensor."""
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def same_shape(input, target, name):
    """Raise instead of broadcasting when prediction and target shapes differ."""
    if tuple(input.shape) != tuple(target.shape):
        raise ValueError(f"{name}: target shape {tuple(target.shape)} differs from input shape {tuple(input.shape)}; "
                         "reshape one of them (broadcasting them would silently compute the wrong loss)")


def same_dtype(a, b, name, what=("input", "target")):
    """Raise TypeError naming both dtypes when they differ."""
    if a.data.dtype != b.data.dtype:
        raise TypeError(f"{name}: {what[0]} has dtype {a.data.dtype} but {what[1]} has dtype {b.data.dtype}; "
                        "convert one with .to(dtype)")


def pair(v, name, what):
    """An int or a pair of ints as a 2-tuple of non-negative ints."""
    if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
        v = (int(v), int(v))
    try:
        v = tuple(int(i) for i in v)
    except TypeError:
        raise TypeError(f"{name}: {what}={v!r}; expected an int or a pair of ints") from None
    if len(v) != 2:
        raise ValueError(f"{name}: {what}={v!r}; expected an int or a pair of ints")
    return v


def elementwise_target(input, target, reduction, name, extra=()):
    """Check a loss between a floating prediction and a target of the same shape and dtype
    (and the reduction); returns the target as a Tensor."""
    check_float(input, name)
    target = as_tensor(target, name, input)
    check_reduction(reduction, name, extra)
    same_shape(input, target, name)
    same_dtype(input, target, name)
    return target
