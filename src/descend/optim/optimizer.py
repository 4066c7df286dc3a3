"""The ``Optimizer`` base: parameter groups, per-parameter state, ``state_dict``, validation.

An optimizer moves parameters θ (leaf float Tensors) using their gradients g = ∂L/∂θ. It holds

- ``param_groups``: a list of dicts, each with ``"params"`` (a list of Tensors) and the group's
  hyperparameters (``lr``, ``momentum``, ...; missing ones are filled from ``defaults``);
- ``state``: a dict keyed by the parameter Tensor, each value a dict of that parameter's state
  (``"step"`` a Python int, the buffers NumPy arrays of the parameter's shape and dtype);
- ``defaults``: the constructor's hyperparameters.

It is the same protocol as ``torch.optim.Optimizer``: ``opt.zero_grad(); loss.backward();
opt.step()``, or ``opt.step(closure)`` where ``closure()`` re-evaluates the loss (it is run under
grad mode). ``state_dict()`` refers to parameters by their position (0, 1, ... over all groups in
order) so that a fresh optimizer built on a fresh model resumes bit-identically after
``load_state_dict``.

Subclasses write the math as a pure in-place NumPy update (no graph is ever built) and implement
``_update_group(group)``; hyperparameters are checked by ``_check_group(group)`` at construction
and again at every ``step()`` (a group edited to a bad value raises there).
"""

import functools
import math
import os
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..autodiff.mode import enable_grad
from ..autodiff.tensor import Tensor

__all__ = ["Optimizer", "required", "check_number"]


class _Required:
    """Marker for a hyperparameter without a default (must be given per group or in defaults)."""

    def __repr__(self):
        return "<required parameter>"


required = _Required()


def _fmt_range(low, high, low_open, high_open):
    if low is not None and high is not None:
        return f"{'(' if low_open else '['}{low}, {high}{')' if high_open else ']'}"
    if low is not None:
        return f"{'>' if low_open else '>='} {low}"
    if high is not None:
        return f"{'<' if high_open else '<='} {high}"
    return "a finite number"


def check_number(name, value, low=None, high=None, low_open=False, high_open=False, integer=False):
    """Raise ValueError unless ``value`` is a real number (not NaN, not bool) inside the range.

    The message names the hyperparameter, its value and the expected range, e.g.
    ``Invalid learning rate lr=-1.0: expected >= 0``.
    """
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
    if integer:
        ok = ok and float(value) == int(value)
    if ok:
        v = float(value)
        ok = not math.isnan(v)
        if ok and low is not None:
            ok = v > low if low_open else v >= low
        if ok and high is not None:
            ok = v < high if high_open else v <= high
    if not ok:
        kind = "an integer " if integer else ""
        raise ValueError(f"Invalid {name}={value!r}: expected {kind}{_fmt_range(low, high, low_open, high_open)}")
    return value


def check_bool(name, value):
    """Raise ValueError unless ``value`` is a bool."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(f"Invalid {name}={value!r}: expected True or False")
    return value


def check_lr(value):
    """The learning rate γ: a number >= 0 (not NaN)."""
    return check_number("learning rate lr", value, low=0.0)


def _counting_step(step):
    @functools.wraps(step)
    def wrapper(self, *args, **kwargs):
        self._step_count = getattr(self, "_step_count", 0) + 1
        return step(self, *args, **kwargs)

    wrapper._counts_steps = True
    return wrapper


class Optimizer:
    """Base class of every optimizer (see the module docstring).

    ``params``: an iterable of Tensors, or of dicts (parameter groups) each with a ``"params"``
    entry and optional per-group hyperparameters. ``defaults``: dict of hyperparameters used
    when a group does not set them.
    """

    #: True for methods whose ``step`` must be given a closure (the training loop asks this, never a name)
    needs_closure = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "_counts_steps", False):
            cls.step = _counting_step(step)  # lets schedulers tell whether optimizer.step() ran

    def __init__(self, params, defaults):
        self.defaults = dict(defaults)
        self.state = defaultdict(dict)
        self.param_groups = []
        self._step_count = 0
        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            f"but got a Tensor of shape {params.shape}")
        if isinstance(params, dict):
            raise TypeError("params argument given to the optimizer should be an iterable of Tensors or dicts, "
                            "but got a dict (wrap a parameter group in a list: [group])")
        is_iterator = iter(params) is params
        param_groups = list(params)
        if len(param_groups) == 0:
            hint = (" (a generator or iterator was given and it yielded nothing: was it already consumed, "
                    "e.g. by an earlier optimizer? pass list(model.parameters()))") if is_iterator else ""
            raise ValueError(f"optimizer got an empty parameter list{hint}")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ groups and checks
    def add_param_group(self, param_group):
        """Add a dict ``{"params": ..., hyperparameters...}``; missing hyperparameters come from
        ``defaults``. Raises ValueError for a parameter that is already optimized, a non-leaf or
        non-floating tensor, a missing required hyperparameter, or one out of range."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, got {type(param_group).__name__}")
        params = param_group.get("params")
        if params is None:
            raise ValueError("param_group has no 'params' entry")
        if isinstance(params, Tensor):
            params = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, but the ordering of "
                            "tensors in sets will change between runs; use a list instead")
        else:
            params = list(params)
        if len(params) == 0:
            raise ValueError("a parameter group got an empty parameter list")
        seen = set()
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"optimizer can only optimize Tensors, but parameter {i} is a {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(f"can't optimize a non-leaf Tensor (parameter {i}, shape {p.shape}): "
                                 "use a leaf such as x.detach().requires_grad_() instead")
            if p.dtype.kind != "f":
                raise ValueError(f"can't optimize a tensor of dtype {p.dtype} (parameter {i}, shape {p.shape}): "
                                 "expected a floating tensor")
            if id(p) in seen:
                raise ValueError(f"parameter {i} (shape {p.shape}) appears twice in the same parameter group")
            seen.add(id(p))
        for g in self.param_groups:
            for q in g["params"]:
                if id(q) in seen:
                    raise ValueError(f"some parameters appear in more than one parameter group "
                                     f"(one has shape {q.shape})")
        group = {"params": params}
        for k, v in param_group.items():
            if k != "params":
                group[k] = v
        for k, v in self.defaults.items():
            if v is required and k not in group:
                raise ValueError(f"parameter group didn't specify a value of required optimization parameter {k}")
            group.setdefault(k, v)
        self._check_group(group)
        self.param_groups.append(group)
        self._init_group_state(group)

    def _check_group(self, group):
        """Validate the group's hyperparameters (subclasses extend; the base checks ``lr``)."""
        if "lr" in group:
            check_lr(group["lr"])

    def _init_group_state(self, group):
        """Create state eagerly for a new group (only Adagrad does, as in PyTorch)."""

    def _check_groups(self):
        for group in self.param_groups:
            self._check_group(group)

    # ------------------------------------------------------------------ the step
    def zero_grad(self, set_to_none=True):
        """Reset the gradients: ``p.grad = None`` (default) or fill them with zeros in place."""
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    if set_to_none:
                        p.grad = None
                    else:
                        p.grad.data[...] = 0
                        p.grad.bump_version()

    def step(self, closure=None):
        """One update of every parameter that has a gradient. ``closure`` (optional) re-evaluates
        the loss (run with grad enabled) and its value is returned."""
        loss = self._evaluate(closure)
        self._check_groups()
        for group in self.param_groups:
            self._update_group(group)
        return loss

    @staticmethod
    def _evaluate(closure):
        """The closure's loss, computed with gradients recorded (None without a closure)."""
        if closure is None:
            return None
        with enable_grad():
            return closure()

    def _update_group(self, group):
        """Update every parameter of ``group`` that has a gradient with ``_update_param``.

        Tensors are updated one after the other (sharing runs of small tensors among threads was
        measured slower: the per-tensor Python work holds the GIL); large tensors are split among
        threads by :func:`across_threads`."""
        for p, g in self._grads(group):
            self._update_param(group, p, g)

    def _update_param(self, group, p, g):
        raise TypeError(f"{type(self).__name__} must define _update_param(group, p, g), _update_group(group) "
                        "or step()")

    @staticmethod
    def _grads(group):
        """(param, param.data, grad array) for the parameters of ``group`` that have a gradient."""
        out = []
        for p in group["params"]:
            if p.grad is not None:
                g = p.grad.data
                if g.shape != p.data.shape:
                    raise ValueError(f"gradient of shape {g.shape} for a parameter of shape {p.data.shape}")
                if g.dtype != p.data.dtype:
                    raise TypeError(f"gradient of dtype {g.dtype} for a parameter of dtype {p.data.dtype}")
                out.append((p, g))
        return out

    # ------------------------------------------------------------------ state_dict
    def state_dict(self):
        """``{"state": {index: {name: value}}, "param_groups": [{..., "params": [indices]}]}``.

        Parameters are numbered by position over all groups; array state is copied, so the dict is
        a snapshot that later steps do not change."""
        index = {}
        groups = []
        for group in self.param_groups:
            packed = {k: v for k, v in group.items() if k != "params"}
            packed["params"] = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                packed["params"].append(index[id(p)])
            groups.append(packed)
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state and self.state[p]:
                    state[index[id(p)]] = {k: (v.copy() if isinstance(v, np.ndarray) else v)
                                           for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict):
        """Restore hyperparameters and state saved by :meth:`state_dict` (group count and sizes
        must match). Floating array state is copied and cast to its parameter's dtype."""
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(f"loaded state dict has {len(groups)} parameter groups; this optimizer has "
                             f"{len(self.param_groups)}")
        for i, (saved, group) in enumerate(zip(groups, self.param_groups)):
            if len(saved["params"]) != len(group["params"]):
                raise ValueError(f"loaded state dict has a group {i} of {len(saved['params'])} parameters; this "
                                 f"optimizer's group {i} has {len(group['params'])}")
        id_map = {}
        for saved, group in zip(groups, self.param_groups):
            for idx, p in zip(saved["params"], group["params"]):
                id_map[idx] = p
        new_state = defaultdict(dict)
        for key, values in state_dict["state"].items():
            key = int(key)
            if key not in id_map:
                raise ValueError(f"loaded state dict has state for parameter {key}, which no group lists")
            p = id_map[key]
            entry = {}
            for k, v in values.items():
                if isinstance(v, Tensor):
                    v = v.data
                if isinstance(v, np.ndarray):
                    if v.shape == p.shape and v.dtype.kind == "f":
                        v = v.astype(p.dtype, copy=True)
                    else:
                        v = v.copy()
                entry[k] = v
            new_state[p] = entry
        new_groups = []
        for saved, group in zip(groups, self.param_groups):
            g = {k: v for k, v in saved.items() if k != "params"}
            g["params"] = group["params"]
            for k, v in group.items():
                g.setdefault(k, v)
            self._check_group(g)
            new_groups.append(g)
        self.state = new_state
        self.param_groups = new_groups

    # ------------------------------------------------------------------ repr
    def __repr__(self):
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines.append(f"    params: {len(group['params'])} tensors, {sum(p.data.size for p in group['params'])} values")
            for k in sorted(group):
                if k != "params":
                    lines.append(f"    {k}: {group[k]}")
        lines.append(")")
        return "\n".join(lines)

    def __getstate__(self):
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, d):
        self.__dict__.update(d)
        self._step_count = 0


Optimizer.step = _counting_step(Optimizer.step)

_LOCAL = threading.local()


def scratch(like, slot=0):
    """A reusable work array with the shape and dtype of ``like`` (contents undefined).

    Updates use it for their one unavoidable temporary, so a step allocates no new memory.
    ``slot`` tells apart two temporaries needed at the same time. Each thread has its own."""
    cache = getattr(_LOCAL, "scratch", None)
    if cache is None:
        cache = _LOCAL.scratch = {}
    key = (like.dtype.str, slot)
    buf = cache.get(key)
    if buf is None or buf.size < like.size:
        buf = np.empty(max(like.size, 1), dtype=like.dtype)
        cache[key] = buf
    return buf[:like.size].reshape(like.shape)


def coupled_grad(param, grad, weight_decay, maximize):
    """The gradient the update uses: g ← ±g + λθ (L2 weight decay coupled into the gradient,
    sign flipped for ``maximize``), in scratch slot 1; ``grad`` itself when neither applies."""
    if weight_decay == 0 and not maximize:
        return grad
    d = scratch(param, 1)
    if weight_decay != 0:
        np.multiply(param, weight_decay, out=d)
        if maximize:
            d -= grad
        else:
            d += grad
    else:
        np.negative(grad, out=d)
    return d


def _default_threads():
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - not on Linux
        n = os.cpu_count() or 1
    return max(1, min(n, 8))


NUM_THREADS = _default_threads()
_POOL = [None, None]   # (executor, pid that made it)


def _pool():
    if _POOL[0] is None or _POOL[1] != os.getpid():   # a forked child makes its own
        _POOL[0] = ThreadPoolExecutor(max_workers=NUM_THREADS, thread_name_prefix="descend-optim")
        _POOL[1] = os.getpid()
    return _POOL[0]


#: a tensor of at least this many values is split among the threads; below it, handing a part to
#: another thread (about 50 µs to wake it on a 2-core machine) costs more than it saves
PARALLEL_MIN = 1 << 18


def across_threads(fn, arrays, **scalars):
    """``fn(**arrays, **scalars)`` applied to equal consecutive parts of the flattened arrays, one part
    per thread (NumPy releases the GIL inside its loops), like PyTorch's intra-op threads.

    Each thread runs the whole update on its part, so a step costs one hand-off per thread, not one
    per ufunc; the result does not depend on the split since every operation is elementwise.
    ``arrays`` maps argument names to arrays of one size (or None), the first one (the parameter)
    an array; tensors smaller than ``PARALLEL_MIN`` values, or not contiguous, are updated in one
    call."""
    n = next(iter(arrays.values())).size
    k = min(NUM_THREADS, n // (PARALLEL_MIN // 2))
    if n < PARALLEL_MIN or k <= 1 or not all(a is None or (a.flags.c_contiguous and a.size == n)
                                             for a in arrays.values()):
        fn(**arrays, **scalars)
        return
    flats = {name: (None if a is None else a.reshape(-1)) for name, a in arrays.items()}
    bounds = [n * i // k for i in range(k + 1)]

    def run(i):
        lo, hi = bounds[i], bounds[i + 1]
        fn(**{name: (None if a is None else a[lo:hi]) for name, a in flats.items()}, **scalars)

    futures = [_pool().submit(run, i) for i in range(1, k)]
    run(0)
    for f in futures:
        f.result()
