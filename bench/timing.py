"""Timing shared by the benchmarks: descend and PyTorch measured fairly in one process.

Two things make naive timings on a small machine wrong by up to 3x:

- after a call, each library's worker threads keep spinning for a while (OpenBLAS's for NumPy,
  OpenMP's for PyTorch) and take a core from whatever runs next; so the libraries are timed in
  alternating blocks, and before each block the machine is left idle for ``settle`` seconds;
- the machine's speed drifts (other tenants of the host); so the blocks alternate for several
  rounds, and each function's time is the median of its calls in its best round.
"""

import time

import numpy as np


def compare(fns, rounds=6, block=0.1, settle=0.2, min_calls=5):
    """Seconds per call of each function of the dict ``fns`` (name → callable without arguments).

    Each round runs every function in turn: ``settle`` seconds idle, two warm-up calls, then
    calls for ``block`` seconds (at least ``min_calls``). Returns {name: best round's median}."""
    best = {name: float("inf") for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            time.sleep(settle)
            fn()
            fn()
            times = []
            end = time.perf_counter() + block
            while len(times) < min_calls or time.perf_counter() < end:
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
            best[name] = min(best[name], float(np.median(times)))
    return best


def versus(ours, theirs=None, **kw):
    """(descend seconds per call, torch seconds per call or None when ``theirs`` is None), by
    :func:`compare` (keywords are passed on)."""
    t = compare({"descend": ours, **({"torch": theirs} if theirs is not None else {})}, **kw)
    return t["descend"], t.get("torch")


def line(case, ours, theirs, unit="ms", scale=1e3, digits=3):
    """``case: descend X unit, torch Y unit, ratio X/Y = R`` (times in seconds; torch may be None)."""
    if theirs is None:
        return f"{case}: descend {ours * scale:.{digits}f} {unit}"
    return (f"{case}: descend {ours * scale:.{digits}f} {unit}, torch {theirs * scale:.{digits}f} {unit}, "
            f"ratio X/Y = {ours / theirs:.2f}")
