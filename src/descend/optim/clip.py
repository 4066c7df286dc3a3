"""Gradient clipping: rescale by the global norm, or clamp each value (as ``torch.nn.utils``).

``clip_grad_norm_``: with ‖g‖ the p-norm of all gradients concatenated (p = ``norm_type``; ∞ =
max |g|), every gradient is multiplied by min(1, max_norm / (‖g‖ + 1e-6)). ``clip_grad_value_``:
g ← clip(g, −c, c). Both work in place on ``p.grad`` and skip parameters without a gradient.
"""

import math

import numpy as np

from ..autodiff.extend import host_op, inplace, wrap
from ..autodiff.tensor import Tensor

__all__ = ["clip_grad_norm_", "clip_grad_value_", "get_total_norm"]


def _grads(parameters):
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    return [p.grad for p in parameters if p.grad is not None]


def _norm_type(norm_type):
    if isinstance(norm_type, str) and norm_type.lower() in ("inf", "infinity"):
        return math.inf
    if isinstance(norm_type, bool) or not isinstance(norm_type, (int, float)) or math.isnan(norm_type) \
            or norm_type <= 0:
        raise ValueError(f"Invalid norm_type={norm_type!r}: expected a number > 0 or inf")
    return float(norm_type)


def get_total_norm(tensors, norm_type=2.0):
    """The p-norm of the concatenation of ``tensors`` (arrays or Tensors), as a float64 scalar."""
    p = _norm_type(norm_type)
    arrays = [t.data if isinstance(t, Tensor) else np.asarray(t) for t in tensors]
    if not arrays:
        return 0.0
    if p == math.inf:
        return float(max(np.max(np.abs(a)) if a.size else 0.0 for a in arrays))
    if p == 2.0:
        norms = [math.sqrt(float(np.dot(a.ravel(), a.ravel()))) for a in arrays]
        return math.sqrt(sum(n * n for n in norms))
    if p == 1.0:
        return float(sum(float(np.abs(a).sum()) for a in arrays))
    norms = [float((np.abs(a) ** p).sum()) ** (1.0 / p) for a in arrays]
    return sum(n ** p for n in norms) ** (1.0 / p)


@host_op
def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False):
    """Scale the gradients of ``parameters`` (a Tensor or an iterable of Tensors) so that their
    global ``norm_type``-norm is at most ``max_norm``; returns the norm before clipping (a 0-d
    Tensor). ``error_if_nonfinite=True`` raises RuntimeError when that norm is NaN or infinite."""
    if isinstance(max_norm, bool) or not isinstance(max_norm, (int, float)) or math.isnan(max_norm) or max_norm < 0:
        raise ValueError(f"Invalid max_norm={max_norm!r}: expected a number >= 0")
    grads = _grads(parameters)
    if not grads:
        return wrap(np.array(0.0))
    dtype = grads[0].data.dtype
    total = get_total_norm(grads, norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(f"The total norm of order {float(_norm_type(norm_type))} for gradients from `parameters` "
                           "is non-finite, so it cannot be clipped. To disable this error and scale the gradients "
                           "by the non-finite norm anyway, set `error_if_nonfinite=False`")
    total = dtype.type(total)
    coef = min(dtype.type(max_norm) / (total + dtype.type(1e-6)), dtype.type(1.0))
    with np.errstate(invalid="ignore"), inplace(*grads) as arrays:   # inf * 0 = nan, as in torch
        for g in arrays:
            g *= coef
    return wrap(np.array(total, dtype=dtype))


@host_op
def clip_grad_value_(parameters, clip_value):
    """Clamp every gradient value of ``parameters`` into [−clip_value, clip_value] in place."""
    if isinstance(clip_value, bool) or not isinstance(clip_value, (int, float)) or math.isnan(clip_value) \
            or clip_value < 0:
        raise ValueError(f"Invalid clip_value={clip_value!r}: expected a number >= 0")
    with inplace(*_grads(parameters)) as arrays:
        for g in arrays:
            np.clip(g, -clip_value, clip_value, out=g)
