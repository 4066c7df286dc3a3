"""Activation functions g(a) of the notes' layers h = g(b + W h'), entry by entry (any shape).

PyTorch's definitions and sub-gradient conventions: relu'(0) = 0, leaky_relu'(0) = slope,
elu'(0) = α, softplus reverts to the identity where βx > threshold. ``step`` and ``sign`` (the
perceptron's threshold units) have zero gradient everywhere: they are not trained by gradient
descent.
"""

import math

import numpy as np

import descend.autodiff as ad
from descend.autodiff import Function
from descend.autodiff.extend import array_op, tracing

from ._util import check_float, const
from .erf import erf

_SQRT_HALF = 1.0 / math.sqrt(2.0)


def identity(x):
    """g(a) = a."""
    return x


def sigmoid(x):
    """g(a) = σ(a) = 1 / (1 + e⁻ᵃ); g' = σ(1 − σ)."""
    return ad.sigmoid(x)


def tanh(x):
    """g(a) = tanh a; g' = 1 − tanh² a."""
    return ad.tanh(x)


def relu(x):
    """g(a) = max(0, a); g'(a) = 1 if a > 0 else 0 (so relu'(0) = 0, as PyTorch)."""
    return ad.relu(x)


def _leaky_slope(x, slope):
    """1 where x > 0, else s, in x's dtype (an ``array_op``: a compiled step remakes it)."""
    return np.where(x > 0, x.dtype.type(1), x.dtype.type(slope))


class LeakyRelu(Function):
    """y = x if x > 0 else s·x;  dy/dx = 1 if x > 0 else s (so the slope at 0 is s, as PyTorch)."""

    def forward(self, x, slope=0.01):
        self.slope = slope
        return np.where(x > 0, x, x * x.dtype.type(slope))

    def _dydx(self):
        return const(array_op(_leaky_slope, self.inputs[0].data, self.slope))

    def backward(self, gy):
        return (gy * self._dydx(),)

    def jvp(self, tx):
        return tx * self._dydx()


def leaky_relu(x, negative_slope=0.01):
    """g(a) = a if a > 0 else s·a, s = ``negative_slope`` (PyTorch default 0.01); g'(0) = s."""
    check_float(x, "leaky_relu")
    return LeakyRelu.apply(x, slope=float(negative_slope))


def elu(x, alpha=1.0):
    """g(a) = a if a > 0 else α(eᵃ − 1); g'(a) = 1 if a > 0 else α eᵃ (so g'(0) = α, as PyTorch)."""
    check_float(x, "elu")
    neg = x.clamp(max=0.0)
    return ad.where(array_op(np.greater, x.data, 0), x, (neg.exp() - 1.0) * alpha)


def gelu(x, approximate="none"):
    """g(a) = a Φ(a) = a/2 · (1 + erf(a/√2)) (exact, PyTorch's default).

    ``approximate="tanh"`` gives a/2 · (1 + tanh(√(2/π) (a + 0.044715 a³))).
    """
    check_float(x, "gelu")
    if approximate == "none":
        return x * 0.5 * (erf(x * _SQRT_HALF) + 1.0)
    if approximate == "tanh":
        inner = (x + x * x * x * 0.044715) * math.sqrt(2.0 / math.pi)
        return x * 0.5 * (inner.tanh() + 1.0)
    raise ValueError(f"gelu: approximate={approximate!r}; expected 'none' or 'tanh'")


def silu(x, beta=1.0):
    """g(a) = a σ(βa) (SiLU for β = 1, Swish with β); g' = σ(βa) + βa σ(βa)(1 − σ(βa))."""
    check_float(x, "silu")
    return x * ad.sigmoid(x if beta == 1.0 else x * beta)


swish = silu


class SoftplusCore(Function):
    """y = log(1 + eˣ) computed stably as max(x, 0) + log1p(e^(−|x|));  dy/dx = σ(x) exactly."""

    saved_inputs = (0,)

    def forward(self, x):
        return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))

    def backward(self, gy):
        return (gy * self.inputs[0].sigmoid(),)

    def jvp(self, tx):
        return tx * self.inputs[0].sigmoid()


def softplus(x, beta=1.0, threshold=20.0):
    """g(a) = (1/β) log(1 + e^(βa)), and g(a) = a where βa > ``threshold`` (PyTorch's rule); g' = σ(βa)."""
    check_float(x, "softplus")
    if beta <= 0:
        raise ValueError(f"softplus: beta={beta}; expected beta > 0")
    z = x if beta == 1.0 else x * beta
    sp = SoftplusCore.apply(z)
    if beta != 1.0:
        sp = sp * (1.0 / beta)
    over = array_op(np.greater, z.data, threshold)
    if tracing() or over.any():   # (a compiled step takes the general branch)
        return ad.where(over, x, sp)
    return sp


def softmax(x, dim=-1):
    """yᵢ = e^(aᵢ) / Σⱼ e^(aⱼ) along ``dim`` (stable)."""
    return ad.softmax(x, dim=dim)


def log_softmax(x, dim=-1):
    """yᵢ = aᵢ − log Σⱼ e^(aⱼ) along ``dim`` (stable)."""
    return ad.log_softmax(x, dim=dim)


class Step(Function):
    """y = 1 if x > 0 else 0 (Heaviside, the perceptron's threshold unit);  dy/dx = 0 everywhere."""

    saved_inputs = ()

    def forward(self, x):
        return (x > 0).astype(x.dtype)

    def backward(self, gy):
        return (const(np.zeros_like(gy.data)),)

    def jvp(self, tx):
        return const(np.zeros_like(tx.data))


def step(x):
    """g(a) = 1 if a > 0 else 0 (threshold unit).

    Its gradient is 0 everywhere (documented: not trainable by backprop).
    """
    check_float(x, "step")
    return Step.apply(x)


def sign(x):
    """g(a) = sign(a) ∈ {−1, 0, +1} (perceptron output); gradient 0 everywhere."""
    return ad.sign(x)


def maxout(x, pieces, dim=-1):
    """Maxout: the input's ``dim`` of size out·k is split into (out, k) groups and the max over the k pieces is kept.

    Shapes: (..., out·k) → (..., out) for ``dim=-1``. The gradient goes to the (first) maximal piece.
    """
    check_float(x, "maxout")
    d = dim % x.ndim
    size = x.shape[d]
    if size % pieces:
        raise ValueError(f"maxout: dimension {dim} has size {size}, not divisible by pieces={pieces}")
    shape = x.shape[:d] + (size // pieces, pieces) + x.shape[d + 1 :]
    return x.reshape(*shape).max(d + 1)[0]
