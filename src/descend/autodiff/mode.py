"""Global switches of the engine: gradient recording, forward-mode level, anomaly detection.

``no_grad()`` stops the recording of the graph (the backward pass of every primitive runs under
it unless ``create_graph=True``); ``enable_grad()`` turns it back on inside a ``no_grad`` block.
Both work as context managers and as decorators.
"""

import functools
import threading


class _State(threading.local):
    """Per-thread switches (as PyTorch's grad mode): a no_grad block in one thread leaves others alone.

    ``special`` is true while a forward-mode pass, anomaly detection or a ``dc.compile`` trace is
    on, so that every primitive asks one question for the rare kinds of extra work."""

    def __init__(self):
        self.grad_enabled = True
        self._forward_tag = None  # the tag of the active forward-mode (dual-number) pass, if any
        self._anomaly = False
        self._tracer = None  # the active dc.compile trace, if any
        self.special = False
        # ids of leaves whose gradient is wanted only for its tangent (``hvp``'s own leaves)
        self.tangent_only = frozenset()

    @property
    def forward_tag(self):
        return self._forward_tag

    @forward_tag.setter
    def forward_tag(self, tag):
        self._forward_tag = tag
        self._update_special()

    @property
    def anomaly(self):
        return self._anomaly

    @anomaly.setter
    def anomaly(self, on):
        self._anomaly = on
        self._update_special()

    @property
    def tracer(self):
        return self._tracer

    @tracer.setter
    def tracer(self, tracer):
        self._tracer = tracer
        self._update_special()

    def _update_special(self):
        self.special = self._forward_tag is not None or self._anomaly or self._tracer is not None


state = _State()


def not_replayable(what, who=False):
    """Inside a ``dc.compile`` trace, mark the step as one that cannot be replayed because of
    ``what`` (e.g. "Linear has forward hooks"): it runs eagerly, after one warning naming it
    (prefixed with the calling layer's class when ``who``). Outside a trace it does nothing."""
    if state.special and state.tracer is not None:
        state.tracer.escape(what, who)


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
