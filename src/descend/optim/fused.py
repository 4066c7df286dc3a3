"""Fused single-pass updates (Numba, optional): the same arithmetic as the NumPy updates, one sweep.

NumPy has no fused multiply-add, so an Adam step over a tensor is about a dozen passes over
memory (one per ufunc). With Numba installed (``pip install descend[compile]``) the update is
one compiled loop per tensor that reads θ, g, s, r once and writes them once. Each element goes
through the same IEEE operations, in the same order and precision, as the NumPy code (no
``fastmath``; the Python scalars are rounded to the arrays' dtype first, as NumPy does), so the
results are bit-identical to it; ``tests/optim/test_fused.py`` checks that. The kernels release
the GIL, so :func:`~descend.optim.parallel.across_threads` still splits large tensors among
threads. Kernels are compiled on first use and cached on disk (``cache=True``).

Without Numba, or with ``DESCEND_FUSED=0`` in the environment, or for arrays the kernel does not
take (not contiguous, not float32/float64, dtypes that differ), :func:`adam` returns False and the
caller runs its NumPy code.
"""

import os

import numpy as np

__all__ = ["available", "adam", "adam_many", "takes"]

_KERNELS = {}
_STATE = {"tried": False, "numba": None}


def _numba():
    if not _STATE["tried"]:
        _STATE["tried"] = True
        if os.environ.get("DESCEND_FUSED", "1") != "0":
            try:
                import numba
            except ImportError:
                numba = None
            _STATE["numba"] = numba
    return _STATE["numba"]


def available():
    """True when the fused kernels can run (Numba importable and not disabled)."""
    return _numba() is not None


def _adam_kernel():
    k = _KERNELS.get("adam")
    if k is None:
        numba = _numba()

        @numba.njit(nogil=True, cache=True, fastmath=False, error_model="numpy")
        def adam_kernel(p, g, m, v, c1, b2, c2, e, k):  # pragma: no cover - compiled
            # per element, as adam.adam_update: t = (g − s)(1 − ρ₁); s += t; r = r ρ₂ + g²(1 − ρ₂);
            # θ −= s / (√r + δ√bc₂) · (ε√bc₂ / bc₁)
            for i in range(p.size):
                gi = g[i]
                mi = m[i] + (gi - m[i]) * c1
                vi = v[i] * b2 + (gi * gi) * c2
                m[i] = mi
                v[i] = vi
                p[i] = p[i] - (mi / (np.sqrt(vi) + e)) * k

        k = _KERNELS["adam"] = adam_kernel
    return k


def _adam_many_kernel():
    k = _KERNELS.get("adam_many")
    if k is None:
        numba = _numba()
        one = _adam_kernel()

        @numba.njit(nogil=True, cache=True, fastmath=False, error_model="numpy")
        def adam_many_kernel(ps, gs, ms, vs, c1, b2, c2, e, k):  # pragma: no cover - compiled
            for j in range(len(ps)):
                one(ps[j], gs[j], ms[j], vs[j], c1, b2, c2, e, k)

        k = _KERNELS["adam_many"] = adam_many_kernel
    return k


def _takes(dt, param, grad, exp_avg, exp_avg_sq):
    """Whether the kernel takes these arrays: float32 or float64 ``dt`` for all, C-contiguous, of
    θ's shape, and θ, s and r writable."""
    return (dt in (np.float32, np.float64)
            and all(a.dtype == dt and a.flags.c_contiguous and a.shape == param.shape
                    for a in (param, grad, exp_avg, exp_avg_sq))
            and param.flags.writeable and exp_avg.flags.writeable and exp_avg_sq.flags.writeable)


def takes(param, exp_avg, exp_avg_sq):
    """Whether the kernels take these persistent arrays of one tensor: θ, s, r of one float32 or
    float64 dtype and one shape, C-contiguous and writable (its gradient is checked per step)."""
    return available() and _takes(param.dtype, param, param, exp_avg, exp_avg_sq)


#: tensors per compiled multi-tensor call: a fixed tuple length, so that one compiled signature
#: (cached on disk) serves every model; 8 compiles in under a second and unboxes in ~3 µs
CHUNK = 8


def adam_many(arrays, beta1, beta2, eps_term, step_scale):
    """:func:`adam` on many tensors with the same step and hyperparameters, ``CHUNK`` tensors per
    compiled call (a multi-tensor update: a few dispatches for the whole model, not one per
    tensor); ``arrays`` = (θs, gs, ss, rs), tuples of flat arrays that :func:`takes` and the
    gradients' C-contiguity and dtype have been checked for."""
    ps, gs, ms, vs = arrays
    dt = ps[0].dtype
    s = dt.type
    scalars = (s(1.0 - beta1), s(beta2), s(1.0 - beta2), s(eps_term), s(step_scale))
    kernel = _adam_many_kernel()
    n = len(ps)
    pad = (-n) % CHUNK
    if pad:
        empty = (np.empty(0, dt),) * pad
        ps, gs, ms, vs = ps + empty, gs + empty, ms + empty, vs + empty
    for i in range(0, n + pad, CHUNK):
        j = i + CHUNK
        kernel(ps[i:j], gs[i:j], ms[i:j], vs[i:j], *scalars)


def adam(param, grad, exp_avg, exp_avg_sq, beta1, beta2, eps_term, step_scale):
    """One Adam update in one pass, bit-identical to :func:`descend.optim.adam.adam_update`
    without amsgrad (``eps_term`` = δ√bc₂, ``step_scale`` = ε√bc₂/bc₁, ``grad`` already coupled).
    Returns False (and changes nothing) when the fused kernel cannot take these arrays."""
    dt = param.dtype
    if not available() or not _takes(dt, param, grad, exp_avg, exp_avg_sq):
        return False
    s = dt.type
    _adam_kernel()(param.reshape(-1), grad.reshape(-1), exp_avg.reshape(-1), exp_avg_sq.reshape(-1),
                   s(1.0 - beta1), s(beta2), s(1.0 - beta2), s(eps_term), s(step_scale))
    return True
