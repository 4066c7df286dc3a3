"""The split of work among threads, for kernels that release the GIL (NumPy loops, Numba).

A kernel that treats items n = 0, ..., N − 1 independently (the images of a batch, the values of
an elementwise update) runs on consecutive parts of them, one part per thread, as PyTorch's
intra-op threads do: every part runs whole in its own thread, so a call costs one hand-off per
thread (about 50 µs to wake a thread on a 2-core machine), not one per operation. Results do not
depend on the split where each item is computed the same way in every part. One pool serves the
whole package (layers and optimizers), so that their threads never compete with each other.

The BLAS library under NumPy (OpenBLAS) has threads of its own, which keep spinning for about
0.1 s after each multi-threaded product, waiting for the next one. While they spin they take
cores from this pool's parts: on 2 cores a CNN step whose convolutions split among these threads
took 46 ms beside them and 29 ms with BLAS on one thread. :func:`blas_threads` limits BLAS for a
block (a compiled step whose layers split their work runs with one BLAS thread), and
:func:`split_count` tells whether a block of code split work.
"""

import contextlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

__all__ = ["NUM_THREADS", "in_parts", "scratch", "blas_threads", "split_count", "elementwise"]


def _default_threads():
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        n = os.cpu_count() or 1
    return max(1, min(n, 8))


#: threads work is split among (the cores this process may use, at most 8)
NUM_THREADS = _default_threads()

_POOL = [None, None]  # (executor, pid that made it)


def _pool():
    if _POOL[0] is None or _POOL[1] != os.getpid():  # a forked child makes its own
        _POOL[0] = ThreadPoolExecutor(max_workers=NUM_THREADS, thread_name_prefix="descend")
        _POOL[1] = os.getpid()
    return _POOL[0]


def in_parts(N, per_item, part, min_values, threads=None):
    """[part(n0, n1) for consecutive parts n0 ≤ n < n1 of range(N)], one part per thread (``threads``,
    default :data:`NUM_THREADS`), the calling thread running the last; with fewer than
    2·``min_values`` values of work (``per_item`` per item), one part in the calling thread."""
    k = min(NUM_THREADS if threads is None else threads, N, (N * per_item) // max(1, min_values))
    if k <= 1:
        return [part(0, N)]
    _SPLITS[0] += 1
    return _run_parts(N, k, part)


def _run_parts(N, k, part):
    bounds = [N * i // k for i in range(k + 1)]
    pool = _pool()
    others = [pool.submit(part, bounds[i], bounds[i + 1]) for i in range(k - 1)]
    last = part(bounds[k - 1], bounds[k])
    return [f.result() for f in others] + [last]


_SPLITS = [0]


def split_count():
    """How many :func:`in_parts` calls in this process have split their work among threads so far
    (two readings differ when the code between them split work; :func:`elementwise`'s splits,
    made only when the cores are already the pool's, do not count)."""
    return _SPLITS[0]


_BLAS = []   # the BLAS libraries' thread controls (threadpoolctl), found once


def _blas_libraries():
    if not _BLAS:
        from threadpoolctl import ThreadpoolController
        _BLAS.append([lib for lib in ThreadpoolController().lib_controllers if lib.user_api == "blas"])
    return _BLAS[0]


@contextlib.contextmanager
def blas_threads(n):
    """Limit the BLAS libraries under NumPy (OpenBLAS, MKL, BLIS) to ``n`` threads inside the block
    and restore their counts after it; ``n = 0`` leaves them as they are. Costs about 2 µs (the
    libraries are found once, with threadpoolctl). The count is the process's; threadpoolctl lets
    one Python thread set OpenBLAS's (the first that does, while it lives), so in another thread
    the block changes nothing, and blocks there cannot undo each other's counts."""
    libs = _blas_libraries() if n else ()
    before = [lib.get_num_threads() for lib in libs]
    for lib, m in zip(libs, before):
        if m != n:
            lib.set_num_threads(n)
    owned = n == 1 and all(lib.get_num_threads() == 1 for lib in libs)
    _OWNED[0] += owned
    try:
        yield
    finally:
        _OWNED[0] -= owned
        for lib, m in zip(libs, before):
            if m != n:
                lib.set_num_threads(m)


_OWNED = [0]   # blas_threads(1) blocks that took effect, open now: BLAS on one thread, the cores are this pool's

#: an elementwise kernel over at least this many values is split among the threads (while they
#: own the cores: see :func:`elementwise`)
ELEMENTWISE_MIN = 1 << 18


def elementwise(kernel, *arrays):
    """``kernel(*arrays)``, an elementwise NumPy computation taking ``out=``, on consecutive parts
    of the arrays' memory, one part per thread, when that pays and is safe: inside a
    ``blas_threads(1)`` block (BLAS's spinning threads would otherwise take the cores, see above),
    for at least :data:`ELEMENTWISE_MIN` values, and when the arrays have one shape and one layout
    that is a single block of memory (C, Fortran, or channels-last seen as NCHW). The result has
    that layout, the first array's dtype and the values ``kernel(*arrays)`` gives, entry by
    entry; otherwise that call is made as it is."""
    first = arrays[0]
    if not _OWNED[0] or first.size < ELEMENTWISE_MIN:   # (the usual case: one test)
        return kernel(*arrays)
    k = min(NUM_THREADS, first.size // (ELEMENTWISE_MIN // 2))
    if k > 1 and all(a.shape == first.shape and a.strides == first.strides for a in arrays[1:]):
        out = np.empty_like(first)
        flats = [a.ravel(order="K") for a in arrays + (out,)]
        if all(np.may_share_memory(f, a) for f, a in zip(flats, arrays + (out,))):   # views, no copies
            *ins, flat_out = flats
            _run_parts(first.size, k, lambda a, z: kernel(*[f[a:z] for f in ins], out=flat_out[a:z]))
            return out
    return kernel(*arrays)


_LOCAL = threading.local()


def scratch(slot, shape, dtype):
    """A reusable work array of ``shape`` and ``dtype`` (contents undefined), one per ``slot``, dtype
    and thread: a kernel's temporaries stay in the cache and never need fresh pages. ``slot`` tells
    apart work arrays needed at the same time (e.g. an optimizer's 0, 1; Winograd's "V", "M")."""
    bufs = getattr(_LOCAL, "bufs", None)
    if bufs is None:
        bufs = _LOCAL.bufs = {}
    dtype = np.dtype(dtype)
    n = int(np.prod(shape))
    buf = bufs.get((slot, dtype.str))
    if buf is None or buf.size < n:
        buf = bufs[(slot, dtype.str)] = np.empty(max(n, 1), dtype=dtype)
    return buf[:n].reshape(shape)
