"""The ``Function`` box of the flow graph: fprop, bprop and the Jacobian-vector product together.

A primitive y = f(x₁, ..., xₙ) is one subclass with three methods:

- ``forward(self, *arrays, **options) -> array``: computes y from the NumPy arrays of the inputs.
  It may keep on ``self`` whatever the other two need (e.g. ``self.axis``).
- ``backward(self, gy) -> tuple``: the vector-Jacobian product. Given gy = ∂L/∂y it returns
  ∂L/∂xᵢ = gyᵀ ∂y/∂xᵢ for each input (``None`` where an input needs no gradient). It is written
  with Tensor operations on ``self.inputs`` (the input Tensors) and ``self.output()`` (y as a
  Tensor), so that it can be differentiated again: Hessians and Hessian-vector products come for
  free. Gradients may keep a broadcast shape; the engine sums them back to each input's shape.
- ``jvp(self, *tangents) -> Tensor``: the Jacobian-vector product ẏ = Σᵢ ∂y/∂xᵢ ẋᵢ used by
  forward mode (dual numbers); ``tangents[i]`` is ``None`` for an input without a tangent.

``MyFunction.apply(*tensors, **options)`` runs ``forward`` and, when gradients are recorded,
links the result to the box. Positional arguments are Tensors; other options are keywords.
Users write their own boxes the same way::

    class Cube(dc.Function):
        def forward(self, x):
            return x ** 3
        def backward(self, gy):
            (x,) = self.inputs
            return (gy * 3 * x ** 2,)
        def jvp(self, tx):
            (x,) = self.inputs
            return tx * 3 * x ** 2

    y = Cube.apply(x)
"""

import traceback

import numpy as np

from .hold import hold, let_go
from .mode import state as _state
from .tensor import Tensor

_new = object.__new__
_make = Tensor._make


class Function:
    """Base class of every differentiable primitive (see the module docstring)."""

    #: indices of the inputs whose *values* backward reads; an in-place change of one of them
    #: before backward raises. ``None`` means all inputs.
    saved_inputs = None
    #: whether backward reads the output (``self.output()``); set by subclasses that do.
    saves_output = False

    versions = None
    _held = None
    _out_fw = None
    _hooks = None
    _retained = None
    _freed = False
    _trace = None

    def forward(self, *arrays, **options):
        """y = f(x₁, ..., xₙ) on NumPy arrays (the inputs' data, then the options ``apply`` was given):
        returns an array, new or a view of an input, never an input written in place (a ``dc.compile``
        replay calls it again on the step's new arrays). Subclasses define it."""
        raise TypeError(f"{type(self).__name__} must define forward()")

    def backward(self, gy):
        """The vector-Jacobian products x̄ᵢ = ȳ ∂y/∂xᵢ, given ȳ = ``gy`` (a Tensor of y's shape): a tuple
        with one Tensor (or None: no gradient) per input, built from boxes so that it can itself be
        differentiated (``create_graph``). The inputs are ``self.inputs``, y is ``self.output()``."""
        raise RuntimeError(f"{type(self).__name__} defines no backward(); it cannot be differentiated in reverse mode")

    def jvp(self, *tangents):
        """The Jacobian-vector product ẏ = Σᵢ ∂y/∂xᵢ ẋᵢ, given one tangent Tensor (or None: zero) per
        input: forward mode (``dc.jvp``, ``dc.hvp``). Returns a Tensor of y's shape, or None."""
        raise RuntimeError(f"{type(self).__name__} defines no jvp(); it cannot be used in forward mode (dc.jvp)")

    @classmethod
    def apply(cls, *inputs, **options):
        """Run the box on Tensors ``inputs``; returns the output Tensor (recorded if needed)."""
        self = _new(cls)
        self.inputs = inputs
        arrays = []
        record = False
        for t in inputs:
            if not isinstance(t, Tensor):
                raise TypeError(f"{cls.__name__}.apply: positional arguments must be Tensors, got {type(t).__name__}; "
                                "pass options as keywords")
            arrays.append(t.data)
            if t.requires_grad:
                record = True
        out = self.forward(*arrays, **options) if options else self.forward(*arrays)
        state = _state
        if record and state.grad_enabled:
            self.versions = [t._vc[0] for t in inputs]
            result = _make(out, True, self)
            # hold what backward reads, except an input whose own box already holds it as its
            # saved output (that box outlives this one, and once it is freed so is this graph)
            keep = []
            for i in range(len(inputs)) if cls.saved_inputs is None else cls.saved_inputs:
                c = inputs[i]._ctx
                if c is None or not c.saves_output or c._out_data is not arrays[i]:
                    keep.append(arrays[i])
            if cls.saves_output:
                keep.append(out)
            if keep:
                self._held = hold(keep, self)
        else:
            result = _make(out)
        if cls.saves_output:
            self._out_data = out
            self._out_vc = result._vc
        if state.special:
            if state.forward_tag is not None:
                _propagate_tangent(self, inputs, result)
                if cls.saves_output:
                    self._out_fw = result._fw
            if state.anomaly:
                _check_anomaly(self, result, "forward")
            if state.tracer is not None:
                state.tracer.box(self, inputs, arrays, options, out)
        return result

    # ----------------------------------------------------------------- helpers for subclasses
    def output(self):
        """The output y as a Tensor that is still linked to this box (for differentiable backward)."""
        if self._out_vc[0] != 0:
            _raise_modified(self, Tensor._make(self._out_data), "its output")
        if self.versions is None:
            y = Tensor._make(self._out_data)
        else:
            y = Tensor._make(self._out_data, True, self)
            y._vc = self._out_vc
        y._fw = self._out_fw
        return y

    def _check_versions(self):
        idx = range(len(self.inputs)) if self.saved_inputs is None else self.saved_inputs
        for i in idx:
            t = self.inputs[i]
            if t._vc[0] != self.versions[i]:
                _raise_modified(self, t, f"input {i}")

    def release(self):
        """Free what the box keeps for backward (after a backward without ``retain_graph``); the
        arrays it held become writable again unless another live box holds them."""
        self._freed = True
        self.inputs = ()
        self._out_data = None
        self._out_fw = None  # (its tangent's graph leads back to this box: a cycle)
        if self._held is not None:
            let_go(self._held)
            self._held = None

    def __repr__(self):
        return f"<{type(self).__name__}>"


def _propagate_tangent(self, inputs, result):
    tag = _state.forward_tag
    tangents = []
    any_tangent = False
    for t in inputs:
        fw = t._fw
        if fw is not None and fw[0] is tag:
            tangents.append(fw[1])
            any_tangent = True
        else:
            tangents.append(None)
    if not any_tangent:
        return
    # The jvp rule is computed as a plain (first-order) forward computation: it carries no tangent
    # of its own, but it is recorded for reverse mode when gradients are on, so that
    # reverse-over-forward compositions are differentiable.
    _state.forward_tag = None
    try:
        tout = self.jvp(*tangents)
    finally:
        _state.forward_tag = tag
    if tout is None:
        return
    if tout.data.shape != result.data.shape:
        tout = tout.expand(result.data.shape)
    if tout.data.dtype != result.data.dtype and result.data.dtype.kind == "f":
        tout = Tensor._make(tout.data.astype(result.data.dtype))
    result._fw = (tag, tout)


def _raise_modified(box, t, which):
    raise RuntimeError(
        f"one of the tensors needed for the gradient of {type(box).__name__} ({which}, shape {tuple(t.shape)}) "
        f"was modified by an in-place operation after it was used; its version is now {t._vc[0]}. "
        "Compute the gradient before changing it, or change a copy (.clone())."
    )


def _check_anomaly(box, result, phase):
    if box._trace is None:
        box._trace = "".join(traceback.format_stack(limit=12)[:-3])
    data = result.data if isinstance(result, Tensor) else result
    if data.dtype.kind == "f" and not np.isfinite(data).all():
        raise FloatingPointError(
            f"detect_anomaly: {type(box).__name__}.{phase} produced NaN or Inf "
            f"(shape {tuple(data.shape)}). The operation was created at:\n{box._trace}"
        )
