"""descend's random-number generator: one NumPy ``Generator`` behind every random factory.

``manual_seed(n)`` reseeds it, so that ``dc.rand``, ``dc.randn``, dropout masks and the ``nn.init``
functions repeat exactly. ``get_rng_state``/``set_rng_state`` save and restore it as a JSON-able
dict (checkpoints use them).
"""

import numpy as np

from .mode import not_replayable

_generator = [np.random.default_rng()]


def manual_seed(seed):
    """Seed descend's generator (and return it)."""
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"manual_seed: seed={seed!r}; expected a non-negative integer")
    _generator[0] = np.random.default_rng(int(seed))
    return _generator[0]


def generator():
    """The ``numpy.random.Generator`` every random factory draws from."""
    not_replayable("draws random numbers inside the step", who=True)
    return _generator[0]


def get_rng_state():
    """The generator's state as a JSON-able dict."""
    return _generator[0].bit_generator.state


def set_rng_state(state):
    """Restore a state returned by :func:`get_rng_state`."""
    _generator[0].bit_generator.state = state
