"""Where updates run: reusable scratch arrays and the split of a large tensor among threads.

Neither changes a number: :func:`scratch` only avoids allocating a temporary per step, and
:func:`across_threads` runs an elementwise update on consecutive parts of the flattened arrays,
so the result does not depend on the split (tested bit for bit against the whole-array update).
"""

from descend.autodiff.extend import NUM_THREADS as CORES
from descend.autodiff.extend import in_parts
from descend.autodiff.extend import scratch as work_array

__all__ = ["scratch", "across_threads", "NUM_THREADS", "PARALLEL_MIN"]


def scratch(like, slot=0):
    """A reusable work array with the shape and dtype of ``like`` (contents undefined).

    Updates use it for their one unavoidable temporary, so a step allocates no new memory.
    ``slot`` tells apart two temporaries needed at the same time. Each thread has its own
    (:func:`descend.autodiff.extend.scratch`)."""
    return work_array(("optim", slot), like.shape, like.dtype)


#: threads a large tensor's update is split among (the package's one pool: the cores this process
#: may use, at most 8)
NUM_THREADS = CORES

#: a tensor of at least this many values is split among the threads; below it, handing a part to
#: another thread (about 50 µs to wake it on a 2-core machine) costs more than it saves
PARALLEL_MIN = 1 << 18

def across_threads(fn, arrays, **scalars):
    """``fn(**arrays, **scalars)`` applied to equal consecutive parts of the flattened arrays, one part
    per thread (NumPy releases the GIL inside its loops), like PyTorch's intra-op threads.

    Each thread runs the whole update on its part, so a step costs one hand-off per thread, not one
    per ufunc; the result does not depend on the split since every operation is elementwise.
    ``arrays`` maps argument names to arrays of one size (or None), the first one (the parameter)
    an array; tensors smaller than ``PARALLEL_MIN`` values, or not contiguous, are updated in one
    call."""
    n = next(iter(arrays.values())).size
    k = min(NUM_THREADS, n // (PARALLEL_MIN // 2))
    if n < PARALLEL_MIN or k <= 1 or not all(a is None or (a.flags.c_contiguous and a.size == n)
                                             for a in arrays.values()):
        fn(**arrays, **scalars)
        return
    flats = {name: (None if a is None else a.reshape(-1)) for name, a in arrays.items()}

    def run(lo, hi):
        fn(**{name: (None if a is None else a[lo:hi]) for name, a in flats.items()}, **scalars)

    in_parts(n, 1, run, PARALLEL_MIN // 2, k)
