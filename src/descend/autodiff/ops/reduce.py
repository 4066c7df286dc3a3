"""Reductions: sum, mean, var, std, max/min/amax/amin, logsumexp, argmax/argmin, and the
normalisations softmax and log_softmax along a dimension.

``dim`` (PyTorch's name; ``axis`` is accepted too) is an int, a tuple of ints or None (all);
``keepdim`` keeps reduced dimensions with length one.

Sub-gradients of max/min (PyTorch's conventions): a full reduction ``x.max()`` and ``amax``
share the gradient equally among tied maxima; ``x.max(dim)`` returns ``(values, indices)`` and
sends the gradient to the one index it returns (the first maximum).
"""

import builtins
from collections import namedtuple

import numpy as np

from ..compile import array_op, tracing
from ..function import Function
from ..tensor import Tensor
from .convert import floating


def _axis(dim, axis, ndim, name):
    if axis is not None:
        if dim is not None:
            raise TypeError(f"{name}: give dim or axis, not both")
        dim = axis
    if dim is None:
        return None
    dims = (dim,) if isinstance(dim, (int, np.integer)) else tuple(dim)
    out = []
    for d in dims:
        if not -builtins.max(ndim, 1) <= d < builtins.max(ndim, 1):
            raise IndexError(f"{name}: dim={d} is out of range for a tensor with {ndim} dimensions")
        out.append(int(d) % builtins.max(ndim, 1))
    return tuple(sorted(set(out)))


def _keep_shape(shape, axis):
    if axis is None:
        return (1,) * len(shape)
    return tuple(1 if i in axis else s for i, s in enumerate(shape))


def _expand_back(g, shape, axis, keepdim):
    """A gradient of a reduction's output, reshaped and broadcast to the input's shape."""
    if not keepdim:
        g = g.reshape(_keep_shape(shape, axis))
    return g.expand(shape)


def _count(shape, axis):
    if axis is None:
        return int(np.prod(shape, dtype=np.int64))
    return int(np.prod([shape[i] for i in axis], dtype=np.int64))


class Sum(Function):
    """y = Σᵢ xᵢ over the reduced dimensions;  ∂y/∂xᵢ = 1."""

    saved_inputs = ()

    def forward(self, x, axis=None, keepdim=False):
        self.axis, self.keepdim = axis, keepdim
        return np.asarray(x.sum(axis=axis, keepdims=keepdim))

    def backward(self, gy):
        return (_expand_back(gy, self.inputs[0].shape, self.axis, self.keepdim),)

    def jvp(self, tx):
        return tx.sum(dim=self.axis, keepdim=self.keepdim)


class Mean(Function):
    """y = (1/n) Σᵢ xᵢ over the reduced dimensions;  ∂y/∂xᵢ = 1/n."""

    saved_inputs = ()

    def forward(self, x, axis=None, keepdim=False):
        self.axis, self.keepdim = axis, keepdim
        self.n = _count(x.shape, axis)
        return np.asarray(x.mean(axis=axis, keepdims=keepdim))

    def backward(self, gy):
        return (_expand_back(gy / self.n, self.inputs[0].shape, self.axis, self.keepdim),)

    def jvp(self, tx):
        return tx.mean(dim=self.axis, keepdim=self.keepdim)


class Extremum(Function):
    """y = max or min of x over the reduced dimensions.

    The derivative is a constant weight wᵢ per entry: 1/k on each of k tied extrema
    (``ties="share"``) or 1 on the first one (``ties="first"``), 0 elsewhere; ∂L/∂xᵢ = wᵢ·ȳ.
    """

    saved_inputs = ()

    def forward(self, x, axis=None, keepdim=False, largest=True, ties="share"):
        self.axis, self.keepdim = axis, keepdim
        if x.size == 0:
            raise ValueError(f"{'max' if largest else 'min'}: cannot reduce an empty tensor of shape {x.shape}")
        y = (x.max if largest else x.min)(axis=axis, keepdims=True)
        if ties == "share":
            hit = x == y
            self.weights = hit / hit.sum(axis=axis, keepdims=True, dtype=x.dtype)
            self.indices = None
        else:
            (ax,) = axis
            idx = (x.argmax if largest else x.argmin)(axis=ax, keepdims=True)
            w = np.zeros_like(x)
            np.put_along_axis(w, idx, 1, axis=ax)
            self.weights = w
            self.indices = idx if keepdim else np.squeeze(idx, axis=ax)
        self.weights = self.weights.astype(x.dtype, copy=False)
        return y if keepdim else (np.squeeze(y, axis=axis) if axis is not None else y.reshape(()))

    def backward(self, gy):
        w = Tensor._make(self.weights)
        return (_expand_back(gy, self.inputs[0].shape, self.axis, self.keepdim) * w,)

    def jvp(self, tx):
        return (tx * Tensor._make(self.weights)).sum(dim=self.axis, keepdim=self.keepdim)


class LogSumExp(Function):
    """y = log Σᵢ exp xᵢ, computed as m + log Σᵢ exp(xᵢ − m) with m = max x;  ∂y/∂xᵢ = softmax(x)ᵢ."""

    saves_output = True

    def forward(self, x, axis=None, keepdim=False):
        self.axis, self.keepdim = axis, keepdim
        m = x.max(axis=axis, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
        s = np.exp(x - m).sum(axis=axis, keepdims=True)
        y = np.log(s) + m
        return y if keepdim else (np.squeeze(y, axis=axis) if axis is not None else y.reshape(()))

    def _softmax(self):
        x = self.inputs[0]
        y = self.output()
        if not self.keepdim:
            y = y.reshape(_keep_shape(x.shape, self.axis))
        return (x - y).exp()

    def backward(self, gy):
        return (_expand_back(gy, self.inputs[0].shape, self.axis, self.keepdim) * self._softmax(),)

    def jvp(self, tx):
        return (tx * self._softmax()).sum(dim=self.axis, keepdim=self.keepdim)


class Softmax(Function):
    """yᵢ = exp(xᵢ − m) / Σⱼ exp(xⱼ − m) along ``axis``;  ȳ ↦ y ⊙ (ȳ − Σⱼ ȳⱼ yⱼ)."""

    saves_output = True
    saved_inputs = ()

    def forward(self, x, axis=-1):
        self.axis = axis
        e = np.exp(x - x.max(axis=axis, keepdims=True))
        e /= e.sum(axis=axis, keepdims=True)
        return e

    def backward(self, gy):
        y = self.output()
        return (y * (gy - (gy * y).sum(dim=self.axis, keepdim=True)),)

    def jvp(self, tx):
        y = self.output()
        return y * (tx - (tx * y).sum(dim=self.axis, keepdim=True))


class LogSoftmax(Function):
    """yᵢ = xᵢ − log Σⱼ exp xⱼ along ``axis`` (stable);  ȳ ↦ ȳ − softmax(x) Σⱼ ȳⱼ."""

    saves_output = True
    saved_inputs = ()

    def forward(self, x, axis=-1):
        self.axis = axis
        m = x.max(axis=axis, keepdims=True)
        m = np.where(np.isfinite(m), m, 0)
        z = x - m
        z -= np.log(np.exp(z).sum(axis=axis, keepdims=True))
        return z

    def backward(self, gy):
        p = self.output().exp()
        return (gy - p * gy.sum(dim=self.axis, keepdim=True),)

    def jvp(self, tx):
        p = self.output().exp()
        return tx - (tx * p).sum(dim=self.axis, keepdim=True)


class StdSqrt(Function):
    """σ = √v of a variance v ≥ 0;  dσ/dv = 1/(2σ) where σ > 0 and 0 where σ = 0.

    The zero at σ = 0 is PyTorch's convention for ``std`` of a constant input (the gradient of
    std there is 0, not NaN).
    """

    saves_output = True
    saved_inputs = ()

    def forward(self, v):
        return np.sqrt(v)

    def _dydv(self):
        y = self.output()
        at0 = array_op(np.equal, y.data, 0)
        if not tracing() and not at0.any():   # (a compiled step takes the general branch)
            return 1 / (y * 2)
        dt = y.data.dtype
        return Tensor._make(array_op(_as_dtype, at0, dt, True)) / (y * 2 + Tensor._make(array_op(_as_dtype, at0, dt)))

    def backward(self, gy):
        return (gy * self._dydv(),)

    def jvp(self, tv):
        return tv * self._dydv()


def _as_dtype(mask, dt, invert=False):
    """A boolean mask (or its negation) as 0/1 in dtype ``dt``."""
    return (~mask if invert else mask).astype(dt)


# --------------------------------------------------------------------------- Tensor-level functions
MaxResult = namedtuple("MaxResult", ["values", "indices"])


def sum(x, dim=None, keepdim=False, axis=None):
    """Σ x over ``dim`` (all dimensions if None)."""
    return Sum.apply(x, axis=_axis(dim, axis, x.ndim, "sum"), keepdim=keepdim)


def mean(x, dim=None, keepdim=False, axis=None):
    """The mean of x over ``dim`` (all dimensions if None)."""
    return Mean.apply(floating(x), axis=_axis(dim, axis, x.ndim, "mean"), keepdim=keepdim)


def var(x, dim=None, keepdim=False, axis=None, correction=1, unbiased=None):
    """Σ (x − x̄)² / (n − correction) over ``dim``; ``correction=1`` (default) is the unbiased estimate."""
    if unbiased is not None:
        correction = 1 if unbiased else 0
    ax = _axis(dim, axis, x.ndim, "var")
    x = floating(x)
    n = _count(x.shape, ax)
    d = x - x.mean(dim=ax, keepdim=True)
    return (d * d).sum(dim=ax, keepdim=keepdim) / builtins.max(n - correction, 0)


def std(x, dim=None, keepdim=False, axis=None, correction=1, unbiased=None):
    """The square root of :func:`var`."""
    return StdSqrt.apply(var(x, dim, keepdim, axis, correction, unbiased))


def _extremum(x, dim, keepdim, axis, largest, name):
    ax = _axis(dim, axis, x.ndim, name)
    if ax is None:
        return Extremum.apply(x, axis=None, keepdim=False, largest=largest)
    if len(ax) != 1:
        raise TypeError(f"{name}(dim) takes a single dimension; use amax/amin for several")
    box_out = Extremum.apply(x, axis=ax, keepdim=keepdim, largest=largest, ties="first")
    box = box_out._ctx
    indices = box.indices if box is not None else _indices(x, ax[0], keepdim, largest)
    return MaxResult(box_out, Tensor._make(indices.astype(np.int64)))


def _indices(x, ax, keepdim, largest):
    return (np.argmax if largest else np.argmin)(x.data, axis=ax, keepdims=keepdim)


def max(x, dim=None, keepdim=False, axis=None):
    """max x over everything (a tensor), or along ``dim``: ``(values, indices)`` as in PyTorch."""
    return _extremum(x, dim, keepdim, axis, True, "max")


def min(x, dim=None, keepdim=False, axis=None):
    """min x over everything (a tensor), or along ``dim``: ``(values, indices)`` as in PyTorch."""
    return _extremum(x, dim, keepdim, axis, False, "min")


def amax(x, dim=None, keepdim=False, axis=None):
    """max x over ``dim`` (one or several dimensions); ties share the gradient equally."""
    return Extremum.apply(x, axis=_axis(dim, axis, x.ndim, "amax"), keepdim=keepdim, largest=True)


def amin(x, dim=None, keepdim=False, axis=None):
    """min x over ``dim`` (one or several dimensions); ties share the gradient equally."""
    return Extremum.apply(x, axis=_axis(dim, axis, x.ndim, "amin"), keepdim=keepdim, largest=False)


def logsumexp(x, dim=None, keepdim=False, axis=None):
    """log Σ exp x over ``dim``, stable for large |x|."""
    return LogSumExp.apply(floating(x), axis=_axis(dim, axis, x.ndim, "logsumexp"), keepdim=keepdim)


def _single_axis(dim, axis, ndim, name):
    ax = _axis(dim, axis, ndim, name)
    if ax is None or len(ax) != 1:
        raise TypeError(f"{name}: give one dimension, e.g. dim=-1")
    return ax[0]


def softmax(x, dim=-1, axis=None):
    """exp(xᵢ) / Σⱼ exp(xⱼ) along ``dim`` (default the last), stable for large |x|."""
    return Softmax.apply(floating(x), axis=_single_axis(dim if axis is None else None, axis, x.ndim, "softmax"))


def log_softmax(x, dim=-1, axis=None):
    """xᵢ − log Σⱼ exp(xⱼ) along ``dim`` (default the last), stable for large |x|."""
    return LogSoftmax.apply(floating(x), axis=_single_axis(dim if axis is None else None, axis, x.ndim, "log_softmax"))


def argmax(x, dim=None, keepdim=False, axis=None):
    """The index of the maximum (of the flattened tensor if ``dim`` is None); no gradient."""
    ax = _axis(dim, axis, x.ndim, "argmax")
    if ax is None:
        return Tensor._make(np.asarray(np.argmax(x.data), dtype=np.int64))
    return Tensor._make(np.argmax(x.data, axis=ax[0], keepdims=keepdim).astype(np.int64))


def argmin(x, dim=None, keepdim=False, axis=None):
    """The index of the minimum (of the flattened tensor if ``dim`` is None); no gradient."""
    ax = _axis(dim, axis, x.ndim, "argmin")
    if ax is None:
        return Tensor._make(np.asarray(np.argmin(x.data), dtype=np.int64))
    return Tensor._make(np.argmin(x.data, axis=ax[0], keepdims=keepdim).astype(np.int64))


def any(x, dim=None, keepdim=False):
    """A bool Tensor: whether any element of x is nonzero, over all elements or along ``dim``."""
    return Tensor._make(np.asarray(np.any(x.data, axis=dim, keepdims=keepdim)))


def all(x, dim=None, keepdim=False):
    """A bool Tensor: whether every element of x is nonzero, over all elements or along ``dim``."""
    return Tensor._make(np.asarray(np.all(x.data, axis=dim, keepdims=keepdim)))
