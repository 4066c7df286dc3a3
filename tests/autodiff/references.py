"""Plain NumPy references for the primitives of descend.nn.functional, written as directly as the
formulas (loops over output positions, no tricks), so that values are checked without PyTorch."""

import math

import numpy as np

_erf = np.vectorize(math.erf, otypes=[np.float64])


def pair(v):
    return (v, v) if isinstance(v, int) else tuple(v)


def out_len(n, k, s, p, d, ceil_mode):
    """PyTorch's output length of a window operation (ceil_mode drops a window starting in the right padding)."""
    span = n + 2 * p - d * (k - 1) - 1
    out = (-(-span // s) if ceil_mode else span // s) + 1
    if ceil_mode and (out - 1) * s >= n + p:
        out -= 1
    return out


def conv2d(x, w, b=None, stride=1, padding=0, dilation=1):
    """y[n, o, i, j] = b_o + Σ_{c,p,q} W[o, c, p, q] x_pad[n, c, i s_h + p d_h, j s_w + q d_w]."""
    (sh, sw), (ph, pw), (dh, dw) = pair(stride), pair(padding), pair(dilation)
    N, C, H, W = x.shape
    O, _, kh, kw = w.shape
    xp = np.pad(x, ((0, 0), (0, 0), (ph, ph), (pw, pw)))
    Ho, Wo = out_len(H, kh, sh, ph, dh, False), out_len(W, kw, sw, pw, dw, False)
    y = np.zeros((N, O, Ho, Wo))
    for i in range(Ho):
        for j in range(Wo):
            patch = xp[:, :, i * sh:i * sh + dh * (kh - 1) + 1:dh, j * sw:j * sw + dw * (kw - 1) + 1:dw]
            y[:, :, i, j] = np.einsum("ncpq,ocpq->no", patch, w)
    return y if b is None else y + b.reshape(1, -1, 1, 1)


def _windows(x, k, stride, padding, dilation, ceil_mode):
    """Yield (i, j, rows, cols) for every output position: the input rows and columns its window
    covers (indices into the unpadded input; outside it, they are < 0 or >= H)."""
    (kh, kw), (ph, pw), (dh, dw) = pair(k), pair(padding), pair(dilation)
    sh, sw = pair(k) if stride is None else pair(stride)
    H, W = x.shape[2:]
    for i in range(out_len(H, kh, sh, ph, dh, ceil_mode)):
        for j in range(out_len(W, kw, sw, pw, dw, ceil_mode)):
            rows = [i * sh - ph + p * dh for p in range(kh)]
            cols = [j * sw - pw + q * dw for q in range(kw)]
            yield i, j, rows, cols


def max_pool2d(x, k, stride=None, padding=0, dilation=1, ceil_mode=False, return_indices=False):
    """The maximum of each window (positions outside the input count as −∞) and its flat index in H·W."""
    N, C, H, W = x.shape
    out, idx = {}, {}
    for i, j, rows, cols in _windows(x, k, stride, padding, dilation, ceil_mode):
        best = np.full((N, C), -np.inf)
        arg = np.zeros((N, C), dtype=np.int64)
        for r in rows:
            for c in cols:
                if 0 <= r < H and 0 <= c < W:
                    v = x[:, :, r, c]
                    better = v > best
                    best = np.where(better, v, best)
                    arg = np.where(better, r * W + c, arg)
        out[i, j], idx[i, j] = best, arg
    y, ind = _stack(out, N, C), _stack(idx, N, C).astype(np.int64)
    return (y, ind) if return_indices else y


def avg_pool2d(x, k, stride=None, padding=0, ceil_mode=False, count_include_pad=True, divisor_override=None):
    """The mean of each window, with PyTorch's divisor: the window clipped to the padded input (or,
    without count_include_pad, to the input itself), or ``divisor_override``."""
    ph, pw = pair(padding)
    N, C, H, W = x.shape
    out = {}
    for i, j, rows, cols in _windows(x, k, stride, padding, 1, ceil_mode):
        inside_pad = sum(1 for r in rows if r < H + ph) * sum(1 for c in cols if c < W + pw)
        inside = [(r, c) for r in rows for c in cols if 0 <= r < H and 0 <= c < W]
        total = sum(x[:, :, r, c] for r, c in inside) if inside else np.zeros((N, C))
        divisor = divisor_override or (inside_pad if count_include_pad else len(inside))
        out[i, j] = total / divisor
    return _stack(out, N, C)


def _stack(cells, N, C):
    Ho = max(i for i, _ in cells) + 1
    Wo = max(j for _, j in cells) + 1
    y = np.zeros((N, C, Ho, Wo), dtype=next(iter(cells.values())).dtype)
    for (i, j), v in cells.items():
        y[:, :, i, j] = v
    return y


def log_softmax(a, axis=-1):
    m = a.max(axis=axis, keepdims=True)
    return a - m - np.log(np.exp(a - m).sum(axis=axis, keepdims=True))


def cross_entropy(a, y, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """PyTorch's F.cross_entropy for logits (N, C) and labels (N,), written per sample."""
    N, C = a.shape
    w = np.ones(C) if weight is None else weight
    logp = log_softmax(a, 1)
    losses, wsum = np.zeros(N), 0.0
    for n in range(N):
        if y[n] == ignore_index:
            continue
        target = (1 - label_smoothing) * np.eye(C)[y[n]] + label_smoothing / C
        losses[n] = -(w * target * logp[n]).sum() if label_smoothing else -w[y[n]] * logp[n, y[n]]
        wsum += w[y[n]]
    if reduction == "none":
        return losses
    return losses.sum() if reduction == "sum" else losses.sum() / wsum


def nll_loss(logp, y, reduction="mean"):
    picked = logp[np.arange(len(y)), y]
    return -picked.mean() if reduction == "mean" else (-picked.sum() if reduction == "sum" else -picked)


def binary_cross_entropy(p, t):
    return np.mean(-(t * np.log(p) + (1 - t) * np.log(1 - p)))


def binary_cross_entropy_with_logits(a, t, pos_weight=1.0):
    sig = 1 / (1 + np.exp(-a))
    return np.mean(-(pos_weight * t * np.log(sig) + (1 - t) * np.log(1 - sig)))


def huber(d, delta):
    a = np.abs(d)
    return np.mean(np.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta)))


def smooth_l1(d, beta):
    a = np.abs(d)
    return np.mean(np.where(a < beta, 0.5 * d * d / beta, a - 0.5 * beta))


def gaussian_nll(mu, t, var):
    return np.mean(0.5 * (np.log(var) + (mu - t) ** 2 / var))


def multi_margin(a, y, margin=1.0, p=1):
    N, C = a.shape
    total = 0.0
    for n in range(N):
        for c in range(C):
            if c != y[n]:
                total += max(0.0, margin - a[n, y[n]] + a[n, c]) ** p
    return total / (N * C)


def kl_div_batchmean(logq, p):
    return np.sum(np.where(p > 0, p * (np.log(np.where(p > 0, p, 1)) - logq), 0)) / logq.shape[0]


def leaky_relu(x, s):
    return np.where(x > 0, x, s * x)


def elu(x, alpha):
    return np.where(x > 0, x, alpha * (np.exp(x) - 1))


def erf(x):
    return _erf(x)


def gelu(x):
    return 0.5 * x * (1 + _erf(x / math.sqrt(2)))


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))


def silu(x, beta=1.0):
    return x / (1 + np.exp(-beta * x))


def softplus(x, beta=1.0, threshold=20.0):
    return np.where(beta * x > threshold, x, np.log1p(np.exp(beta * x)) / beta)


def batch_norm_train(x, w, b, eps=1e-5):
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, -1) + (1,) * (x.ndim - 2)
    mu, var = x.mean(axis=axes, keepdims=True), x.var(axis=axes, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w.reshape(shape) + b.reshape(shape)
