"""2-D max and average pooling over strided windows of the input.

Shapes: x (N, C, H, W) → (N, C, Hₒ, Wₒ), Hₒ = ⌊(H + 2p − d(k − 1) − 1)/s⌋ + 1; with
``ceil_mode`` the division rounds up, as in PyTorch, except that a last window starting beyond
the input and its left padding is dropped; windows that then reach past the padded input see
−∞ (max) or nothing (average: a smaller divisor). Max pooling sends each output's gradient to the
(first) maximal entry of its window; average pooling spreads it evenly. Both backward passes are linear maps
with their own primitive whose derivative is the forward map again (differentiable twice).
"""

import numpy as np

from descend.autodiff import Function, cat
from descend.autodiff.extend import in_parts

from ._util import check_float, const, pair_of_ints
from .conv import Geometry, pad_nchw, windows


#: values of work (outputs × window offsets) from which a max pooling is split among threads
#: (:func:`descend.autodiff.extend.in_parts`); below it, waking a thread costs more than it saves
PARALLEL_MIN = 1 << 18


# --------------------------------------------------------------------------- max pooling
class MaxPositions:
    """Where the maximum of each window of a max pooling is: ``arg`` (N, C, Hₒ, Wₒ), the offset
    p·kw + q inside its kh×kw window of the first maximal entry, with the pooling geometry.

    ``scatter(g)`` puts each ȳ entry at its position in an input-shaped array (adding where
    windows overlap) and ``gather(x)`` reads the input at the positions: the two linear maps are
    each other's adjoints, and the derivatives of max pooling with the positions held fixed."""

    def __init__(self, arg, k, geo, x_shape, padded_shape, channels_last):
        self.arg, self.k, self.geo = arg, k, geo
        self.x_shape, self.padded_shape, self.channels_last = x_shape, padded_shape, channels_last
        (sh, sw), (dh, dw) = geo.stride, geo.dilation
        kh, kw = k
        self.disjoint = sh >= (kh - 1) * dh + 1 and sw >= (kw - 1) * dw + 1  # no two windows share an entry
        self._index = None

    def scatter(self, g):
        """x̄ (N, C, H, W) with x̄ at each window's maximum += ȳ of that window (g: (N, C, Hₒ, Wₒ))."""
        N, C, Hp, Wp = self.padded_shape
        # windows that tile the padded input exactly (kernel = stride, no dilation, no remainder)
        # write every entry below, so the array needs no zeros first
        (sh, sw), (dh, dw), (kh, kw) = self.geo.stride, self.geo.dilation, self.k
        Ho, Wo = self.arg.shape[2:]
        tiles = (kh, kw) == (sh, sw) and (dh, dw) == (1, 1) and (Ho * sh, Wo * sw) == (Hp, Wp)
        make = np.empty if tiles else np.zeros
        if self.channels_last:
            gxp = make((N, Hp, Wp, C), dtype=g.dtype).transpose(0, 3, 1, 2)
        else:
            gxp = make((N, C, Hp, Wp), dtype=g.dtype)
        if np.argsort(g.strides).tolist() != np.argsort(self.arg.strides).tolist():
            g_same = np.empty_like(self.arg, dtype=g.dtype)  # one transposing copy, then all passes run in order
            g_same[...] = g
            g = g_same
        views = offset_views(gxp, self.k, self.geo, self.arg.shape[2:])

        def part(a, z):  # images a ≤ n < z
            arg, g_ = self.arg[a:z], g[a:z]
            for j, view in enumerate(views):
                hit = arg == j
                if self.disjoint:
                    np.multiply(hit, g_, out=view[a:z])  # (a multiply is far faster than np.where here)
                else:
                    view[a:z] += hit * g_

        in_parts(N, self.arg[0].size * len(views), part, PARALLEL_MIN)
        (ph, pw), (H, W) = self.geo.padding, self.x_shape[2:]
        return gxp[:, :, ph:ph + H, pw:pw + W]

    def local(self):
        """(N, C, Hₒ, Wₒ) flat index of each maximum inside its padded channel plane."""
        kh, kw = self.k
        (sh, sw), (dh, dw) = self.geo.stride, self.geo.dilation
        Ho, Wo = self.arg.shape[2:]
        arg = self.arg.astype(np.int64)
        r = (np.arange(Ho) * sh)[:, None] + (arg // kw) * dh
        c = (np.arange(Wo) * sw)[None, :] + (arg % kw) * dw
        return r * self.padded_shape[3] + c

    def gather(self, x):
        """x at each window's maximum: (N, C, Hₒ, Wₒ) from x (N, C, H, W)."""
        if self._index is None:
            N, C, Hp, Wp = self.padded_shape
            self._index = (self.local() + (np.arange(N * C) * (Hp * Wp)).reshape(N, C, 1, 1)).reshape(-1)
        return pad_nchw(x, self.geo.padding, 0).reshape(-1)[self._index].reshape(self.arg.shape)


def offset_views(xp, k, geo, out_hw):
    """The strided views (N, C, Hₒ, Wₒ) of padded ``xp`` that window offset (p, q) reads, for
    p·kw + q = 0, 1, ..."""
    kh, kw = k
    (sh, sw), (dh, dw) = geo.stride, geo.dilation
    Ho, Wo = out_hw
    return [xp[:, :, p * dh:p * dh + sh * (Ho - 1) + 1:sh, q * dw:q * dw + sw * (Wo - 1) + 1:sw]
            for p in range(kh) for q in range(kw)]


def max_windows(x, k, geo):
    """(y, positions): the maximum of every window of x (N, C, H, W) and where it is (:class:`MaxPositions`).

    One pass over the kh·kw window offsets j keeps the running maximum and the first offset that
    attains it: arg += [v_j > best]·(j − arg) (branch-free integer passes; masked writes with
    random masks are several times slower)."""
    kh, kw = k
    N, C, H, W = x.shape
    Ho, Wo = geo.out_size(H, W, kh, kw)
    xp = pad_nchw(x, geo.padding, -np.inf)
    views = offset_views(xp, k, geo, (Ho, Wo))
    best = np.empty_like(views[0])  # keeps the input's memory layout (channels-last stays so)
    arg = np.zeros_like(best, dtype=np.int8 if len(views) <= 127 else np.int16)
    gt = np.empty_like(best, dtype=bool)
    step = np.empty_like(arg)

    def part(a, z):  # images a ≤ n < z
        b_, arg_, gt_, step_ = best[a:z], arg[a:z], gt[a:z], step[a:z]
        np.copyto(b_, views[0][a:z])
        for j, v in enumerate(views[1:], 1):
            v = v[a:z]
            np.greater(v, b_, out=gt_)
            np.maximum(b_, v, out=b_)
            np.subtract(arg.dtype.type(j), arg_, out=step_)
            np.multiply(step_, gt_, out=step_)
            arg_ += step_

    in_parts(N, best[0].size * len(views), part, PARALLEL_MIN)
    return best, MaxPositions(arg, k, geo, x.shape, (N, C) + xp.shape[2:], x.strides[1] < x.strides[3])


class MaxPool2dFn(Function):
    """y = max over each window;  x̄ = ȳ scattered to the argmax positions (the first maximum on ties)."""

    saved_inputs = ()

    def forward(self, x, k, geo):
        y, self.where = max_windows(x, k, geo)
        return y

    def backward(self, gy):
        return (MaxPoolScatter.apply(gy, where=self.where),)

    def jvp(self, tx):
        return MaxPoolGather.apply(tx, where=self.where)


class MaxPoolScatter(Function):
    """x̄ = ȳ put at the window maxima (:meth:`MaxPositions.scatter`), linear in ȳ; adjoint of MaxPoolGather."""

    saved_inputs = ()

    def forward(self, g, where):
        self.where = where
        return where.scatter(g)

    def backward(self, u):
        return (MaxPoolGather.apply(u, where=self.where),)

    def jvp(self, tg):
        return MaxPoolScatter.apply(tg, where=self.where)


class MaxPoolGather(Function):
    """y = x read at the window maxima (:meth:`MaxPositions.gather`): max pooling with the argmax held fixed."""

    saved_inputs = ()

    def forward(self, x, where):
        self.where = where
        return where.gather(x)

    def backward(self, u):
        return (MaxPoolScatter.apply(u, where=self.where),)

    def jvp(self, tx):
        return MaxPoolGather.apply(tx, where=self.where)


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
    k = pair_of_ints(kernel_size, name, "kernel_size")
    s = k if stride is None or stride == () else pair_of_ints(stride, name, "stride")
    p = pair_of_ints(padding, name, "padding")
    d = pair_of_ints(dilation, name, "dilation")
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
    dt = input.dtype
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
    where = out.grad_fn.where if out.grad_fn is not None else max_windows(input.data, k, geo)[1]
    ph, pw = geo.padding
    Wp = input.shape[3] + 2 * pw
    local = where.local()
    r, c = local // Wp - ph, local % Wp - pw
    return out, const((r * W + c).astype(np.int64))


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
    inside = np.zeros((1, 1, H + 2 * ph + eh, W + 2 * pw + ew), dtype=input.dtype)
    if count_include_pad:
        inside[:, :, :H + 2 * ph, :W + 2 * pw] = 1
    else:
        inside[:, :, ph:ph + H, pw:pw + W] = 1
    count = _window_sum(inside, k, Geometry(geo.stride, (0, 0), geo.dilation))
    return s * const((1.0 / count).astype(input.dtype))
