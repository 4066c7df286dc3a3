"""Argument checks shared by the analysis routines: each raises naming the routine, the argument,
its value and what was expected."""

import numbers

import numpy as np


def positive_int(x, name, who, minimum=1):
    """``x`` as an int ≥ ``minimum``."""
    if isinstance(x, bool) or not isinstance(x, numbers.Integral) or x < minimum:
        raise ValueError(f"{who}: {name}={x!r}; expected an integer ≥ {minimum}")
    return int(x)


def positive_float(x, name, who, allow_zero=False):
    """``x`` as a finite float > 0 (≥ 0 with ``allow_zero``)."""
    ok = (
        isinstance(x, numbers.Real) and not isinstance(x, bool) and np.isfinite(x) and (x >= 0 if allow_zero else x > 0)
    )
    if not ok:
        raise ValueError(f"{who}: {name}={x!r}; expected a {'non-negative' if allow_zero else 'positive'} number")
    return float(x)


def choice(x, name, options, who):
    """``x`` if it is one of ``options``."""
    if not isinstance(x, str) or x not in options:
        raise ValueError(f"{who}: {name}={x!r}; expected one of {', '.join(repr(o) for o in options)}")
    return x


def grid(values, name, who):
    """A 1-D float64 array of finite values (at least one)."""
    a = np.asarray(values, dtype=np.float64)
    if a.ndim != 1 or a.size == 0 or not np.isfinite(a).all():
        raise ValueError(f"{who}: {name} must be a non-empty 1-D sequence of finite numbers, got shape {a.shape}")
    return a


def rng(seed, who):
    """``np.random.default_rng(seed)`` for a non-negative integer seed."""
    return np.random.default_rng(positive_int(seed, "seed", who, 0))
