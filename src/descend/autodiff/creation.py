"""Making tensors: ``tensor``, ``from_numpy``, ``zeros``, ``ones``, ``full``, ``arange``, ``eye``,
``rand``, ``randn`` and friends.

Floating values take the default dtype (float32) unless ``dtype=`` says otherwise; integer
values stay integer (int64), booleans stay boolean. Every factory takes ``requires_grad=``.
A tensor holds bool, integer or floating numbers only: complex numbers, strings, objects or
datetimes (as data, dtype or fill value) raise TypeError saying what was given.
"""

import numpy as np

from . import dtype as _dt
from .compile import array_op
from .random import generator
from .tensor import Tensor, as_array, check_array  # noqa: F401  (as_array is part of this module's API)


def _finish(arr, requires_grad):
    t = Tensor._make(arr)
    if requires_grad:
        t.requires_grad_(True)
    return t


def tensor(data, dtype=None, requires_grad=False):
    """A new tensor holding a copy of ``data`` (numbers, nested lists, arrays or tensors)."""
    return _finish(as_array(data, dtype), requires_grad)


def from_numpy(array, requires_grad=False):
    """A tensor that shares memory with ``array`` and keeps its dtype (as ``torch.from_numpy``)."""
    if not isinstance(array, np.ndarray):
        raise TypeError(f"from_numpy expects a numpy.ndarray, got {type(array).__name__}")
    return _finish(check_array(array, "from_numpy"), requires_grad)


def _real(value, where, what):
    """``value`` if it is a real number (bool, integer or floating, Python or NumPy, or a one-element
    tensor's value), else a TypeError naming what was given."""
    if isinstance(value, Tensor):
        value = value.item()
    kind = np.asarray(value).dtype.kind
    if kind not in "biuf" or np.ndim(value) != 0:
        raise TypeError(f"{where}: {what}={value!r} is not a real number")
    return value


def _shape(size):
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    for s in size:
        if not isinstance(s, (int, np.integer)) or s < 0:
            raise ValueError(f"size {tuple(size)}: every dimension must be a non-negative integer")
    return tuple(int(s) for s in size)


def zeros(*size, dtype=None, requires_grad=False):
    """A tensor of zeros of the given shape."""
    return _finish(np.zeros(_shape(size), _dt.as_dtype(dtype)), requires_grad)


def ones(*size, dtype=None, requires_grad=False):
    """A tensor of ones of the given shape."""
    return _finish(np.ones(_shape(size), _dt.as_dtype(dtype)), requires_grad)


def empty(*size, dtype=None, requires_grad=False):
    """An uninitialised tensor of the given shape."""
    return _finish(np.empty(_shape(size), _dt.as_dtype(dtype)), requires_grad)


def full(size, fill_value, dtype=None, requires_grad=False):
    """A tensor of the given shape filled with ``fill_value``."""
    fill_value = _real(fill_value, "full", "fill_value")
    if dtype is None and isinstance(fill_value, (bool, int, np.integer, np.bool_)):
        dtype = np.bool_ if isinstance(fill_value, (bool, np.bool_)) else np.int64
    return _finish(np.full(_shape((size,)), fill_value, _dt.as_dtype(dtype)), requires_grad)


def _like(x, dtype):
    return _dt.as_dtype((x.data.dtype if isinstance(x, Tensor) else np.asarray(x).dtype) if dtype is None else dtype)


def zeros_like(x, dtype=None, requires_grad=False):
    """A Tensor of zeros with x's shape and dtype (or ``dtype``); x is a Tensor or an array."""
    return _finish(np.zeros(np.shape(x.data if isinstance(x, Tensor) else x), _like(x, dtype)), requires_grad)


def ones_like(x, dtype=None, requires_grad=False):
    """A Tensor of ones with x's shape and dtype (or ``dtype``); x is a Tensor or an array."""
    return _finish(np.ones(np.shape(x.data if isinstance(x, Tensor) else x), _like(x, dtype)), requires_grad)


def full_like(x, fill_value, dtype=None, requires_grad=False):
    """A Tensor filled with ``fill_value``, with x's shape and dtype (or ``dtype``)."""
    fill_value = _real(fill_value, "full_like", "fill_value")
    return _finish(
        np.full(np.shape(x.data if isinstance(x, Tensor) else x), fill_value, _like(x, dtype)), requires_grad
    )


def arange(start, end=None, step=1, dtype=None, requires_grad=False):
    """Values from ``start`` (default 0) up to, not including, ``end``, ``step`` apart.

    Integer arguments give an int64 tensor, any float argument the default float dtype.
    """
    if end is None:
        start, end = 0, start
    for what, v in (("start", start), ("end", end), ("step", step)):
        _real(v, "arange", what)
    if dtype is None:
        is_int = all(isinstance(v, (int, np.integer)) for v in (start, end, step))
        dtype = np.int64 if is_int else _dt.get_default_dtype()
    return _finish(np.arange(start, end, step, dtype=_dt.as_dtype(dtype)), requires_grad)


def linspace(start, end, steps, dtype=None, requires_grad=False):
    """``steps`` evenly spaced values from ``start`` to ``end`` inclusive."""
    _real(start, "linspace", "start")
    _real(end, "linspace", "end")
    return _finish(np.linspace(start, end, steps, dtype=_dt.as_dtype(dtype)), requires_grad)


def eye(n, m=None, dtype=None, requires_grad=False):
    """The n x m identity matrix (m = n by default)."""
    return _finish(np.eye(n, m, dtype=_dt.as_dtype(dtype)), requires_grad)


def _draw(method, shape, dt, *args):
    """``generator().method(*args, shape)`` as dtype ``dt``: an ``array_op``, so that a step compiled
    with ``dc.compile`` draws afresh at each replay, as the eager step does."""
    return getattr(generator(), method)(*args, shape).astype(dt, copy=False)


def _random(method, shape, dt, requires_grad, *args):
    if requires_grad:  # a new leaf that wants a gradient: not a value a replay can remake
        return _finish(_draw(method, shape, dt, *args), True)
    return _finish(array_op(_draw, method, shape, dt, *args), False)


def rand(*size, dtype=None, requires_grad=False):
    """Samples of U[0, 1) from descend's generator (seeded by ``dc.manual_seed``)."""
    return _random("random", _shape(size), _dt.as_dtype(dtype), requires_grad)


def randn(*size, dtype=None, requires_grad=False):
    """Samples of N(0, 1) from descend's generator (seeded by ``dc.manual_seed``)."""
    return _random("standard_normal", _shape(size), _dt.as_dtype(dtype), requires_grad)


def randint(low, high=None, size=(), dtype=None):
    """Integers in [low, high) (or [0, low) if ``high`` is omitted) of the given shape."""
    if high is None:
        low, high = 0, low
    shape = _shape((size,)) if size != () else ()
    return _random("integers", shape, _dt.as_dtype(dtype or np.int64), False, low, high)


def randperm(n, dtype=None):
    """A random permutation of 0..n-1."""
    return _finish(array_op(_permutation, n, _dt.as_dtype(dtype or np.int64)), False)


def _permutation(n, dt):
    return generator().permutation(n).astype(dt)
