"""2-D convolution (cross-correlation, as PyTorch) by im2col and matrix products.

y[n, o, i, j] = b_o + Σ_{c,p,q} W[o, c, p, q] · x_pad[n, c, i·s_h + p·d_h, j·s_w + q·d_w]

Shapes: x (N, C, H, W), W (O, C, kh, kw), b (O,) → y (N, O, Hₒ, Wₒ) with
Hₒ = ⌊(H + 2 p_h − d_h (kh − 1) − 1) / s_h⌋ + 1 (same for the width).

The windows of the padded input (channels last) are a strided view; they are copied into the
column matrix (N·Hₒ·Wₒ, kh·kw·C), a few images at a time, and each block is multiplied by W
reshaped to (O, kh·kw·C). Backward: W̄ = Σ ȳᵀ cols over the same blocks, and x̄ is the "full"
convolution of ȳ with the flipped kernel (stride 1) or adds ȳ W[:, :, p, q] back onto the windows
(one product and one strided add per kernel offset). Three primitives (the convolution, its input
gradient and its weight gradient) are each other's derivatives, so convolutions can be
differentiated any number of times.
"""

import numpy as np
from numpy.lib.stride_tricks import as_strided

from descend.autodiff import Function

from . import _winograd
from ._util import check_float, ones, pair_of_ints


class Geometry:
    """Stride, padding and dilation of a 2-D window operation, and its output size."""

    __slots__ = ("stride", "padding", "dilation")

    def __init__(self, stride, padding, dilation):
        self.stride, self.padding, self.dilation = stride, padding, dilation

    def out_size(self, H, W, kh, kw, ceil_mode=False):
        """(Hₒ, Wₒ) = (⌊(H + 2p − d(k − 1) − 1)/s⌋ + 1, the same for W).

        ``ceil_mode`` (pooling) rounds up instead, as PyTorch, but drops a last window that would
        start in the right padding."""
        return tuple(_out_len(n, k, s, p, d, ceil_mode)
                     for n, k, s, p, d in zip((H, W), (kh, kw), self.stride, self.padding, self.dilation))


def _out_len(n, k, s, p, d, ceil_mode):
    span = n + 2 * p - d * (k - 1) - 1
    out = (span + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def pad_nchw(x, padding, value=0):
    """x (N, C, H, W) padded by (p_h, p_w) on each side with ``value`` (x itself if no padding)."""
    ph, pw = padding
    if ph == 0 and pw == 0:
        return x
    N, C, H, W = x.shape
    out = np.full((N, C, H + 2 * ph, W + 2 * pw), value, dtype=x.dtype)
    out[:, :, ph:ph + H, pw:pw + W] = x
    return out


def windows(xp, kh, kw, Ho, Wo, geo):
    """Strided view (N, C, Hₒ, Wₒ, kh, kw) of the windows of the padded input (no copy)."""
    (sh, sw), (dh, dw) = geo.stride, geo.dilation
    sN, sC, sH, sW = xp.strides
    N, C = xp.shape[:2]
    return as_strided(xp, (N, C, Ho, Wo, kh, kw), (sN, sC, sH * sh, sW * sw, sH * dh, sW * dw), writeable=False)


def _nhwc_padded(x, padding):
    """x (N, C, H, W) as a zero-padded channels-last array (N, H + 2p_h, W + 2p_w, C)."""
    ph, pw = padding
    xl = x.transpose(0, 2, 3, 1)
    if ph == 0 and pw == 0:
        return xl
    N, H, W, C = xl.shape
    xp = np.zeros((N, H + 2 * ph, W + 2 * pw, C), dtype=x.dtype)
    xp[:, ph:ph + H, pw:pw + W, :] = xl
    return xp


#: values per block of column matrix: blocks of a few megabytes stay in the cache between being
#: written and being multiplied, and never need fresh pages from the operating system
BLOCK_VALUES = 1 << 20


def column_blocks(x, kh, kw, geo):
    """The column matrix of x (N, C, H, W) in blocks of whole images: yields (n0, n1, cols) with
    cols (m·Hₒ·Wₒ, kh·kw·C) for images n0 ≤ n < n1, m = n1 − n0 (channels last inside a row).

    Row (n, i, j) of the full matrix holds the window of output position (i, j): the padded input
    x_pad[n, :, i·s_h + p·d_h, j·s_w + q·d_w] for every offset (p, q), as one strided view copied
    once. Working channels-last makes every copied run C entries long; convolutions also store
    their outputs channels-last, so stacked convolutions copy contiguous runs. With one input
    channel (C = 1) the matrix is built transposed, offset by offset, and cols is its transpose."""
    N, C, H, W = x.shape
    Ho, Wo = geo.out_size(H, W, kh, kw)
    (sh, sw), (dh, dw) = geo.stride, geo.dilation
    xp = _nhwc_padded(x, geo.padding)
    sN, sH, sW, sC = xp.strides
    per_image = Ho * Wo * kh * kw * C
    step = max(1, BLOCK_VALUES // per_image)
    for n0 in range(0, N, step):
        n1 = min(N, n0 + step)
        if C == 1:
            # one input channel: a row would be kh·kw scattered values; copy each offset's whole
            # shifted image instead (runs of Wₒ values) into the transposed matrix, and hand out
            # its transpose (a view; BLAS reads either order)
            win = as_strided(xp[n0:], (kh, kw, n1 - n0, Ho, Wo), (sH * dh, sW * dw, sN, sH * sh, sW * sw),
                             writeable=False)
            cols_t = np.empty(win.shape, dtype=x.dtype)
            np.copyto(cols_t, win)
            yield n0, n1, cols_t.reshape(kh * kw, -1).T
            continue
        win = as_strided(xp[n0:], (n1 - n0, Ho, Wo, kh, kw, C), (sN, sH * sh, sW * sw, sH * dh, sW * dw, sC),
                         writeable=False)
        cols = np.empty(win.shape, dtype=x.dtype)
        np.copyto(cols, win)
        yield n0, n1, cols.reshape(-1, kh * kw * C)


def _nhwc_rows(gy):
    """ȳ (N, O, Hₒ, Wₒ) as rows (N·Hₒ·Wₒ, O)."""
    N, O = gy.shape[:2]
    return gy.transpose(0, 2, 3, 1).reshape(-1, O)


def _wmat(w):
    """W (O, C, kh, kw) as the matrix (O, kh·kw·C) matching the column layout."""
    O = w.shape[0]
    return w.transpose(0, 2, 3, 1).reshape(O, -1)


def conv_forward(x, w, geo, b=None):
    """y = W ⋆ x (+ b) as NumPy: y (N, O, Hₒ, Wₒ), a channels-last array seen as NCHW.

    Each block of column rows is multiplied by Wᵀ straight into its rows of y. A 3×3 kernel with
    stride 1 (and enough channels) goes through Winograd's F(2×2, 3×3) instead when Numba is
    installed (:mod:`._winograd`: 2.25× fewer multiplications)."""
    if _winograd.applies(x, w.shape, geo):
        return _winograd.conv3x3(x, w, geo.padding, b)
    O, C, kh, kw = w.shape
    N, _, H, W = x.shape
    Ho, Wo = geo.out_size(H, W, kh, kw)
    y = np.empty((N, Ho, Wo, O), dtype=x.dtype)
    rows = y.reshape(-1, O)
    wt = _wmat(w).T
    per = Ho * Wo
    for n0, n1, cols in column_blocks(x, kh, kw, geo):
        np.matmul(cols, wt, out=rows[n0 * per:n1 * per])
    if b is not None:
        rows += b
    return y.transpose(0, 3, 1, 2)


def conv_grad_input(gy, w, x_shape, geo):
    """x̄ for ȳ: the transposed convolution.

    With stride 1 (and padding ≤ d(k − 1)) it is a "full" convolution of ȳ with the flipped,
    transposed kernel. Otherwise x̄ = Σ_{p,q} (ȳ rows · W[:, :, p, q]) added onto the input
    positions each kernel offset saw (one small product and one strided add per offset).
    """
    O, C, kh, kw = w.shape
    N, _, H, W = x_shape
    Ho, Wo = gy.shape[2:]
    (sh, sw), (ph, pw), (dh, dw) = geo.stride, geo.padding, geo.dilation
    fph, fpw = dh * (kh - 1) - ph, dw * (kw - 1) - pw
    if (sh, sw) == (1, 1) and fph >= 0 and fpw >= 0:
        flipped = np.ascontiguousarray(w[:, :, ::-1, ::-1].transpose(1, 0, 2, 3))  # (C, O, kh, kw)
        return conv_forward(gy, flipped, Geometry((1, 1), (fph, fpw), (dh, dw)))
    rows = _nhwc_rows(gy)
    gxp = np.zeros((N, H + 2 * ph, W + 2 * pw, C), dtype=gy.dtype)
    wl = w.transpose(2, 3, 0, 1)  # (kh, kw, O, C)
    for p in range(kh):
        r0 = p * dh
        for q in range(kw):
            c0 = q * dw
            part = (rows @ wl[p, q]).reshape(N, Ho, Wo, C)
            gxp[:, r0:r0 + sh * (Ho - 1) + 1:sh, c0:c0 + sw * (Wo - 1) + 1:sw, :] += part
    return gxp[:, ph:ph + H, pw:pw + W, :].transpose(0, 3, 1, 2)


def conv_grad_weight(x, gy, w_shape, geo):
    """W̄ = Σ over positions of ȳ ⊗ window (O, C, kh, kw) = Σ over blocks of (column rows)ᵀ · (ȳ rows)
    (Winograd's F(2×2, 3×3) for a 3×3 kernel with stride 1, as :func:`conv_forward`)."""
    if _winograd.applies(x, w_shape, geo):
        return _winograd.grad_weight3x3(x, gy, geo.padding)
    O, C, kh, kw = w_shape
    g = _nhwc_rows(gy)
    per = gy.shape[2] * gy.shape[3]
    gw = np.zeros((kh * kw * C, O), dtype=gy.dtype)
    for n0, n1, cols in column_blocks(x, kh, kw, geo):
        gw += cols.T @ g[n0 * per:n1 * per]
    return np.ascontiguousarray(gw.T.reshape(O, kh, kw, C).transpose(0, 3, 1, 2))


class Conv2dFn(Function):
    """y = conv(x, W) (+ b);  x̄ = conv_grad_input(ȳ, W),  W̄ = conv_grad_weight(x, ȳ),  b̄ = Σ_{n,i,j} ȳ."""

    saved_inputs = (0, 1)

    def forward(self, x, w, *b, geo):
        self.geo = geo
        return conv_forward(x, w, geo, b[0] if b else None)

    def backward(self, gy):
        x, w = self.inputs[0], self.inputs[1]
        gx = Conv2dGradInput.apply(gy, w, x_shape=x.shape, geo=self.geo) if x.requires_grad else None
        gw = Conv2dGradWeight.apply(x, gy, w_shape=w.shape, geo=self.geo) if w.requires_grad else None
        if len(self.inputs) == 2:
            return gx, gw
        return gx, gw, (ChannelSum.apply(gy) if self.inputs[2].requires_grad else None)

    def jvp(self, tx, tw, *tb):
        x, w = self.inputs[0], self.inputs[1]
        out = None
        if tx is not None:
            out = Conv2dFn.apply(tx, w, geo=self.geo)
        if tw is not None:
            part = Conv2dFn.apply(x, tw, geo=self.geo)
            out = part if out is None else out + part
        if tb and tb[0] is not None:
            part = tb[0].reshape(1, -1, 1, 1)
            out = part if out is None else out + part
        return out


class ChannelSum(Function):
    """b̄_o = Σ_{n,i,j} ȳ[n, o, i, j]. On a channels-last ȳ (what convolutions and elementwise maps
    of their outputs store) it is the product 1ᵀ R of the rows R (N·Hₒ·Wₒ, O), ~8x faster than a
    sum over three axes; its derivative spreads U back over (n, i, j)."""

    saved_inputs = ()

    def forward(self, g):
        self.shape = g.shape
        rows = g.transpose(0, 2, 3, 1)
        if not rows.flags.c_contiguous:
            return g.sum(axis=(0, 2, 3))
        rows = rows.reshape(-1, g.shape[1])
        return np.matmul(ones(rows.shape[0], g.dtype), rows)

    def backward(self, u):
        return (u.reshape(1, -1, 1, 1).expand(*self.shape),)

    def jvp(self, tg):
        return ChannelSum.apply(tg)


class Conv2dGradInput(Function):
    """x̄ = conv_grad_input(ȳ, W), bilinear in (ȳ, W): the transposed convolution."""

    def forward(self, gy, w, x_shape, geo):
        self.x_shape, self.geo = x_shape, geo
        return conv_grad_input(gy, w, x_shape, geo)

    def backward(self, g):
        gy, w = self.inputs
        d_gy = Conv2dFn.apply(g, w, geo=self.geo) if gy.requires_grad else None
        d_w = Conv2dGradWeight.apply(g, gy, w_shape=w.shape, geo=self.geo) if w.requires_grad else None
        return d_gy, d_w

    def jvp(self, tgy, tw):
        gy, w = self.inputs
        out = None if tgy is None else Conv2dGradInput.apply(tgy, w, x_shape=self.x_shape, geo=self.geo)
        if tw is not None:
            part = Conv2dGradInput.apply(gy, tw, x_shape=self.x_shape, geo=self.geo)
            out = part if out is None else out + part
        return out


class Conv2dGradWeight(Function):
    """W̄ = conv_grad_weight(x, ȳ), bilinear in (x, ȳ)."""

    def forward(self, x, gy, w_shape, geo):
        self.w_shape, self.geo = w_shape, geo
        return conv_grad_weight(x, gy, w_shape, geo)

    def backward(self, g):
        x, gy = self.inputs
        d_x = Conv2dGradInput.apply(gy, g, x_shape=x.shape, geo=self.geo) if x.requires_grad else None
        d_gy = Conv2dFn.apply(x, g, geo=self.geo) if gy.requires_grad else None
        return d_x, d_gy

    def jvp(self, tx, tgy):
        x, gy = self.inputs
        out = None if tx is None else Conv2dGradWeight.apply(tx, gy, w_shape=self.w_shape, geo=self.geo)
        if tgy is not None:
            part = Conv2dGradWeight.apply(x, tgy, w_shape=self.w_shape, geo=self.geo)
            out = part if out is None else out + part
        return out


def conv2d(input, weight, bias=None, stride=1, padding=0, dilation=1, groups=1):
    """2-D cross-correlation y = W ⋆ x + b (PyTorch's F.conv2d, zero padding).

    Shapes: input (N, C, H, W), weight (O, C, kh, kw), bias (O,) → (N, O, Hₒ, Wₒ). ``stride``,
    ``padding`` and ``dilation`` are ints or pairs; ``padding`` may also be "valid" (0) or
    "same" (stride 1 only). Only ``groups=1`` is supported.
    """
    name = "conv2d"
    check_float(input, name)
    check_float(weight, name, "weight")
    if groups != 1:
        raise ValueError(f"{name}: groups={groups}; only groups=1 is supported")
    if input.ndim != 4:
        raise ValueError(f"{name}: input must have shape (N, C, H, W), got {tuple(input.shape)}")
    if weight.ndim != 4:
        raise ValueError(f"{name}: weight must have shape (O, C, kh, kw), got {tuple(weight.shape)}")
    if input.shape[1] != weight.shape[1]:
        raise ValueError(f"{name}: input has {input.shape[1]} channels (shape {tuple(input.shape)}) but the weight "
                         f"expects {weight.shape[1]} (weight shape {tuple(weight.shape)})")
    if input.dtype != weight.dtype:
        raise TypeError(f"{name}: input has dtype {input.dtype} but weight has dtype {weight.dtype}")
    stride = pair_of_ints(stride, name, "stride")
    dilation = pair_of_ints(dilation, name, "dilation")
    kh, kw = weight.shape[2:]
    if isinstance(padding, str):
        if padding == "valid":
            padding = (0, 0)
        elif padding == "same":
            if stride != (1, 1):
                raise ValueError(f"{name}: padding='same' needs stride 1, got stride={stride}")
            th, tw = dilation[0] * (kh - 1), dilation[1] * (kw - 1)
            if th % 2 or tw % 2:
                raise ValueError(f"{name}: padding='same' needs an even total padding; kernel {kh}x{kw} with "
                                 f"dilation {dilation} gives {th}, {tw}")
            padding = (th // 2, tw // 2)
        else:
            raise ValueError(f"{name}: padding={padding!r}; expected an int, a pair, 'valid' or 'same'")
    padding = pair_of_ints(padding, name, "padding")
    if min(stride) < 1 or min(dilation) < 1 or min(padding) < 0:
        raise ValueError(f"{name}: stride={stride}, dilation={dilation} must be >= 1 and padding={padding} >= 0")
    geo = Geometry(stride, padding, dilation)
    Ho, Wo = geo.out_size(input.shape[2], input.shape[3], kh, kw)
    if Ho < 1 or Wo < 1:
        raise ValueError(
            f"{name}: input of spatial size {tuple(input.shape[2:])} with padding {padding} is smaller than "
            f"the (dilated) kernel {kh}x{kw}, dilation {dilation}"
        )
    if bias is None:
        return Conv2dFn.apply(input, weight, geo=geo)
    check_float(bias, name, "bias")
    if bias.shape != (weight.shape[0],):
        raise ValueError(f"{name}: bias has shape {tuple(bias.shape)}; expected ({weight.shape[0]},)")
    if bias.dtype != weight.dtype:
        raise TypeError(f"{name}: bias has dtype {bias.dtype} but weight has dtype {weight.dtype}")
    return Conv2dFn.apply(input, weight, bias, geo=geo)
