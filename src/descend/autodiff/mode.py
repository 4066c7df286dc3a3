"""Global switches of the engine: gradient recording, forward-mode level, anomaly detection.

``no_grad()`` stops the recording of the graph (the backward pass of every primitive runs under
it unless ``create_graph=True``); ``enable_grad()`` turns it back on inside a ``no_grad`` block.
Both work as context managers and as decorators.
"""

import functools
import threading


class _State(threading.local):
    """Per-thread switches (as PyTorch's grad mode): a no_grad block in one thread leaves others alone."""

    def __init__(self):
        self.grad_enabled = True
        self.forward_tag = None  # the tag of the active forward-mode (dual-number) pass, if any
        self.anomaly = False
        # ids of leaves whose gradient is wanted only for its tangent (``hvp``'s own leaves)
        self.tangent_only = frozenset()


state = _State()


class _GradMode:
    enabled = True

    def __enter__(self):
        self._prev = state.grad_enabled
        state.grad_enabled = self.enabled
        return self

    def __exit__(self, *exc):
        state.grad_enabled = self._prev
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with self.__class__():
                return fn(*args, **kwargs)

        return wrapper


class no_grad(_GradMode):
    """Context manager (and decorator) in which operations record no graph."""

    enabled = False


class enable_grad(_GradMode):
    """Context manager (and decorator) that turns recording back on, e.g. inside ``no_grad``."""

    enabled = True


class set_grad_enabled(_GradMode):
    """``with set_grad_enabled(flag):`` records the graph if and only if ``flag`` is true."""

    def __init__(self, mode):
        self.enabled = bool(mode)
        self._prev = state.grad_enabled
        state.grad_enabled = self.enabled

    def __enter__(self):
        return self


def is_grad_enabled():
    """True when operations currently record the graph."""
    return state.grad_enabled


def fast():
    """True when a backward rule may use plain NumPy: no graph is recorded and no tangent is carried.

    The engine runs backward rules under ``no_grad`` unless ``create_graph=True``; then the
    result need not be differentiable again, so the rule can skip the Tensor machinery.
    """
    return not state.grad_enabled and state.forward_tag is None


def tangent_pass():
    """True when a backward rule runs inside a forward-mode pass with no graph recorded (the
    reverse half of forward-over-reverse, e.g. ``dc.hvp``): the gradients it returns must carry
    their tangents, but need not be differentiable again."""
    return not state.grad_enabled and state.forward_tag is not None
