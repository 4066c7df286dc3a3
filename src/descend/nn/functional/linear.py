"""The affine map of a layer, a = b + W h, as one fused primitive (PyTorch layout y = x Wᵀ + b).

Shapes: x (..., in), W (out, in), b (out,) → y (..., out). Backward is

    x̄ = ȳ W,    W̄ = ȳᵀ x (summed over the batch),    b̄ = 1ᵀ ȳ,

each a primitive of its own with one NumPy kernel: the three products are bilinear maps that are
each other's derivatives (as the convolution and its two gradients), so the same kernels serve a
plain backward, a recorded one (``create_graph``) and the tangents of a Hessian-vector product.
"""

import numpy as np

from descend.autodiff import Function
from descend.autodiff.extend import only_tangent_wanted

from ._util import check_float, ones


def _transposed(rows, out):
    """Whether x Wᵀ for ``rows`` × in inputs is computed as (W xᵀ)ᵀ, stored column-major: the product
    OpenBLAS runs fastest for small batches of wide layers (single-thread, AMD EPYC: 784→512 at batch
    16 2×, at 128 11% faster), but 7-11% slower than x Wᵀ at batch 1024, and slower at every batch
    for narrow outputs (256→10: 24 vs 15 µs at batch 128)."""
    return rows < 768 and out > 16


def _times_w(g, w, column_major=None):
    """g W for g (..., out) and W (out, in), computed as (Wᵀ gᵀ)ᵀ and so stored column-major when
    ``column_major`` (Linear's backward passes whether its input x was: the gradient then has x's
    layout, and the activation's backward before it multiplies arrays of one layout, 10x faster
    than across layouts: 161 against 16 µs for ReLU's gradient at 128×256); by default, when
    :func:`_transposed` says the forward product of g's shape is stored that way."""
    if column_major is None:
        column_major = g.ndim == 2 and _transposed(*g.shape)
    return np.matmul(w.T, g.T).T if column_major else np.matmul(g, w)


def _column_major(a):
    """Whether matrix ``a`` is stored column-major (and not also row-major: one row or column)."""
    return a.ndim == 2 and a.flags.f_contiguous and not a.flags.c_contiguous


def _add(a, b):
    """a + b where either may be None (a missing term)."""
    if a is None:
        return b
    return a if b is None else a + b


class LinearFn(Function):
    """y = x Wᵀ (+ b);  x̄ = ȳ W,  W̄ = ȳᵀ x,  b̄ = 1ᵀ ȳ."""

    saved_inputs = (0, 1)

    def forward(self, x, w, *b):
        # (W xᵀ)ᵀ for small batches of wide layers (see _transposed): y is then a transposed view
        y = np.matmul(w, x.T).T if x.ndim == 2 and _transposed(x.shape[0], w.shape[0]) else np.matmul(x, w.T)
        if b:
            y += b[0]
        return y

    def backward(self, gy):
        x, w = self.inputs[0], self.inputs[1]
        gx = LinearGradInput.apply(gy, w, column_major=_column_major(x.data)) if x.requires_grad else None
        gw = LinearGradWeight.apply(gy, x, value=not only_tangent_wanted(w)) if w.requires_grad else None
        if len(self.inputs) == 2:
            return gx, gw
        return gx, gw, (BatchSum.apply(gy) if self.inputs[2].requires_grad else None)

    def jvp(self, tx, tw, *tb):
        x, w = self.inputs[0], self.inputs[1]
        out = None if tx is None else LinearFn.apply(tx, w)
        if tw is not None:
            out = _add(out, LinearFn.apply(x, tw))
        return _add(out, tb[0] if tb else None)


class LinearGradInput(Function):
    """x̄ = ȳ W for ȳ (..., out), W (out, in): bilinear; ∂/∂ȳ is U ↦ U Wᵀ, ∂/∂W is U ↦ ȳᵀ U."""

    saved_inputs = (0, 1)

    def forward(self, g, w, column_major=None):
        return _times_w(g, w, column_major)

    def backward(self, u):
        g, w = self.inputs
        dg = LinearFn.apply(u, w) if g.requires_grad else None
        dw = LinearGradWeight.apply(g, u) if w.requires_grad else None
        return dg, dw

    def jvp(self, tg, tw):
        g, w = self.inputs
        out = None if tg is None else LinearGradInput.apply(tg, w)
        return _add(out, None if tw is None else LinearGradInput.apply(g, tw))


class LinearGradWeight(Function):
    """W̄ = Σ over the batch of ȳᵀ x, for ȳ (..., out), x (..., in): (out, in). Bilinear;
    ∂/∂ȳ is U ↦ x Uᵀ, ∂/∂x is U ↦ ȳ U.

    ``value=False`` (only the tangent of W̄ is wanted, inside ``dc.hvp``) skips the product and
    returns zeros: the tangent comes from :meth:`jvp`, which does not read the value."""

    saved_inputs = (0, 1)

    def forward(self, g, x, value=True):
        if not value:
            return np.broadcast_to(np.zeros((), g.dtype), (g.shape[-1], x.shape[-1]))
        return np.matmul(g.reshape(-1, g.shape[-1]).T, x.reshape(-1, x.shape[-1]))

    def backward(self, u):
        g, x = self.inputs
        dg = LinearFn.apply(x, u) if g.requires_grad else None
        dx = LinearGradInput.apply(g, u) if x.requires_grad else None
        return dg, dx

    def jvp(self, tg, tx):
        g, x = self.inputs
        out = None if tg is None else LinearGradWeight.apply(tg, x)
        return _add(out, None if tx is None else LinearGradWeight.apply(g, tx))


class BatchSum(Function):
    """b̄ = Σ over the batch of ȳ (..., out) → (out,), as the product 1ᵀ ȳ (4x faster than a sum over
    the transposed layout of forward's products); its derivative spreads U back over the batch."""

    saved_inputs = ()

    def forward(self, g):
        self.shape = g.shape
        g2 = g.reshape(-1, g.shape[-1])
        return np.matmul(ones(g2.shape[0], g2.dtype), g2)

    def backward(self, u):
        return (u.expand(*self.shape),)

    def jvp(self, tg):
        return BatchSum.apply(tg)


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
    check_float(bias, "linear", "bias")
    if bias.shape != (weight.shape[0],):
        raise ValueError(f"linear: bias has shape {tuple(bias.shape)}; expected ({weight.shape[0]},)")
    if bias.data.dtype != weight.data.dtype:
        raise TypeError(f"linear: bias has dtype {bias.data.dtype} but weight has dtype {weight.data.dtype}")
    return LinearFn.apply(input, weight, bias)
