"""``CompiledStep``: the cache of recordings per signature, tracing, replaying, falling back."""

import functools
import warnings

import numpy as np

from ..mode import state
from ..tensor import Tensor
from .compare import _compare
from .program import _Program, _ret_spec, _Unsupported
from .trace import _Trace, watching_data

__all__ = ["compile", "CompileError", "CompiledStep"]


#: recordings a compiled step keeps (one per signature and guarded values: batch shapes, modes, a
#: module changed between calls); a new one beyond it drops the oldest
CACHE_LIMIT = 8


class CompileError(RuntimeError):
    """A step cannot be compiled (raised by ``dc.compile(..., strict=True)``)."""


def _signature(args, kwargs):
    """(key, arrays): the cache key of a call (with the grad mode: a step recorded with gradients
    does not replay under no_grad) and the argument arrays, in order."""
    key, arrays = [state.grad_enabled], []
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
        self._guard_columns = ((), ())   # the guards' objects and names, for one map(getattr, ...) per call
        self.traces = 0
        self.replays = 0
        self.evictions = 0        # recordings dropped for CACHE_LIMIT

    def _evicted(self):
        """Warn once that recordings are being dropped: the step keeps being traced (at eager speed)."""
        self.evictions += 1
        if self.evictions == 1 and self.warn:
            name = getattr(self.fn, "__name__", "step")
            warnings.warn(f"dc.compile({name}): more than {CACHE_LIMIT} recordings (one per signature: the shapes and "
                          "dtypes of the array arguments, the values of the others, the modules' modes and "
                          "changes); the oldest is dropped and traced again when needed. A value that changes at "
                          "every call (a step counter) belongs in an array argument", RuntimeWarning, stacklevel=3)

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
            if len(self.cache) >= CACHE_LIMIT:   # the oldest recording goes (traced again if needed)
                del self.cache[next(iter(self.cache))]
                self._evicted()
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
            with watching_data():
                out = self.fn(*args, **kwargs)
        finally:
            state.tracer = None
        trace.finish()
        self.traces += 1
        if trace.failure is None:
            key = self._add_guards(key, entry, trace.reads)
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
            # whether each parameter gets a gradient (p.requires_grad, e.g. a layer frozen between calls)
            self._add_guards(key, entry, {(id(t), "requires_grad"): (t, "requires_grad", t.requires_grad)
                                          for _, t in prog.tensor_slots if t._ctx is None}, keep_pending=True)
            entry.varied = entry.varied or not _unchanged(prev.arg_copies, trace.args)
            if entry.varied:   # never traced again: keep no recorded arrays
                entry.last = None
        return out

    def _key(self, args, kwargs):
        """(cache key, argument arrays): the key is (the call's signature, the values of the guarded
        attributes)."""
        key, arrays = _signature(args, kwargs)
        return (key, tuple(map(getattr, *self._guard_columns))), arrays

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

    def _add_guards(self, key, entry, reads, keep_pending=False):
        """Make the attributes in ``reads`` ({(id(obj), attr): (obj, attr, value)}: what a trace read,
        or the parameters' ``requires_grad``) part of the cache key; returns the entry's key, under
        which it moves with the values read. An attribute new to the key drops the other entries,
        made without it; with ``keep_pending`` those still being traced (no recording yet) stay,
        keyed with the attributes' current values (a second trace that differs from their first
        is caught by the comparison of the two)."""
        known = {(id(o), a) for o, a in self.guards}
        new = [(o, a) for (i, a), (o, _, _) in reads.items() if (i, a) not in known]
        if not new:
            return key
        self.guards += new
        self._guard_columns = tuple(zip(*self.guards))
        values = tuple(reads[(id(o), a)][2] if (id(o), a) in reads else getattr(o, a) for o, a in self.guards)
        others, key = self.cache, (key[0], values)
        self.cache = {key: entry}
        if keep_pending:
            now = tuple(getattr(o, a) for o, a in new)
            self.cache.update({(k[0], k[1] + now): e for k, e in others.items()
                               if e is not entry and e.program is None})
        return key


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
