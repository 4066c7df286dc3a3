"""The affine map of a layer, a = b + W h, as one fused primitive (PyTorch layout y = x Wᵀ + b).

Shapes: x (..., in), W (out, in), b (out,) → y (..., out). Forward is one matrix product and
one add; backward is  x̄ = ȳ W,  W̄ = ȳᵀ x (summed over the batch),  b̄ = Σ ȳ, written with Tensor
operations when the graph is recorded (so it can be differentiated again) and with plain NumPy
otherwise. Inside a forward-mode pass (forward-over-reverse Hessian-vector products) the NumPy
backward also returns the tangents of the gradients, by the product rule.
"""

import numpy as np

from descend.autodiff.forward import dual, primal_gradient_unused, tangent_of
from descend.autodiff.function import Function
from descend.autodiff.mode import tangent_pass
from descend.autodiff.ops.elementwise import constant_vector

from ._util import check_float, const, fast


def _times_w(g, w):
    """g W for g (..., out) and W (out, in). For matrices it is computed as (Wᵀ gᵀ)ᵀ, stored like
    forward's outputs, so that the activations' backward multiplies arrays of one memory layout."""
    return np.matmul(w.T, g.T).T if g.ndim == 2 else np.matmul(g, w)


def _batch_outer(g, x):
    """Σ over the batch of gᵀ x, for g (..., out) and x (..., in): shape (out, in)."""
    return np.matmul(g.reshape(-1, g.shape[-1]).T, x.reshape(-1, x.shape[-1]))


def _batch_sum(g):
    """Σ over the batch of g (..., out), as the product 1ᵀ g: 4x faster than ``g.sum(axis=0)`` on
    the transposed layout that forward's products give."""
    g2 = g.reshape(-1, g.shape[-1])
    return np.matmul(constant_vector(1, g2.shape[0], g2.dtype), g2)


def _add(a, b):
    """a + b where either may be None (a missing term)."""
    if a is None:
        return b
    return a if b is None else a + b


class LinearFn(Function):
    """y = x Wᵀ (+ b);  x̄ = ȳ W,  W̄ = ȳᵀ x,  b̄ = Σ_batch ȳ."""

    saved_inputs = (0, 1)

    def forward(self, x, w, *b):
        if x.ndim == 2:
            # (W xᵀ)ᵀ: the product OpenBLAS runs fastest for small batches; y is a transposed view.
            y = np.matmul(w, x.T).T
        else:
            y = np.matmul(x, w.T)
        if b:
            y += b[0]
        return y

    def backward(self, gy):
        if fast():
            x, w = self.inputs[0], self.inputs[1]
            g = gy.data
            gx = const(_times_w(g, w.data)) if x.requires_grad else None
            gw = const(_batch_outer(g, x.data)) if w.requires_grad else None
            if len(self.inputs) == 2:
                return gx, gw
            return gx, gw, (const(_batch_sum(g)) if self.inputs[2].requires_grad else None)
        if tangent_pass():
            return self._backward_with_tangents(gy)
        x, w = self.inputs[0], self.inputs[1]
        has_b = len(self.inputs) == 3
        gx = gw = gb = None
        if x.requires_grad:
            gx = gy @ w
        g2 = gy.reshape(-1, w.shape[0])
        if w.requires_grad:
            gw = g2.mT @ x.reshape(-1, x.shape[-1])
        if has_b and self.inputs[2].requires_grad:
            gb = g2.sum(dim=0)
        return (gx, gw, gb) if has_b else (gx, gw)

    def _backward_with_tangents(self, gy):
        """The backward inside a forward-mode pass (forward-over-reverse, e.g. Hessian-vector
        products), in NumPy: the gradients x̄ = ȳ W, W̄ = ȳᵀ x, b̄ = 1ᵀ ȳ and their tangents by the
        product rule,  d x̄ = ġ W + ȳ Ẇ,  d W̄ = ġᵀ x + ȳᵀ ẋ,  d b̄ = 1ᵀ ġ  (ġ, ẋ, Ẇ the tangents
        carried). The value of W̄ is skipped when only its tangent is wanted (``dc.hvp``)."""
        xt, wt = self.inputs[0], self.inputs[1]
        x, w = xt.data, wt.data
        g, tg = gy.data, tangent_of(gy)
        tx, tw = tangent_of(xt), tangent_of(wt)
        out = [None] * len(self.inputs)
        if xt.requires_grad:
            out[0] = dual(_times_w(g, w), _add(None if tg is None else _times_w(tg, w),
                                               None if tw is None else _times_w(g, tw)))
        if wt.requires_grad:
            if primal_gradient_unused(wt):
                gw = np.broadcast_to(np.zeros((), g.dtype), w.shape)  # a placeholder: only d W̄ is read
            else:
                gw = _batch_outer(g, x)
            out[1] = dual(gw, _add(None if tg is None else _batch_outer(tg, x), None if tx is None else _batch_outer(g, tx)))
        if len(self.inputs) == 3 and self.inputs[2].requires_grad:
            out[2] = dual(_batch_sum(g), None if tg is None else _batch_sum(tg))
        return tuple(out)

    def jvp(self, tx, tw, *tb):
        x, w = self.inputs[0], self.inputs[1]
        out = None
        if tx is not None:
            out = LinearFn.apply(tx, w)
        if tw is not None:
            part = LinearFn.apply(x, tw)
            out = part if out is None else out + part
        if tb and tb[0] is not None:
            out = tb[0] if out is None else out + tb[0]
        return out


def linear(input, weight, bias=None):
    """y = x Wᵀ + b (the notes' a = b + W h, batched along the leading dimensions).

    Shapes: input (..., in), weight (out, in), bias (out,) or None → (..., out). An input whose
    last dimension is not ``in`` raises naming both widths.
    """
    check_float(input, "linear")
    check_float(weight, "linear", "weight")
    if weight.ndim != 2:
        raise ValueError(f"linear: weight must have shape (out_features, in_features), got {tuple(weight.shape)}")
    if input.ndim == 0 or input.shape[-1] != weight.shape[1]:
        width = input.shape[-1] if input.ndim else "a scalar"
        raise ValueError(f"linear: input has width {width} (shape {tuple(input.shape)}) but the layer expects "
                         f"in_features={weight.shape[1]}")
    if input.data.dtype != weight.data.dtype:
        raise TypeError(f"linear: input has dtype {input.data.dtype} but weight has dtype {weight.data.dtype}")
    if bias is None:
        return LinearFn.apply(input, weight)
    if bias.shape != (weight.shape[0],):
        raise ValueError(f"linear: bias has shape {tuple(bias.shape)}; expected ({weight.shape[0]},)")
    return LinearFn.apply(input, weight, bias)
