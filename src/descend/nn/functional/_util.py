"""Small helpers shared by the functional forms: constants, argument checks, reductions."""

import numpy as np

from descend.autodiff import Tensor
from descend.autodiff.extend import wrap

REDUCTIONS = ("mean", "sum", "none")


def const(array):
    """A Tensor wrapping ``array`` that records nothing (a constant of the computation)."""
    return wrap(array)


_ONES = {}


def ones(n, dtype):
    """A read-only vector of ``n`` ones: a view of one cached buffer per dtype that grows as needed
    (for sums written as products with a vector of ones)."""
    dt = np.dtype(dtype)
    buf = _ONES.get(dt)
    if buf is None or buf.size < n:
        buf = np.ones(max(n, 1 << 16), dtype=dt)
        buf.setflags(write=False)
        _ONES[dt] = buf
    return buf[:n]


def as_tensor(x, name, like=None):
    """``x`` as a Tensor: NumPy arrays and numbers are wrapped; with ``like``, floating values take
    its dtype if they are weak (numbers, lists) and must already have it if they are arrays."""
    if isinstance(x, Tensor):
        return x
    arr = np.asarray(x)
    if arr.dtype == object:
        raise TypeError(f"{name}: expected a Tensor or array, got {type(x).__name__}")
    if like is not None and arr.dtype.kind == "f" and arr.dtype != like.dtype:
        if isinstance(x, np.ndarray) and x.ndim:
            raise TypeError(f"{name}: a NumPy array of dtype {arr.dtype} meets an input of dtype {like.dtype}; "
                            f"descend does not convert silently: pass array.astype(np.{like.dtype})")
        arr = arr.astype(like.dtype)
    return wrap(arr)


def check_tensor(x, name, what="input"):
    """Raise TypeError unless ``x`` is a Tensor."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: {what} must be a Tensor, got {type(x).__name__}")
    return x


def check_float(x, name, what="input"):
    """Raise TypeError unless ``x`` is a floating Tensor."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: {what} must be a Tensor, got {type(x).__name__}")
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
    if a.dtype != b.dtype:
        raise TypeError(f"{name}: {what[0]} has dtype {a.dtype} but {what[1]} has dtype {b.dtype}; "
                        "convert one with .to(dtype)")


def pair_of_ints(v, name, what):
    """A window size, stride, padding or dilation given as an int or a pair of ints, as a 2-tuple of
    ints (PyTorch's ``_pair``)."""
    def is_int(i):
        return isinstance(i, (int, np.integer)) and not isinstance(i, (bool, np.bool_))

    if is_int(v):
        return int(v), int(v)
    if not isinstance(v, (tuple, list)) or not all(is_int(i) for i in v):
        raise TypeError(f"{name}: {what}={v!r}; expected an int or a pair of ints")
    if len(v) != 2:
        raise ValueError(f"{name}: {what}={v!r}; expected an int or a pair of ints")
    return int(v[0]), int(v[1])


def elementwise_target(input, target, reduction, name, extra=()):
    """Check a loss between a floating prediction and a target of the same shape and dtype
    (and the reduction); returns the target as a Tensor."""
    check_float(input, name)
    target = as_tensor(target, name, input)
    check_reduction(reduction, name, extra)
    same_shape(input, target, name)
    same_dtype(input, target, name)
    return target
