"""2-D max and average pooling over strided windows of the input.

Shapes: x (N, C, H, W) → (N, C, Hₒ, Wₒ), Hₒ = ⌊(H + 2p − d(k − 1) − 1)/s⌋ + 1; with
``ceil_mode`` the division rounds up, as in PyTorch, except that a last window starting beyond
the input and its left padding is dropped; windows that then reach past the padded input see
−∞ (max) or nothing (average: a smaller divisor). Max pooling sends each output's gradient to the
(first) maximal entry of its window; average pooling spreads it evenly. Both backward passes are linear maps
with their own primitive whose derivative is the forward map again (differentiable twice).
"""

import numpy as np

from descend.autodiff.function import Function
from descend.autodiff.ops import cat

from ._util import check_float, const, fast, pair
from .conv import Geometry, pad_nchw, windows


# --------------------------------------------------------------------------- max pooling
class MaxPool2dFn(Function):
    """y = max over each window;  x̄ = ȳ scattered to the argmax positions (the first maximum on ties)."""

    saved_inputs = ()

    def forward(self, x, k, geo):
        kh, kw = k
        N, C, H, W = x.shape
        Ho, Wo = geo.out_size(H, W, kh, kw)
        xp = pad_nchw(x, geo.padding, -np.inf)
        (sh, sw), (dh, dw) = geo.stride, geo.dilation
        # one pass over the kh·kw window offsets j keeping the running maximum and the first offset
        # that attains it: arg += [v_j > best]·(j − arg) (branch-free integer passes; masked writes
        # with random masks are several times slower)
        views = [xp[:, :, p * dh:p * dh + sh * (Ho - 1) + 1:sh, q * dw:q * dw + sw * (Wo - 1) + 1:sw]
                 for p in range(kh) for q in range(kw)]
        best = views[0].copy(order="K")  # keeps the input's memory layout (channels-last stays so)
        arg = np.zeros_like(best, dtype=np.int8 if len(views) <= 127 else np.int16)
        gt = np.empty_like(best, dtype=bool)
        step = np.empty_like(arg)
        for j, v in enumerate(views[1:], 1):
            np.greater(v, best, out=gt)
            np.maximum(best, v, out=best)
            np.subtract(arg.dtype.type(j), arg, out=step)
            np.multiply(step, gt, out=step)
            arg += step
        self.arg, self.k, self.geo = arg, k, geo
        self.x_shape = x.shape
        self.padded_shape = (N, C) + xp.shape[2:]
        self.padding = geo.padding
        self.unique = sh >= (kh - 1) * dh + 1 and sw >= (kw - 1) * dw + 1
        self.channels_last = x.strides[1] < x.strides[3]
        self._index = None
        return best

    def local(self):
        """(N, C, Hₒ, Wₒ) flat index of each maximum inside its padded channel plane."""
        kh, kw = self.k
        (sh, sw), (dh, dw) = self.geo.stride, self.geo.dilation
        Ho, Wo = self.arg.shape[2:]
        Wp = self.padded_shape[3]
        arg = self.arg.astype(np.int64)
        r = (np.arange(Ho) * sh)[:, None] + (arg // kw) * dh
        c = (np.arange(Wo) * sw)[None, :] + (arg % kw) * dw
        return r * Wp + c

    def index(self):
        """Flat index of each maximum in the padded (N, C, H_p, W_p) input."""
        if self._index is None:
            N, C, Hp, Wp = self.padded_shape
            self._index = (self.local() + (np.arange(N * C) * (Hp * Wp)).reshape(N, C, 1, 1)).reshape(-1)
        return self._index

    def _fast_backward(self, g):
        kh, kw = self.k
        (sh, sw), (dh, dw) = self.geo.stride, self.geo.dilation
        N, C, Hp, Wp = self.padded_shape
        Ho, Wo = self.arg.shape[2:]
        if self.channels_last:
            gxp = np.zeros((N, Hp, Wp, C), dtype=g.dtype).transpose(0, 3, 1, 2)
        else:
            gxp = np.zeros((N, C, Hp, Wp), dtype=g.dtype)
        if np.argsort(g.strides).tolist() != np.argsort(self.arg.strides).tolist():
            g_same = np.empty_like(self.arg, dtype=g.dtype)  # one transposing copy, then all passes run in order
            g_same[...] = g
            g = g_same
        for p in range(kh):
            for q in range(kw):
                view = gxp[:, :, p * dh:p * dh + sh * (Ho - 1) + 1:sh, q * dw:q * dw + sw * (Wo - 1) + 1:sw]
                hit = self.arg == p * kw + q
                if self.unique:
                    np.multiply(hit, g, out=view)  # (a multiply is far faster than np.where here)
                else:
                    view += hit * g
        ph, pw = self.padding
        H, W = self.x_shape[2:]
        return gxp[:, :, ph:ph + H, pw:pw + W]

    def backward(self, gy):
        if fast():
            return (const(self._fast_backward(gy.data)),)
        return (PoolScatter.apply(gy, index=self.index(), padded_shape=self.padded_shape, x_shape=self.x_shape,
                                  padding=self.padding, unique=self.unique),)

    def jvp(self, tx):
        return PoolGather.apply(tx, index=self.index(), padded_shape=self.padded_shape, padding=self.padding,
                                out_shape=self.arg.shape)


def _scatter(g, index, padded_shape, x_shape, padding, unique):
    size = int(np.prod(padded_shape))
    if unique:
        flat = np.zeros(size, dtype=g.dtype)
        flat[index] = g.reshape(-1)
    else:
        flat = np.bincount(index, weights=g.reshape(-1), minlength=size).astype(g.dtype, copy=False)
    gxp = flat.reshape(padded_shape)
    ph, pw = padding
    H, W = x_shape[2:]
    return gxp[:, :, ph:ph + H, pw:pw + W]


class PoolScatter(Function):
    """x̄ = Σ of ȳ entries at their recorded input positions (adjoint of :class:`PoolGather`)."""

    saved_inputs = ()

    def forward(self, g, index, padded_shape, x_shape, padding, unique):
        self.index, self.padded_shape, self.padding = index, padded_shape, padding
        self.out_shape, self.x_shape, self.unique = g.shape, x_shape, unique
        return _scatter(g, index, padded_shape, x_shape, padding, unique)

    def backward(self, gg):
        return (PoolGather.apply(gg, index=self.index, padded_shape=self.padded_shape, padding=self.padding,
                                 out_shape=self.out_shape),)

    def jvp(self, tg):
        return PoolScatter.apply(tg, index=self.index, padded_shape=self.padded_shape, x_shape=self.x_shape,
                                 padding=self.padding, unique=self.unique)


class PoolGather(Function):
    """y = x at recorded positions (the linear part of max pooling, with the argmax held fixed)."""

    saved_inputs = ()

    def forward(self, x, index, padded_shape, padding, out_shape):
        self.index, self.padded_shape, self.padding, self.x_shape = index, padded_shape, padding, x.shape
        self.out_shape = out_shape
        xp = pad_nchw(x, padding, 0)
        return xp.reshape(-1)[index].reshape(out_shape)

    def backward(self, g):
        return (PoolScatter.apply(g, index=self.index, padded_shape=self.padded_shape, x_shape=self.x_shape,
                                  padding=self.padding, unique=False),)

    def jvp(self, tx):
        return PoolGather.apply(tx, index=self.index, padded_shape=self.padded_shape, padding=self.padding,
                                out_shape=self.out_shape)


# --------------------------------------------------------------------------- window sums (average pooling)
def _window_sum(x, k, geo):
    kh, kw = k
    N, C, H, W = x.shape
    Ho, Wo = geo.out_size(H, W, kh, kw)
    xp = pad_nchw(x, geo.padding, 0)
    return windows(xp, kh, kw, Ho, Wo, geo).sum(axis=(-2, -1))


def _window_spread(g, k, geo, x_shape):
    kh, kw = k
    N, C, H, W = x_shape
    (sh, sw), (ph, pw), (dh, dw) = geo.stride, geo.padding, geo.dilation
    Ho, Wo = g.shape[2:]
    gxp = np.zeros((N, C, H + 2 * ph, W + 2 * pw), dtype=g.dtype)
    for p in range(kh):
        for q in range(kw):
            gxp[:, :, p * dh:p * dh + sh * (Ho - 1) + 1:sh, q * dw:q * dw + sw * (Wo - 1) + 1:sw] += g
    return gxp[:, :, ph:ph + H, pw:pw + W]


class WindowSum(Function):
    """y = Σ over each window of x;  x̄ = ȳ spread back over each window (:class:`WindowSpread`)."""

    saved_inputs = ()

    def forward(self, x, k, geo):
        self.k, self.geo, self.x_shape = k, geo, x.shape
        return _window_sum(x, k, geo)

    def backward(self, gy):
        if fast():
            return (const(_window_spread(gy.data, self.k, self.geo, self.x_shape)),)
        return (WindowSpread.apply(gy, k=self.k, geo=self.geo, x_shape=self.x_shape),)

    def jvp(self, tx):
        return WindowSum.apply(tx, k=self.k, geo=self.geo)


class WindowSpread(Function):
    """Adjoint of :class:`WindowSum`: each ȳ entry added to every position of its window."""

    saved_inputs = ()

    def forward(self, g, k, geo, x_shape):
        self.k, self.geo, self.x_shape = k, geo, x_shape
        return _window_spread(g, k, geo, x_shape)

    def backward(self, gg):
        return (WindowSum.apply(gg, k=self.k, geo=self.geo),)

    def jvp(self, tg):
        return WindowSpread.apply(tg, k=self.k, geo=self.geo, x_shape=self.x_shape)


# --------------------------------------------------------------------------- public functions
def _pool_args(name, input, kernel_size, stride, padding, dilation, ceil_mode):
    """(kernel, Geometry, extra): ``extra`` = (e_h, e_w) rows and columns that ``ceil_mode`` adds after
    the bottom and right padding so that the last windows fit (0 in floor mode)."""
    check_float(input, name)
    if input.ndim != 4:
        raise ValueError(f"{name}: input must have shape (N, C, H, W), got {tuple(input.shape)}")
    k = pair(kernel_size, name, "kernel_size")
    s = k if stride is None or stride == () else pair(stride, name, "stride")
    p = pair(padding, name, "padding")
    d = pair(dilation, name, "dilation")
    if min(k) < 1 or min(s) < 1 or min(d) < 1:
        raise ValueError(f"{name}: kernel_size={k}, stride={s}, dilation={d} must be >= 1")
    if p[0] > k[0] // 2 or p[1] > k[1] // 2:
        raise ValueError(f"{name}: padding={p} must be at most half the kernel size {k}")
    geo = Geometry(s, p, d)
    sizes = geo.out_size(*input.shape[2:], *k, ceil_mode=ceil_mode)
    if min(sizes) < 1:
        raise ValueError(f"{name}: input of spatial size {tuple(input.shape[2:])} is smaller than the kernel {k}")
    # the last window ends at (out − 1)·s + d(k − 1) + 1; beyond the padded input only with ceil_mode
    extra = tuple(max(0, (o - 1) * si + di * (ki - 1) + 1 - (n + 2 * pi))
                  for o, n, ki, si, pi, di in zip(sizes, input.shape[2:], k, s, p, d))
    return k, geo, extra


def _extend(input, extra, value):
    """``input`` with ``extra`` = (e_h, e_w) rows and columns of ``value`` appended at the bottom and right."""
    eh, ew = extra
    N, C, H, W = input.shape
    dt = input.data.dtype
    if eh:
        input = cat([input, const(np.full((N, C, eh, W), value, dtype=dt))], dim=2)
    if ew:
        input = cat([input, const(np.full((N, C, H + eh, ew), value, dtype=dt))], dim=3)
    return input


def max_pool2d(input, kernel_size, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """y[n, c, i, j] = max over the window (padding counts as −∞). Shapes (N, C, H, W) → (N, C, Hₒ, Wₒ).

    ``stride`` defaults to ``kernel_size``. With ``return_indices`` also returns the flat index
    (within each H·W channel plane) of every maximum, as PyTorch.
    """
    k, geo, extra = _pool_args("max_pool2d", input, kernel_size, stride, padding, dilation, ceil_mode)
    W = input.shape[3]
    if extra != (0, 0):
        input = _extend(input, extra, -np.inf)
    out = MaxPool2dFn.apply(input, k=k, geo=geo)
    if not return_indices:
        return out
    fn = out.grad_fn
    local = fn.local() if fn is not None else _max_local(input, k, geo)
    ph, pw = geo.padding
    Wp = input.shape[3] + 2 * pw
    r, c = local // Wp - ph, local % Wp - pw
    return out, const((r * W + c).astype(np.int64))


def _max_local(input, k, geo):
    box = MaxPool2dFn()
    box.inputs = (input,)
    box.forward(input.data, k, geo)
    return box.local()


def avg_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
               divisor_override=None):
    """y[n, c, i, j] = mean over the window. Shapes (N, C, H, W) → (N, C, Hₒ, Wₒ).

    ``count_include_pad`` (default True, as PyTorch) counts zero padding in the divisor;
    ``divisor_override`` replaces the divisor.
    """
    k, geo, extra = _pool_args("avg_pool2d", input, kernel_size, stride, padding, 1, ceil_mode)
    H, W = input.shape[2:]
    s = WindowSum.apply(_extend(input, extra, 0) if extra != (0, 0) else input, k=k, geo=geo)
    if divisor_override is not None:
        return s * (1.0 / divisor_override)
    if extra == (0, 0) and (count_include_pad or geo.padding == (0, 0)):
        return s * (1.0 / (k[0] * k[1]))
    # the divisor of each window: the positions it covers inside the padded input (or inside the
    # input itself without count_include_pad), as PyTorch counts them
    (ph, pw), (eh, ew) = geo.padding, extra
    inside = np.zeros((1, 1, H + 2 * ph + eh, W + 2 * pw + ew), dtype=input.data.dtype)
    if count_include_pad:
        inside[:, :, :H + 2 * ph, :W + 2 * pw] = 1
    else:
        inside[:, :, ph:ph + H, pw:pw + W] = 1
    count = _window_sum(inside, k, Geometry(geo.stride, (0, 0), geo.dilation))
    return s * const((1.0 / count).astype(input.data.dtype))
