"""Recording a step: the tape of one eager call (``_Trace``), and the calls code makes to it.

``host_op``, ``array_op``, ``guard_attribute`` and ``tracing`` are the public ways code tells a
``dc.compile`` trace what it does (see :mod:`descend.autodiff.compile`); outside a trace each
costs one attribute test.
"""

import contextlib
import functools
import os
import sys
import threading
import types

import numpy as np

from ..mode import state
from ..tensor import Tensor

__all__ = ["host_op", "array_op", "guard_attribute", "tracing"]


class _Slot:
    """An array-valued option of a box, replaced by the array of slot ``index`` at replay."""

    __slots__ = ("index",)

    def __init__(self, index):
        self.index = index

    def __eq__(self, other):
        return isinstance(other, _Slot) and other.index == self.index

    def __hash__(self):
        return hash(self.index)


_PLAIN = (Tensor, np.ndarray, int, float, complex, str, bytes, bool, tuple, list, dict, type(None), np.generic,
          np.dtype)


class _Trace:
    """The tape of one eager call: ops over numbered array slots.

    Slot kinds: ``("arg", i)`` the array of argument i, ``("out", op)`` made by a recorded box,
    ``("attr", (op, name))`` an array or object that box ``op``'s forward kept as ``self.<name>`` (read from it
    at replay right after it runs),
    ``("ext", owner)`` any other array (``owner`` the Tensor that carried it, or None)."""

    def __init__(self, arg_arrays):
        self.ops = []
        self.slot_of = {}
        self.arrays = []   # slot -> the array (or kept object) at trace time (kept alive, so ids stay unique)
        self.kinds = []
        self.owners = []
        self.failure = None
        self.host_depth = 0
        self.args = arg_arrays
        self.arg_copies = [np.array(a, copy=True) for a in arg_arrays]
        self.box_index = {}
        self.reads = {}    # (id(obj), attr) -> (obj, attr, value) of guard_attribute calls
        self.kept = {}     # id(object) -> (op, attribute name, object) a box's forward kept on itself
        self.user_reads = {}   # id(array) -> (array, where): arrays code outside descend read out of Tensors
        self._leaf = None
        for i, a in enumerate(arg_arrays):
            self._new_slot(a, "arg", i)

    def _new_slot(self, a, kind, owner):
        s = len(self.arrays)
        self.arrays.append(a)
        self.kinds.append(kind)
        self.owners.append(owner)
        self.slot_of[id(a)] = s
        return s

    def _input_slot(self, a, owner):
        s = self.slot_of.get(id(a))
        if s is None or self.arrays[s] is not a:
            kept = self.kept.get(id(a))
            if kept is not None and kept[2] is a:   # kept by a recorded box's forward: read from it at replay
                s = self._new_slot(a, "attr", kept[:2])
            else:
                s = self._new_slot(a, "ext", owner)
        return s

    # ---------------------------------------------------------------- hooks called by the engine
    def escape(self, what, who=False):
        """Something happened that the tape cannot replay; ignored inside a host operation."""
        if self.host_depth or self.failure is not None:
            return
        if who:
            what = f"{_caller()} {what}"
        self.failure = what

    def box(self, fn, inputs, arrays, options, out):
        if self.host_depth or self.failure is not None:
            return
        if state.forward_tag is not None:
            self.escape("the step runs forward mode (dc.jvp or tangents)")
            return
        ins = [self._input_slot(a, t) for a, t in zip(arrays, inputs)]
        opts = {}
        for k, v in options.items():
            if isinstance(v, np.ndarray):
                v = _Slot(self._input_slot(v, None))
            elif isinstance(v, Tensor):
                v = _Slot(self._input_slot(v.data, v))
            elif id(v) in self.kept and self.kept[id(v)][2] is v:   # e.g. max pooling's argmax positions
                v = _Slot(self._input_slot(v, None))
            elif isinstance(v, tuple) and any(isinstance(x, np.ndarray) for x in v):   # an index (rows, cols)
                v = tuple(_Slot(self._input_slot(x, None)) if isinstance(x, np.ndarray) else x for x in v)
            opts[k] = v
        for name, v in getattr(fn, "__dict__", {}).items():
            if isinstance(v, np.ndarray) or not isinstance(v, _PLAIN):
                self.kept[id(v)] = (len(self.ops), name, v)
        self.box_index[id(fn)] = len(self.ops)
        self.ops.append(("box", fn, ins, opts, None))
        s = self._new_slot(out, "out", len(self.ops) - 1)
        op = self.ops[-1]
        self.ops[-1] = op[:4] + (s,)

    def leaf_begin(self, t, unsupported):
        if self.host_depth or self.failure is not None:
            return
        if unsupported:
            self.escape("the step computes gradients with create_graph=True, dc.grad or forward mode")
        elif t._hooks:
            self.escape("a gradient hook (register_hook) runs on a leaf inside the step")
        self._leaf = t.grad

    def leaf_end(self, t, gi):
        if self.host_depth or self.failure is not None:
            return
        if self._leaf is not None:
            mode = "add"
        else:
            mode = "set" if t.grad.data is gi else "copy"
        self.ops.append(("leaf", t, self._input_slot(gi, None), mode))

    def call(self, fn, args):
        """Run and record ``fn(*args)`` (:func:`array_op`): its array arguments become slots, its
        result (an array or None) a new slot."""
        if self.failure is not None:
            return fn(*args)
        if any(isinstance(a, Tensor) and self._made_here(a.data) for a in args):
            self.escape(f"array_op({_name(fn)}) is given a Tensor computed in the step (pass its .data)")
            return fn(*args)
        spec = tuple(_Slot(self._input_slot(a, None)) if isinstance(a, (np.ndarray, np.generic)) else a
                     for a in args)   # (a 0-d box output may be a NumPy scalar)
        for a in args:   # an array read out of a Tensor and handed to array_op: replayed with it
            self.user_reads.pop(id(a), None)
        self.host_depth += 1
        try:
            out = fn(*args)
        finally:
            self.host_depth -= 1
        if isinstance(out, np.generic):   # a NumPy scalar (e.g. of np.sum): kept as a 0-d array
            fn, out = _as_array(fn), np.asarray(out)
        if out is not None and not isinstance(out, np.ndarray):
            self.escape(f"array_op({_name(fn)}) returned a {type(out).__name__}; expected an array or None")
            return out
        self.ops.append(("call", fn, spec, None if out is None else len(self.arrays), _caller()))
        if out is not None:
            self._new_slot(out, "out", len(self.ops) - 1)
        return out

    def read(self, obj, attr, value):
        if self.host_depth or self.failure is not None:
            return
        try:
            hash(value)
        except TypeError:
            self.escape(f"the step reads {type(obj).__name__}.{attr}, whose value is not hashable")
            return
        self.reads.setdefault((id(obj), attr), (obj, attr, value))

    def user_read(self, a, frame):
        """Array ``a`` was read out of a Tensor (``.data``, ``.numpy()``, ``np.asarray``) by ``frame``.
        Read by code outside descend and outside host operations, it is a value of this trace that
        Python may use (a branch, a scale, an in-place change) where a replay cannot see it, unless
        the array is handed to :func:`array_op`: :meth:`finish` fails the trace for the others."""
        if self.host_depth or self.failure is not None:
            return
        if frame.f_globals.get("__name__", "").split(".")[0] == "descend":
            return
        where = f"{frame.f_code.co_name}() at {os.path.basename(frame.f_code.co_filename)}:{frame.f_lineno}"
        self.user_reads.setdefault(id(a), (a, where))

    def finish(self):
        """Called when the traced call returns: fail for arrays that code outside descend read out of
        Tensors and never handed to :func:`array_op`."""
        if self.failure is None and self.user_reads:
            where = next(iter(self.user_reads.values()))[1]
            self.failure = (f"{where} reads a tensor's array into Python (.data, .numpy() or np.asarray), where a "
                            "replay would reuse this call's values; use Tensor operations, or hand the array to "
                            "extend.array_op, or do the work in an extend.host_op")
        self.user_reads = {}

    def _made_here(self, a):
        """Whether array ``a`` was made by a recorded operation of this trace."""
        s = self.slot_of.get(id(a))
        return s is not None and self.kinds[s] in ("out", "attr") and self.arrays[s] is a

    def host(self, fn, args, kwargs):
        for a in list(args) + list(kwargs.values()):
            for x in (a if isinstance(a, (list, tuple)) else (a,)):
                if isinstance(x, Tensor) and self._made_here(x.data):
                    self.escape(f"{_host_name(fn, args)} is given a value computed in the step")
        self.ops.append(("host", fn, args, kwargs))


_DATA = Tensor.__dict__["data"]   # the slot descriptor of a Tensor's array


class _WatchedData:
    """``Tensor.data`` while some thread traces a step: as the slot, and a read by the tracing
    thread is reported to its trace (:meth:`_Trace.user_read`), which keeps only reads by code
    outside descend."""

    def __get__(self, t, owner=None):
        if t is None:
            return self
        a = _DATA.__get__(t, owner)
        if state.special:
            tracer = state.tracer
            if tracer is not None:
                tracer.user_read(a, sys._getframe(1))
        return a

    def __set__(self, t, value):
        _DATA.__set__(t, value)


_WATCHED = _WatchedData()
_WATCHING = [0]   # traces running (in any thread)
_WATCH_LOCK = threading.Lock()


@contextlib.contextmanager
def watching_data():
    """Within the block, reads of ``Tensor.data`` go through :class:`_WatchedData` (outside traces
    ``Tensor.data`` is the plain slot, so untraced code pays nothing)."""
    with _WATCH_LOCK:
        if not _WATCHING[0]:
            Tensor.data = _WATCHED
        _WATCHING[0] += 1
    try:
        yield
    finally:
        with _WATCH_LOCK:
            _WATCHING[0] -= 1
            if not _WATCHING[0]:
                Tensor.data = _DATA


def _name(fn):
    f = getattr(fn, "__func__", fn)
    owner = getattr(fn, "__self__", None)
    name = getattr(f, "__name__", type(f).__name__)
    return f"{type(owner).__name__}.{name}()" if owner is not None else f"{name}()"


def _host_name(fn, args):
    """``Adam.step()`` for a method called with its instance first, else ``clip_grad_norm_()``."""
    if "." in fn.__qualname__ and args and hasattr(type(args[0]), fn.__name__):
        return f"{type(args[0]).__name__}.{fn.__name__}()"
    return _name(fn)


def _caller():
    """The class of the nearest caller outside autodiff that is a method (e.g. ``Dropout``), else
    the nearest function's name, for messages."""
    f = sys._getframe(2)
    first = None
    for _ in range(8):
        if f is None:
            break
        if not f.f_globals.get("__name__", "").startswith("descend.autodiff"):
            self = f.f_locals.get("self")
            if self is not None:
                return type(self).__name__
            first = first or f.f_code.co_name + "()"
        f = f.f_back
    return first or "the step"


def host_op(fn):
    """Mark ``fn`` (an optimizer's ``step``/``zero_grad``, ``clip_grad_norm_``, a scheduler's
    ``step``) as a host operation: Python that works on arrays in place. Inside a ``dc.compile``
    trace the call is recorded and called again at each replay, with the same arguments (an
    iterator argument is turned into a list first); what it does inside is not traced. Outside a
    trace it costs one attribute test."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        if state.special:
            tracer = state.tracer
            if tracer is not None and not tracer.host_depth:
                args = tuple(list(a) if isinstance(a, (types.GeneratorType, map, filter, zip)) else a for a in args)
                tracer.host(fn, args, kwargs)
                tracer.host_depth += 1
                try:
                    return fn(*args, **kwargs)
                finally:
                    tracer.host_depth -= 1
        return fn(*args, **kwargs)

    wrapper.host_op = True
    return wrapper


def array_op(fn, *args):
    """``fn(*args)``: a computation on arrays that the graph does not record (a dropout mask drawn
    from descend's generator, batch normalization's running statistics), made again at each replay
    of a ``dc.compile`` step. ``fn`` may draw random numbers and write into Tensors' arrays (with
    :class:`~descend.autodiff.extend.inplace`); it returns an array (a new value of the step) or None.

    Inside a trace the call is recorded: at replay ``fn`` is called again, in its place among the
    step's operations, with the same arguments, except that an array argument made by the step
    (e.g. ``mean.data`` of a batch mean) is the replay's array. So a replayed dropout draws from the
    generator exactly as the eager step would, and the generator's state advances alike. Outside
    a trace it costs one attribute test."""
    if state.special:
        tracer = state.tracer
        if tracer is not None and not tracer.host_depth:
            return tracer.call(fn, args)
    return fn(*args)


def tracing():
    """True while a ``dc.compile`` trace records the running step. Code that branches on data only
    to skip work (``if mask.any(): y = where(mask, ...)``) takes the general branch while tracing,
    so that the recording is right for every batch the replay will see."""
    return state.special and state.tracer is not None


def _as_array(fn):
    """``fn`` whose NumPy-scalar result is returned as a 0-d array."""
    def as_array(*args):
        return np.asarray(fn(*args))
    as_array.__name__ = getattr(fn, "__name__", "array_op")
    return as_array


def guard_attribute(obj, attr):
    """``getattr(obj, attr)``, read by Python inside a step (e.g. a module's ``training`` flag, which
    decides whether dropout draws a mask): a ``dc.compile`` step keeps one recording per value, so
    that after ``model.eval()`` a replay does not run what was recorded in training mode (the call
    with the new value is traced, as a new input shape is). The value must be hashable. Outside a
    trace it costs one attribute test."""
    value = getattr(obj, attr)
    if state.special:
        tracer = state.tracer
        if tracer is not None:
            tracer.read(obj, attr, value)
    return value
