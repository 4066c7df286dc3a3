"""A configuration resolved once into typed objects: what a run builds, looked up and checked in one place.

:func:`resolve` checks the keys (:func:`descend.train.config.check_keys`), looks every name up in its
registry (:mod:`descend.train.registry`), applies the rules that tie keys together (a monitored
metric the run logs, augmentation that fits the data, BatchNorm with batches of more than one), and
builds the optimizer, the scheduler, its callback, the early stopping and the augmentation once on a
stand-in parameter: every value those classes check is checked here, before anything is created.
The :class:`RunSpec` it returns builds the real objects (``spec.model.build(n_in, n_out)``, ...).
"""

import difflib
import inspect
from dataclasses import dataclass

from ..autodiff import zeros
from ..data import transforms as T
from ..nn import MLP
from ..optim.lr_scheduler import MetricScheduler
from .callbacks import EarlyStopping, LRScheduler
from .config import ConfigError, check_keys
from .registry import DATASETS, OPTIMIZERS, SCHEDULERS, DataSet


@dataclass(frozen=True)
class ModelSpec:
    """The MLP of ``[model]``: Linear → [BatchNorm1d] → activation → [Dropout] per hidden layer, then Linear."""

    hidden: tuple
    activation: str
    dropout: float
    batchnorm: bool
    init: str   # None: Linear's default

    def build(self, n_in, n_out):
        """The model, (N, n_in) → (N, n_out) logits."""
        return MLP([n_in, *self.hidden, n_out], activation=self.activation, dropout=self.dropout,
                   batchnorm=self.batchnorm, init=self.init)


@dataclass(frozen=True)
class OptimizerSpec:
    """``cls(params, **kwargs)`` with ``cls`` from ``registry.OPTIMIZERS``."""

    name: str
    cls: type
    kwargs: dict

    def build(self, params):
        """The optimizer over ``params``."""
        return self.cls(params, **self.kwargs)


@dataclass(frozen=True)
class ScheduleSpec:
    """``cls(optimizer, **kwargs)`` with ``cls`` from ``registry.SCHEDULERS``, stepped per ``interval``; a
    scheduler driven by a metric (a :class:`MetricScheduler`) is stepped once per epoch with ``monitor``."""

    name: str
    cls: type
    kwargs: dict
    interval: str
    monitor: str

    def build(self, optimizer):
        """The scheduler of ``optimizer``."""
        return self.cls(optimizer, **self.kwargs)

    def callback(self, optimizer):
        """The Trainer callback stepping a new scheduler of ``optimizer`` (``step()``'s argument asked of its type)."""
        scheduler = self.build(optimizer)
        if isinstance(scheduler, MetricScheduler):
            return LRScheduler(scheduler, "epoch", self.monitor)
        return LRScheduler(scheduler, self.interval)


@dataclass(frozen=True)
class AugmentSpec:
    """Random changes to each training batch ("auto" values already replaced by the data set's defaults)."""

    shift: int
    flip: bool
    rotate: float
    noise: float

    def build(self, image_shape):
        """The transform applied to flat rows (None if every change is off)."""
        steps = []
        if self.shift:
            steps.append(T.RandomShift(self.shift, image_shape=image_shape))
        if self.flip:
            steps.append(T.RandomHorizontalFlip(image_shape=image_shape))
        if self.rotate:
            steps.append(T.RandomRotation(self.rotate, image_shape=image_shape))
        if self.noise:
            steps.append(T.GaussianNoise(self.noise))
        return T.Compose(steps) if steps else None


@dataclass(frozen=True)
class DataSpec:
    """``[data]``: the data set, its splits, the loader's settings and the augmentation."""

    name: str
    dataset: DataSet
    path: str
    val: float
    test: float
    stratify: bool
    batch_size: int
    mode: str
    fixed_batches: bool
    drop_last: bool
    standardize: bool
    augment: AugmentSpec
    seed: int   # seeds the split and the toy data; -1 = training.seed

    @property
    def has_validation(self):
        """True if the run has a validation split (XOR validates on its four training points)."""
        return not self.dataset.split or self.val > 0


@dataclass(frozen=True)
class EarlyStoppingSpec:
    """``[training.early_stopping]`` when enabled."""

    monitor: str
    mode: str
    patience: int
    min_delta: float
    restore_best_weights: bool
    notes_patience: bool

    def build(self):
        """The EarlyStopping callback."""
        return EarlyStopping(self.monitor, self.mode, self.patience, self.min_delta, self.restore_best_weights,
                             self.notes_patience)


@dataclass(frozen=True)
class TrainingSpec:
    """``[training]``."""

    epochs: int
    seed: int
    checkpoint_every: int
    monitor_every: int
    sanity_check: bool
    early_stopping: EarlyStoppingSpec   # None when disabled


@dataclass(frozen=True)
class OutputSpec:
    """``[output]``."""

    dir: str
    name: str
    plots: bool
    progress: bool


@dataclass(frozen=True)
class RunSpec:
    """A whole run, resolved; ``config`` is the dict it came from (saved as the run's config.toml)."""

    config: dict
    model: ModelSpec
    optimizer: OptimizerSpec
    schedule: ScheduleSpec   # None: a constant learning rate
    data: DataSpec
    training: TrainingSpec
    output: OutputSpec


def logged_metrics(has_validation):
    """The per-epoch metrics a run logs: loss, accuracy, lr, and with a validation split val_loss, val_accuracy."""
    return ("loss", "accuracy", "lr") + (("val_loss", "val_accuracy") if has_validation else ())


# ---------------------------------------------------------------------------- checks
def _arguments(table, cls, who):
    """The keyword arguments of ``[who]`` for ``cls``: an unknown one gets a did-you-mean, a missing required one an
    error."""
    params = inspect.signature(cls).parameters
    names = [n for n, q in params.items() if n not in ("self", "params", "optimizer", "last_epoch") and
             q.kind in (q.POSITIONAL_OR_KEYWORD, q.KEYWORD_ONLY)]
    kwargs = {k: v for k, v in table.items() if k not in ("name", "interval", "monitor")}
    for k in kwargs:
        if k not in names:
            close = difflib.get_close_matches(k, names, n=1)
            hint = f"; did you mean '{who}.{close[0]}'?" if close else ""
            raise ConfigError(f"unknown config key '{who}.{k}' for {cls.__name__}{hint} (its arguments: "
                              f"{', '.join(names)})")
    for n in names:
        if params[n].default is inspect.Parameter.empty and n not in kwargs:
            raise ConfigError(f"config key '{who}.{n}' is missing: {cls.__name__} requires it")
    return kwargs


def _dry(build, what):
    """Run ``build()``; a ValueError or TypeError (a value the class rejects) becomes a one-line ConfigError."""
    try:
        return build()
    except (ValueError, TypeError) as e:
        raise ConfigError(f"config {what}: " + " ".join(str(e).split())) from None


def _call(name, kwargs):
    return f"{name}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())})"


def _check_monitor(key, monitor, logged, has_validation):
    if monitor not in logged:
        close = difflib.get_close_matches(monitor, logged, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        why = "" if has_validation or not monitor.startswith("val_") else " (no validation split: data.val = 0)"
        raise ConfigError(f"config key {key!r} = {monitor!r}: not a metric the run logs{why}{hint} "
                          f"(logged: {', '.join(logged)})")


def _augment(d, dataset):
    a = d["augment"]
    values = {k: (dataset.augment.get(k, 0.0) if a[k] == "auto" else a[k]) for k in ("rotate", "noise")}
    if dataset.image_shape is None:
        for key, on in (("shift", a["shift"]), ("flip", a["flip"]), ("rotate", values["rotate"])):
            if on:
                raise ConfigError(f"config key 'data.augment.{key}' = {a[key]!r}: needs image data, and "
                                  f"{d['name']!r} is not images (set it to {'false' if key == 'flip' else 0})")
    elif a["shift"] >= min(dataset.image_shape):
        raise ConfigError(f"config key 'data.augment.shift' = {a['shift']}: expected less than the image size "
                          f"{dataset.image_shape}")
    spec = AugmentSpec(a["shift"], a["flip"], float(values["rotate"]), float(values["noise"]))
    _dry(lambda: spec.build(dataset.image_shape), "[data.augment]")
    return spec


def _data(d):
    dataset = DATASETS[d["name"]]
    if dataset.split and not dataset.own_test and d["val"] + d["test"] >= 1:
        raise ConfigError(f"config keys 'data.val' + 'data.test' = {d['val'] + d['test']}: expected < 1")
    return DataSpec(d["name"], dataset, d["path"], d["val"], d["test"], d["stratify"], d["batch_size"], d["mode"],
                    d["fixed_batches"], d["drop_last"], d["standardize"], _augment(d, dataset), d["seed"])


def resolve(config):
    """The :class:`RunSpec` of a complete configuration; raises ConfigError (one line) for anything wrong."""
    check_keys(config)
    m, o, s, t, out = config["model"], config["optimizer"], config["schedule"], config["training"], config["output"]
    model = ModelSpec(tuple(m["hidden"]), m["activation"], m["dropout"], m["batchnorm"],
                      None if m["init"] == "default" else m["init"])
    data = _data(config["data"])
    if model.batchnorm and data.mode in ("stochastic", "online"):
        raise ConfigError(f"config key 'data.mode' = {data.mode!r}: batches of one example cannot be normalized, "
                          f"and model.batchnorm = true (use data.mode = \"minibatch\" or model.batchnorm = false)")
    opt_cls = OPTIMIZERS[o["name"]]
    optimizer = OptimizerSpec(o["name"], opt_cls, _arguments(o, opt_cls, "optimizer"))
    checked = _dry(lambda: optimizer.build([zeros(2, requires_grad=True)]),
                   f"[optimizer] {_call(o['name'], optimizer.kwargs)}")
    schedule = None
    logged = logged_metrics(data.has_validation)
    if s["name"] != "none":
        cls = SCHEDULERS[s["name"]]
        metric = issubclass(cls, MetricScheduler)
        if metric and s["interval"] != "epoch":
            raise ConfigError(f"config key 'schedule.interval' = {s['interval']!r}: {s['name']} is stepped once per "
                              f"epoch with the monitored metric; expected 'epoch'")
        if metric:
            _check_monitor("schedule.monitor", s["monitor"], logged, data.has_validation)
        schedule = ScheduleSpec(s["name"], cls, _arguments(s, cls, "schedule"), s["interval"],
                                s["monitor"] if metric else None)
        _dry(lambda: schedule.callback(checked), f"[schedule] {_call(s['name'], schedule.kwargs)}")
    es = t["early_stopping"]
    stopping = None
    if es["enabled"]:
        _check_monitor("training.early_stopping.monitor", es["monitor"], logged, data.has_validation)
        stopping = EarlyStoppingSpec(es["monitor"], es["mode"], es["patience"], float(es["min_delta"]),
                                     es["restore_best_weights"], es["notes_patience"])
        _dry(stopping.build, "[training.early_stopping]")
    training = TrainingSpec(t["epochs"], t["seed"], t["checkpoint_every"], t["monitor_every"], t["sanity_check"],
                            stopping)
    return RunSpec(config, model, optimizer, schedule, data, training,
                   OutputSpec(out["dir"], out["name"], out["plots"], out["progress"]))
