"""PyTorch's learning-rate schedulers (``torch.optim.lr_scheduler``) as thin stateful wrappers over
the pure schedules of :mod:`descend.optim.schedules`.

Protocol (PyTorch's): build the scheduler after the optimizer (this sets each group's
``initial_lr`` and performs step 0), then per epoch (or iteration) call ``optimizer.step()`` and then
``scheduler.step()``. ``get_last_lr()`` gives the current rates. A warning is given only when
``scheduler.step()`` is called before any ``optimizer.step()`` (the first value would be skipped).

Every formula lives once, in ``schedules``. A scheduler holds its settings and the step count
e = ``last_epoch`` and writes ε_e into the groups. With ε₀ the group's initial rate:

==========================  ==============================================================
``LambdaLR(f)``             ε_e = ε₀ · f(e)
``MultiplicativeLR(f)``     ε_e = ε_{e−1} · f(e)
``StepLR(s, γ)``            ε₀ · ``schedules.step_decay(1, s, γ)``(e) = ε₀ · γ^⌊e/s⌋
``MultiStepLR(M, γ)``       ε₀ · ``schedules.multistep(1, M, γ)``(e)
``ConstantLR(f, n)``        ε₀ · f for e < n, then ε₀
``LinearLR(a, b, n)``       ε₀ · ``schedules.linear(a, b, n)``(e)
``ExponentialLR(γ)``        ε₀ · ``schedules.exponential(1, γ)``(e) = ε₀ · γᵉ
``InverseTimeDecay(δ)``     ε₀ · ``schedules.inverse_time(1, δ)``(e) = ε₀ / (1 + δ e) (the notes'
                            progressive decay; not in PyTorch)
``PolynomialLR(n, p)``      ε₀ · ``schedules.polynomial(1, n, p)``(e)
``CosineAnnealingLR(T)``    ε_min + (ε₀ − ε_min) · ``schedules.cosine(1, T)``(e)
``CosineAnnealingWarm``     ``schedules.warm_restarts(ε₀, T_0, T_mult, ε_min)``(e) (SGDR; e may be
``Restarts(T_0, T_mult)``   fractional)
``CyclicLR``                ``schedules.cyclic(base_lr, max_lr, ...)``(e); momentum (or β₁) cycles the
                            other way, ``schedules.cyclic(max_momentum, base_momentum, ...)``
``OneCycleLR``              ``schedules.one_cycle(max_lr, total_steps, ...)``(e), momentum inversely
``SequentialLR``            one scheduler after another at the milestones (``join_schedules``)
``ChainedScheduler``        several schedulers stepped together (their factors multiply)
``ReduceLROnPlateau``       ε ← max(ε·factor, min_lr) after ``patience`` epochs without improvement
==========================  ==============================================================

**Chaining.** As in PyTorch, the schedules of the form ε_min + (ε₀ − ε_min)·c(e) (StepLR to
CosineAnnealingLR above) are *chainable*: each step multiplies the group's current rate by the
schedule's own change, ε ← ε_min + (ε − ε_min)·c(e)/c(e−1) (ε ← ε + (ε₀ − ε_min)·(c(e) − c(e−1))
where c(e−1) = 0), so two of them on one optimizer (``ChainedScheduler``) multiply their factors;
``step(epoch)`` with an explicit epoch uses the closed form ε_min + (ε₀ − ε_min)·c(e). The others
write their closed form. Results equal PyTorch's to rounding (the closed and chained forms differ
in the last bits, ≤ 1e-12 relative over hundreds of steps).

The one scheduler driven by a measured metric instead of the step count is ``ReduceLROnPlateau``;
its base class :class:`MetricScheduler` says so (``step(metric)``), and code that steps schedulers
asks ``isinstance(s, MetricScheduler)``, never the name.

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

import numpy as np

from ..autodiff.extend import host_op, wrap
from . import schedules, sgd
from .hyperparameters import check_number
from .optimizer import Optimizer

__all__ = ["LRScheduler", "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR",
           "ExponentialLR", "InverseTimeDecay", "PolynomialLR", "CosineAnnealingLR", "CosineAnnealingWarmRestarts",
           "CyclicLR", "OneCycleLR", "SequentialLR", "ChainedScheduler", "MetricScheduler", "ReduceLROnPlateau",
           "validate"]


def _check_optimizer(optimizer):
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")


def _check_int(name, value, low):
    return check_number(name, value, low=low, integer=True)


def _format_param(name, optimizer, param):
    """One value per parameter group: ``param`` itself if it is a list/tuple of that length, else repeated."""
    if isinstance(param, (list, tuple)):
        if len(param) != len(optimizer.param_groups):
            raise ValueError(f"expected {len(optimizer.param_groups)} values for {name}, got {len(param)}")
        return list(param)
    return [param] * len(optimizer.param_groups)


def _set_momentum(group, momentum, use_beta1):
    if use_beta1:
        group["betas"] = (momentum, *group["betas"][1:])
    else:
        group["momentum"] = momentum


def _saved_function(f):
    """What state_dict keeps of a user's function: None for a plain function, a callable object's __dict__."""
    return None if f is None or isinstance(f, types.FunctionType) else dict(f.__dict__)


class LRScheduler:
    """Base class: PyTorch's protocol (the initial step, ``step()``, ``get_last_lr()``, ``state_dict``).
    Subclasses define ``get_lr()`` (the rates for ``last_epoch``) and, where an explicit
    ``step(epoch)`` should use another form, ``_get_closed_form_lr()``."""

    _is_initial = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "host_op", False):
            cls.step = host_op(step)  # dc.compile calls it again at each replay

    def __init__(self, optimizer, last_epoch=-1):
        _check_optimizer(optimizer)
        _check_int("last_epoch", last_epoch, -1)
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
        """The learning rates (one per group) for the current ``last_epoch``."""
        raise TypeError(f"{type(self).__name__} must define get_lr()")

    def _warn_order(self):
        if self._step_count == 1 and getattr(self.optimizer, "_step_count", 1) == 0:
            warnings.warn("Detected call of `lr_scheduler.step()` before `optimizer.step()`: call "
                          "`optimizer.step()` first, or the first value of the learning-rate schedule is skipped.",
                          UserWarning, stacklevel=3)

    @host_op
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
        self._last_lr = self._lrs()

    def _lrs(self):
        return [group["lr"] for group in self.optimizer.param_groups]

    def __repr__(self):
        return f"{type(self).__name__}(last_epoch={self.last_epoch}, lr={getattr(self, '_last_lr', None)})"


class _Chainable(LRScheduler):
    """A schedule ε_e = ε_min + (ε₀ − ε_min) · c(e) with c = :meth:`shape` (a schedule of
    :mod:`~descend.optim.schedules` started at 1), applied in PyTorch's chainable form (see the
    module docstring). ``resume_keeps_lr``: the initial step of a scheduler resumed with
    ``last_epoch`` ≥ 0 leaves the rates as loaded (PyTorch's rule for LinearLR, ExponentialLR,
    PolynomialLR and CosineAnnealingLR; StepLR, MultiStepLR and ConstantLR apply their change for
    epoch last_epoch + 1)."""

    resume_keeps_lr = True

    def shape(self):
        """The normalised schedule c (c(e) = ε_e / ε₀ for ε_min = 0)."""
        raise TypeError(f"{type(self).__name__} must define shape()")

    @property
    def _floor(self):
        return 0.0

    def _vanishes(self, c, e):
        """Whether c(e) = 0 (then the change is added, not multiplied)."""
        return c(e) == 0

    def get_lr(self):
        e, c, m = self.last_epoch, self.shape(), self._floor
        if e > 0 and self._is_initial and self.resume_keeps_lr:
            return self._lrs()
        if e > 0 and self._vanishes(c, e - 1):
            change = c(e) - c(e - 1)
            return [g["lr"] + (b - m) * change for g, b in zip(self.optimizer.param_groups, self.base_lrs)]
        ratio = c(e) / (c(e - 1) if e > 0 else 1.0)
        if ratio == 1.0:
            return self._lrs()
        return [m + (g["lr"] - m) * ratio for g in self.optimizer.param_groups]

    def _get_closed_form_lr(self):
        c, m = self.shape(), self._floor
        return [m + (b - m) * c(self.last_epoch) for b in self.base_lrs]


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
        sd["lr_lambdas"] = [_saved_function(f) for f in self.lr_lambdas]
        return sd

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        lambdas = state_dict.pop("lr_lambdas")
        self.__dict__.update(state_dict)
        for f, saved in zip(self.lr_lambdas, lambdas):
            if saved is not None:
                f.__dict__.update(saved)


class LambdaLR(_LambdaBase):
    """ε_e = ε₀ · f(e), ``f = lr_lambda`` (one function, or one per group); any schedule of
    :mod:`~descend.optim.schedules` started at 1 is such an f."""

    def get_lr(self):
        return [base * f(self.last_epoch) for f, base in zip(self.lr_lambdas, self.base_lrs)]


class MultiplicativeLR(_LambdaBase):
    """ε_e = ε_{e−1} · f(e) for e ≥ 1."""

    def get_lr(self):
        if self._is_initial:
            return self._lrs()
        return [g["lr"] * f(self.last_epoch) for f, g in zip(self.lr_lambdas, self.optimizer.param_groups)]


class StepLR(_Chainable):
    """Staircase decay: ε_e = ε₀ · γ^⌊e / step_size⌋ (:func:`~descend.optim.schedules.step_decay`)."""

    resume_keeps_lr = False

    def __init__(self, optimizer, step_size, gamma=0.1, last_epoch=-1):
        self.step_size = step_size
        self.gamma = gamma
        self.shape()
        super().__init__(optimizer, last_epoch)

    def shape(self):
        return schedules.step_decay(1.0, self.step_size, self.gamma)


class MultiStepLR(_Chainable):
    """ε_e = ε₀ · γ^k, k = the number of milestones ≤ e (:func:`~descend.optim.schedules.multistep`)."""

    resume_keeps_lr = False

    def __init__(self, optimizer, milestones, gamma=0.1, last_epoch=-1):
        self.milestones = Counter(milestones)
        self.gamma = gamma
        self.shape()
        super().__init__(optimizer, last_epoch)

    def shape(self):
        return schedules.multistep(1.0, self.milestones.elements(), self.gamma)


class ConstantLR(_Chainable):
    """ε_e = ε₀ · factor for e < total_iters, then ε₀ (a constant warm-up)."""

    resume_keeps_lr = False

    def __init__(self, optimizer, factor=1.0 / 3, total_iters=5, last_epoch=-1):
        check_number("factor", factor, low=0.0, high=1.0)
        _check_int("total_iters", total_iters, 0)
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def shape(self):
        return schedules.join_schedules([schedules.constant(self.factor), schedules.constant(1.0)],
                                        [self.total_iters])


class LinearLR(_Chainable):
    """ε_e = ε₀ · (a + (b − a) · min(e, n)/n), a = start_factor ∈ (0, 1], b = end_factor ∈ [0, 1],
    n = total_iters (:func:`~descend.optim.schedules.linear`: a linear warm-up or decay)."""

    def __init__(self, optimizer, start_factor=1.0 / 3, end_factor=1.0, total_iters=5, last_epoch=-1):
        check_number("start_factor", start_factor, low=0.0, high=1.0, low_open=True)
        check_number("end_factor", end_factor, low=0.0, high=1.0)
        _check_int("total_iters", total_iters, 1)
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        self.shape()
        super().__init__(optimizer, last_epoch)

    def shape(self):
        return schedules.linear(self.start_factor, self.end_factor, self.total_iters)


class ExponentialLR(_Chainable):
    """ε_e = ε₀ · γᵉ (e.g. γ = 0.999 per step; :func:`~descend.optim.schedules.exponential`)."""

    def __init__(self, optimizer, gamma, last_epoch=-1):
        self.gamma = gamma
        self.shape()
        super().__init__(optimizer, last_epoch)

    def shape(self):
        return schedules.exponential(1.0, self.gamma)


class InverseTimeDecay(_Chainable):
    """The notes' progressive decay ε_e = ε₀ / (1 + δ e), δ = ``decay_rate``
    (:func:`~descend.optim.schedules.inverse_time`; not in PyTorch, where it is
    ``LambdaLR(lambda e: 1 / (1 + δ e))``)."""

    def __init__(self, optimizer, decay_rate, last_epoch=-1):
        self.decay_rate = decay_rate
        self.shape()
        super().__init__(optimizer, last_epoch)

    def shape(self):
        return schedules.inverse_time(1.0, self.decay_rate)


class PolynomialLR(_Chainable):
    """ε_e = ε₀ · (1 − min(e, n)/n)^p, n = total_iters, p = power
    (:func:`~descend.optim.schedules.polynomial`)."""

    def __init__(self, optimizer, total_iters=5, power=1.0, last_epoch=-1):
        _check_int("total_iters", total_iters, 1)
        self.total_iters = total_iters
        self.power = power
        self.shape()
        super().__init__(optimizer, last_epoch)

    def shape(self):
        return schedules.polynomial(1.0, self.total_iters, self.power)


class CosineAnnealingLR(_Chainable):
    """ε_e = ε_min + (ε₀ − ε_min)(1 + cos(π e / T_max)) / 2 (:func:`~descend.optim.schedules.cosine`;
    past T_max it follows the cosine back up, as PyTorch's)."""

    def __init__(self, optimizer, T_max, eta_min=0.0, last_epoch=-1):
        check_number("T_max", T_max, low=0.0, low_open=True)
        check_number("eta_min", eta_min, low=0.0)
        self.T_max = T_max
        self.eta_min = eta_min
        self.shape()
        super().__init__(optimizer, last_epoch)

    def shape(self):
        return schedules.cosine(1.0, self.T_max)

    @property
    def _floor(self):
        return self.eta_min

    def _vanishes(self, c, e):
        return (e - self.T_max) % (2 * self.T_max) == 0   # cos(π e / T) = −1, exactly (not to rounding)


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR: ε = ε_min + (ε₀ − ε_min)(1 + cos(π T_cur / T_i)) / 2 (:func:`~descend.optim.schedules.warm_restarts`);
    T_cur counts epochs since the last restart, a restart happens when T_cur reaches T_i, and then
    T_i ← T_i · T_mult. ``step(epoch)`` accepts fractional epochs (``epoch + i / iters_per_epoch``);
    ``step()`` moves one epoch on from wherever the last step was."""

    def __init__(self, optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1):
        check_number("eta_min", eta_min, low=0.0)
        schedules.warm_restarts(1.0, T_0, T_mult, eta_min)
        self.T_0 = T_0
        self.T_i = T_0
        self.T_mult = T_mult
        self.eta_min = eta_min
        self.T_cur = last_epoch
        self.epoch = float(last_epoch)
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        schedule = [schedules.warm_restarts(b, self.T_0, self.T_mult, self.eta_min) for b in self.base_lrs]
        return [s(self.epoch) for s in schedule]

    def step(self, epoch=None):
        """Advance one epoch, or jump to (possibly fractional) ``epoch`` ≥ 0."""
        self._warn_order()
        self._step_count += 1
        if epoch is None:
            epoch = 0.0 if self.last_epoch < 0 else self.epoch + 1
        else:
            check_number("epoch", epoch, low=0.0)
        self.epoch = epoch
        self.T_cur, self.T_i = schedules.restart_cycle(epoch, self.T_0, self.T_mult)
        self.last_epoch = math.floor(epoch)
        for g, lr in zip(self.optimizer.param_groups, self.get_lr()):
            g["lr"] = lr
        self._last_lr = self._lrs()


def _cycle_momentum_setup(scheduler, optimizer, base_momentum, max_momentum, last_epoch):
    """PyTorch's momentum cycling: the groups' momentum (or Adam's β₁) starts at max_momentum."""
    if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
        raise ValueError("optimizer must support momentum or beta1 with `cycle_momentum` option enabled")
    scheduler.use_beta1 = "betas" in optimizer.defaults
    base = _format_param("base_momentum", optimizer, base_momentum)
    top = _format_param("max_momentum", optimizer, max_momentum)
    for v in base + top:
        check_number("momentum", v, low=0.0)
    if last_epoch == -1:
        for m, b, group in zip(top, base, optimizer.param_groups):
            _set_momentum(group, m, scheduler.use_beta1)
            group["max_momentum"] = m
            group["base_momentum"] = b
    return base, top


class CyclicLR(LRScheduler):
    """Cyclical learning rates (Smith 2017), stepped every batch: ε = ``schedules.cyclic(base_lr,
    max_lr, step_size_up, step_size_down, mode, gamma, scale_fn, scale_mode)``(e). With
    ``cycle_momentum`` (default, as PyTorch, even for SGD(momentum=0)) the momentum (or Adam's β₁)
    moves the other way: μ = ``schedules.cyclic(max_momentum, base_momentum, ...)``(e)."""

    def __init__(self, optimizer, base_lr, max_lr, step_size_up=2000, step_size_down=None, mode="triangular",
                 gamma=1.0, scale_fn=None, scale_mode="cycle", cycle_momentum=True, base_momentum=0.8,
                 max_momentum=0.9, last_epoch=-1):
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        base_lrs = _format_param("base_lr", optimizer, base_lr)
        self.max_lrs = _format_param("max_lr", optimizer, max_lr)
        for b, m in zip(base_lrs, self.max_lrs):
            check_number("base_lr", b, low=0.0)
            check_number("max_lr", m, low=0.0)
        self.step_size_up, self.step_size_down = step_size_up, step_size_down
        schedules.cyclic(0.0, 1.0, step_size_up, step_size_down, mode, gamma, scale_fn, scale_mode)
        if scale_fn is None:   # the built-in modes fix it, as PyTorch records
            scale_mode = "cycle" if mode in ("triangular", "triangular2") else "iterations"
        self.mode, self.gamma, self.scale_mode = mode, gamma, scale_mode
        self._scale_fn_custom = scale_fn
        up = float(step_size_up)
        self.total_size = up + (float(step_size_down) if step_size_down is not None else up)
        self.step_ratio = up / self.total_size
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups):
                group["lr"] = lr
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.base_momentums, self.max_momentums = _cycle_momentum_setup(self, optimizer, base_momentum,
                                                                            max_momentum, last_epoch)
        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def _cycle(self, start, peak):
        return schedules.cyclic(start, peak, self.step_size_up, self.step_size_down, self.mode, self.gamma,
                                self._scale_fn_custom, self.scale_mode)

    def get_lr(self):
        e = self.last_epoch
        if self.cycle_momentum:
            for group, b, m in zip(self.optimizer.param_groups, self.base_momentums, self.max_momentums):
                _set_momentum(group, self._cycle(m, b)(e), self.use_beta1)
        return [self._cycle(b, m)(e) for b, m in zip(self.base_lrs, self.max_lrs)]

    def state_dict(self):
        sd = super().state_dict()
        sd["_scale_fn_custom"] = _saved_function(self._scale_fn_custom)
        return sd

    def load_state_dict(self, state_dict):
        state_dict = dict(state_dict)
        fn = state_dict.pop("_scale_fn_custom")
        super().load_state_dict(state_dict)
        if fn is not None:
            self._scale_fn_custom.__dict__.update(fn)


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith & Topin 2018), stepped every batch: ε = ``schedules.one_cycle(max_lr,
    total_steps, pct_start, anneal_strategy, ...)``(e), from max_lr/div_factor up to max_lr over
    ``pct_start`` of the steps, then down to max_lr/(div_factor·final_div_factor); momentum (or β₁)
    cycles inversely between max_momentum and base_momentum."""

    def __init__(self, optimizer, max_lr, total_steps=None, epochs=None, steps_per_epoch=None, pct_start=0.3,
                 anneal_strategy="cos", cycle_momentum=True, base_momentum=0.85, max_momentum=0.95, div_factor=25.0,
                 final_div_factor=1e4, three_phase=False, last_epoch=-1):
        _check_optimizer(optimizer)
        self.optimizer = optimizer
        if total_steps is not None:
            self.total_steps = _check_int("total_steps", total_steps, 1)
        elif epochs is not None and steps_per_epoch is not None:
            self.total_steps = _check_int("epochs", epochs, 1) * _check_int("steps_per_epoch", steps_per_epoch, 1)
        else:
            raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")
        max_lrs = _format_param("max_lr", optimizer, max_lr)
        for m in max_lrs:
            check_number("max_lr", m, low=0.0)
            schedules.one_cycle(m, self.total_steps, pct_start, anneal_strategy, div_factor, final_div_factor)
        self.pct_start, self.anneal_strategy, self.three_phase = pct_start, anneal_strategy, three_phase
        if last_epoch == -1:
            for m, group in zip(max_lrs, optimizer.param_groups):
                group["initial_lr"] = m / div_factor
                group["max_lr"] = m
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            _cycle_momentum_setup(self, optimizer, base_momentum, max_momentum, last_epoch)
        super().__init__(optimizer, last_epoch)

    def _cycle(self, start, peak, floor):
        return schedules.one_cycle(peak, self.total_steps, self.pct_start, self.anneal_strategy,
                                   three_phase=self.three_phase, start=start, floor=floor)

    def get_lr(self):
        e = self.last_epoch
        if e > self.total_steps:
            raise ValueError(f"Tried to step {e} times. The specified number of total steps is {self.total_steps}")
        lrs = []
        for group in self.optimizer.param_groups:
            lrs.append(self._cycle(group["initial_lr"], group["max_lr"], group["min_lr"])(e))
            if self.cycle_momentum:
                top, base = group["max_momentum"], group["base_momentum"]
                _set_momentum(group, self._cycle(top, base, top)(e), self.use_beta1)
        return lrs


def _check_sub(owner, optimizer, schedulers):
    for i, s in enumerate(schedulers):
        if not hasattr(s, "optimizer"):
            raise TypeError(f"{owner} at index {i} should have `optimizer` as its attribute")
        if isinstance(s, MetricScheduler):
            raise ValueError(f"{owner} does not support `{type(s).__name__}` (its step needs the metric); "
                             f"got one at index {i}")
        if s.optimizer is not optimizer:
            raise ValueError(f"{owner} expects all schedulers to belong to the same optimizer, but scheduler "
                             f"{type(s).__name__} at index {i} has another one")


class SequentialLR(LRScheduler):
    """Run ``schedulers[0]`` until ``milestones[0]``, then ``schedulers[1]`` (restarted from its
    epoch 0), and so on (:func:`~descend.optim.schedules.join_schedules` as schedulers)."""

    def __init__(self, optimizer, schedulers, milestones, last_epoch=-1):
        if len(schedulers) < 1:
            raise ValueError("SequentialLR expects at least one scheduler, but got none")
        _check_sub("SequentialLR", optimizer, schedulers)
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(f"SequentialLR expects one milestone fewer than schedulers, got {len(schedulers)} "
                             f"schedulers and {len(milestones)} milestones")
        for m in milestones:
            _check_int("milestone", m, 0)
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
        sd = {k: copy.deepcopy(v) for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
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
        check_number("factor", factor, low=0.0, high=1.0, high_open=True)
        _check_int("patience", patience, 0)
        _check_int("cooldown", cooldown, 0)
        check_number("threshold", threshold, low=0.0)
        check_number("eps", eps, low=0.0)
        if mode not in ("min", "max"):
            raise ValueError(f"Invalid mode={mode!r}: expected 'min' or 'max'")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"Invalid threshold_mode={threshold_mode!r}: expected 'rel' or 'abs'")
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
            check_number("min_lr", m, low=0.0)
        self.patience = patience
        self.cooldown = cooldown
        self.eps = eps
        self.last_epoch = 0
        self._last_lr = [g["lr"] for g in optimizer.param_groups]
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
        """Whether the cooldown after the last reduction is still running (no new reduction then)."""
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
        """Record this epoch's metric (a number) and reduce the rates if it has plateaued."""
        try:
            current = float(metrics)
        except (TypeError, ValueError):
            raise TypeError(f"ReduceLROnPlateau.step(metrics) needs the epoch's metric as a number, got "
                            f"{type(metrics).__name__}") from None
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


def validate(scheduler, arguments, optimizer=None):
    """Check a scheduler configuration without a model: build ``scheduler(opt, **arguments)`` on a
    throwaway optimizer of one parameter (class ``optimizer``, default ``SGD``, with its defaults)
    and return it. Raises what the real construction would: TypeError for a missing or unknown
    argument, ValueError naming a bad value and its range. (The command line calls this before it
    creates anything.)"""
    if not (isinstance(scheduler, type) and issubclass(scheduler, LRScheduler)):
        raise TypeError(f"validate() needs a scheduler class, got {scheduler!r}")
    opt = (optimizer or sgd.SGD)([wrap(np.zeros(1), requires_grad=True)])
    return scheduler(opt, **arguments)
