"""``dc.compile``: trace a training step once, then replay its NumPy kernels without the graph.

``step = dc.compile(step_fn)`` returns a function with ``step_fn``'s signature. A step is the
composition of the boxes y = f(x₁, ..., xₙ) that its forward pass and its backward rules run
(the vector-Jacobian products are boxes too), the writes of the leaves' gradients
∂L/∂θ into ``θ.grad``, and host operations (``optimizer.zero_grad()``, ``optimizer.step()``,
``clip_grad_norm_``, ``scheduler.step()``) that work on the arrays in place. Eager execution
rebuilds that composition at every call: one Tensor and one box object per operation, a graph,
a topological sort. Compiled, the composition is recorded once as a flat list (a *tape*) and
replayed: each entry calls the box's ``forward`` on the arrays of its inputs, with no Tensor,
box or graph made per step; the host operations are called again as they are, in their order,
so that an optimizer sees exactly the gradients the eager step would give it.

How a call runs (per *signature*: the shapes and dtypes of the Tensor and array arguments and the
values of the other arguments):

1. the first two calls run eagerly while the tape is recorded (they are ordinary eager steps);
2. the two tapes are compared. They must run the same boxes with the same options in the same
   order. An array that no recorded box made and that is not an argument (a parameter, a buffer,
   a constant such as the seed 1 of backward) is read at replay from the same Tensor or array
   when both calls used the same one; one whose values were equal in both calls is a constant;
   one equal to an argument's values (the integer labels that ``cross_entropy`` copies) is that
   argument, recomputed; anything else differs between calls with no box that explains it, so
   the step is not replayable;
3. later calls replay the tape. While both traced calls had the same argument values, a replay
   first checks that the arguments still have them (a different batch is traced once more and
   compared, which proves that constants do not depend on the data).

Random draws (dropout's masks, ``dc.rand``/``dc.randn`` in the step) and batch normalization's
running statistics are :func:`array_op` calls: recorded, and made again at each replay, so a
replay draws from descend's generator exactly as the eager step would.

What cannot be compiled falls back to eager execution for this function with one warning naming
the cause (``strict=True`` raises instead, after the step ran eagerly once): reading values into
Python (``.item()``, ``float()``, ``bool()``: control flow on data), other in-place changes of
tensors outside the host operations and ``array_op`` calls, an ``array_op`` whose arguments
change between calls (batch normalization with ``momentum=None``), random draws outside an
``array_op`` (``nn.init`` in the step), gradient and module hooks, ``create_graph``/``dc.grad``
inside the step, forward mode, arguments that are not Tensors, arrays or hashable values.

Attributes read through :func:`guard_attribute` (every module's ``training`` flag) are part of
the key: after ``model.eval()`` the step is traced again, and back in training mode the first
recording is replayed. Other Python values that the traced forward code reads are frozen into
the replay: a new ``Dropout.p`` between calls is not seen (compile the step again, or pass the
value as an argument: a new argument value is a new signature). The host operations read theirs
at each call, so learning rates set by hand or by a scheduler take effect.
"""

import functools
import types
import warnings

import numpy as np

from .function import Function
from .mode import state
from .tensor import Tensor

__all__ = ["compile", "host_op", "array_op", "guard_attribute", "tracing", "CompileError"]


class CompileError(RuntimeError):
    """A step cannot be compiled (raised by ``dc.compile(..., strict=True)``)."""


class _Slot:
    """An array-valued option of a box, replaced by the array of slot ``index`` at replay."""

    __slots__ = ("index",)

    def __init__(self, index):
        self.index = index

    def __eq__(self, other):
        return isinstance(other, _Slot) and other.index == self.index

    def __hash__(self):
        return hash(self.index)


class _Attr:
    """An option of a box that an earlier box's ``forward`` made and kept as ``self.<name>`` (max
    pooling's argmax positions): read from that box at replay, after its forward made it anew."""

    __slots__ = ("op", "name")

    def __init__(self, op, name):
        self.op, self.name = op, name

    def __eq__(self, other):
        return isinstance(other, _Attr) and (other.op, other.name) == (self.op, self.name)

    def __hash__(self):
        return hash((self.op, self.name))


_PLAIN = (Tensor, np.ndarray, int, float, complex, str, bytes, bool, tuple, list, dict, type(None), np.generic,
          np.dtype)


class _Trace:
    """The tape of one eager call: ops over numbered array slots.

    Slot kinds: ``("arg", i)`` the array of argument i, ``("out", op)`` made by a recorded box,
    ``("attr", (op, name))`` an array that box ``op``'s forward kept as ``self.<name>`` (read from it
    at replay right after it runs),
    ``("ext", owner)`` any other array (``owner`` the Tensor that carried it, or None)."""

    def __init__(self, arg_arrays):
        self.ops = []
        self.slot_of = {}
        self.arrays = []   # slot -> the array at trace time (kept alive, so ids stay unique)
        self.kinds = []
        self.owners = []
        self.failure = None
        self.host_depth = 0
        self.args = arg_arrays
        self.arg_copies = [np.array(a, copy=True) for a in arg_arrays]
        self.box_index = {}
        self.reads = {}    # (id(obj), attr) -> (obj, attr, value) of guard_attribute calls
        self.kept = {}     # id(object) -> (op, attribute name, object) a box's forward kept on itself
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
            elif id(v) in self.kept and self.kept[id(v)][2] is v:
                v = _Attr(*self.kept[id(v)][:2])
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
    import sys
    f = sys._getframe(2)
    first = None
    for _ in range(8):
        if f is None:
            break
        if not f.f_globals.get("__name__", "").startswith("descend.autodiff"):
            self = f.f_locals.get("self")
            if self is not None and not isinstance(self, CompiledStep):
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
    if isinstance(a, (int, float, complex, str, bytes, bool, np.generic, np.dtype, type, _Slot, _Attr)):
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
        elif o1[0] == "leaf":
            if o1[1] is not o2[1] or o1[2:] != o2[2:]:
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


class _Program:
    """The replayable form of a tape: ops over a list of arrays."""

    def __init__(self, t1, t2, ret_spec):
        self.n = len(t2.arrays)
        self.template = [None] * self.n
        self.tensor_slots = []
        self.derived = []
        self.arg_slots = []
        for s, kind in enumerate(t2.kinds):
            if kind == "arg":
                self.arg_slots.append((s, t2.owners[s]))
            elif kind == "ext":
                how = _classify(t1, t2, s)
                if how[0] == "fail":
                    self.failure = how[1]
                    return
                if how[0] == "tensor":
                    self.tensor_slots.append((s, how[1]))
                elif how[0] == "derived":
                    self.derived.append((s,) + how[1:])
                else:
                    self.template[s] = how[1]
        self.failure = None
        loads = {}   # op index -> [(slot, name)]: arrays that box's forward keeps, read right after it runs
        for slot, (kind, owner) in enumerate(zip(t2.kinds, t2.owners)):
            if kind == "attr":
                loads.setdefault(owner[0], []).append((slot, owner[1]))
        ops = []
        for k, op in enumerate(t2.ops):
            if op[0] == "box":
                _, fn, ins, opts, out = op
                dyn = [(k, _replay_value(v, t2)) for k, v in opts.items() if _varies(v)]
                ops.append((0, fn.forward, ins, opts, dyn, out))
            elif op[0] == "leaf":
                ops.append((1, op[1], op[2], op[3]))
            elif op[0] == "call":
                _, fn, spec, out, _ = op
                dyn = [(i, v.index) for i, v in enumerate(spec) if isinstance(v, _Slot)]
                ops.append((3, fn, spec, dyn, out))
            else:
                ops.append((2, op[1], op[2], op[3]))
            for slot, name in loads.get(k, ()):
                ops.append((3, functools.partial(getattr, op[1], name), (), [], slot))
        self.ops = ops
        self.ret = ret_spec

    def timed(self, times):
        """A copy of this program whose operations add their seconds to ``times`` (a list of
        [name, seconds] per operation, in the tape's order)."""
        import copy
        import time

        def clock(k, fn):
            def timed_fn(*args, **kwargs):
                t0 = time.perf_counter()
                try:
                    return fn(*args, **kwargs)
                finally:
                    times[k][1] += time.perf_counter() - t0
            return timed_fn

        names = {0: lambda op: type(op[1].__self__).__name__, 1: lambda op: "gradient into .grad",
                 2: lambda op: _host_name(op[1], op[2]), 3: lambda op: f"array_op {_name(op[1])}"}
        timed = copy.copy(self)
        timed.ops = []
        for k, op in enumerate(self.ops):
            times.append([names[op[0]](op), 0.0])
            if op[0] == 1:   # a leaf's gradient write: timed as a host call of its own
                t, slot, mode = op[1:]
                timed.ops.append((3, clock(k, functools.partial(_write_grad, t, mode)), (_Slot(slot),), [(0, slot)],
                                  None))
            else:
                timed.ops.append((op[0], clock(k, op[1])) + op[2:])
        return timed

    def run(self, arg_arrays):
        vals = self.template.copy()
        for s, i in self.arg_slots:
            vals[s] = arg_arrays[i]
        for s, t in self.tensor_slots:
            vals[s] = t.data
        for s, i, shape, dtype in self.derived:
            vals[s] = np.asarray(arg_arrays[i]).reshape(shape).astype(dtype)
        for op in self.ops:
            kind = op[0]
            if kind == 0:
                _, forward, ins, opts, dyn, out = op
                if dyn:
                    opts = dict(opts)
                    for k, s in dyn:   # a slot's array, or how to make the option from the arrays
                        opts[k] = vals[s] if s.__class__ is int else s(vals)
                vals[out] = forward(*[vals[i] for i in ins], **opts) if opts else forward(*[vals[i] for i in ins])
            elif kind == 1:
                _write_grad(op[1], op[3], vals[op[2]])
            elif kind == 2:
                op[1](*op[2], **op[3])
            else:
                _, fn, args, dyn, out = op
                if dyn:
                    args = list(args)
                    for i, s in dyn:
                        args[i] = vals[s]
                r = fn(*args)
                if out is not None:
                    vals[out] = r
        return _rebuild(self.ret, vals)


def _varies(v):
    """Whether a recorded option is made anew at each replay (holds a slot or a kept attribute)."""
    return isinstance(v, (_Slot, _Attr)) or (isinstance(v, tuple) and any(isinstance(x, _Slot) for x in v))


def _replay_value(v, t2):
    """How a replay makes option ``v``: a slot index, or a function of the replay's arrays."""
    if isinstance(v, _Slot):
        return v.index
    if isinstance(v, _Attr):
        box, name = t2.ops[v.op][1], v.name
        return lambda vals: getattr(box, name)
    return lambda vals: tuple(vals[x.index] if isinstance(x, _Slot) else x for x in v)


def _write_grad(t, mode, g):
    """Leaf ``t``'s gradient g as the eager engine writes it: added to, stored as, or copied into
    ``t.grad`` (``mode`` "add", "set", "copy")."""
    if mode == "add" and t.grad is not None:
        t.grad = Tensor._make(t.grad.data + g)
    else:
        t.grad = Tensor._make(g if mode == "set" else g.copy())


def _ret_spec(value, trace):
    """The structure of the step's return value, Tensors replaced by their slots."""
    if value is None:
        return None
    if isinstance(value, Tensor):
        s = trace.slot_of.get(id(value.data))
        if s is None or trace.arrays[s] is not value.data:
            raise _Unsupported("the step returns a tensor that no recorded operation made")
        return _Slot(s)
    if isinstance(value, (list, tuple)):
        return type(value)(_ret_spec(v, trace) for v in value)
    if isinstance(value, dict):
        return {k: _ret_spec(v, trace) for k, v in value.items()}
    raise _Unsupported(f"the step returns a {type(value).__name__}; a compiled step may return Tensors, None, "
                       "or lists, tuples and dicts of them")


def _rebuild(spec, vals):
    if spec is None:
        return None
    if isinstance(spec, _Slot):
        return Tensor._make(vals[spec.index])
    if isinstance(spec, (list, tuple)):
        return type(spec)(_rebuild(v, vals) for v in spec)
    return {k: _rebuild(v, vals) for k, v in spec.items()}


class _Unsupported(Exception):
    pass


def _signature(args, kwargs):
    """(key, arrays): the cache key of a call and the argument arrays, in order."""
    key, arrays = [], []
    for name, a in [(None, a) for a in args] + sorted(kwargs.items()):
        if isinstance(a, Tensor):
            key.append((name, "T", a.data.shape, a.data.dtype.str, a.requires_grad))
            arrays.append(a.data)
        elif isinstance(a, np.ndarray):
            key.append((name, "A", a.shape, a.dtype.str))
            arrays.append(a)
        else:
            try:
                hash(a)
            except TypeError:
                raise _Unsupported(f"argument {name or len(key)} is a {type(a).__name__}, which is not a Tensor, an "
                                   "array or a hashable value") from None
            key.append((name, "S", type(a), a))
    return tuple(key), arrays


class _Entry:
    __slots__ = ("last", "program", "varied")

    def __init__(self):
        self.last = None
        self.program = None
        self.varied = False


class CompiledStep:
    """A step function compiled by :func:`compile` (see the module docstring)."""

    def __init__(self, fn, strict=False, warn=True):
        functools.update_wrapper(self, fn)
        self.fn = fn
        self.strict = strict
        self.warn = warn
        self.cache = {}
        self.eager_reason = None  # set once the step fell back to eager execution
        self.guards = []          # (obj, attr) read through guard_attribute in any trace: part of the key
        self.traces = 0
        self.replays = 0

    def _give_up(self, why):
        self.eager_reason = why
        self.cache.clear()
        name = getattr(self.fn, "__name__", "step")
        if self.strict:
            raise CompileError(f"dc.compile({name}): {why}; the step ran eagerly once and cannot be compiled")
        if self.warn:
            warnings.warn(f"dc.compile({name}): {why}; running eagerly", RuntimeWarning, stacklevel=4)

    def __call__(self, *args, **kwargs):
        if self.eager_reason is not None:
            return self.fn(*args, **kwargs)
        try:
            key, arrays = self._key(args, kwargs)
        except _Unsupported as e:
            self._give_up(str(e))
            return self.fn(*args, **kwargs)
        entry = self.cache.get(key)
        if entry is None:
            entry = self.cache[key] = _Entry()
        prog = entry.program
        if prog is not None and (entry.varied or _unchanged(entry.last.arg_copies, arrays)):
            self.replays += 1
            return prog.run(arrays)
        return self._trace(key, entry, args, kwargs, arrays)

    def _trace(self, key, entry, args, kwargs, arrays):
        if state.tracer is not None or state.forward_tag is not None:
            return self.fn(*args, **kwargs)  # nested in another trace or in forward mode: just run
        trace = _Trace(arrays)
        state.tracer = trace
        try:
            out = self.fn(*args, **kwargs)
        finally:
            state.tracer = None
        self.traces += 1
        if trace.failure is None:
            self._add_guards(key, entry, trace)
            try:
                ret = _ret_spec(out, trace)
            except _Unsupported as e:
                trace.failure = str(e)
        if trace.failure is not None:
            self._give_up(trace.failure)
            return out
        prev = entry.last
        entry.last = trace
        if prev is not None:
            why = _compare(prev, trace)
            if why is None:
                prog = _Program(prev, trace, ret)
                why = prog.failure
            if why is not None:
                self._give_up(why)
                return out
            entry.program = prog
            entry.varied = entry.varied or not _unchanged(prev.arg_copies, trace.args)
        return out

    def _key(self, args, kwargs):
        """(cache key, argument arrays): the call's signature and the values of the guarded attributes."""
        key, arrays = _signature(args, kwargs)
        if self.guards:
            key = (key, tuple(getattr(o, a) for o, a in self.guards))
        return key, arrays

    def profile(self, *args, **kwargs):
        """Call the step with these arguments once, replayed, timing each recorded operation: returns
        a list of (name, seconds) in the order the step runs them, e.g. ("LinearFn", 2.1e-4) for a
        box's forward (the backward rules are boxes too: "LinearGradWeight"), ("Adam.step()", ...)
        for a host operation, ("gradient into .grad", ...) for a leaf's gradient write. The step
        must have been called twice with arguments of this signature (so that it is recorded);
        otherwise, or if it runs eagerly, :class:`CompileError` names why."""
        name = getattr(self.fn, "__name__", "step")
        if self.eager_reason is not None:
            raise CompileError(f"{name}.profile(): the step runs eagerly ({self.eager_reason})")
        key, arrays = self._key(args, kwargs)
        entry = self.cache.get(key)
        if entry is None or entry.program is None or not (entry.varied or _unchanged(entry.last.arg_copies, arrays)):
            raise CompileError(f"{name}.profile(): no recording that replays these arguments yet (call the step with "
                               "them, and with one other batch of their shapes and dtypes, first)")
        times = []
        entry.program.timed(times).run(arrays)
        self.replays += 1
        return [(n, t) for n, t in times]

    def _add_guards(self, key, entry, trace):
        """Make the attributes this trace read part of the cache key; the entry moves to the key
        with the values the trace saw (an attribute new to the key drops the other entries, made
        without it)."""
        known = {(id(o), a) for o, a in self.guards}
        new = [(o, a) for (i, a), (o, _, _) in trace.reads.items() if (i, a) not in known]
        if not new:
            return
        base = key[0] if self.guards else key
        self.guards += new
        values = tuple(trace.reads[(id(o), a)][2] if (id(o), a) in trace.reads else getattr(o, a)
                       for o, a in self.guards)
        self.cache = {(base, values): entry}


def _unchanged(copies, arrays):
    return all(c.shape == a.shape and np.array_equal(c, a) for c, a in zip(copies, arrays))


def compile(fn=None, *, strict=False, warn=True):
    """Compile a training step: ``step = dc.compile(step_fn)`` (also ``@dc.compile`` and
    ``dc.compile(strict=True)(step_fn)``).

    ``step_fn`` runs forward, loss, ``backward()`` and the optimizer; it takes Tensors (or arrays,
    or hashable values, which are part of the signature) and returns a Tensor, None, or a tuple,
    list or dict of Tensors. The first two calls per signature (shapes and dtypes of the arrays)
    run eagerly and record the step; later calls replay the recorded NumPy kernels and host
    operations (see :mod:`descend.autodiff.compile`). A step that cannot be replayed runs eagerly
    with one ``RuntimeWarning`` naming the cause (silently with ``warn=False``; the cause is then
    in the returned step's ``eager_reason``), or raises :class:`CompileError` with ``strict=True``.
    The compiled step gives the parameters the eager step gives: the same kernels run in the same
    order.
    """
    if fn is None:
        return lambda f: CompiledStep(f, strict=strict, warn=warn)
    if not callable(fn):
        raise TypeError(f"dc.compile: expected a function, got a {type(fn).__name__}")
    return CompiledStep(fn, strict=strict, warn=warn)
