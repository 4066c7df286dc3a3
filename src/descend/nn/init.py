"""Weight initialization, in place, with PyTorch's names (``nn.init.xavier_uniform_(w)``).

For a weight of shape (out, in, *kernel): fan_in = in·Πkernel, fan_out = out·Πkernel (PyTorch's
layout). Every draw comes from descend's generator, so ``dc.manual_seed`` repeats it.

=========================== ==================================== ==================================
name                        distribution                         notes
=========================== ==================================== ==================================
xavier_uniform_ (Glorot)    U(±g·√(6/(fan_in + fan_out)))        the notes' default for Linear
xavier_normal_              N(0, g²·2/(fan_in + fan_out))
kaiming_uniform_ (He)       U(±g·√(3/fan)), g = gain(nonlin, a)  PyTorch defaults a=0, leaky_relu
kaiming_normal_             N(0, g²/fan)
lecun_uniform_              U(±√(3/fan_in)), variance 1/fan_in   Keras / JAX convention
lecun_normal_               truncated N, variance 1/fan_in       Keras / JAX convention
efficient_backprop_uniform_ U(±1/√fan_in)                        the notes' Efficient-Backprop rule
                                                                 (= PyTorch's nn.Linear default)
tanh_uniform_               U(±√3/√n), n = fan_in by default     the notes' tanh rule
orthogonal_                 (semi-)orthogonal matrix × gain
=========================== ==================================== ==================================
"""

import math

import numpy as np

from descend.autodiff import Tensor
from descend.autodiff.extend import inplace
from descend.autodiff.random import generator


def _write(tensor, values, name):
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{name}: expected a Tensor, got {type(tensor).__name__}")
    with inplace(tensor) as (array,):
        array[...] = values
    return tensor


def _draw_uniform(tensor, low, high):
    return generator().uniform(low, high, size=tensor.shape)


def _draw_normal(tensor, mean, std):
    return generator().normal(mean, std, size=tensor.shape)


def _fans(tensor, name):
    if tensor.ndim < 2:
        raise ValueError(
            f"{name}: fan in and fan out need a tensor with at least 2 dimensions, got shape {tuple(tensor.shape)}"
        )
    receptive = int(np.prod(tensor.shape[2:])) if tensor.ndim > 2 else 1
    return tensor.shape[1] * receptive, tensor.shape[0] * receptive


def _fan(tensor, mode, name):
    fan_in, fan_out = _fans(tensor, name)
    if mode == "fan_in":
        return fan_in
    if mode == "fan_out":
        return fan_out
    if mode == "fan_avg":
        return (fan_in + fan_out) / 2
    raise ValueError(f"{name}: mode={mode!r}; expected 'fan_in' or 'fan_out'")


def calculate_gain(nonlinearity, param=None):
    """The recommended gain g for a nonlinearity (PyTorch's values).

    linear, conv*, sigmoid: 1; tanh: 5/3; relu: √2; leaky_relu: √(2/(1 + a²)) with a = ``param``
    (default 0.01); selu: 3/4.
    """
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
    if nonlinearity in linear or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def zeros_(tensor):
    """Fill with 0."""
    return _write(tensor, 0, "zeros_")


def ones_(tensor):
    """Fill with 1."""
    return _write(tensor, 1, "ones_")


def constant_(tensor, val):
    """Fill with ``val``."""
    return _write(tensor, val, "constant_")


def uniform_(tensor, a=0.0, b=1.0):
    """Draw from U(a, b)."""
    if not a <= b:
        raise ValueError(f"uniform_: a={a} must not exceed b={b}")
    return _write(tensor, _draw_uniform(tensor, a, b), "uniform_")


def normal_(tensor, mean=0.0, std=1.0):
    """Draw from N(mean, std²)."""
    if std < 0:
        raise ValueError(f"normal_: std={std}; expected std >= 0")
    return _write(tensor, _draw_normal(tensor, mean, std), "normal_")


def xavier_uniform_(tensor, gain=1.0):
    """Glorot: U(−b, b), b = gain·√(6/(fan_in + fan_out)) (the notes' default for Linear)."""
    fan_in, fan_out = _fans(tensor, "xavier_uniform_")
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return _write(tensor, _draw_uniform(tensor, -bound, bound), "xavier_uniform_")


def xavier_normal_(tensor, gain=1.0):
    """Glorot: N(0, σ²), σ = gain·√(2/(fan_in + fan_out))."""
    fan_in, fan_out = _fans(tensor, "xavier_normal_")
    std = gain * math.sqrt(2.0 / (fan_in + fan_out))
    return _write(tensor, _draw_normal(tensor, 0.0, std), "xavier_normal_")


glorot_uniform_ = xavier_uniform_
glorot_normal_ = xavier_normal_


def kaiming_uniform_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    """He: U(−b, b), b = g·√(3/fan), g = calculate_gain(nonlinearity, a), fan by ``mode`` (PyTorch defaults)."""
    fan = _fan(tensor, mode, "kaiming_uniform_")
    bound = math.sqrt(3.0) * calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return _write(tensor, _draw_uniform(tensor, -bound, bound), "kaiming_uniform_")


def kaiming_normal_(tensor, a=0, mode="fan_in", nonlinearity="leaky_relu"):
    """He: N(0, σ²), σ = g/√fan, g = calculate_gain(nonlinearity, a)."""
    fan = _fan(tensor, mode, "kaiming_normal_")
    std = calculate_gain(nonlinearity, a) / math.sqrt(fan)
    return _write(tensor, _draw_normal(tensor, 0.0, std), "kaiming_normal_")


def lecun_uniform_(tensor):
    """LeCun as in Keras and JAX: variance 1/fan_in, i.e. U(−√(3/m), √(3/m)), m = fan_in.

    Not the same as :func:`efficient_backprop_uniform_` (U(±1/√m)), which some notes call "LeCun".
    """
    m = _fans(tensor, "lecun_uniform_")[0]
    bound = math.sqrt(3.0 / m)
    return _write(tensor, _draw_uniform(tensor, -bound, bound), "lecun_uniform_")


def lecun_normal_(tensor):
    """LeCun as in Keras and JAX: a normal truncated at ±2 standard deviations, rescaled so the variance is 1/fan_in."""
    m = _fans(tensor, "lecun_normal_")[0]
    std = math.sqrt(1.0 / m) / 0.87962566103423978
    return _write(tensor, _truncated_normal(tensor.shape, std), "lecun_normal_")


def _truncated_normal(shape, std):
    rng = generator()
    out = rng.standard_normal(size=shape)
    bad = np.abs(out) > 2
    while bad.any():
        out[bad] = rng.standard_normal(size=int(bad.sum()))
        bad = np.abs(out) > 2
    return out * std


def efficient_backprop_uniform_(tensor):
    """The notes' Efficient-Backprop rule: U(−1/√m, 1/√m), m = fan_in (also PyTorch's nn.Linear default bound)."""
    m = _fans(tensor, "efficient_backprop_uniform_")[0]
    bound = 1.0 / math.sqrt(m)
    return _write(tensor, _draw_uniform(tensor, -bound, bound), "efficient_backprop_uniform_")


def tanh_uniform_(tensor, mode="fan_in"):
    """The notes' rule for tanh units: U(−√3/√n, √3/√n), unit variance of aᵢ = Σⱼ Wᵢⱼ hⱼ when Var hⱼ = 1.

    n = fan_in by default (then equal to :func:`lecun_uniform_`); ``mode="fan_out"`` or
    ``"fan_avg"`` use the other fans.
    """
    n = _fan(tensor, mode, "tanh_uniform_")
    bound = math.sqrt(3.0) / math.sqrt(n)
    return _write(tensor, _draw_uniform(tensor, -bound, bound), "tanh_uniform_")


def orthogonal_(tensor, gain=1.0):
    """A (semi-)orthogonal matrix Q (QᵀQ = I or QQᵀ = I for the tensor flattened to (rows, rest)) times ``gain``.

    Made from the QR decomposition of a standard normal matrix with the signs of R's diagonal
    folded in (a uniform draw from the orthogonal group), as PyTorch.
    """
    if tensor.ndim < 2:
        raise ValueError(f"orthogonal_: needs a tensor with at least 2 dimensions, got shape {tuple(tensor.shape)}")
    rows = tensor.shape[0]
    cols = tensor.data.size // rows
    flat = generator().standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))
    if rows < cols:
        q = q.T
    return _write(tensor, gain * q.reshape(tensor.shape), "orthogonal_")
