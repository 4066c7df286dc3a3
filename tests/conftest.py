"""Shared test set-up: every test starts from descend's defaults.

Before each test the random generator is seeded (``dc.manual_seed(0)``), so random draws are
reproducible; after it, the default dtype, gradient recording and anomaly detection are put
back to their defaults, so a failing test cannot leak float64 or ``no_grad`` into the next one.
"""

import pytest

import descend as dc
from descend.autodiff.mode import state as _grad_state


@pytest.fixture(autouse=True)
def _descend_defaults():
    dc.manual_seed(0)
    yield
    dc.set_default_dtype(dc.float32)
    _grad_state.grad_enabled = True
    _grad_state.forward_tag = None
    _grad_state.anomaly = False
    _grad_state.tracer = None
