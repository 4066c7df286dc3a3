"""Comparing the tapes of two traced calls: what may be replayed, and where each array comes from."""

import types

import numpy as np

from ..function import Function
from ..tensor import Tensor
from .trace import _Slot, _host_name, _name


# ------------------------------------------------------------------------ comparing two tapes
def _same(a, b, t1, t2):
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, Function):
        i = t1.box_index.get(id(a))
        return i is not None and i == t2.box_index.get(id(b))
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and a.dtype == b.dtype and bool(np.array_equal(a, b, equal_nan=True))
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y, t1, t2) for x, y in zip(a, b))
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k], t1, t2) for k in a)
    if isinstance(a, Tensor):
        return False
    if isinstance(a, types.FunctionType):   # a lambda made anew at each call is the same if its code and
        return a.__code__ is b.__code__ and a.__defaults__ == b.__defaults__ and \
            _same(_cells(a), _cells(b), t1, t2)   # the values it closes over are
    if isinstance(a, (int, float, complex, str, bytes, bool, np.generic, np.dtype, type, _Slot)):
        try:
            return bool(a == b) or (a != a and b != b)
        except (TypeError, ValueError):
            return False
    if type(a).__eq__ is not object.__eq__:
        try:
            return bool(a == b)
        except (TypeError, ValueError):
            return False
    return _same(_fields(a), _fields(b), t1, t2)


def _fields(obj):
    """An object's attributes as a dict (its ``__dict__`` and ``__slots__``), to compare two of them."""
    out = dict(getattr(obj, "__dict__", {}))
    for cls in type(obj).__mro__:
        for name in getattr(cls, "__slots__", ()):
            if name not in ("__dict__", "__weakref__") and hasattr(obj, name):
                out[name] = getattr(obj, name)
    return out


def _cells(fn):
    """The values a function closes over (an empty cell as the cell itself)."""
    out = []
    for c in fn.__closure__ or ():
        try:
            out.append(c.cell_contents)
        except ValueError:
            out.append(c)
    return out


def _compare(t1, t2):
    """None if tape t2 repeats t1 (same ops, options and slot structure), else what differs."""
    if len(t1.ops) != len(t2.ops) or len(t1.arrays) != len(t2.arrays):
        return f"the step ran {len(t1.ops)} operations in one call and {len(t2.ops)} in the next"
    if t1.kinds != t2.kinds or [o for o, k in zip(t1.owners, t1.kinds) if k == "attr"] != \
            [o for o, k in zip(t2.owners, t2.kinds) if k == "attr"]:
        return "the step's operations are wired differently from one call to the next"
    for k, (o1, o2) in enumerate(zip(t1.ops, t2.ops)):
        if o1[0] != o2[0]:
            return f"operation {k} is {o1[0]} in one call and {o2[0]} in the next"
        if o1[0] == "box":
            name = type(o1[1]).__name__
            if type(o1[1]) is not type(o2[1]):
                return f"operation {k} is {name} in one call and {type(o2[1]).__name__} in the next"
            if o1[2] != o2[2] or o1[4] != o2[4]:
                return f"{name} (operation {k}) reads different inputs from one call to the next"
            if not _same(o1[3], o2[3], t1, t2):
                return f"{name} (operation {k}) gets options that change between calls (values computed from data?)"
        elif o1[0] == "leaf":   # (whether .grad was empty may differ: accumulation over calls)
            if o1[1] is not o2[1] or o1[2] != o2[2]:
                return "the gradients reach different leaves from one call to the next"
        elif o1[0] == "call":
            if not (o1[3] == o2[3] and _same(o1[1], o2[1], t1, t2) and _same(o1[2], o2[2], t1, t2)):
                return (f"{o1[4]} calls {_name(o1[1])} with arguments that change between calls (numbers read "
                        "from data, e.g. BatchNorm with momentum=None, or values a lambda closes over)")
        else:
            if not (o1[1] == o2[1] and _same(o1[2], o2[2], t1, t2) and _same(o1[3], o2[3], t1, t2)):
                return f"{_host_name(o1[1], o1[2])} is called differently from one call to the next"
    return None


def _classify(t1, t2, slot):
    """How to get the array of 'ext' slot ``slot`` at replay: ("tensor", T), ("array", a),
    ("derived", arg index, shape, dtype), ("const", a), or ("fail", why)."""
    a1, a2 = t1.arrays[slot], t2.arrays[slot]
    o1, o2 = t1.owners[slot], t2.owners[slot]
    if o2 is not None and o1 is o2:
        return ("tensor", o2)
    if a1 is a2:
        return ("array", a2)
    if a1.shape != a2.shape or a1.dtype != a2.dtype:
        return ("fail", f"an array of shape {a2.shape} used in the step is not made by a recorded operation")
    for i, (c1, c2) in enumerate(zip(t1.arg_copies, t2.arg_copies)):
        if c2.size == a2.size and c2.size and _values_equal(c1, a1) and _values_equal(c2, a2):
            return ("derived", i, a2.shape, a2.dtype)
    if np.array_equal(a1, a2, equal_nan=True):
        return ("const", a2)
    return ("fail", f"an array of shape {a2.shape} used in the step changes between calls and is not made by a "
                    "recorded operation (values computed from data with NumPy?)")


def _values_equal(arg, a):
    if arg.size != a.size:
        return False
    with np.errstate(all="ignore"):
        return bool(np.array_equal(arg.reshape(-1).astype(a.dtype), a.reshape(-1)))
