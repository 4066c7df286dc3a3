"""Turning operands into Tensors of one dtype before a primitive runs.

Python numbers, Python lists, NumPy scalars and 0-d arrays are "weak": they take the dtype of
the tensor they meet (``x * 2`` stays float32, as in PyTorch). A NumPy array with dimensions
counts as a tensor of its own dtype. An integer or boolean operand meeting a floating one is
converted to the floating dtype; two floating operands of different precision are an error
naming both dtypes, never a silent promotion or demotion.
"""

import numpy as np

from ..dtype import get_default_dtype
from ..tensor import Tensor, check_array


_CONSTANTS = {}


def constant(value, dt):
    """A read-only 0-d array of ``value`` in floating dtype ``dt``, shared by every operation that
    meets the same Python number (a cache of at most 1024, emptied when full). Zero is never
    cached, because 0.0 and -0.0 are equal keys but different numbers."""
    key = (value, dt)
    arr = _CONSTANTS.get(key)
    if arr is None:
        arr = np.array(value, dtype=dt)
        if not value:
            return arr
        arr.setflags(False)
        if len(_CONSTANTS) >= 1024:
            _CONSTANTS.clear()
        _CONSTANTS[key] = arr
    return arr


def lift(value, like, name="operation"):
    """``value`` (a number, list or array) as a constant Tensor to combine with Tensor ``like``.

    Weak values (numbers, lists, NumPy scalars, 0-d arrays) take ``like``'s dtype unless they
    are of a higher kind (bool < integer < floating): a float meeting an integer tensor takes the
    default float dtype, an integer meeting a boolean tensor int64 (as PyTorch); an array with dimensions
    keeps its own dtype, so that :func:`pair` applies the tensor rule to it. Values that are
    not bool, integer or floating numbers raise TypeError."""
    dt = like.data.dtype
    if dt.kind == "f" and type(value) in (float, int):
        return Tensor._make(constant(value, dt))
    if isinstance(value, np.ndarray) and value.ndim:
        return Tensor._make(check_array(value, name))
    arr = check_array(np.asarray(value), name)
    if arr.dtype == dt:
        return Tensor._make(arr)
    if _RANK[arr.dtype.kind] <= _RANK[dt.kind]:
        return Tensor._make(arr.astype(dt))
    return Tensor._make(arr.astype(get_default_dtype() if arr.dtype.kind == "f" else np.int64))


_RANK = {"b": 0, "u": 1, "i": 1, "f": 2}


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
    array = None  # the operand that came as a NumPy array, "a" or "b"
    if not isinstance(a, Tensor):
        if not isinstance(b, Tensor):
            raise TypeError(f"{name}: expected a Tensor operand, got {type(a).__name__} and {type(b).__name__}")
        array = "a" if isinstance(a, np.ndarray) else None
        a = lift(a, b, name)
    elif not isinstance(b, Tensor):
        array = "b" if isinstance(b, np.ndarray) else None
        b = lift(b, a, name)
    da, db = a.data.dtype, b.data.dtype
    if da is db or da == db:
        return a, b
    fa, fb = da.kind == "f", db.kind == "f"
    if fa and fb:
        if array is not None:
            theirs, ours = (da, db) if array == "a" else (db, da)
            raise TypeError(f"{name}: a NumPy array of dtype {theirs} meets a tensor of dtype {ours}; descend does not "
                            f"promote or demote silently. Convert one of them first, e.g. array.astype(np.{ours}) "
                            f"or x.to(dc.{theirs}).")
        raise mixed_precision_error(name, da, db)
    if fa:
        return a, as_float(b, da)
    if fb:
        return as_float(a, db), b
    return a, b
