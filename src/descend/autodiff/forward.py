"""Forward mode: tensors that carry a tangent (dual numbers x + ẋε with ε² = 0).

Inside :func:`jvp`, every primitive that sees an input with a tangent computes its output's
tangent with its own ``jvp`` rule, ẏ = Σᵢ ∂y/∂xᵢ ẋᵢ, alongside the value, so one pass through f
gives f(x) and J ẋ. Each call of :func:`jvp` has its own tag; a tangent left on a tensor from
an earlier pass is ignored. Forward mode composes with reverse mode: ``jvp`` of a function
that calls ``dc.grad`` is forward-over-reverse (Hessian-vector products).
"""

import numpy as np

from .function import Function
from .mode import state
from .tensor import Tensor


class Alias(Function):
    """y = x as a new tensor object (so it can carry its own tangent or be captured by grad)."""

    saved_inputs = ()

    def forward(self, x):
        return x

    def backward(self, gy):
        return (gy,)

    def jvp(self, tx):
        return tx


def _tuple(xs):
    return ((xs,), True) if isinstance(xs, Tensor) else (tuple(xs), False)


def with_tangent(x, tangent):
    """A tensor equal to ``x`` that carries ``tangent`` in the current forward pass."""
    tag = state.forward_tag
    if tag is None:
        raise RuntimeError("with_tangent() is only meaningful inside dc.jvp")
    y = Alias.apply(x) if x.requires_grad and state.grad_enabled else Tensor._make(x.data)
    y._fw = (tag, tangent)
    return y


def jvp(f, primals, tangents):
    """Evaluate f at ``primals`` and its directional derivative J·``tangents`` in one forward pass.

    ``primals`` and ``tangents`` are Tensors or matching sequences of Tensors of equal shapes.
    Returns ``(f(primals), J tangents)``; for a function with several outputs, tuples of both.
    """
    primals, _ = _tuple(primals)
    tangents, _ = _tuple(tangents)
    if len(primals) != len(tangents):
        raise ValueError(f"jvp: {len(primals)} primals but {len(tangents)} tangents")
    checked = []
    for i, (p, t) in enumerate(zip(primals, tangents)):
        if not isinstance(p, Tensor):
            raise TypeError(f"jvp: primal {i} is a {type(p).__name__}, expected a Tensor")
        if not isinstance(t, Tensor):
            t = Tensor._make(np.asarray(t, dtype=p.data.dtype))
        checked.append(t)
        if t.shape != p.shape:
            raise ValueError(f"jvp: tangent {i} has shape {tuple(t.shape)} but its primal has shape {tuple(p.shape)}")
        if t.data.dtype != p.data.dtype:
            raise TypeError(f"jvp: tangent {i} has dtype {t.data.dtype} but its primal has dtype {p.data.dtype}")
    if state.forward_tag is not None:
        raise RuntimeError("jvp: nested forward-mode passes are not supported; compose jvp with grad instead "
                           "(forward-over-reverse), e.g. dc.hvp")
    state.forward_tag = tag = object()
    try:
        out = f(*[with_tangent(p, t) for p, t in zip(primals, checked)])
        outs, single_out = _tuple(out)
        touts = []
        for y in outs:
            fw = y._fw if isinstance(y, Tensor) else None
            touts.append(fw[1] if fw is not None and fw[0] is tag else Tensor._make(np.zeros_like(y.data)))
    finally:
        state.forward_tag = None
    return (out, touts[0]) if single_out else (out, tuple(touts))
