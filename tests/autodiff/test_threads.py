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
