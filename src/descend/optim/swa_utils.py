"""Weight averaging (Polyak–Ruppert / SWA and exponential moving averages) and BatchNorm refresh.

``AveragedModel(model)`` keeps a copy θ̄ of a model's parameters. ``update_parameters(model)``
after each step (or epoch) does, with n the number of models averaged so far:

- first call: θ̄ ← θ;
- SWA (default; equal weights, Polyak–Ruppert): θ̄ ← θ̄ + (θ − θ̄) / (n + 1);
- EMA (``decay=ρ``, e.g. the notes' 0.995): θ̄ ← ρ θ̄ + (1 − ρ) θ (no bias correction).

This is ``torch.optim.swa_utils.AveragedModel`` (``avg_fn`` / ``multi_avg_fn`` as there, acting on
NumPy arrays); ``decay=`` is a shortcut for ``multi_avg_fn=get_ema_multi_avg_fn(decay)``. Buffers
(BatchNorm statistics) are copied from the model unless ``use_buffers=True``, which averages them
too. Since BatchNorm statistics of averaged weights are not the average of the statistics,
``update_bn(loader, model)`` recomputes them with one pass over the data.

Models are duck-typed: ``parameters()``, optionally ``buffers()``, ``modules()``, ``train()``,
``training``, ``state_dict()``/``load_state_dict()``, and calling the model.
"""

import copy
import math

import numpy as np

from ..autodiff.extend import host_op, inplace
from ..autodiff.mode import no_grad
from ..autodiff.tensor import Tensor
from .lr_scheduler import LRScheduler, _format_param
from .hyperparameters import check_number

__all__ = ["AveragedModel", "update_bn", "SWALR", "get_ema_multi_avg_fn", "get_swa_multi_avg_fn", "get_ema_avg_fn",
           "get_swa_avg_fn"]


def get_ema_multi_avg_fn(decay=0.999):
    """In place over lists of arrays: θ̄ ← θ̄ + (1 − ρ)(θ − θ̄) (= ρ θ̄ + (1 − ρ) θ), ρ = ``decay``."""
    check_number("decay", decay, low=0.0, high=1.0)

    def ema_update(averaged, current, num_averaged):
        for a, c in zip(averaged, current):
            a += (1.0 - decay) * (c - a)
    return ema_update


def get_swa_multi_avg_fn():
    """In place over lists of arrays: θ̄ ← θ̄ + (θ − θ̄) / (n + 1)."""
    def swa_update(averaged, current, num_averaged):
        for a, c in zip(averaged, current):
            if a.dtype.kind == "f":
                a += (c - a) * (1.0 / (num_averaged + 1))
            else:
                a += (c - a) // (num_averaged + 1)
    return swa_update


def get_ema_avg_fn(decay=0.999):
    """Per array, returning the new average: ρ θ̄ + (1 − ρ) θ."""
    check_number("decay", decay, low=0.0, high=1.0)

    def ema_update(averaged, current, num_averaged):
        return decay * averaged + (1.0 - decay) * current
    return ema_update


def get_swa_avg_fn():
    """Per array, returning the new average: θ̄ + (θ − θ̄) / (n + 1)."""
    def swa_update(averaged, current, num_averaged):
        return averaged + (current - averaged) / (num_averaged + 1)
    return swa_update


def _buffers(model):
    f = getattr(model, "buffers", None)
    return [b for b in f() if b is not None] if f is not None else []


class AveragedModel:
    """A copy of ``model`` whose parameters are averaged by :meth:`update_parameters` (see the
    module docstring). Calling it runs the averaged copy (``self.module``)."""

    def __init__(self, model, decay=None, avg_fn=None, multi_avg_fn=None, use_buffers=False):
        if decay is not None:
            if avg_fn is not None or multi_avg_fn is not None:
                raise ValueError("give either decay or avg_fn/multi_avg_fn, not both")
            multi_avg_fn = get_ema_multi_avg_fn(decay)
        self.module = copy.deepcopy(model)
        for p in self.module.parameters():
            p.grad = None
        self.decay = decay
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers
        self.n_averaged = 0

    def __call__(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def forward(self, *args, **kwargs):
        """The averaged module's output: ``self.module(*args, **kwargs)``."""
        return self.module(*args, **kwargs)

    def parameters(self):
        """The averaged parameters (θ̄)."""
        return self.module.parameters()

    def _pairs(self, model):
        if self.use_buffers:
            mine = list(self.module.parameters()) + _buffers(self.module)
            theirs = list(model.parameters()) + _buffers(model)
        else:
            mine, theirs = list(self.module.parameters()), list(model.parameters())
        if len(mine) != len(theirs):
            raise ValueError(f"model has {len(theirs)} parameters, the averaged model {len(mine)}")
        for a, b in zip(mine, theirs):
            if a.shape != b.shape:
                raise ValueError(f"parameter shape {b.shape} does not match the averaged one {a.shape}")
        return mine, theirs

    @host_op
    def update_parameters(self, model):
        """Fold ``model``'s current parameters into the average (the first call copies them).

        A host operation: inside a ``dc.compile`` step it is called again at each replay (an EMA
        updated every step compiles with the step)."""
        mine, theirs = self._pairs(model)
        current = [b.data for b in theirs]
        with inplace(*mine) as averaged:
            if self.n_averaged == 0:
                for a, c in zip(averaged, current):
                    a[...] = c
            elif self.multi_avg_fn is not None:
                self.multi_avg_fn(list(averaged), current, self.n_averaged)
            elif self.avg_fn is not None:
                for a, c in zip(averaged, current):
                    a[...] = self.avg_fn(a, c, self.n_averaged)
            else:
                get_swa_multi_avg_fn()(list(averaged), current, self.n_averaged)
        if not self.use_buffers:
            own, model_buffers = _buffers(self.module), _buffers(model)
            with inplace(*own) as arrays:
                for a, b in zip(arrays, model_buffers):
                    a[...] = b.data
        self.n_averaged += 1

    def state_dict(self):
        """The averaged module's state_dict plus ``n_averaged``."""
        sd = dict(self.module.state_dict())
        sd["n_averaged"] = np.array(self.n_averaged, dtype=np.int64)
        return sd

    def load_state_dict(self, state_dict):
        """Restore the averaged module's weights and ``n_averaged`` from what ``state_dict`` returned."""
        sd = dict(state_dict)
        n = sd.pop("n_averaged")
        self.n_averaged = int(n.data if isinstance(n, Tensor) else np.asarray(n))
        self.module.load_state_dict(sd)

    def __repr__(self):
        kind = "SWA" if self.decay is None and self.avg_fn is None and self.multi_avg_fn is None else \
            (f"EMA(decay={self.decay})" if self.decay is not None else "custom")
        return f"AveragedModel({kind}, n_averaged={self.n_averaged}, module={self.module!r})"


def _is_bn(m):
    return all(hasattr(m, a) for a in ("running_mean", "running_var", "momentum", "num_batches_tracked")) \
        and getattr(m, "running_mean", None) is not None


def _set(t, value):
    if isinstance(t, Tensor):
        with inplace(t) as (a,):
            a[...] = value
        return t
    if isinstance(t, np.ndarray):
        t[...] = value
        return t
    return value


def update_bn(loader, model):
    """Recompute the running statistics of every BatchNorm layer of ``model`` (found by duck
    typing: ``running_mean``, ``running_var``, ``momentum``, ``num_batches_tracked``) with one pass
    over ``loader`` in training mode, using the cumulative average (momentum=None) so that every
    batch counts equally. Batches that are lists/tuples use their first element as the input."""
    mods = model.modules() if hasattr(model, "modules") else [model]
    bns = [m for m in mods if _is_bn(m)]
    if not bns:
        return
    momenta = {}
    for m in bns:
        if hasattr(m, "reset_running_stats"):
            m.reset_running_stats()
        else:
            _set(m.running_mean, 0.0)
            _set(m.running_var, 1.0)
            m.num_batches_tracked = _set(m.num_batches_tracked, 0)
        momenta[m] = m.momentum
        m.momentum = None
    was_training = getattr(model, "training", True)
    if hasattr(model, "train"):
        model.train()
    try:
        with no_grad():
            for batch in loader:
                if isinstance(batch, (list, tuple)):
                    batch = batch[0]
                model(batch)
    finally:
        for m, mom in momenta.items():
            m.momentum = mom
        if hasattr(model, "train"):
            model.train(was_training)


class SWALR(LRScheduler):
    """The SWA learning-rate schedule (PyTorch's ``SWALR``): anneal each group's rate from its
    current value to ``swa_lr`` over ``anneal_epochs`` steps, then hold it. With a = the
    annealing fraction after e steps (cos: (1 − cos(π e/n))/2, linear: e/n, capped at 1),
    ε_e = a · swa_lr + (1 − a) · ε_start."""

    def __init__(self, optimizer, swa_lr, anneal_epochs=10, anneal_strategy="cos", last_epoch=-1):
        for v, group in zip(_format_param("swa_lr", optimizer, swa_lr), optimizer.param_groups):
            check_number("swa_lr", v, low=0.0)
            group["swa_lr"] = v
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"Invalid anneal_strategy={anneal_strategy!r}: expected 'cos' or 'linear'")
        if isinstance(anneal_epochs, bool) or not isinstance(anneal_epochs, int) or anneal_epochs < 0:
            raise ValueError(f"Invalid anneal_epochs={anneal_epochs!r}: expected an integer >= 0")
        self._anneal_strategy = anneal_strategy
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    def anneal_func(self, t):
        """The annealing fraction at t ∈ [0, 1]."""
        return (1 - math.cos(math.pi * t)) / 2 if self._anneal_strategy == "cos" else t

    @staticmethod
    def _initial_lr(lr, swa_lr, alpha):
        return swa_lr if alpha == 1 else (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self):
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_alpha = self.anneal_func(max(0, min(1, (step - 1) / max(1, self.anneal_epochs))))
        prev = [self._initial_lr(g["lr"], g["swa_lr"], prev_alpha) for g in self.optimizer.param_groups]
        alpha = self.anneal_func(max(0, min(1, step / max(1, self.anneal_epochs))))
        return [g["swa_lr"] * alpha + lr * (1 - alpha) for g, lr in zip(self.optimizer.param_groups, prev)]
