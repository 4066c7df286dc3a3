"""Fused single-pass updates (Numba, optional): the same arithmetic as the NumPy updates, one sweep.

NumPy has no fused multiply-add, so an Adam step over a tensor is about a dozen passes over
memory (one per ufunc), an RMSprop step about ten, SGD with momentum four to six. With Numba
installed (``pip install descend[compile]``) each update is one compiled loop per tensor that reads
θ, g and the state once and writes them once. Each element goes through the same IEEE operations,
in the same order and precision, as the NumPy code (no ``fastmath``; the Python scalars are
rounded to the arrays' dtype first, as NumPy 2 does with a Python float and an array), so the
results are bit-identical to it; ``tests/optim/test_fused.py`` checks that. The kernels release
the GIL, so :func:`~descend.optim.parallel.across_threads` still splits large tensors among
threads. Kernels are compiled on first use and cached on disk (``cache=True``).

Fused here (each as its module's NumPy update, with L2 weight decay coupled into g; never
``maximize``):

- Adam/AdamW without amsgrad (:func:`adam`, :func:`adam_many`);
- SGD, with or without momentum, dampening and Nesterov, once the momentum buffer exists
  (:func:`sgd`, :func:`sgd_many`);
- RMSprop, plain, centered, with momentum or Nesterov momentum (:func:`rmsprop`, :func:`rmsprop_many`);
- Adagrad with ``lr_decay`` (:func:`adagrad`, :func:`adagrad_many`).

Without Numba, or with ``DESCEND_FUSED=0`` in the environment, or for arrays the kernel does not
take (not contiguous, not float32/float64, dtypes that differ), or for hyperparameters that are
NumPy scalars (:func:`numbers`), the single-tensor functions return False and the caller runs its
NumPy code. The ``*_many`` functions are the multi-tensor updates: ``CHUNK`` tensors per compiled
call, in one thread; :func:`flat_state` gathers their arrays, and the caller checks
:func:`numbers` first.
"""

import operator
import os

import numpy as np

__all__ = ["available", "takes", "numbers", "flat_state", "CHUNK", "adam", "adam_many", "sgd", "sgd_many", "rmsprop",
           "rmsprop_many", "adagrad", "adagrad_many"]

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


def _compiled(name, build, flags=()):
    """The compiled kernel ``build(*flags)``, made once per (name, flags).

    The options are closure constants, not arguments, so each variant compiles to a loop without
    their branches (which LLVM can vectorise; with the options as run-time arguments RMSprop's loop
    ran 2.5x slower than NumPy's ten passes). Numba keys its disk cache on the closure's values,
    booleans here; a closure over another compiled function would not be found in the cache by
    the next process (its pickle differs), so each kernel is one function with both loops."""
    flags = tuple(bool(f) for f in flags)   # Python bools, also for NumPy scalars' comparisons
    k = _KERNELS.get((name,) + flags)
    if k is None:
        k = _KERNELS[(name,) + flags] = _numba().njit(nogil=True, cache=True, fastmath=False,
                                                       error_model="numpy")(build(*flags))
    return k


# ---------------------------------------------------------------- the kernels
# Each takes, per array argument, a tuple of flat arrays (one per tensor: CHUNK of them from the
# multi-tensor updates, one from the single-tensor ones) and writes, per element, what its
# module's NumPy update computes with one ufunc per line: the comment states the formula, the
# code the NumPy operation order.

def _adam():
    def adam_kernel(ps, gs, ms, vs, c1, b2, c2, e, k):  # pragma: no cover - compiled
        # as adam.adam_update: t = (g − s)(1 − ρ₁); s += t; r = r ρ₂ + g²(1 − ρ₂);
        # θ −= s / (√r + δ√bc₂) · (ε√bc₂ / bc₁)
        for j in range(len(ps)):
            p, g, m, v = ps[j], gs[j], ms[j], vs[j]
            for i in range(p.size):
                gi = g[i]
                mi = m[i] + (gi - m[i]) * c1
                vi = v[i] * b2 + (gi * gi) * c2
                m[i] = mi
                v[i] = vi
                p[i] = p[i] - (mi / (np.sqrt(vi) + e)) * k
    return adam_kernel


def _sgd(decay, momentum, nesterov):
    def sgd_kernel(ps, gs, bs, wd, mom, damp, lr):  # pragma: no cover - compiled
        # as sgd.sgd_update: d = θλ + g (decay); b = bα + d(1 − τ) (momentum; b is not read
        # otherwise); θ −= (bα + d)ε (nesterov), bε (momentum), dε (neither). d·(1 − τ) with τ = 0
        # is d·1 = d exactly, NumPy's b += d.
        for j in range(len(ps)):
            p, g, b = ps[j], gs[j], bs[j]
            for i in range(p.size):
                d = g[i]
                if decay:
                    d = p[i] * wd + d
                if momentum:
                    bi = b[i] * mom + d * damp
                    b[i] = bi
                    if nesterov:
                        t = (bi * mom + d) * lr
                    else:
                        t = bi * lr
                else:
                    t = d * lr
                p[i] = p[i] - t
    return sgd_kernel


def _rmsprop(decay, centered, momentum, nesterov):
    def rmsprop_kernel(ps, gs, rs, bs, as_, wd, rho, c, eps, mom, lr):  # pragma: no cover - compiled
        # as rmsprop.rmsprop_update: d = θλ + g (decay); r = rρ + d²(1 − ρ); a = a + (d − a)(1 − ρ)
        # and q = d / (√(r − a²) + δ) (centered), else q = d / (√r + δ); b = bα + q and
        # θ −= (q + bα)ε (nesterov) or bε (momentum), else θ −= qε. b and a are not read when
        # their option is off.
        for j in range(len(ps)):
            p, g, r, b, a = ps[j], gs[j], rs[j], bs[j], as_[j]
            for i in range(p.size):
                d = g[i]
                if decay:
                    d = p[i] * wd + d
                ri = r[i] * rho + (d * d) * c
                r[i] = ri
                if centered:
                    ai = a[i] + (d - a[i]) * c
                    a[i] = ai
                    q = d / (np.sqrt(ri - ai * ai) + eps)
                else:
                    q = d / (np.sqrt(ri) + eps)
                if momentum:
                    bi = b[i] * mom + q
                    b[i] = bi
                    if nesterov:
                        t = (q + bi * mom) * lr
                    else:
                        t = bi * lr
                else:
                    t = q * lr
                p[i] = p[i] - t
    return rmsprop_kernel


def _adagrad(decay):
    def adagrad_kernel(ps, gs, ss, wd, eps, clr):  # pragma: no cover - compiled
        # as adagrad.adagrad_update: d = θλ + g (decay); r = r + d²; θ −= (d / (√r + δ)) ε_t
        for j in range(len(ps)):
            p, g, s = ps[j], gs[j], ss[j]
            for i in range(p.size):
                d = g[i]
                if decay:
                    d = p[i] * wd + d
                si = s[i] + d * d
                s[i] = si
                p[i] = p[i] - (d / (np.sqrt(si) + eps)) * clr
    return adagrad_kernel


# ---------------------------------------------------------------- which arrays the kernels take

def _takes(dt, param, *arrays):
    """Whether the kernel takes these arrays: float32 or float64 ``dt`` for θ and all ``arrays``,
    C-contiguous, of θ's shape, and θ and the state (all but the gradient) writable."""
    return (dt in (np.float32, np.float64)
            and all(a.dtype == dt and a.flags.c_contiguous and a.shape == param.shape for a in (param,) + arrays)
            and param.flags.writeable and all(a.flags.writeable for a in arrays[1:]))


def takes(param, *state):
    """Whether the kernels take these persistent arrays of one tensor: θ and its state arrays, of
    one float32 or float64 dtype and one shape, C-contiguous and writable (its gradient is checked
    per step)."""
    return available() and _takes(param.dtype, param, param, *state)


def numbers(*values):
    """Whether every value is a Python int or float, which NumPy 2 rounds to the arrays' dtype
    (as the kernels do). A NumPy scalar is not: with float32 arrays, a ``np.float64`` learning rate
    makes NumPy compute in float64 and round once, which the kernels do not reproduce, so such
    steps run the NumPy updates."""
    return all(type(x) in (float, int) for x in values)


def flat_state(optimizer, grads, names):
    """For each (p, g) of ``grads``: (θ, g, state[name] for name in ``names``) as flat views, or None
    when the kernels do not take one of them (a state array missing, not contiguous, another dtype).

    The flat views of θ and the state are made once and kept in ``optimizer._flat`` while
    ``p.data`` and those state arrays stay the same objects (a parameter or state array replaced,
    by ``p.data = ...`` or ``load_state_dict``, gets new views), so a step costs a few µs of Python
    per tensor."""
    flat = optimizer.__dict__.setdefault("_flat", {})
    state = optimizer.state
    out = []
    for p, g in grads:
        arrays = (p.data, *map(state[p].get, names))
        views = flat.get(id(p))
        if views is None or len(views[0]) != len(arrays) or not all(map(operator.is_, arrays, views[0])):
            if any(a is None for a in arrays) or not takes(*arrays):
                return None
            views = flat[id(p)] = (arrays, tuple(a.reshape(-1) for a in arrays))
        if not g.flags.c_contiguous:  # Optimizer._grads checked its shape and dtype
            return None
        out.append((views[1][0], g.reshape(-1)) + views[1][1:])
    return out


#: tensors per compiled multi-tensor call: a fixed tuple length, so that one compiled signature
#: (cached on disk) serves every model; 8 compiles in under a second and unboxes in ~3 µs
CHUNK = 8


def _run_many(kernel, arrays, floats):
    """``kernel(*chunk, *floats)`` over every tensor, ``CHUNK`` tensors per call (a multi-tensor
    update: a few dispatches for the whole model, not one per tensor), in one thread.

    ``arrays`` = tuples of flat arrays, one tuple per kernel argument (θs, gs, then the state), all
    taken by the kernels; ``floats`` are rounded to each tensor's dtype first (as NumPy 2 does with
    a Python float and an array), so the tensors of each dtype go through the kernel together."""
    by_dtype = {}
    for k, p in enumerate(arrays[0]):
        by_dtype.setdefault(p.dtype, []).append(k)
    for dt, idx in by_dtype.items():
        cols = arrays if len(by_dtype) == 1 else [tuple(col[k] for k in idx) for col in arrays]
        pad = (-len(idx)) % CHUNK
        if pad:
            empty = (np.empty(0, dt),) * pad
            cols = [col + empty for col in cols]
        scalars = tuple(dt.type(x) for x in floats)
        for i in range(0, len(idx) + pad, CHUNK):
            kernel(*[col[i:i + CHUNK] for col in cols], *scalars)


def _run_one(name, build, flags, param, grad, state, floats):
    """The kernel ``build(*flags)`` on one tensor (flat views), the floats rounded to its dtype;
    False (nothing changed) when the kernels are unavailable or do not take these arrays."""
    dt = param.dtype
    if not available() or not numbers(*floats) or not _takes(dt, param, grad, *state):
        return False
    _compiled(name, build, flags)((param.reshape(-1),), (grad.reshape(-1),), *[(a.reshape(-1),) for a in state],
                                  *(dt.type(x) for x in floats))
    return True


# ---------------------------------------------------------------- the updates

def _adam_floats(beta1, beta2, eps_term, step_scale):
    return 1.0 - beta1, beta2, 1.0 - beta2, eps_term, step_scale


def adam_many(arrays, beta1, beta2, eps_term, step_scale):
    """:func:`adam` on many tensors with the same step and hyperparameters; ``arrays`` = (θs, gs,
    ss, rs), tuples of flat arrays that :func:`takes` and the gradients' C-contiguity and dtype
    have been checked for."""
    _run_many(_compiled("adam", _adam), arrays, _adam_floats(beta1, beta2, eps_term, step_scale))


def adam(param, grad, exp_avg, exp_avg_sq, beta1, beta2, eps_term, step_scale):
    """One Adam update in one pass, bit-identical to :func:`descend.optim.adam.adam_update`
    without amsgrad (``eps_term`` = δ√bc₂, ``step_scale`` = ε√bc₂/bc₁, ``grad`` already coupled).
    Returns False (and changes nothing) when the fused kernel cannot take these arrays."""
    return _run_one("adam", _adam, (), param, grad, (exp_avg, exp_avg_sq),
                    _adam_floats(beta1, beta2, eps_term, step_scale))


def _sgd_floats(lr, momentum, dampening, weight_decay):
    return weight_decay, momentum, 1.0 - dampening, lr


def _sgd_flags(momentum, weight_decay, nesterov):
    return weight_decay != 0, momentum != 0, bool(nesterov)


def sgd_many(arrays, lr, momentum, dampening, weight_decay, nesterov):
    """:func:`sgd` on many tensors; ``arrays`` = (θs, gs, bs) with momentum (flat, checked as for
    :func:`adam_many`), (θs, gs) without."""
    if momentum == 0:
        arrays = (arrays[0], arrays[1], arrays[0])   # b is not read without momentum
    _run_many(_compiled("sgd", _sgd, _sgd_flags(momentum, weight_decay, nesterov)), arrays,
              _sgd_floats(lr, momentum, dampening, weight_decay))


def sgd(param, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov):
    """One SGD update in one pass, bit-identical to :func:`descend.optim.sgd.sgd_update` without
    maximize, on an existing momentum buffer (None without momentum). Returns False (and changes
    nothing) when the fused kernel cannot take these arrays."""
    return _run_one("sgd", _sgd, _sgd_flags(momentum, weight_decay, nesterov), param, grad,
                    (param if momentum == 0 else momentum_buffer,), _sgd_floats(lr, momentum, dampening, weight_decay))


def _rmsprop_floats(lr, alpha, eps, weight_decay, momentum):
    return weight_decay, alpha, 1.0 - alpha, eps, momentum, lr


def _rmsprop_flags(weight_decay, momentum, centered, nesterov):
    return weight_decay != 0, bool(centered), momentum > 0, bool(nesterov)


def rmsprop_many(arrays, lr, alpha, eps, weight_decay, momentum, centered, nesterov):
    """:func:`rmsprop` on many tensors; ``arrays`` = (θs, gs, rs, bs, as) with None for the buffers
    an option does not use (flat, checked as for :func:`adam_many`)."""
    ps, gs, rs, bs, as_ = arrays
    _run_many(_compiled("rmsprop", _rmsprop, _rmsprop_flags(weight_decay, momentum, centered, nesterov)),
              (ps, gs, rs, rs if bs is None else bs, rs if as_ is None else as_),
              _rmsprop_floats(lr, alpha, eps, weight_decay, momentum))


def rmsprop(param, grad, square_avg, lr, alpha, eps, weight_decay, momentum, centered, momentum_buffer, grad_avg,
            nesterov):
    """One RMSprop update in one pass, bit-identical to :func:`descend.optim.rmsprop.rmsprop_update`
    without maximize. Returns False (and changes nothing) when the fused kernel cannot take these
    arrays."""
    b = momentum_buffer if momentum > 0 else square_avg
    a = grad_avg if centered else square_avg
    if b is None or a is None:
        return False
    return _run_one("rmsprop", _rmsprop, _rmsprop_flags(weight_decay, momentum, centered, nesterov), param, grad,
                    (square_avg, b, a), _rmsprop_floats(lr, alpha, eps, weight_decay, momentum))


def adagrad_many(arrays, clr, eps, weight_decay):
    """:func:`adagrad` on many tensors at one step; ``arrays`` = (θs, gs, rs) (flat, checked as for
    :func:`adam_many`)."""
    _run_many(_compiled("adagrad", _adagrad, (weight_decay != 0,)), arrays, (weight_decay, eps, clr))


def adagrad(param, grad, state_sum, clr, eps, weight_decay):
    """One Adagrad update in one pass, bit-identical to :func:`descend.optim.adagrad.adagrad_update`
    without maximize (``clr`` = ε_t). Returns False (and changes nothing) when the fused kernel
    cannot take these arrays."""
    return _run_one("adagrad", _adagrad, (weight_decay != 0,), param, grad, (state_sum,), (weight_decay, eps, clr))
