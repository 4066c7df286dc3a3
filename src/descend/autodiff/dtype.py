"""Floating-point types and the default dtype.

descend's dtypes are NumPy dtypes: ``dc.float32 is np.dtype("float32")``. Every argument called
``dtype`` also accepts a NumPy scalar type (``np.float64``) or a name (``"float64"``).
Floating tensors are created in the default dtype, float32, unless asked otherwise, as in
PyTorch; :func:`set_default_dtype` changes it.
"""

import numpy as np

float16 = np.dtype("float16")
float32 = np.dtype("float32")
float64 = np.dtype("float64")
int32 = np.dtype("int32")
int64 = np.dtype("int64")
bool_ = np.dtype("bool")

_default = [float32]

#: the kinds of NumPy dtype a tensor may hold: bool, signed and unsigned integer, floating
KINDS = "biuf"

#: what the other kinds hold, for error messages
KIND_NAMES = {"c": "complex numbers", "U": "strings", "S": "bytes", "O": "Python objects", "M": "datetimes",
              "m": "timedeltas", "V": "structured records"}


def as_dtype(dtype):
    """Return the NumPy dtype that ``dtype`` names (a dtype, a scalar type or a string).

    A tensor holds bool, integer or floating numbers: other dtypes (complex, strings, objects,
    datetimes) raise TypeError."""
    if dtype is None:
        return _default[0]
    if not isinstance(dtype, np.dtype):
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"dtype={dtype!r} is not a dtype; "
                            "expected e.g. dc.float32, np.float64 or 'float64'") from None
    if dtype.kind not in KINDS:
        raise TypeError(f"dtype={dtype} ({KIND_NAMES.get(dtype.kind, 'other values')}) is not a tensor dtype; a tensor "
                        "holds bool, integer or floating numbers (e.g. dc.float32, dc.float64, dc.int64, dc.bool_)")
    return dtype


def set_default_dtype(dtype):
    """Set the dtype of new floating tensors (float32 or float64)."""
    dt = as_dtype(dtype)
    if dt.kind != "f":
        raise TypeError(f"set_default_dtype: {dt} is not a floating dtype; expected float32 or float64")
    _default[0] = dt


def get_default_dtype():
    """The dtype new floating tensors get (float32 unless changed)."""
    return _default[0]


def is_floating(dtype):
    return dtype.kind == "f"
