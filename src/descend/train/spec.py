"""A configuration resolved once into typed objects: what a run builds, looked up and checked in one place.

:func:`resolve` checks the keys (:func:`descend.train.config.check_keys`), looks every name up in its
registry (:mod:`descend.train.registry`), applies the rules that tie keys together (a monitored
metric the run logs, augmentation that fits the data, BatchNorm with batches of more than one), and
builds the optimizer, the scheduler, its callback, the early stopping and the augmentation once on a
stand-in parameter: every value those classes check is checked here, before anything is created.
The :class:`RunSpec` it returns builds the real objects (``spec.model.build(n_in, n_out)``, ...).
Only what depends on a user's data file (its columns, its labels) is checked when the file is read.
"""

import difflib
import inspect
from dataclasses import dataclass

from ..autodiff import zeros
from ..data import transforms as T
from ..nn import functional as F
from ..nn.convnet import max_blocks
from ..optim.lr_scheduler import MetricScheduler
from .callbacks import EarlyStopping, LRScheduler
from .config import ConfigError, check_keys
from .registry import DATASETS, MODELS, OPTIMIZERS, SCHEDULERS, DataSet


@dataclass(frozen=True)
class ModelSpec:
    """``[model]``: an MLP (Linear → [BatchNorm1d] → activation → [Dropout] per hidden layer, then Linear), or a
    cnn: conv → BatchNorm2d → activation → 2x2 max-pool blocks of ``channels`` on images of ``image_shape``, then
    that MLP as its head."""

    type: str
    hidden: tuple
    activation: str
    dropout: float
    batchnorm: bool
    init: str            # None: the layers' defaults
    channels: tuple      # cnn only
    kernel_size: int     # cnn only
    image_shape: tuple   # cnn only: (H, W) or (C, H, W) of the data

    def build(self, n_in, n_out):
        """The model, (N, n_in) → (N, n_out) logits (or regression outputs)."""
        head = dict(activation=self.activation, dropout=self.dropout, batchnorm=self.batchnorm, init=self.init)
        if self.type == "cnn":
            return MODELS["cnn"](self.image_shape, self.channels, n_out, self.kernel_size, self.hidden, **head)
        return MODELS["mlp"]([n_in, *self.hidden, n_out], **head)

    def describe(self):
        """One phrase naming the architecture, e.g. "cnn [16, 32] (3x3) + MLP head [256]"."""
        if self.type == "cnn":
            k = self.kernel_size
            return f"cnn {list(self.channels)} ({k}x{k}) + MLP head {list(self.hidden)}"
        return f"{list(self.hidden)} MLP"


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
    """``[data]``: the data set (for a file: where, which columns or arrays, which task), its splits, the loader's
    settings and the augmentation; ``image_shape`` is the data's (the data set's, or ``data.image_shape`` for a
    file), None if it is not images."""

    name: str
    dataset: DataSet
    path: str
    task: str
    label: str
    x: str
    y: str
    image_shape: tuple
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

    @property
    def has_test(self):
        """True if the run has a test split (its own, XOR's four points, or data.test > 0)."""
        return not self.dataset.split or self.dataset.own_test or self.test > 0

    @property
    def classification(self):
        """True for classification (cross-entropy, accuracy), False for regression (mean squared error)."""
        return self.task == "classification"

    def loss(self):
        """The loss ℓ(y, t): cross-entropy of the logits y (N, C) with classes t (N,), or the mean squared error
        (1/(N·k)) Σ (y − t)² of y and t (N, k)."""
        return F.cross_entropy if self.classification else F.mse_loss

    def metrics(self):
        """The Trainer's metrics besides the loss: accuracy for classification, none for regression."""
        return ["accuracy"] if self.classification else []


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
    threads: int                        # 0: the BLAS library's default
    early_stopping: EarlyStoppingSpec   # None when disabled
    compile: object = "auto"            # Trainer(compile=...): True, False or "auto"


@dataclass(frozen=True)
class OutputSpec:
    """``[output]``."""

    dir: str
    name: str
    plots: bool
    progress: bool
    tensorboard: bool
    csv: bool
    trajectory_max_parameters: int   # per-epoch weights kept for `descend analyze` up to this size (0 = off)


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


def logged_metrics(has_validation, classification=True):
    """The per-epoch metrics a run logs: loss, accuracy (classification only), lr, and with a validation split
    val_loss, val_accuracy (classification only)."""
    acc = ("accuracy",) if classification else ()
    return ("loss",) + acc + ("lr",) + (("val_loss",) + tuple("val_" + a for a in acc) if has_validation else ())


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


def _not_images(name, dataset):
    """Why the data set ``name`` is not images, for a message."""
    if dataset.file:
        return f"the rows of {name!r} are not images unless data.image_shape = [H, W] or [C, H, W] says so"
    return f"{name!r} is not images"


def _augment(d, dataset, image_shape):
    a = d["augment"]
    values = {k: (dataset.augment.get(k, 0.0) if a[k] == "auto" else a[k]) for k in ("rotate", "noise")}
    if image_shape is None:
        for key, on in (("shift", a["shift"]), ("flip", a["flip"]), ("rotate", values["rotate"])):
            if on:
                raise ConfigError(f"config key 'data.augment.{key}' = {a[key]!r}: needs image data, and "
                                  f"{_not_images(d['name'], dataset)} (set it to {'false' if key == 'flip' else 0})")
    elif a["shift"] >= min(image_shape[-2:]):
        raise ConfigError(f"config key 'data.augment.shift' = {a['shift']}: expected less than the image size "
                          f"{image_shape[-2:]}")
    spec = AugmentSpec(a["shift"], a["flip"], float(values["rotate"]), float(values["noise"]))
    _dry(lambda: spec.build(image_shape), "[data.augment]")
    return spec


def _file_keys(d, dataset):
    """The keys that only a file data set reads, checked against the data set; returns its image shape or None."""
    name = d["name"]
    shape = tuple(d["image_shape"]) or None
    if not dataset.file:
        for key, value, default in (("task", d["task"], "classification"), ("label", d["label"], ""),
                                    ("x", d["x"], "x"), ("y", d["y"], "y"), ("image_shape", d["image_shape"], [])):
            if value != default:
                raise ConfigError(f"config key 'data.{key}' = {value!r}: applies to your own file (data.name = "
                                  f"\"csv\" or \"npz\"), not to {name!r}")
        return dataset.image_shape
    if not d["path"]:
        raise ConfigError(f"config key 'data.path' is empty: data.name = {name!r} reads your file; set data.path = "
                          f"\"data.{name}\" (its path)")
    if shape is not None and len(shape) not in (2, 3):
        raise ConfigError(f"config key 'data.image_shape' = {d['image_shape']!r}: expected [H, W] or [C, H, W]")
    if name == "csv" and (d["x"], d["y"]) != ("x", "y"):
        key = "x" if d["x"] != "x" else "y"
        raise ConfigError(f"config key 'data.{key}' = {d[key]!r}: names an array of an npz file; a csv's label "
                          f"column is data.label")
    if name == "npz" and d["label"]:
        raise ConfigError(f"config key 'data.label' = {d['label']!r}: names a csv column; an npz file's labels are "
                          f"the array data.y")
    return shape


def _data(d):
    dataset = DATASETS[d["name"]]
    image_shape = _file_keys(d, dataset)
    if dataset.split and not dataset.own_test and d["val"] + d["test"] >= 1:
        raise ConfigError(f"config keys 'data.val' + 'data.test' = {d['val'] + d['test']}: expected < 1")
    return DataSpec(d["name"], dataset, d["path"], d["task"], d["label"], d["x"], d["y"], image_shape, d["val"],
                    d["test"], d["stratify"], d["batch_size"], d["mode"], d["fixed_batches"], d["drop_last"],
                    d["standardize"], _augment(d, dataset, image_shape), d["seed"])


def _model(m, data):
    init = None if m["init"] == "default" else m["init"]
    if m["type"] != "cnn":
        return ModelSpec(m["type"], tuple(m["hidden"]), m["activation"], m["dropout"], m["batchnorm"], init, (), 0,
                         None)
    shape = data.image_shape
    if shape is None:
        raise ConfigError(f"config key 'model.type' = 'cnn': needs image data, and "
                          f"{_not_images(data.name, data.dataset)}")
    if not m["channels"]:
        raise ConfigError("config key 'model.channels' = []: a cnn needs at least one conv block")
    if len(m["channels"]) > max_blocks(shape):
        raise ConfigError(f"config key 'model.channels' = {m['channels']!r}: each block halves the image, and "
                          f"{shape[-2]}x{shape[-1]} images allow at most {max_blocks(shape)} blocks")
    if m["kernel_size"] % 2 == 0:
        raise ConfigError(f"config key 'model.kernel_size' = {m['kernel_size']}: expected an odd size (padding keeps "
                          f"the image size only for odd kernels)")
    return ModelSpec("cnn", tuple(m["hidden"]), m["activation"], m["dropout"], m["batchnorm"], init,
                     tuple(m["channels"]), m["kernel_size"], shape)


def resolve(config):
    """The :class:`RunSpec` of a complete configuration; raises ConfigError (one line) for anything wrong."""
    check_keys(config)
    m, o, s, t, out = config["model"], config["optimizer"], config["schedule"], config["training"], config["output"]
    data = _data(config["data"])
    model = _model(m, data)
    if model.batchnorm and data.mode in ("stochastic", "online"):
        raise ConfigError(f"config key 'data.mode' = {data.mode!r}: batches of one example cannot be normalized, "
                          f"and model.batchnorm = true (use data.mode = \"minibatch\" or model.batchnorm = false)")
    opt_cls = OPTIMIZERS[o["name"]]
    optimizer = OptimizerSpec(o["name"], opt_cls, _arguments(o, opt_cls, "optimizer"))
    checked = _dry(lambda: optimizer.build([zeros(2, requires_grad=True)]),
                   f"[optimizer] {_call(o['name'], optimizer.kwargs)}")
    schedule = None
    logged = logged_metrics(data.has_validation, data.classification)
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
    if t["sanity_check"] and not data.classification:
        raise ConfigError("config key 'training.sanity_check' = true: its checks (an initial loss near ln C) are for "
                          "classifiers; set it false for data.task = \"regression\"")
    training = TrainingSpec(t["epochs"], t["seed"], t["checkpoint_every"], t["monitor_every"], t["sanity_check"],
                            t["threads"], stopping, t["compile"])
    return RunSpec(config, model, optimizer, schedule, data, training,
                   OutputSpec(out["dir"], out["name"], out["plots"], out["progress"], out["tensorboard"], out["csv"],
                              out["trajectory_max_parameters"]))
