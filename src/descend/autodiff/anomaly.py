"""``detect_anomaly()``: find the first primitive that produces NaN or Inf.

Inside the context, every primitive checks its output (forward) and its input gradients
(backward); the first non-finite value raises ``FloatingPointError`` naming the primitive and
the line of user code that created it. It slows every operation: use it to debug, not to train.
"""

from .mode import state


class detect_anomaly:
    """Context manager (and decorator) that turns anomaly detection on."""

    def __init__(self, check_nan=True):
        self.check = bool(check_nan)

    def __enter__(self):
        self._prev = state.anomaly
        state.anomaly = self.check
        return self

    def __exit__(self, *exc):
        state.anomaly = self._prev
        return False

    def __call__(self, fn):
        import functools

        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with detect_anomaly(self.check):
                return fn(*args, **kwargs)

        return wrapper
