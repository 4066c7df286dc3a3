"""The affine map of a layer, a = b + W h, as one fused primitive (PyTorch layout y = x Wᵀ + b).

Shapes: x (..., in), W (out, in), b (out,) → y (..., out). Forward is one matrix product and
one add; backward is  x̄ = ȳ W,  W̄ = ȳᵀ x (summed over the batch),  b̄ = Σ ȳ, written with Tensor
operations when the graph is recorded (so it can be differentiated again) and with plain NumPy
otherwise.
"""

import numpy as np

from descend.autodiff.function import Function

from ._util import check_float, const, fast


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
        x, w = self.inputs[0], self.inputs[1]
        has_b = len(self.inputs) == 3
        n_out = w.data.shape[0]
        gx = gw = gb = None
        if fast():
            g = gy.data
            if x.requires_grad:
                # 2-d: x̄ = (Wᵀ ȳᵀ)ᵀ, stored like the (transposed) outputs of forward, so the
                # activations' backward multiplies arrays of the same memory layout
                gx = const(np.matmul(w.data.T, g.T).T if g.ndim == 2 else np.matmul(g, w.data))
            if w.requires_grad or (has_b and self.inputs[2].requires_grad):
                g2 = g.reshape(-1, n_out)
                if w.requires_grad:
                    gw = const(np.matmul(g2.T, x.data.reshape(-1, x.data.shape[-1])))
                if has_b and self.inputs[2].requires_grad:
                    # b̄ = 1ᵀ ȳ as a matrix-vector product: 4x faster than g2.sum(axis=0) on the
                    # transposed layout that forward's products give
                    gb = const(np.matmul(np.ones(g2.shape[0], g2.dtype), g2))
        else:
            if x.requires_grad:
                gx = gy @ w
            g2 = gy.reshape(-1, n_out)
            if w.requires_grad:
                gw = g2.mT @ x.reshape(-1, x.shape[-1])
            if has_b and self.inputs[2].requires_grad:
                gb = g2.sum(dim=0)
        return (gx, gw, gb) if has_b else (gx, gw)

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
