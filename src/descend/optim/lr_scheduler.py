"""Learning-rate schedules, with PyTorch's semantics (``torch.optim.lr_scheduler``).

Protocol: build the scheduler after the optimizer (this sets each group's ``initial_lr`` and
performs step 0), then per epoch (or iteration) call ``optimizer.step()`` and then
``scheduler.step()``. ``get_last_lr()`` gives the current rates. Schedules are *chainable*: most
compute the new rate from the group's current ``lr``, so two schedulers can act on one optimizer
(``ChainedScheduler``). A warning is given only when ``scheduler.step()`` is called before any
``optimizer.step()`` (the first value of the schedule would be skipped).

Notation: ε₀ = the group's initial rate (``base_lrs``), e = ``last_epoch`` (steps taken), ε_e the
rate after e steps.

==========================  ==============================================================
``LambdaLR(f)``             ε_e = ε₀ · f(e)
``MultiplicativeLR(f)``     ε_e = ε_{e−1} · f(e)
``StepLR(s, γ)``            ε_e = ε₀ · γ^⌊e/s⌋  (staircase)
``MultiStepLR(M, γ)``       ε_e = ε₀ · γ^(number of milestones ≤ e)
``ConstantLR(f, n)``        ε_e = ε₀ · f for e < n, then ε₀
``LinearLR(a, b, n)``       ε_e = ε₀ · (a + (b − a) · min(e, n)/n)
``ExponentialLR(γ)``        ε_e = ε₀ · γᵉ
``InverseTimeDecay(δ)``     ε_e = ε₀ / (1 + δ e)  (the notes' progressive decay; not in PyTorch)
``PolynomialLR(n, p)``      ε_e = ε₀ · (1 − min(e, n)/n)^p
``CosineAnnealingLR(T)``    ε_e = ε_min + (ε₀ − ε_min)(1 + cos(π e/T))/2
``CosineAnnealingWarm``     as above with e → T_cur, restarted every T_i epochs, T_i ← T_i·T_mult
``Restarts(T_0, T_mult)``   (SGDR, Loshchilov & Hutter 2017)
``CyclicLR``                triangular / triangular2 / exp_range cycles (Smith 2015), cycling
                            momentum (or β₁) inversely when ``cycle_momentum``
``OneCycleLR``              warm up to max_lr then anneal to max_lr/(div·final_div)
``SequentialLR``            one scheduler after another at the milestones
``ChainedScheduler``        several schedulers stepped together (their factors multiply)
``ReduceLROnPlateau``       ε ← max(ε·factor, min_lr) after ``patience`` epochs without improvement
==========================  ==============================================================

``state_dict()`` holds every attribute but the optimizer. Functions given to ``LambdaLR`` /
``MultiplicativeLR`` (and ``CyclicLR``'s ``scale_fn``) are not saved, as in PyTorch: rebuild the
scheduler with the same functions, then ``load_state_dict`` (callable objects get their
``__dict__`` saved and restored).
"""

import copy
import math
import types
import warnings
from bisect import bisect_right
from collections import Counter

from .optimizer import Optimizer

__all__ = ["LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR",
           "ExponentialLR", "InverseTimeDecay", "PolynomialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts",
           "CyclicLR", "OneCycleLR", "SequentialLR", "ChainedScheduler", "MetricScheduler", "ReduceLROnPlateau"]


def _check(name, value, cond, expected):
    if isinstance(value, bool) or not cond(value):
        raise ValueError(f"Invalid {name}={value!r}: expected {expected}")


def _is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and not math.isnan(v)


def _pos_int(name, v):
    _check(name, v, lambda x: isinstance(x, int) and x > 0, "a positive integer")


def _check_optimizer(optimizer):
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")


def _format_param(name, optimizer, param):
    if isinstance(param, (list, tuple)):
        if len(param) != len(optimizer.param_groups):
            raise ValueError(f"expected {len(optimizer.param_groups)} values for {name}, got {len(param)}")
        return list(param)
    return [param] * len(optimizer.param_groups)


class LRScheduler:
    """Base class: subclasses define ``get_lr()`` (chainable, from the groups' current ``lr``) and
    optionally ``_get_closed_form_lr()`` (used when ``step(epoch)`` is given an explicit epoch)."""

    _is_initial = False

    def __init__(self, optimizer, last_epoch=-1):
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        if last_epoch == -1:
            for group in optimizer.param_groups:
                group.setdefault("initial_lr", group["lr"])
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}] when resuming a "
                                   "scheduler with last_epoch >= 0 (load the optimizer's state first)")
        self.base_lrs = [group["initial_lr"] for group in optimizer.param_groups]
        self.last_epoch = last_epoch
        self._initial_step()

    def _initial_step(self):
        self._step_count = 0
        self._is_initial = True
        try:
            self.step()
        finally:
            self._is_initial = False

    def state_dict(self):
        """Every attribute except the optimizer (a deep copy)."""
        return copy.deepcopy({k: v for k, v in self.__dict__.items() if k != "optimizer"})

    def load_state_dict(self, state_dict):
        """Restore attributes saved by :meth:`state_dict`."""
        self.__dict__.update(state_dict)

    def get_last_lr(self):
        """The learning rates (one per group) set by the last ``step``."""
        return self._last_lr

    def get_lr(self):
        raise TypeError(f"{type(self).__name__} must define get_lr()")

    def _warn_order(self):
        if self._step_count == 1 and getattr(self.optimizer, "_step_count", 1) == 0:
            warnings.warn("Detected call of `lr_scheduler.step()` before `optimizer.step()`: call "
                          "`optimizer.step()` first, or the first value of the learning-rate schedule is skipped.",
                          UserWarning, stacklevel=3)

    def step(self, epoch=None):
        """Advance one epoch (or set ``last_epoch = epoch`` and use the closed form) and write the
        new rates into the optimizer's groups."""
        self._warn_order()
        self._step_count += 1
        self._update_lr(epoch)

    def _update_lr(self, epoch=None):
        if epoch is None:
            self.last_epoch += 1
            values = self.get_lr()
        else:
            self.last_epoch = epoch
            values = self._get_closed_form_lr() if hasattr(self, "_get_closed_form_lr") else self.get_lr()
        for group, lr in zip(self.optimizer.param_groups, values):
            group["lr"] = lr
        self._last_lr = [group["lr"] for group in self.optimizer.param_groups]

    def _lrs(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def __repr__(self):
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr={getattr(self, '_last_lr', None)})"


class _LambdaBase(LRScheduler):
    def __init__(self, optimizer, lr_lambda, last_epoch=-1):
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        if isinstance(lr_lambda, (list, tuple)):
            if len(lr_lambda) != len(optimizer.param_groups):
                raise ValueError(f"Expected {len(optimizer.param_groups)} lr_lambdas, but got {len(lr_lambda)}")
            self.lr_lambdas = list(lr_lambda)
        else:
            self.lr_lambdas = [lr_lambda] * len(optimizer.param_groups)
        for f in self.lr_lambdas:
            if not callable(f):
                raise TypeError(f"lr_lambda should be a function, but got {type(f).__name__}")
        super().__init__(optimizer, last_epoch)

    def state_dict(self):
        """As the base, but functions are saved as None (callable objects as their ``__dict__``)."""
        sd = copy.deepcopy({k: v for k, v in self.__dict__.items() if k not in ("optimizer", "lr_lambdas")})
        sd["lr_lambdas"] = [None if isinstance(f, types.FunctionType) else dict(f.__dict__) for f in self.lr_lambdas]
        return sd

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        lambdas = state_dict.pop("lr_lambdas")
        self.__dict__.update(state_dict)
        for f, saved in zip(self.lr_lambdas, lambdas):
            if saved is not None:
                f.__dict__.update(saved)


class LambdaLR(_LambdaBase):
    """ε_e = ε₀ · f(e), ``f = lr_lambda`` (one function, or one per group)."""

    def get_lr(self):
        return [base * f(self.last_epoch) for f, base in zip(self.lr_lambdas, self.base_lrs)]


class MultiplicativeLR(_LambdaBase):
    """ε_e = ε_{e−1} · f(e) for e ≥ 1."""

    def get_lr(self):
        if self._is_initial:
            return self._lrs()
        return [g["lr"] * f(self.last_epoch) for f, g in zip(self.lr_lambdas, self.optimizer.param_groups)]


class StepLR(LRScheduler):
    """Staircase decay: ε_e = ε₀ · γ^⌊e / step_size⌋."""

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        _pos_int("step_size", step_size)
        _check("gamma", gamma, lambda x: _is_num(x) and x >= 0, "a number >= 0")
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:
            return self._lrs()
        return [g["lr"] * self.gamma for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [b * self.gamma ** (self.last_epoch // self.step_size) for b in self.base_lrs]


class MultiStepLR(LRScheduler):
    """ε_e = ε₀ · γ^k, k = the number of milestones ≤ e."""

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        milestones = list(milestones)
        for m in milestones:
            _check("milestone", m, lambda x: isinstance(x, int) and x >= 0, "an integer >= 0")
        _check("gamma", gamma, lambda x: _is_num(x) and x >= 0, "a number >= 0")
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch not in self.milestones:
            return self._lrs()
        return [g["lr"] * self.gamma ** self.milestones[self.last_epoch] for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        ms = sorted(self.milestones.elements())
        return [b * self.gamma ** bisect_right(ms, self.last_epoch) for b in self.base_lrs]


class ConstantLR(LRScheduler):
    """ε_e = ε₀ · factor for e < total_iters, then ε₀."""

    def __init__(self, optimizer, factor=1.0 / 3, total_iters=5, last_epoch=-1):
        _check("factor", factor, lambda x: _is_num(x) and 0 <= x <= 1, "a number in [0, 1]")
        _check("total_iters", total_iters, lambda x: isinstance(x, int) and x >= 0, "an integer >= 0")
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [g["lr"] * self.factor for g in self.optimizer.param_groups]
        if self.last_epoch != self.total_iters:
            return self._lrs()
        return [g["lr"] * (1.0 / self.factor) for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [b * (self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor)) for b in self.base_lrs]


class LinearLR(LRScheduler):
    """ε_e = ε₀ · (a + (b − a) · min(e, n)/n), a = start_factor, b = end_factor, n = total_iters."""

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5, last_epoch=-1):
        _check("start_factor", start_factor, lambda x: _is_num(x) and 0 < x <= 1, "a number in (0, 1]")
        _check("end_factor", end_factor, lambda x: _is_num(x) and 0 <= x <= 1, "a number in [0, 1]")
        _pos_int("total_iters", total_iters)
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self.last_epoch == 0:
            return [g["lr"] * self.start_factor for g in self.optimizer.param_groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._lrs()
        a, b, n = self.start_factor, self.end_factor, self.total_iters
        return [g["lr"] * (1.0 + (b - a) / (n * a + (self.last_epoch - 1) * (b - a)))
                for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        a, b, n = self.start_factor, self.end_factor, self.total_iters
        return [base * (a + (b - a) * min(n, self.last_epoch) / n) for base in self.base_lrs]


class ExponentialLR(LRScheduler):
    """ε_e = ε₀ · γᵉ (e.g. γ = 0.999 per step)."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        _check("gamma", gamma, lambda x: _is_num(x) and x >= 0, "a number >= 0")
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial:
            return self._lrs()
        return [g["lr"] * self.gamma for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [b * self.gamma ** self.last_epoch for b in self.base_lrs]


class InverseTimeDecay(LRScheduler):
    """The notes' progressive decay ε_e = ε₀ / (1 + δ e), δ = ``decay_rate`` (not in PyTorch;
    LambdaLR(lambda e: 1 / (1 + δ e)) gives the same rates). Chainable: ε_e = ε_{e−1} ·
    (1 + δ(e − 1)) / (1 + δ e)."""

    def __init__(self, optimizer, decay_rate, last_epoch=-1):
        _check("decay_rate", decay_rate, lambda x: _is_num(x) and x >= 0, "a number >= 0")
        self.decay_rate = decay_rate
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial or self.last_epoch == 0:
            return self._lrs()
        d, e = self.decay_rate, self.last_epoch
        return [g["lr"] * (1.0 + d * (e - 1)) / (1.0 + d * e) for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [b / (1.0 + self.decay_rate * self.last_epoch) for b in self.base_lrs]


class PolynomialLR(LRScheduler):
    """ε_e = ε₀ · (1 − min(e, n)/n)^p, n = total_iters, p = power."""

    def __init__(self, optimizer, total_iters=5, power=1.0, last_epoch=-1):
        _pos_int("total_iters", total_iters)
        _check("power", power, lambda x: _is_num(x) and x >= 0, "a number >= 0")
        self.total_iters = total_iters
        self.power = power
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        if self._is_initial or self.last_epoch > self.total_iters:
            return self._lrs()
        n, e = self.total_iters, self.last_epoch
        f = ((1.0 - e / n) / (1.0 - (e - 1) / n)) ** self.power
        return [g["lr"] * f for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [b * (1.0 - min(self.total_iters, self.last_epoch) / self.total_iters) ** self.power
                for b in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    """ε_e = ε_min + (ε₀ − ε_min)(1 + cos(π e / T_max)) / 2 (PyTorch's recursive form, which
    keeps following the cosine past T_max)."""

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        _check("T_max", T_max, lambda x: _is_num(x) and x > 0, "a number > 0")
        _check("eta_min", eta_min, lambda x: _is_num(x) and x >= 0, "a number >= 0")
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        e, T, m = self.last_epoch, self.T_max, self.eta_min
        if self._is_initial:
            return self._lrs()
        if self._step_count == 1 and e > 0:
            return [m + (b - m) * (1 + math.cos(e * math.pi / T)) / 2 for b in self.base_lrs]
        if (e - 1 - T) % (2 * T) == 0:
            return [g["lr"] + (b - m) * (1 - math.cos(math.pi / T)) / 2
                    for b, g in zip(self.base_lrs, self.optimizer.param_groups)]
        return [(1 + math.cos(math.pi * e / T)) / (1 + math.cos(math.pi * (e - 1) / T)) * (g["lr"] - m) + m
                for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        return [self.eta_min + (b - self.eta_min) * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for b in self.base_lrs]


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR: ε = ε_min + (ε₀ − ε_min)(1 + cos(π T_cur / T_i)) / 2; T_cur counts epochs since the
    last restart, a restart happens when T_cur reaches T_i, and then T_i ← T_i · T_mult.
    ``step(epoch)`` accepts fractional epochs (``epoch + i / iters_per_epoch``)."""

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):
        _pos_int("T_0", T_0)
        _check("T_mult", T_mult, lambda x: isinstance(x, int) and x >= 1, "an integer >= 1")
        _check("eta_min", eta_min, lambda x: _is_num(x) and x >= 0, "a number >= 0")
        self.T_0 = T_0
        self.T_i = T_0
        self.T_mult = T_mult
        self.eta_min = eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        return [self.eta_min + (b - self.eta_min) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
                for b in self.base_lrs]

    def step(self, epoch=None):
        """Advance one epoch, or jump to (possibly fractional) ``epoch``."""
        self._warn_order()
        self._step_count += 1
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            if epoch < 0:
                raise ValueError(f"Expected non-negative epoch, but got {epoch}")
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    n = int(math.log(epoch / self.T_0 * (self.T_mult - 1) + 1, self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult ** n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult ** n
            else:
                self.T_i = self.T_0
                self.T_cur = epoch
        self.last_epoch = math.floor(epoch)
        for g, lr in zip(self.optimizer.param_groups, self.get_lr()):
            g["lr"] = lr
        self._last_lr = self._lrs()


class CyclicLR(LRScheduler):
    """Cyclical learning rates (Smith 2015), stepped every batch.

    With L = up + down, cycle c = ⌊1 + e/L⌋, x = 1 + e/L − c, r = up/L: scale s = x/r if x ≤ r
    else (x − 1)/(r − 1); ε = base_lr + (max_lr − base_lr) · s · f, f = 1 (triangular),
    1/2^(c−1) (triangular2), γᵉ (exp_range) or ``scale_fn``. With ``cycle_momentum`` (default, as
    PyTorch, even for SGD(momentum=0)) the momentum (or Adam's β₁) moves the other way:
    μ = max_momentum − (max_momentum − base_momentum) · s · f.
    """

    def __init__(self, optimizer, base_lr, max_lr, step_size_up=2000, step_size_down=None, mode="triangular",
                 gamma=1.0, scale_fn=None, scale_mode="cycle", cycle_momentum=True, base_momentum=0.8,
                 max_momentum=0.9, last_epoch=-1):
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        base_lrs = _format_param("base_lr", optimizer, base_lr)
        for v in base_lrs:
            _check("base_lr", v, lambda x: _is_num(x) and x >= 0, "a number >= 0")
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups):
                group["lr"] = lr
        self.max_lrs = _format_param("max_lr", optimizer, max_lr)
        for v in self.max_lrs:
            _check("max_lr", v, lambda x: _is_num(x) and x >= 0, "a number >= 0")
        _check("step_size_up", step_size_up, lambda x: _is_num(x) and x > 0, "a number > 0")
        if step_size_down is not None:
            _check("step_size_down", step_size_down, lambda x: _is_num(x) and x >= 0, "a number >= 0")
        step_size_up = float(step_size_up)
        step_size_down = float(step_size_down) if step_size_down is not None else step_size_up
        self.total_size = step_size_up + step_size_down
        self.step_ratio = step_size_up / self.total_size
        if mode not in ("triangular", "triangular2", "exp_range") and scale_fn is None:
            raise ValueError(f"Invalid mode={mode!r}: expected 'triangular', 'triangular2' or 'exp_range' "
                             "(or give scale_fn)")
        if scale_mode not in ("cycle", "iterations"):
            raise ValueError(f"Invalid scale_mode={scale_mode!r}: expected 'cycle' or 'iterations'")
        self.mode = mode
        self.gamma = gamma
        self._scale_fn_custom = scale_fn
        self.scale_mode = scale_mode
        self._init_scale_fn()
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError("optimizer must support momentum or beta1 with `cycle_momentum` option enabled")
            self.use_beta1 = "betas" in optimizer.defaults
            self.base_momentums = _format_param("base_momentum", optimizer, base_momentum)
            self.max_momentums = _format_param("max_momentum", optimizer, max_momentum)
            if last_epoch == -1:
                for m, b, group in zip(self.max_momentums, self.base_momentums, optimizer.param_groups):
                    if self.use_beta1:
                        group["betas"] = (m, *group["betas"][1:])
                    else:
                        group["momentum"] = m
                    group["max_momentum"] = m
                    group["base_momentum"] = b
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def _init_scale_fn(self):
        if self._scale_fn_custom is not None:
            return
        if self.mode in ("triangular", "triangular2"):
            self.scale_mode = "cycle"
        else:
            self.scale_mode = "iterations"

    def scale_fn(self, x):
        """f(x): the amplitude factor of the cycle (x = cycle number or iteration)."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma ** x

    def get_lr(self):
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        s = x / self.step_ratio if x <= self.step_ratio else (x - 1) / (self.step_ratio - 1)
        arg = cycle if self.scale_mode == "cycle" else self.last_epoch
        lrs = [b + (m - b) * s * self.scale_fn(arg) for b, m in zip(self.base_lrs, self.max_lrs)]
        if self.cycle_momentum:
            moms = [mx - (mx - b) * s * self.scale_fn(arg) for b, mx in zip(self.base_momentums, self.max_momentums)]
            for group, mom in zip(self.optimizer.param_groups, moms):
                if self.use_beta1:
                    group["betas"] = (mom, *group["betas"][1:])
                else:
                    group["momentum"] = mom
        return lrs

    def state_dict(self):
        sd = super().state_dict()
        fn = sd.pop("_scale_fn_custom")
        sd["_scale_fn_custom"] = None if fn is None or isinstance(fn, types.FunctionType) else dict(fn.__dict__)
        return sd

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        fn = state_dict.pop("_scale_fn_custom")
        super().load_state_dict(state_dict)
        if fn is not None:
            self._scale_fn_custom.__dict__.update(fn)
        self._init_scale_fn()


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin 2018), stepped every batch: from max_lr/div_factor up to
    max_lr over ``pct_start`` of ``total_steps``, then down to max_lr/(div_factor·final_div_factor)
    (cosine or linear annealing); momentum (or β₁) cycles inversely between max and base."""

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None, pct_start=0.3,
                 anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85, max_momentum=0.95, div_factor=25.0,
                 final_div_factor=1e4, three_phase=False, last_epoch=-1):
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        if total_steps is not None:
            _pos_int("total_steps", total_steps)
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            _pos_int("epochs", epochs)
            _pos_int("steps_per_epoch", steps_per_epoch)
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")
        _check("pct_start", pct_start, lambda x: _is_num(x) and 0 <= x <= 1, "a number in [0, 1]")
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"Invalid anneal_strategy={anneal_strategy!r}: expected 'cos' or 'linear'")
        _check("div_factor", div_factor, lambda x: _is_num(x) and x > 0, "a number > 0")
        _check("final_div_factor", final_div_factor, lambda x: _is_num(x) and x > 0, "a number > 0")
        n = self.total_steps
        if three_phase:
            self._schedule_phases = [
                dict(end_step=float(pct_start * n) - 1, start_lr="initial_lr", end_lr="max_lr",
                     start_momentum="max_momentum", end_momentum="base_momentum"),
                dict(end_step=float(2 * pct_start * n) - 2, start_lr="max_lr", end_lr="initial_lr",
                     start_momentum="base_momentum", end_momentum="max_momentum"),
                dict(end_step=n - 1, start_lr="initial_lr", end_lr="min_lr",
                     start_momentum="max_momentum", end_momentum="max_momentum")]
        else:
            self._schedule_phases = [
                dict(end_step=float(pct_start * n) - 1, start_lr="initial_lr", end_lr="max_lr",
                     start_momentum="max_momentum", end_momentum="base_momentum"),
                dict(end_step=n - 1, start_lr="max_lr", end_lr="min_lr",
                     start_momentum="base_momentum", end_momentum="max_momentum")]
        self._anneal_func_type = anneal_strategy
        max_lrs = _format_param("max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for m, group in zip(max_lrs, optimizer.param_groups):
                group["initial_lr"] = m / div_factor
                group["max_lr"] = m
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
                raise ValueError("optimizer must support momentum or beta1 with `cycle_momentum` option enabled")
            self.use_beta1 = "betas" in optimizer.defaults
            maxm = _format_param("max_momentum", optimizer, max_momentum)
            basem = _format_param("base_momentum", optimizer, base_momentum)
            if last_epoch == -1:
                for m, b, group in zip(maxm, basem, optimizer.param_groups):
                    if self.use_beta1:
                        group["betas"] = (m, *group["betas"][1:])
                    else:
                        group["momentum"] = m
                    group["max_momentum"] = m
                    group["base_momentum"] = b
        super().__init__(optimizer, last_epoch)

    def _anneal(self, start, end, pct):
        if self._anneal_func_type == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def get_lr(self):
        step = self.last_epoch
        if step > self.total_steps:
            raise ValueError(f"Tried to step {step} times. The specified number of total steps is {self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, ph in enumerate(self._schedule_phases):
                end = ph["end_step"]
                if step <= end or i == len(self._schedule_phases) - 1:
                    pct = (step - start) / (end - start)
                    lr = self._anneal(group[ph["start_lr"]], group[ph["end_lr"]], pct)
                    if self.cycle_momentum:
                        mom = self._anneal(group[ph["start_momentum"]], group[ph["end_momentum"]], pct)
                    break
                start = ph["end_step"]
            lrs.append(lr)
            if self.cycle_momentum:
                if self.use_beta1:
                    group["betas"] = (mom, *group["betas"][1:])
                else:
                    group["momentum"] = mom
        return lrs


def _check_sub(owner, optimizer, schedulers):
    for i, s in enumerate(schedulers):
        if not hasattr(s, "optimizer"):
            raise TypeError(f"{owner} at index {i} should have `optimizer` as its attribute")
        if isinstance(s, ReduceLROnPlateau):
            raise ValueError(f"{owner} does not support `ReduceLROnPlateau` (its step needs the metric); "
                             f"got one at index {i}")
        if s.optimizer is not optimizer:
            raise ValueError(f"{owner} expects all schedulers to belong to the same optimizer, but scheduler "
                             f"{type(s).__name__} at index {i} has another one")


class SequentialLR(LRScheduler):
    """Run ``schedulers[0]`` until ``milestones[0]``, then ``schedulers[1]`` (restarted from its
    epoch 0), and so on."""

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        if len(schedulers) < 1:
            raise ValueError("SequentialLR expects at least one scheduler, but got none")
        _check_sub("SequentialLR", optimizer, schedulers)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR expects one milestone fewer than schedulers, got {len(schedulers)} "
                             f"schedulers and {len(milestones)} milestones")
        self._schedulers = list(schedulers)
        self._milestones = list(milestones)
        self.last_epoch = last_epoch + 1
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        self._recursive_undo()
        idx = bisect_right(self._milestones, 0)
        self._schedulers[idx]._initial_step()
        self._last_lr = self._schedulers[idx].get_last_lr()
        self._step_count = 1

    def _recursive_undo(self, sched=None):
        scheds = self if sched is None else sched
        if hasattr(scheds, "_schedulers"):
            for s in scheds._schedulers:
                self._recursive_undo(s)
        elif hasattr(scheds, "last_epoch"):
            scheds.last_epoch -= 1

    def step(self):
        """Step the scheduler active at the new epoch (restarting it at a milestone)."""
        self.last_epoch += 1
        idx = bisect_right(self._milestones, self.last_epoch)
        s = self._schedulers[idx]
        if idx > 0 and self._milestones[idx - 1] == self.last_epoch:
            s._update_lr(0)
        else:
            s.step()
        self._last_lr = s.get_last_lr()

    def state_dict(self):
        sd = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        sd["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return sd

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        subs = state_dict.pop("_schedulers")
        self.__dict__.update(state_dict)
        for s, sd in zip(self._schedulers, subs):
            s.load_state_dict(sd)


class ChainedScheduler(LRScheduler):
    """Step several (chainable) schedulers together on one optimizer: their factors multiply."""

    def __init__(self, schedulers, optimizer=None):
        if len(schedulers) < 1:
            raise ValueError("ChainedScheduler expects at least one scheduler to be chained, but got none")
        optimizer = optimizer or schedulers[0].optimizer
        _check_sub("ChainedScheduler", optimizer, schedulers)
        self._schedulers = list(schedulers)
        self.optimizer = optimizer
        self._last_lr = [g["lr"] for g in optimizer.param_groups]

    def step(self):
        """Step every scheduler in order."""
        for s in self._schedulers:
            s.step()
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    state_dict = SequentialLR.state_dict
    load_state_dict = SequentialLR.load_state_dict


class MetricScheduler(LRScheduler):
    """A schedule driven by a measured metric instead of the step count: ``step(metric)``.

    Code that steps schedulers (the Trainer's callback, the command line) asks
    ``isinstance(s, MetricScheduler)`` to know whether ``step()`` takes a metric.
    """


class ReduceLROnPlateau(MetricScheduler):
    """Reduce ε when a metric stops improving: ``step(metric)`` once per epoch.

    An improvement is metric < best·(1 − threshold) (mode "min", threshold_mode "rel"; "abs" uses
    best − threshold; mode "max" the mirror images). After more than ``patience`` epochs without
    one, ε ← max(ε · factor, min_lr) (skipped if the change is ≤ eps), then ``cooldown`` epochs
    during which bad epochs are not counted. (Keras reduces one epoch earlier: wait ≥ patience.)
    """

    def __init__(self, optimizer, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                 cooldown=0, min_lr=0, eps=1e-8):
        _check_optimizer(optimizer)
        _check("factor", factor, lambda x: _is_num(x) and 0 <= x < 1, "a number in [0, 1)")
        _check("patience", patience, lambda x: isinstance(x, int) and x >= 0, "an integer >= 0")
        _check("cooldown", cooldown, lambda x: isinstance(x, int) and x >= 0, "an integer >= 0")
        _check("threshold", threshold, lambda x: _is_num(x) and x >= 0, "a number >= 0")
        _check("eps", eps, lambda x: _is_num(x) and x >= 0, "a number >= 0")
        self.factor = factor
        self.optimizer = optimizer
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != len(optimizer.param_groups):
                raise ValueError(f"expected {len(optimizer.param_groups)} min_lrs, got {len(min_lr)}")
            self.default_min_lr = None
            self.min_lrs = list(min_lr)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * len(optimizer.param_groups)
        for m in self.min_lrs:
            _check("min_lr", m, lambda x: _is_num(x) and x >= 0, "a number >= 0")
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.last_epoch = 0
        self._last_lr = [g["lr"] for g in optimizer.param_groups]
        if mode not in ("min", "max"):
            raise ValueError(f"Invalid mode={mode!r}: expected 'min' or 'max'")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"Invalid threshold_mode={threshold_mode!r}: expected 'rel' or 'abs'")
        self.mode = mode
        self.threshold = threshold
        self.threshold_mode = threshold_mode
        self.mode_worse = math.inf if mode == "min" else -math.inf
        self._reset()

    def _reset(self):
        self.best = self.mode_worse
        self.cooldown_counter = 0
        self.num_bad_epochs = 0

    @property
    def in_cooldown(self):
        return self.cooldown_counter > 0

    def is_better(self, a, best):
        """Whether metric ``a`` improves on ``best`` by more than the threshold."""
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - self.threshold)
        if self.mode == "min":
            return a < best - self.threshold
        if self.threshold_mode == "rel":
            return a > best * (self.threshold + 1.0)
        return a > best + self.threshold

    def step(self, metrics):
        """Record this epoch's metric and reduce the rates if it has plateaued."""
        current = float(metrics)
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best = current
            self.num_bad_epochs = 0
        else:
            self.num_bad_epochs += 1
        if self.in_cooldown:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            if len(self.optimizer.param_groups) != len(self.min_lrs):
                if self.default_min_lr is None:
                    raise ValueError(f"the optimizer has {len(self.optimizer.param_groups)} groups but min_lr lists "
                                     f"{len(self.min_lrs)}")
                self.min_lrs = [self.default_min_lr] * len(self.optimizer.param_groups)
            for i, group in enumerate(self.optimizer.param_groups):
                old = float(group["lr"])
                new = max(old * self.factor, self.min_lrs[i])
                if old - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter = self.cooldown
            self.num_bad_epochs = 0
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]
