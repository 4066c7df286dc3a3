"""Batch normalization (Ioffe & Szegedy), PyTorch's semantics.

For each channel c, over the batch (and spatial positions):
μ = mean x,  σ² = mean (x − μ)² (biased),  x̂ = (x − μ)/√(σ² + ε),  y = γ x̂ + β.
In training the running statistics move as r ← (1 − m) r + m·stat, with the *unbiased*
variance σ² n/(n − 1) stored in ``running_var``; in evaluation x̂ uses the running statistics.
"""

import numpy as np

from descend.autodiff.extend import array_op, inplace

from ._util import check_float, const


def _axes_and_shape(x):
    axes = (0,) + tuple(range(2, x.ndim))
    shape = (1, x.shape[1]) + (1,) * (x.ndim - 2)
    return axes, shape


def _update_running(running_mean, running_var, mean, var, m, n):
    """r ← (1 − m) r + m·stat in place, with the unbiased variance σ² n/(n − 1) (an ``array_op``:
    a compiled step updates the running statistics at each replay)."""
    C = running_mean.shape[0]
    dt = running_mean.dtype.type
    bm = mean.reshape(C)
    bv = var.reshape(C) * dt(n / max(n - 1, 1))
    with inplace(running_mean, running_var) as (rm, rv):
        rm[...] = rm * dt(1 - m) + bm * dt(m)
        rv[...] = rv * dt(1 - m) + bv * dt(m)


def _running_mean(running_mean, dt, shape):
    """The running mean in the input's dtype, shaped to broadcast over (N, C, ...)."""
    return running_mean.data.astype(dt, copy=False).reshape(shape)


def _inverse_std(running_var, dt, shape, eps):
    """1/√(r + ε) from the running variance, in the input's dtype, shaped like :func:`_running_mean`."""
    inv = 1.0 / np.sqrt(running_var.data.astype(dt, copy=False) + dt.type(eps))
    return inv.reshape(shape).astype(dt, copy=False)


def batch_norm(input, running_mean, running_var, weight=None, bias=None, training=False, momentum=0.1, eps=1e-5):
    """y = γ (x − μ)/√(σ² + ε) + β per channel (dimension 1). Shapes: input (N, C, ...), the rest (C,).

    ``training=True`` (or no running statistics) normalizes with the batch statistics and, if
    running statistics are given, updates them in place with ``momentum``. A batch with one
    value per channel in training raises (the variance is undefined).
    """
    name = "batch_norm"
    check_float(input, name)
    if input.ndim < 2:
        raise ValueError(f"{name}: input must have shape (N, C, ...), got {tuple(input.shape)}")
    C = input.shape[1]
    for what, t in (("running_mean", running_mean), ("running_var", running_var), ("weight", weight), ("bias", bias)):
        if t is not None and tuple(t.shape) != (C,):
            raise ValueError(f"{name}: {what} has shape {tuple(t.shape)}; "
                             f"expected ({C},) for input {tuple(input.shape)}")
    axes, shape = _axes_and_shape(input)
    use_batch = training or running_mean is None or running_var is None
    if use_batch:
        n = input.data.size // C
        if n <= 1 and training:
            raise ValueError(f"{name}: expected more than 1 value per channel when training, got input of shape "
                             f"{tuple(input.shape)}; a batch of one cannot be normalized (drop the last incomplete "
                             "batch, e.g. DataLoader(drop_last=True), or call model.eval())")
        mean = input.mean(dim=axes, keepdim=True)
        xc = input - mean
        var = (xc * xc).mean(dim=axes, keepdim=True)
        xhat = xc / (var + eps).sqrt()
        if training and running_mean is not None and running_var is not None:
            array_op(_update_running, running_mean, running_var, mean.data, var.data, float(momentum), n)
    else:
        dt = input.dtype
        rm = array_op(_running_mean, running_mean, dt, shape)
        inv = array_op(_inverse_std, running_var, dt, shape, eps)
        xhat = (input - const(rm)) * const(inv)
    y = xhat
    if weight is not None:
        y = y * weight.reshape(*shape)
    if bias is not None:
        y = y + bias.reshape(*shape)
    return y
