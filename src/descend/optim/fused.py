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
NumPy code. The ``*_many`` functions are the multi-tensor updates of a whole parameter group, in
one thread, through its :class:`Plan` (:func:`plan`): the table of θ's and the state's addresses is
made once and kept while those arrays stay the same, so a step passes the kernel only the new
gradients (up to ``MAX_WIDTH`` tensors per compiled call); the caller checks :func:`numbers` first.
AdamW's θ ← θ (1 − ελ) is in the Adam kernel (the same product per element, first).

Writing through addresses is safe because the plan keeps the arrays (their memory stays), is used
only while each ``p.data`` and state array is still the one it holds (compared by identity at
every step) and for the same state names (an option that adds a buffer makes a new plan), and each
kernel checks its table's column count and every gradient's size against its row's θ size before
it writes. ``tests/optim/test_fused.py`` replaces each of these between fused steps.
"""

import operator
import os

import numpy as np

__all__ = ["available", "takes", "numbers", "Plan", "plan", "CHUNK", "MAX_WIDTH", "adam", "adam_many", "sgd",
           "sgd_many", "rmsprop", "rmsprop_many", "adagrad", "adagrad_many"]

_KERNELS = {}
_view = _checked = _gradient = None   # the kernels' helpers, made with Numba (_define_helpers)
_STATE = {"tried": False, "numba": None}


def _numba():
    if not _STATE["tried"]:
        _STATE["tried"] = True
        if os.environ.get("DESCEND_FUSED", "1") != "0":
            try:
                import numba
            except ImportError:
                numba = None
            else:
                _define_helpers(numba)
            _STATE["numba"] = numba
    return _STATE["numba"]


def _define_helpers(numba):
    """Make the kernels' helpers: ``_checked(table, gs, columns)`` and ``_gradient(table, gs, j)``
    (the checks before a kernel writes through a table's addresses, one place for all kernels) and
    ``_view(address, like, n)``: in compiled code, the ``n`` values of ``like``'s
    dtype that start at the integer ``address``, as a 1-D C array (``numba.carray`` over the pointer
    that an intrinsic makes of the integer; Numba has no public cast from an integer to a pointer).

    The multi-tensor kernels reach θ and the state through such addresses (:class:`Plan`): one
    int64 table instead of a tuple of arrays per state, which Numba unboxes one by one at every call
    (about 0.1 µs per array). A global of this module, not a closure value, so that the kernels
    stay in Numba's disk cache; made when Numba is first imported, which this module defers."""
    from numba.core import types

    @numba.extending.intrinsic
    def pointer(typingctx, address, like):
        def codegen(context, builder, signature, args):
            return builder.inttoptr(args[0], context.get_value_type(signature.return_type))
        return types.CPointer(like.dtype)(address, like), codegen

    carray = numba.carray

    @numba.njit(inline="always")
    def view(address, like, n):  # pragma: no cover - compiled
        return carray(pointer(address, like), n)

    @numba.njit(inline="always")
    def checked(table, gs, columns):  # pragma: no cover - compiled
        # the table has this kernel's columns (θ, its state, θ's size) and there is a gradient per row
        if table.shape[1] != columns or len(gs) < table.shape[0]:
            raise ValueError("the table or the gradients are not this kernel's")

    @numba.njit(inline="always")
    def gradient(table, gs, j):  # pragma: no cover - compiled
        # row j's gradient and θ's size n, checked equal before any write through the row's addresses
        g, n = gs[j], table[j, -1]
        if g.size != n:
            raise ValueError("a gradient's size is not its parameter's")
        return g, n

    global _view, _checked, _gradient
    _view, _checked, _gradient = view, checked, gradient


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
    k = _KERNELS.get((name,) + flags)   # (a NumPy bool has the hash of and equals the Python bool)
    if k is None:
        flags = tuple(bool(f) for f in flags)   # Python bools, also for NumPy scalars' comparisons
        k = _KERNELS[(name,) + flags] = _numba().njit(nogil=True, cache=True, fastmath=False,
                                                       error_model="numpy")(build(*flags))
    return k


# ---------------------------------------------------------------- the kernels
# Each takes a table of addresses, one row per tensor: θ then its state arrays (the columns its
# optimizer names, see :class:`Plan`), then θ's size (checked against the gradient's, so that no
# caller can make a kernel write past an array); a tuple of flat gradients (at least one per row;
# the rest, padding, is not read); and an array of the floats in the arrays' dtype (one argument
# for Numba to unbox, not one per float; np.array rounds them three times faster than a scalar
# each). Per element it writes what its module's NumPy update computes with one ufunc per line: the
# comment states the formula, the code the NumPy operation order. ``_view(address, g, n)`` is the n
# values of g's dtype at ``address``; ``_checked`` and ``_gradient`` check the table and each row's
# gradient (see _define_helpers).

def _adam(decay):
    def adam_kernel(table, gs, f):  # pragma: no cover - compiled
        dw, c1, b2, c2, e, k = f[0], f[1], f[2], f[3], f[4], f[5]
        # as adam.adam_update: θ ← θ (1 − ελ) first (decay, AdamW's); t = (g − s)(1 − ρ₁); s += t;
        # r = r ρ₂ + g²(1 − ρ₂); θ −= s / (√r + δ√bc₂) · (ε√bc₂ / bc₁). Columns θ, s, r.
        _checked(table, gs, 4)
        for j in range(table.shape[0]):
            g, n = _gradient(table, gs, j)
            p, m, v = _view(table[j, 0], g, n), _view(table[j, 1], g, n), _view(table[j, 2], g, n)
            for i in range(n):
                gi = g[i]
                mi = m[i] + (gi - m[i]) * c1
                vi = v[i] * b2 + (gi * gi) * c2
                m[i] = mi
                v[i] = vi
                pi = p[i] * dw if decay else p[i]
                p[i] = pi - (mi / (np.sqrt(vi) + e)) * k
    return adam_kernel


def _sgd(decay, momentum, nesterov):
    def sgd_kernel(table, gs, f):  # pragma: no cover - compiled
        wd, mom, damp, lr = f[0], f[1], f[2], f[3]
        # as sgd.sgd_update: d = θλ + g (decay); b = bα + d(1 − τ) (momentum; b is not read
        # otherwise); θ −= (bα + d)ε (nesterov), bε (momentum), dε (neither). d·(1 − τ) with τ = 0
        # is d·1 = d exactly, NumPy's b += d. Columns θ, b (momentum).
        _checked(table, gs, (3 if momentum else 2))
        for j in range(table.shape[0]):
            g, n = _gradient(table, gs, j)
            p = _view(table[j, 0], g, n)
            b = _view(table[j, 1 if momentum else 0], g, n)
            for i in range(n):
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
    def rmsprop_kernel(table, gs, f):  # pragma: no cover - compiled
        wd, rho, c, eps, mom, lr = f[0], f[1], f[2], f[3], f[4], f[5]
        # as rmsprop.rmsprop_update: d = θλ + g (decay); r = rρ + d²(1 − ρ); a = a + (d − a)(1 − ρ)
        # and q = d / (√(r − a²) + δ) (centered), else q = d / (√r + δ); b = bα + q and
        # θ −= (q + bα)ε (nesterov) or bε (momentum), else θ −= qε. Columns θ, r, b (momentum),
        # a (centered); b and a are not read when their option is off.
        _checked(table, gs, 3 + momentum + centered)
        for j in range(table.shape[0]):
            g, n = _gradient(table, gs, j)
            p, r = _view(table[j, 0], g, n), _view(table[j, 1], g, n)
            b = _view(table[j, 2 if momentum else 1], g, n)
            a = _view(table[j, (3 if momentum else 2) if centered else 1], g, n)
            for i in range(n):
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
    def adagrad_kernel(table, gs, f):  # pragma: no cover - compiled
        wd, eps, clr = f[0], f[1], f[2]
        # as adagrad.adagrad_update: d = θλ + g (decay); r = r + d²; θ −= (d / (√r + δ)) ε_t.
        # Columns θ, r.
        _checked(table, gs, 3)
        for j in range(table.shape[0]):
            g, n = _gradient(table, gs, j)
            p, s = _view(table[j, 0], g, n), _view(table[j, 1], g, n)
            for i in range(n):
                d = g[i]
                if decay:
                    d = p[i] * wd + d
                si = s[i] + d * d
                s[i] = si
                p[i] = p[i] - (d / (np.sqrt(si) + eps)) * clr
    return adagrad_kernel


def _addresses():
    def addresses(arrays, row):  # pragma: no cover - compiled
        # row[j] = the address of arrays[j]'s first value (a one-tensor call's table)
        for j in range(len(arrays)):
            row[j] = arrays[j].ctypes.data
    return addresses


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


_NUMBERS = frozenset((float, int))


def numbers(*values):
    """Whether every value is a Python int or float, which NumPy 2 rounds to the arrays' dtype
    (as the kernels do). A NumPy scalar is not: with float32 arrays, a ``np.float64`` learning rate
    makes NumPy compute in float64 and round once, which the kernels do not reproduce, so such
    steps run the NumPy updates."""
    return _NUMBERS.issuperset(map(type, values))


# ---------------------------------------------------------------- the plan of a group's step

#: tuple lengths of the multi-tensor calls: a multiple of ``CHUNK`` up to ``MAX_WIDTH`` (the rest
#: of the tuple padded with an empty array, which the kernel does not read), so that a few compiled
#: signatures, cached on disk, serve every model; a longer group takes several calls. Numba
#: compiles a width of 8 in 0.2 s and of 64 in about 1 s, and unboxes about 0.1 µs per array.
CHUNK = 8
MAX_WIDTH = 64

_second = operator.itemgetter(1)
_writeable = operator.attrgetter("flags.writeable")
_ravel = np.ndarray.ravel
_step = operator.itemgetter("step")
_EMPTY = {}


def _calls(table, dt):
    """[(lo, hi, rows, pad)] per compiled call over ``table``: its rows ``lo:hi`` (``rows``, a view, or
    the table itself), and the empty arrays that pad the call's tuple of gradients to its width."""
    n = len(table)
    out = []
    for lo in range(0, n, MAX_WIDTH):
        hi = min(lo + MAX_WIDTH, n)
        rows = table if (lo, hi) == (0, n) else table[lo:hi]
        out.append((lo, hi, rows, (_EMPTY.setdefault(dt, np.empty(0, dt)),) * ((lo - hi) % CHUNK)))
    return out


class Plan:
    """The fixed part of a parameter group's multi-tensor step: which tensors, θ and their state
    arrays, and per dtype the table of those arrays' addresses that the kernels read.

    Made by :func:`plan` and kept while it :meth:`holds`: the tensors with a gradient have, in
    order, the same ``p.data``, state dict and state arrays (the same objects) as when the plan was
    made (a parameter replaced by ``p.data = ...``, a state by ``load_state_dict`` or by assigning
    ``optimizer.state[p]`` or one of its arrays, gets a new plan). Keeping the arrays keeps their
    memory, so the addresses stay valid; the check is a few identity comparisons per tensor. The
    update is then the same as through those tensors, whichever they are.

    ``states``: the tensors' state dicts (``optimizer.state[p]``); ``arrays``: per tensor
    (θ, state[name] for name in ``names``), all taken by the kernels (:func:`takes`).
    """

    __slots__ = ("names", "pairs", "checks", "states", "runs")

    def __init__(self, states, names, arrays):
        self.names = tuple(names)   # the table's columns after θ (an option turned on adds one)
        self.states = list(states)
        self.pairs = [(a[0], st) for a, st in zip(arrays, states)]   # (θ, state dict) per tensor
        self.checks = [(st, name, x) for a, st in zip(arrays, states) for name, x in zip(names, a[1:])]
        rows = {}
        for k, a in enumerate(arrays):
            rows.setdefault(a[0].dtype, []).append(k)
        self.runs = []   # (dtype, positions of its tensors or None for all, table, calls)
        for dt, ks in rows.items():
            table = np.array([[x.ctypes.data for x in arrays[k]] + [arrays[k][0].size] for k in ks], np.int64)
            self.runs.append((dt, None if len(ks) == len(arrays) else ks, table, _calls(table, dt)))

    def holds(self, state, grads):
        """Whether this plan is the step's: ``grads`` lists as many tensors, whose θ arrays, state
        dicts in ``state`` and state arrays are the plan's (the same objects).

        Plain loops, one over the tensors and one over their state arrays: in CPython 3.11 they
        took 5.1 µs for Adam's 42 tensors, where ``map`` chains over the columns took 7.1 µs."""
        if len(grads) != len(self.pairs):
            return False
        get = state.get
        for (p, _), (d, st) in zip(grads, self.pairs):
            if p.data is not d or get(p) is not st:
                return False
        try:
            for st, name, x in self.checks:
                if st[name] is not x:
                    return False
        except KeyError:
            return False
        return True

    def steps(self):
        """The tensors' ``state["step"]`` values, in order."""
        return list(map(_step, self.states))


def plan(optimizer, group, grads, names):
    """The :class:`Plan` of this step of ``group`` (``grads`` = [(p, g)] from
    :meth:`Optimizer._grads <descend.optim.optimizer.Optimizer._grads>`): the one kept in
    ``optimizer._plans`` from an earlier step if it still holds, else a new one; None (and nothing
    kept) when a tensor's state has no ``names`` array yet or the kernels do not take its arrays."""
    plans = optimizer.__dict__.setdefault("_plans", {})
    kept = plans.get(id(group))
    state = optimizer.state
    if kept is not None and kept.names == tuple(names) and kept.holds(state, grads):
        return kept
    live = {id(g) for g in optimizer.param_groups}
    for key in [k for k in plans if k not in live or k == id(group)]:
        del plans[key]    # (a plan keeps its arrays alive: drop the stale ones)
    states, arrays = [], []
    for p, _ in grads:
        st = state.get(p)   # (None for SGD without momentum before its first NumPy step: not needed)
        a = (p.data, *map(st.get, names)) if st is not None else (p.data,) + (None,) * len(names)
        if any(x is None for x in a) or not takes(*a):
            return None
        states.append(st)
        arrays.append(a)
    made = plans[id(group)] = Plan(states, names, arrays)
    return made


def _run_many(kernel, plan, grads, floats, only=None):
    """``kernel(table, gradients, floats)`` over every tensor of ``plan`` (or those at the
    positions in the set ``only``), in one thread: per dtype, one call per ``MAX_WIDTH`` tensors
    (a multi-tensor update: a few dispatches for the whole group, not one per tensor).

    ``grads`` = [(p, g)] of the plan's tensors (shapes and dtypes checked by ``Optimizer._grads``);
    the gradients are passed as flat views (a copy for a read-only one, which Numba types apart
    from the others, or a strided one). ``floats`` are rounded to each tensor's dtype first (as
    NumPy 2 does with a Python float and an array)."""
    flat = list(map(_ravel, map(_second, grads)))
    if not all(map(_writeable, flat)):
        flat = [g if g.flags.writeable else g.copy() for g in flat]
    for dt, ks, table, calls in plan.runs:
        if only is not None:
            at = range(len(flat)) if ks is None else ks
            keep = [i for i, k in enumerate(at) if k in only]   # the table's rows of those tensors
            if not keep:
                continue
            ks, table = [at[i] for i in keep], table[keep]
            calls = _calls(table, dt)
        gs = flat if ks is None else [flat[k] for k in ks]
        scalars = np.array(floats, dt)
        for lo, hi, rows, pad in calls:
            kernel(rows, (tuple(gs) if hi - lo == len(gs) else tuple(gs[lo:hi])) + pad, scalars)


def _run_one(name, build, flags, param, grad, state, floats):
    """The kernel ``build(*flags)`` on one tensor (flat views), the floats rounded to its dtype;
    False (nothing changed) when the kernels are unavailable or do not take these arrays."""
    dt = param.dtype
    if not available() or not numbers(*floats) or not _takes(dt, param, grad, *state):
        return False
    row = np.empty((1, 2 + len(state)), np.int64)
    _compiled("addresses", _addresses)((param.reshape(-1), *[a.reshape(-1) for a in state]), row[0])
    row[0, -1] = param.size
    _compiled(name, build, flags)(row, (grad.reshape(-1),), np.array(floats, dt))
    return True


# ---------------------------------------------------------------- the updates

def _adam_floats(beta1, beta2, eps_term, step_scale, decay=0.0):
    return 1.0 - decay, 1.0 - beta1, beta2, 1.0 - beta2, eps_term, step_scale


def adam_many(plan, grads, beta1, beta2, eps_term, step_scale, decay=0.0):
    """:func:`adam` on the tensors of ``plan`` (columns s, r: ``names`` ("exp_avg", "exp_avg_sq")),
    all with the same step and hyperparameters, and ``decay`` = ελ ≠ 0 for AdamW's θ ← θ (1 − ελ)
    first (as ``adam_update`` with ``decoupled_weight_decay``)."""
    _run_many(_compiled("adam", _adam, (decay != 0,)), plan, grads, _adam_floats(beta1, beta2, eps_term, step_scale,
                                                                                 decay))


def adam(param, grad, exp_avg, exp_avg_sq, beta1, beta2, eps_term, step_scale):
    """One Adam update in one pass, bit-identical to :func:`descend.optim.adam.adam_update`
    without amsgrad (``eps_term`` = δ√bc₂, ``step_scale`` = ε√bc₂/bc₁, ``grad`` already coupled).
    Returns False (and changes nothing) when the fused kernel cannot take these arrays."""
    return _run_one("adam", _adam, (False,), param, grad, (exp_avg, exp_avg_sq),
                    _adam_floats(beta1, beta2, eps_term, step_scale))


def _sgd_floats(lr, momentum, dampening, weight_decay):
    return weight_decay, momentum, 1.0 - dampening, lr


def _sgd_flags(momentum, weight_decay, nesterov):
    return weight_decay != 0, momentum != 0, bool(nesterov)


def sgd_many(plan, grads, lr, momentum, dampening, weight_decay, nesterov):
    """:func:`sgd` on the tensors of ``plan`` (column b, ``names`` ("momentum_buffer",), with
    momentum; none without)."""
    _run_many(_compiled("sgd", _sgd, _sgd_flags(momentum, weight_decay, nesterov)), plan, grads,
              _sgd_floats(lr, momentum, dampening, weight_decay))


def sgd(param, grad, momentum_buffer, lr, momentum, dampening, weight_decay, nesterov):
    """One SGD update in one pass, bit-identical to :func:`descend.optim.sgd.sgd_update` without
    maximize, on an existing momentum buffer (None without momentum). Returns False (and changes
    nothing) when the fused kernel cannot take these arrays."""
    return _run_one("sgd", _sgd, _sgd_flags(momentum, weight_decay, nesterov), param, grad,
                    () if momentum == 0 else (momentum_buffer,), _sgd_floats(lr, momentum, dampening, weight_decay))


def _rmsprop_floats(lr, alpha, eps, weight_decay, momentum):
    return weight_decay, alpha, 1.0 - alpha, eps, momentum, lr


def _rmsprop_flags(weight_decay, momentum, centered, nesterov):
    return weight_decay != 0, bool(centered), momentum > 0, bool(nesterov)


def rmsprop_many(plan, grads, lr, alpha, eps, weight_decay, momentum, centered, nesterov):
    """:func:`rmsprop` on the tensors of ``plan`` (columns r, then b with momentum, then a when
    centered: ``names`` ("square_avg", "momentum_buffer", "grad_avg") without those off)."""
    _run_many(_compiled("rmsprop", _rmsprop, _rmsprop_flags(weight_decay, momentum, centered, nesterov)), plan,
              grads, _rmsprop_floats(lr, alpha, eps, weight_decay, momentum))


def rmsprop(param, grad, square_avg, lr, alpha, eps, weight_decay, momentum, centered, momentum_buffer, grad_avg,
            nesterov):
    """One RMSprop update in one pass, bit-identical to :func:`descend.optim.rmsprop.rmsprop_update`
    without maximize. Returns False (and changes nothing) when the fused kernel cannot take these
    arrays."""
    state = (square_avg,) + ((momentum_buffer,) if momentum > 0 else ()) + ((grad_avg,) if centered else ())
    if any(a is None for a in state):
        return False
    return _run_one("rmsprop", _rmsprop, _rmsprop_flags(weight_decay, momentum, centered, nesterov), param, grad,
                    state, _rmsprop_floats(lr, alpha, eps, weight_decay, momentum))


def adagrad_many(plan, grads, clr, eps, weight_decay, only=None):
    """:func:`adagrad` on the tensors of ``plan`` (column r, ``names`` ("sum",)) at one step, or on
    those at the positions in the set ``only``."""
    _run_many(_compiled("adagrad", _adagrad, (weight_decay != 0,)), plan, grads, (weight_decay, eps, clr), only)


def adagrad(param, grad, state_sum, clr, eps, weight_decay):
    """One Adagrad update in one pass, bit-identical to :func:`descend.optim.adagrad.adagrad_update`
    without maximize (``clr`` = ε_t). Returns False (and changes nothing) when the fused kernel
    cannot take these arrays."""
    return _run_one("adagrad", _adagrad, (weight_decay != 0,), param, grad, (state_sum,), (weight_decay, eps, clr))
