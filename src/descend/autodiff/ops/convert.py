"""Turning operands into Tensors of one dtype before a primitive runs.

Python numbers and NumPy arrays take the dtype of the tensor they meet (``x * 2`` stays float32).
An integer or boolean tensor meeting a floating one is converted to the floating dtype. Two
floating tensors of different precision are an error, never a silent promotion.
"""

import numpy as np

from ..dtype import get_default_dtype
from ..tensor import Tensor


def lift(value, like):
    """``value`` (a number or array) as a constant Tensor in the dtype of Tensor ``like``."""
    dt = like.data.dtype
    if dt.kind == "f" and type(value) in (float, int):
        return Tensor._make(np.array(value, dtype=dt))
    arr = np.asarray(value)
    if arr.dtype == dt:
        return Tensor._make(arr)
    if dt.kind == "f" or arr.dtype.kind in "iub":
        if arr.dtype.kind == "f" and dt.kind in "iub":
            return Tensor._make(arr.astype(get_default_dtype()))
        return Tensor._make(arr.astype(dt))
    return Tensor._make(arr.astype(get_default_dtype()))


def floating(x):
    """``x`` itself if floating, else its values as a constant tensor of the default float dtype
    (``dc.arange(3).exp()`` works as in PyTorch)."""
    if x.data.dtype.kind != "f":
        return Tensor._make(x.data.astype(get_default_dtype()))
    return x


def as_float(t, dt):
    """An integer/boolean tensor as a constant float tensor of dtype ``dt``."""
    return Tensor._make(t.data.astype(dt))


def mixed_precision_error(name, da, db):
    return TypeError(
        f"{name}: operands have dtypes {da} and {db}; descend does not promote silently. "
        f"Convert one of them first, e.g. x.to(dc.{db}) or x.to(dc.{da})."
    )


def pair(a, b, name):
    """Both operands of a binary operation as Tensors of the same dtype."""
    if not isinstance(a, Tensor):
        if not isinstance(b, Tensor):
            raise TypeError(f"{name}: expected a Tensor operand, got {type(a).__name__} and {type(b).__name__}")
        a = lift(a, b)
    elif not isinstance(b, Tensor):
        b = lift(b, a)
    da, db = a.data.dtype, b.data.dtype
    if da is db or da == db:
        return a, b
    fa, fb = da.kind == "f", db.kind == "f"
    if fa and fb:
        raise mixed_precision_error(name, da, db)
    if fa:
        return a, as_float(b, da)
    if fb:
        return as_float(a, db), b
    return a, b
