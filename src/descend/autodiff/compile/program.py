"""The replayable form of a tape: a flat list of kernels over numbered arrays, run without a graph."""

import copy
import functools
import time

import numpy as np

from ..tensor import Tensor
from ..threads import blas_threads, split_count
from .compare import _classify
from .trace import _Slot, _host_name, _name


class _Program:
    """The replayable form of a tape: ops over a list of arrays. ``blas_threads`` limits BLAS while it
    runs: 1 when a box's kernel split its work among descend's threads in the first replay (a
    convolution, pooling: OpenBLAS's spinning threads would take the cores from it; see
    autodiff/threads.py), else 0 (the library's own count); None before the first replay."""

    def __init__(self, t1, t2, ret_spec):
        self.blas_threads = None
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
        loads = {}   # op index -> [(slot, name)]: what that box's forward keeps, read right after it runs
        for slot, (kind, owner) in enumerate(zip(t2.kinds, t2.owners)):
            if kind == "attr":
                loads.setdefault(owner[0], []).append((slot, owner[1]))
        ops = []
        for i, op in enumerate(t2.ops):
            if op[0] == "box":
                _, fn, ins, opts, out = op
                dyn = [(k, _replay_value(v)) for k, v in opts.items() if _varies(v)]
                ops.append((0, fn.forward, ins, opts, dyn, out))
            elif op[0] == "leaf":
                ops.append((1, op[1], op[2], _leaf_mode(t1.ops[i][3], op[3])))
            elif op[0] == "call":
                _, fn, spec, out, _ = op
                dyn = [(j, v.index) for j, v in enumerate(spec) if isinstance(v, _Slot)]
                ops.append((3, fn, spec, dyn, out))
            else:
                ops.append((2, op[1], op[2], op[3]))
            for slot, name in loads.get(i, ()):
                ops.append((3, functools.partial(getattr, op[1], name), (), [], slot))
        self.ops = ops
        self.ret = ret_spec
        for op in t2.ops:   # the replay calls only the boxes' forwards: let the traced graph's arrays go
            if op[0] == "box":
                op[1].inputs = ()

    def timed(self, times):
        """A copy of this program whose operations add their seconds to ``times`` (a list of
        [name, seconds] per operation, in the tape's order)."""
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
        if self.blas_threads is None:
            return self._first_run(arg_arrays)
        if self.blas_threads:
            with blas_threads(self.blas_threads):
                return self._run(arg_arrays)
        return self._run(arg_arrays)

    def _first_run(self, arg_arrays):
        """The first replay, noting whether a box's kernel split its work (host operations, e.g. an
        optimizer splitting a large tensor, do not count: the boxes' work is the step's bulk)."""
        split = [False]

        def noted(forward):
            def run(*args, **kwargs):
                before = split_count()
                out = forward(*args, **kwargs)
                split[0] = split[0] or split_count() != before
                return out
            return run

        first = copy.copy(self)
        first.ops = [(0, noted(op[1])) + op[2:] if op[0] == 0 else op for op in self.ops]
        out = first._run(arg_arrays)
        self.blas_threads = 1 if split[0] else 0
        return out

    def _ops_function(self):
        """The operations as one Python function of the slots' list (made once per ops list): each
        operation a line such as ``v[12] = f3(v[4], v[7])``, so a replay pays no interpreting loop
        (unpacking each entry, testing its kind, building argument lists). For the deep net's 170
        operations the walk itself went from about 50 to 20 µs, the step from 1,204 to 1,132 µs."""
        made = self.__dict__.get("_made")
        if made is None or made[0] is not self.ops:
            made = self._made = (self.ops, _function_of(self.ops))
        return made[1]

    def _run(self, arg_arrays):
        vals = self.template.copy()
        for s, i in self.arg_slots:
            vals[s] = arg_arrays[i]
        for s, t in self.tensor_slots:
            vals[s] = t.data
        for s, i, shape, dtype in self.derived:
            vals[s] = np.asarray(arg_arrays[i]).reshape(shape).astype(dtype)
        self._ops_function()(vals)
        return _rebuild(self.ret, vals)


def _function_of(ops):
    """``ops(v)``: the operations of a program run in order on the list ``v`` of slot values; the
    entries are (0, forward, input slots, options, options made per replay, output slot) for a
    box, (1, leaf, slot, mode) for a gradient written into ``.grad``, (2, fn, args, kwargs) for a
    host operation, (3, fn, args, slot arguments, output slot or None) for an array_op or the
    load of what a box kept."""
    names = {}

    def name(obj):   # a global of the generated function that holds obj
        key = f"g{len(names)}"
        names[key] = obj
        return key

    lines = []
    for op in ops:
        kind = op[0]
        if kind == 0:   # a box's forward: v[out] = forward(*inputs, **options)
            _, forward, ins, opts, dyn, out = op
            args = [f"v[{i}]" for i in ins]
            if dyn:   # options made at each replay: a slot's array, or a function of the slots
                made = [f"{k!r}: " + (f"v[{s}]" if s.__class__ is int else f"{name(s)}(v)") for k, s in dyn]
                args.append("**{" + ", ".join([f"**{name(opts)}"] + made) + "}")
            elif opts:
                args.append(f"**{name(opts)}")
            lines.append(f"v[{out}] = {name(forward)}({', '.join(args)})")
        elif kind == 1:   # a leaf's gradient into .grad
            lines.append(f"{name(_write_grad)}({name(op[1])}, {op[3]!r}, v[{op[2]}])")
        elif kind == 2:   # a host operation, with its recorded arguments
            lines.append(f"{name(op[1])}(*{name(op[2])}, **{name(op[3])})")
        else:   # an array_op (or a kept attribute's load): slot arguments are the replay's arrays
            _, fn, args, dyn, out = op
            slots = dict(dyn)
            call = f"{name(fn)}(" + ", ".join(f"v[{slots[j]}]" if j in slots else f"{name(args)}[{j}]"
                                               for j in range(len(args))) + ")"
            lines.append(call if out is None else f"v[{out}] = {call}")
    exec("def ops(v):\n    " + "\n    ".join(lines or ["pass"]), names)
    return names["ops"]


def _varies(v):
    """Whether a recorded option is made anew at each replay (a slot, or a tuple holding slots)."""
    return isinstance(v, _Slot) or (isinstance(v, tuple) and any(isinstance(x, _Slot) for x in v))


def _replay_value(v):
    """How a replay makes option ``v``: a slot index, or a function of the replay's values."""
    if isinstance(v, _Slot):
        return v.index
    return lambda vals: tuple(vals[x.index] if isinstance(x, _Slot) else x for x in v)


def _leaf_mode(mode1, mode2):
    """How a replay stores a leaf's gradient when ``.grad`` is empty, from the two traces' modes
    ("set": the array itself; "copy": a copy; "add": it was not empty then): a copy if either
    trace copied, the array if one stored it, else a copy."""
    modes = {mode1, mode2}
    return "copy" if "copy" in modes else "set" if "set" in modes else "copy"


def _write_grad(t, mode, g):
    """Leaf ``t``'s gradient g as the eager engine writes it: added to ``t.grad`` when it holds one
    (whatever the traces saw: gradients accumulated over calls), else stored as it is (``mode``
    "set") or copied ("copy")."""
    if t.grad is not None:
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
        if value._ctx is not None and not value._ctx._freed:
            raise _Unsupported("the step returns a tensor whose graph no backward() has used, and a replay returns "
                               "it without one; call backward() inside the step, or return .detach(), or call the "
                               "step under dc.no_grad()")
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
