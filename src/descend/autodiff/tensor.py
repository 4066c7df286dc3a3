"""The Tensor: a NumPy array, its gradient, and the box of the flow graph that made it.

A Tensor holds

- ``data``: the NumPy array of values;
- ``requires_grad``: whether gradients with respect to it are wanted;
- ``grad``: after ``backward()``, the Tensor dL/dx of a leaf (the sum over all backward calls);
- ``grad_fn``: the :class:`~descend.autodiff.function.Function` box whose ``forward`` made it
  (``None`` for a leaf: a tensor the user made).

The arithmetic operators and methods (``+``, ``@``, ``exp``, ``sum``, ``reshape``, ...) are bound to
the class by :mod:`descend.autodiff.ops`, and ``backward`` by :mod:`descend.autodiff.engine`, when
the package is imported, so that this file depends on nothing but NumPy and the engine's small
state modules (dtypes, grad mode, held arrays).

In-place methods (``add_``, ``mul_``, ``zero_``, ``copy_``, ``x[i] = v``, ``x -= v``, ...) change
``data`` and bump the tensor's version counter; a backward pass that needs a value that was
changed since it was saved raises instead of returning a wrong gradient. While a recorded graph
holds an array for its backward pass the array is read-only (see :mod:`descend.autodiff.hold`):
a raw NumPy write such as ``x.data[:] = 0`` raises, the in-place methods lift the protection for
their write. Code that writes into arrays directly uses ``descend.autodiff.extend.inplace``.
"""

import sys
import weakref

import numpy as np

from . import dtype as _dt
from .hold import lift, restore
from .mode import not_replayable
from .mode import state as _state


class Tensor:
    """An n-dimensional array that records the operations made on it for differentiation."""

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_vc", "_fw", "_hooks", "__weakref__")
    __array_priority__ = 1000  # NumPy defers to our reflected operators
    __array_ufunc__ = None

    def __init__(self, data, requires_grad=False, dtype=None, copy=True):
        """A leaf tensor of ``data`` (numbers, nested lists, arrays or tensors).

        With ``copy=True`` the values are copied and floating values take ``dtype`` or the
        default dtype. With ``copy=False`` a NumPy array is used as it is, in its own dtype (as
        ``dc.from_numpy``), and a Tensor's array is shared together with its version counter,
        so that an in-place change of either is seen by both (as ``nn.Parameter(t)``).
        """
        self._vc = [0]
        if copy or not isinstance(data, (np.ndarray, Tensor)):
            self.data = as_array(data, dtype)
        elif isinstance(data, Tensor):
            self.data = data.data
            self._vc = data._vc
        else:
            self.data = check_array(data, type(self).__name__)
        self.grad = None
        self.requires_grad = False
        self._ctx = None
        self._fw = None
        self._hooks = None
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, data, requires_grad=False, ctx=None):
        """Wrap an array without checks or copies (the engine's fast path)."""
        t = object.__new__(cls)
        t.data = data
        t.grad = None
        t.requires_grad = requires_grad
        t._ctx = ctx
        t._vc = [0]
        t._fw = None
        t._hooks = None
        return t

    # ----------------------------------------------------------------- basic attributes
    @property
    def shape(self):
        """The shape of the tensor's array, a tuple of ints (PyTorch's ``Tensor.shape``)."""
        return self.data.shape

    @property
    def dtype(self):
        """The NumPy dtype of the tensor's array (float32 by default; see ``dc.set_default_dtype``)."""
        return self.data.dtype

    @property
    def ndim(self):
        """The number of dimensions (0 for a scalar)."""
        return self.data.ndim

    def dim(self):
        """The number of dimensions, as PyTorch's ``Tensor.dim()`` (the same as :attr:`ndim`)."""
        return self.data.ndim

    def size(self, dim=None):
        """The shape, or its length along ``dim`` (PyTorch's ``size``)."""
        return self.data.shape if dim is None else self.data.shape[dim]

    def numel(self):
        """The number of elements, the product of the shape."""
        return self.data.size

    @property
    def is_leaf(self):
        """True for a tensor the user made (not the result of a recorded operation)."""
        return self._ctx is None

    @property
    def grad_fn(self):
        """The recorded box (a :class:`~descend.autodiff.function.Function`) that made this tensor, or
        None for a leaf or a tensor made without recording."""
        return self._ctx

    @property
    def _version(self):
        return self._vc[0]

    def bump_version(self):
        """Record that ``data`` was changed in place (done by every in-place method)."""
        self._vc[0] += 1

    def numpy(self):
        """The values as a NumPy array (shares memory with the tensor, like ``.detach().numpy()``).

        The array is read-only while a recorded graph holds it for its backward pass. Inside a
        ``dc.compile`` step, an array read by code outside descend must go to ``extend.array_op``
        (or the step runs eagerly): Python using its values would not see a replay's."""
        if _state.special and _state.tracer is not None:
            _state.tracer.user_read(self.data, sys._getframe(1))
        return self.data

    def item(self):
        """The value of a one-element tensor as a Python number."""
        if self.data.size != 1:
            raise ValueError("item(): only a tensor with one element can be converted to a Python number; "
                             f"this one has shape {self.shape}")
        not_replayable("the step reads a tensor's value into Python (.item(), float(), int())")
        return self.data.item()

    def tolist(self):
        """The values as nested Python lists (a Python number for a scalar); inside a
        ``dc.compile`` step it makes the step run eagerly (control flow on data)."""
        not_replayable("the step reads a tensor's values into Python (.tolist())")
        return self.data.tolist()

    def detach(self):
        """A new leaf that shares ``data`` (and its version counter) but records nothing."""
        t = Tensor._make(self.data)
        t._vc = self._vc
        return t

    def clone(self):
        """A copy of the data that stays in the graph (gradient flows back to self)."""
        return self * 1 if self.requires_grad else Tensor._make(self.data.copy())

    def requires_grad_(self, requires_grad=True):
        """Set ``requires_grad`` in place (leaf floating tensors only); returns self."""
        if requires_grad and self.data.dtype.kind != "f":
            raise TypeError(f"only floating tensors can require gradients; this tensor has dtype {self.data.dtype}")
        if not requires_grad and self._ctx is not None:
            raise RuntimeError("requires_grad_(False) on a non-leaf tensor; use .detach() to cut it out of the graph")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self):
        """Keep ``.grad`` for this non-leaf tensor after backward (leaves always keep it)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        if self._ctx is not None:
            self._ctx._retained = weakref.ref(self)
        return self

    def register_hook(self, hook):
        """Call ``hook(grad)`` when the gradient with respect to this tensor is computed.

        If the hook returns a Tensor, it replaces the gradient. Returns a handle with ``remove()``.
        """
        if not self.requires_grad:
            raise RuntimeError("register_hook() on a tensor that does not require grad")
        owner = self if self._ctx is None else self._ctx
        if owner._hooks is None:
            owner._hooks = []
        owner._hooks.append(hook)
        return _HookHandle(owner._hooks, hook)

    # ----------------------------------------------------------------- forward mode
    @property
    def tangent(self):
        """The tangent (dual part) carried inside the current ``dc.jvp`` pass, or None."""
        fw = self._fw
        if fw is not None and fw[0] is _state.forward_tag:
            return fw[1]
        return None

    # ----------------------------------------------------------------- in-place methods
    def _check_inplace(self, what):
        if _state.grad_enabled and self.requires_grad:
            kind = ("a leaf tensor that requires grad" if self._ctx is None
                    else "a tensor that is part of a recorded graph")
            raise RuntimeError(f"{what}: in-place change of {kind}; "
                               "wrap it in `with dc.no_grad():` or use the out-of-place operation")

    def _write(self, what, value, write):
        """Run ``write(array)`` on this tensor's array (lifting a graph's read-only hold for the
        write), then move the version. ``value`` is the array written from (for the dtype check)."""
        self._check_inplace(what)
        not_replayable(f"the step changes a tensor in place ({what})")
        data = self.data
        if value.dtype != data.dtype and not np.can_cast(value.dtype, data.dtype, "same_kind"):
            raise TypeError(f"{what}: cannot write values of dtype {value.dtype} into a tensor of dtype {data.dtype}")
        lifted = lift(data)
        try:
            write(data)
        finally:
            restore(lifted)
        self._vc[0] += 1
        return self

    @staticmethod
    def _value(other):
        return other.data if isinstance(other, Tensor) else np.asarray(other)

    def add_(self, other, alpha=1):
        """x ← x + alpha·other, in place."""
        v = self._value(other)
        return self._write("add_", v, lambda a: np.add(a, v if alpha == 1 else alpha * v, out=a, casting="same_kind"))

    def sub_(self, other, alpha=1):
        """x ← x − alpha·other, in place."""
        return self.add_(other, alpha=-alpha)

    def mul_(self, other):
        """x ← x·other, in place."""
        v = self._value(other)
        return self._write("mul_", v, lambda a: np.multiply(a, v, out=a, casting="same_kind"))

    def div_(self, other):
        """x ← x / other, in place."""
        v = self._value(other)
        return self._write("div_", v, lambda a: np.divide(a, v, out=a, casting="same_kind"))

    def clamp_(self, min=None, max=None):
        """x ← min(max(x, min), max), in place."""
        return self._write("clamp_", self.data, lambda a: np.clip(a, min, max, out=a))

    def copy_(self, src):
        """x ← src (broadcast to x's shape), in place."""
        v = self._value(src)
        try:
            return self._write("copy_", v, lambda a: np.copyto(a, v, casting="same_kind"))
        except ValueError:
            if np.broadcast_shapes(v.shape, self.shape) == self.shape:
                raise
            raise ValueError(f"copy_: cannot copy a source of shape {v.shape} "
                             f"into a tensor of shape {self.shape}") from None

    def fill_(self, value):
        """x ← value everywhere, in place."""
        v = self._value(value)
        if v.ndim:
            raise ValueError(f"fill_: expected one number, got an array of shape {v.shape}")
        return self._write("fill_", check_array(v, "fill_"), lambda a: a.fill(value))

    def zero_(self):
        """x ← 0, in place."""
        return self.fill_(0)

    def __setitem__(self, index, value):
        v = self._value(value)
        if isinstance(index, Tensor):
            index = index.data
        elif isinstance(index, tuple):
            index = tuple(i.data if isinstance(i, Tensor) else i for i in index)
        self._write("x[...] = v", v, lambda a: a.__setitem__(index, v))

    def _augmented(self, other, inplace, operator, symbol):
        """``x op= v``: in place (the method ``inplace``) unless it must be recorded for
        differentiation. Then, for a leaf that requires grad, it raises (as PyTorch), and for a
        tensor inside a recorded graph it is ``x = x op v`` (a new node; other names for x keep
        the old value, since descend does not rewrite a graph in place)."""
        if _state.grad_enabled and (self.requires_grad or (isinstance(other, Tensor) and other.requires_grad)):
            if self.requires_grad and self._ctx is None:
                self._check_inplace(f"x {symbol} v")
            return getattr(self, operator)(other)
        return getattr(self, inplace)(other)

    def __iadd__(self, other):
        return self._augmented(other, "add_", "__add__", "+=")

    def __isub__(self, other):
        return self._augmented(other, "sub_", "__sub__", "-=")

    def __imul__(self, other):
        return self._augmented(other, "mul_", "__mul__", "*=")

    def __itruediv__(self, other):
        return self._augmented(other, "div_", "__truediv__", "/=")

    # ----------------------------------------------------------------- Python protocol
    __hash__ = object.__hash__

    def __len__(self):
        if self.data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.data.shape[0]

    def __iter__(self):
        for i in range(len(self)):
            yield self[i]

    def __bool__(self):
        if self.data.size != 1:
            raise ValueError(f"the truth value of a tensor with {self.data.size} elements is ambiguous; "
                             "use .any() or .all()")
        not_replayable("the step branches on a tensor's value (bool(), if/while on data)")
        return bool(self.data)

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.data.dtype.kind not in "iu":
            raise TypeError(f"only integer tensors can be used as an index, not {self.data.dtype}")
        return int(self.item())

    def __array__(self, dtype=None, copy=None):
        if _state.special and _state.tracer is not None:   # np.asarray(t) in a step: as .numpy()
            _state.tracer.user_read(self.data, sys._getframe(1))
        return self.data if dtype is None else self.data.astype(dtype)

    def __repr__(self):
        body = np.array2string(self.data, separator=", ", precision=4, prefix="tensor(")
        extras = []
        if self.data.dtype != _dt.get_default_dtype() and self.data.dtype.kind == "f":
            extras.append(f"dtype={self.data.dtype}")
        elif self.data.dtype.kind in "iub" and self.data.dtype != np.int64:
            extras.append(f"dtype={self.data.dtype}")
        if self._ctx is not None:
            extras.append(f"grad_fn=<{type(self._ctx).__name__}>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"


def check_array(arr, where):
    """``arr`` itself if its dtype is bool, integer or floating; else a TypeError saying what it holds."""
    kind = arr.dtype.kind
    if kind not in _dt.KINDS:
        raise TypeError(f"{where}: cannot make a tensor of {_dt.KIND_NAMES.get(kind, 'values')} "
                        f"(NumPy dtype {arr.dtype}); a tensor holds bool, integer or floating numbers")
    return arr


def as_array(data, dtype=None):
    """A NumPy array copy of ``data`` in ``dtype``, or, if None, in the default dtype for floats.

    Only bool, integer and floating data are accepted (TypeError otherwise); unsigned integers
    become int64 (ValueError if a value does not fit)."""
    if isinstance(data, Tensor):
        data = data.data
    arr = np.array(data, copy=True)
    if arr.dtype == object and not isinstance(data, np.ndarray):
        raise TypeError(f"cannot make a tensor from {type(data).__name__} values; "
                        "expected numbers or nested lists of numbers")
    check_array(arr, "tensor")
    if dtype is not None:
        return arr.astype(_dt.as_dtype(dtype), copy=False)
    if arr.dtype.kind == "f":
        return arr.astype(_dt.get_default_dtype(), copy=False)
    if arr.dtype.kind in "iu" and arr.dtype != np.int64:
        if arr.dtype == np.uint64 and arr.size and arr.max() > np.iinfo(np.int64).max:
            raise ValueError(f"tensor: value {arr.max()} does not fit in int64 (the dtype of integer tensors)")
        return arr.astype(np.int64)
    return arr


class _HookHandle:
    def __init__(self, hooks, hook):
        self._hooks, self._hook = hooks, hook

    def remove(self):
        if self._hook in self._hooks:
            self._hooks.remove(self._hook)
