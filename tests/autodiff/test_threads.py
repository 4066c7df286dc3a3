"""autodiff/threads.py: the split of work among threads, the time it took, and the BLAS threads' limit."""

import numpy as np
import pytest

from descend.autodiff import threads
from descend.autodiff.extend import blas_threads, in_parts

threadpoolctl = pytest.importorskip("threadpoolctl")


def _blas():
    return [p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]


def test_in_parts_covers_the_items_in_order_whatever_the_split():
    for k in (1, 2, 3):
        parts = in_parts(10, 1, lambda a, z: list(range(a, z)), 1, threads=k)
        assert [i for p in parts for i in p] == list(range(10))
        assert len(parts) == k


def test_split_count_counts_only_calls_that_split():
    before = threads.split_count()
    in_parts(4, 1, lambda a, z: None, 1 << 20, threads=2)   # too little work: one part
    in_parts(4, 1, lambda a, z: None, 1, threads=1)
    assert threads.split_count() == before
    in_parts(4, 1, lambda a, z: None, 1, threads=2)
    assert threads.split_count() == before + 1


def test_blas_threads_limits_inside_the_block_and_restores_after_it():
    before = _blas()
    with blas_threads(1):
        assert set(_blas()) <= {1}
        np.ones((64, 64)) @ np.ones((64, 64))
    assert _blas() == before
    with blas_threads(0):
        assert _blas() == before
    with pytest.raises(KeyError):
        with blas_threads(1):
            raise KeyError("restored on an error too")
    assert _blas() == before


@pytest.mark.parametrize("layout", ["C", "F", "channels-last"])
def test_elementwise_in_parts_gives_the_whole_call_s_values_and_layout(layout, monkeypatch):
    """Inside blas_threads(1), a large elementwise kernel runs in parts among threads (each value
    computed alike, so bit for bit the same array); outside, or for small or mixed layouts, it is
    the plain call."""
    monkeypatch.setattr(threads, "NUM_THREADS", 2)
    rng = np.random.default_rng(0)
    shape = (4, 8, 96, 96)   # 294,912 values ≥ ELEMENTWISE_MIN

    def make():
        a = rng.standard_normal((4, 96, 96, 8)).astype(np.float32)
        a[a > 1.5] = -0.0
        if layout == "channels-last":
            return a.transpose(0, 3, 1, 2)
        return np.asarray(a.reshape(shape), order=layout)

    g, y = make(), make()
    kernel = lambda g, y, out=None: np.multiply(g, y > 0, out=out, dtype=g.dtype)  # noqa: E731
    want = kernel(g, y)
    with blas_threads(1):   # on the pool's threads
        np.testing.assert_array_equal(threads.elementwise(kernel, g, y), want)
    parts = []
    monkeypatch.setattr(threads, "_run_parts", lambda N, k, part: parts.append(k) or [part(0, N // 2), part(N // 2, N)])
    with blas_threads(1):
        got = threads.elementwise(kernel, g, y)
        assert parts == [2]
        small = threads.elementwise(kernel, g[:1, :1], y[:1, :1])
        mixed = threads.elementwise(kernel, g, np.ascontiguousarray(y) if layout != "C" else np.asfortranarray(y))
    assert parts == [2]   # neither the small nor the mixed call split
    np.testing.assert_array_equal(got, want)
    assert np.array_equal(np.signbit(got), np.signbit(want)) and got.strides == g.strides
    np.testing.assert_array_equal(small, want[:1, :1])
    np.testing.assert_array_equal(mixed, want)
    outside = threads.elementwise(kernel, g, y)
    assert parts == [2]
    np.testing.assert_array_equal(outside, want)


def test_blas_threads_blocks_nest_and_one_in_another_thread_changes_nothing():
    import threading
    before = _blas()
    with blas_threads(2):
        with blas_threads(1):
            assert set(_blas()) <= {1}
        assert set(_blas()) <= {2}
    assert _blas() == before
    seen = []

    def other():   # this thread controls OpenBLAS's count (threadpoolctl): another's block is a no-op
        with blas_threads(1):
            seen.append(_blas())

    with blas_threads(3):
        t = threading.Thread(target=other)
        t.start()
        t.join()
        assert seen == [[3] * len(before)] and _blas() == [3] * len(before)
    assert _blas() == before
