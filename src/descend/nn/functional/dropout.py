"""Inverted dropout: in training each entry is kept with probability 1 − p and scaled by 1/(1 − p)."""

import numpy as np

from descend.autodiff.extend import array_op
from descend.autodiff.random import generator

from ._util import check_float, const


def dropout(input, p=0.5, training=True):
    """y = x ⊙ m / (1 − p), mᵢ ~ Bernoulli(1 − p), in training; y = x otherwise. Any shape.

    The mask is drawn from descend's generator (``dc.manual_seed`` repeats it); p = 1 zeroes everything.
    """
    check_float(input, "dropout")
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"dropout: p={p}; expected a probability in [0, 1]")
    if not training or p == 0.0:
        return input
    dt = input.dtype
    if p == 1.0:
        return input * 0.0
    return input * const(array_op(_scaled_mask, input.shape, p, dt))


def _scaled_mask(shape, p, dt):
    """m/(1 − p) with mᵢ ~ Bernoulli(1 − p) drawn from descend's generator (an ``array_op``, so that a
    compiled step draws a new mask at each replay)."""
    u = generator().random(shape, dtype=np.float32 if dt == np.float32 else np.float64)
    mask = (u >= p).astype(dt)
    mask *= dt.type(1.0 / (1.0 - p))
    return mask
