"""Arrays that a recorded graph saved for its backward pass are read-only while the graph holds them.

A box's backward reads values from the forward pass: its saved inputs x (``saved_inputs``) and,
for boxes such as exp, tanh or relu, its output y. A write into one of those arrays between
forward and backward would make backward differentiate at a point that no longer exists, without
a word (``y = (x * x).sum(); x.data[:] = 10; y.backward()`` would give 2·10 instead of 2x). So,
as in MyGrad, while a box that saved an array is alive and not freed by a backward pass, the array
and the array it is a view of are read-only: a raw NumPy write such as ``x.data[:] = 10`` or
``w.numpy()[0] = 100`` raises NumPy's ``ValueError: assignment destination is read-only``. The
arrays become writable again when the graph is freed (``backward()`` without ``retain_graph``)
or garbage-collected (a forward pass that is never differentiated).

descend's own writes (the Tensor in-place methods, ``descend.autodiff.extend.inplace``, and
through it optimizers, initializers and ``load_state_dict``) :func:`lift` the protection for the
write and move the tensor's version, so that a backward that still needs the old values raises a
RuntimeError naming the box and the tensor's shape (PyTorch's rule for in-place changes).

Several boxes may hold one array; it is writable again when the last lets go. An array that was
read-only before any box held it (a broadcast view, a user's read-only array) is left alone.
Graphs built in several threads may share arrays (a model's parameters): the count is kept under
a lock. A graph collected while the lock is taken (the cyclic garbage collector may run inside
:func:`hold` itself) is released by whoever holds the lock, before it lets go of it.
"""

import threading

import numpy as np

_ndarray = np.ndarray
_lock = threading.Lock()

#: id(array) -> the class of the box that holds it, or [number of boxes, that class] when several
#: do; the arrays themselves are kept alive by the boxes' :class:`Holds` lists
_held = {}

#: the arrays of Holds collected while the lock was taken, waiting for the lock's holder
_pending = []


class Holds(list):
    """The arrays one box holds (bases before views); let go of when the list is collected, so
    that a graph that is never differentiated frees its arrays when it is garbage-collected."""

    __slots__ = ()

    def __del__(self):
        if not self:
            return
        if _lock.acquire(blocking=False):
            try:
                _release(self)
                _drain()
            finally:
                _lock.release()
        else:  # (taking the lock here could wait for this very thread: a deadlock)
            _pending.append(list(self))
            self.clear()


def hold(arrays, box):
    """Make ``arrays`` and the arrays they are views of read-only on behalf of ``box``.

    Returns the :class:`Holds` to pass to :func:`let_go`, or None if it holds nothing."""
    held = None
    cls = box.__class__
    with _lock:
        for array in arrays:
            base = array.base
            for a in (base, array) if base is not None and type(base) is _ndarray else (array,):
                key = id(a)
                holders = _held.get(key)
                if holders is not None:  # (writable only while descend writes it, see lift)
                    if type(holders) is list:
                        holders[0] += 1
                    else:
                        _held[key] = [2, holders]
                elif a.flags.writeable:
                    a.setflags(False)
                    _held[key] = cls
                else:  # read-only for another reason (a broadcast view, a constant)
                    continue
                if held is None:
                    held = Holds()
                held.append(a)
        _drain()
    return held


def let_go(held):
    """Release the holds in ``held`` (and empty it); an array no box holds any more is writable again."""
    with _lock:
        _release(held)
        _drain()


def _release(held):
    """:func:`let_go` with the lock taken."""
    for a in held:
        key = id(a)
        holders = _held[key]
        if type(holders) is list:
            if holders[0] == 2:
                _held[key] = holders[1]
            else:
                holders[0] -= 1
            continue
        del _held[key]
        try:
            a.setflags(True)
        except ValueError:  # a view whose base another box still holds: it stays read-only
            pass
    held.clear()


def _drain():
    """Release the holds of graphs collected while the lock was taken (with the lock taken)."""
    while _pending:
        _release(_pending.pop())


def holder(array):
    """The class of a box that holds ``array`` (or the array it views), or None if none does."""
    for a in (array, array.base):
        if type(a) is _ndarray:
            holders = _held.get(id(a))
            if holders is not None:
                return holders[1] if type(holders) is list else holders
    return None


def holding():
    """Whether a live graph holds any array now (when none does, there is nothing to :func:`lift`)."""
    return bool(_held)


def lift(array):
    """Make a held ``array`` writable for one write by descend; returns what :func:`restore` needs.

    Lifted are an array a box holds and a view made of a held array while it was held (such a view
    is read-only too). An array that is read-only for another reason (a broadcast view, a user's
    read-only array) stays so, and the write fails with NumPy's error.
    """
    if array.flags.writeable:
        return ()
    lifted = []
    with _lock:
        base = array.base
        base_held = type(base) is _ndarray and id(base) in _held
        if base_held and not base.flags.writeable:
            base.setflags(True)
            lifted.append(base)
        if id(array) in _held or (base_held and not _overlapping(array)):
            try:
                array.setflags(True)
                lifted.append(array)
            except ValueError:  # e.g. a window view made read-only on purpose
                pass
        _drain()
    return lifted


def _overlapping(array):
    """True for a view in which several entries share one memory location (a broadcast)."""
    return any(s == 0 and n > 1 for s, n in zip(array.strides, array.shape))


def restore(lifted):
    """Make the arrays returned by :func:`lift` read-only again (views before their bases)."""
    if not lifted and not _pending:   # nothing was lifted (the usual case): no lock to take
        return
    with _lock:
        for a in reversed(lifted):
            a.setflags(False)
        _drain()
