"""A run described by a configuration: build data, model, optimizer and callbacks, train, and write the
run directory. ``descend train``, ``evaluate``, ``predict`` and ``info`` are thin wrappers around it.

A run directory holds ``config.toml`` (the resolved configuration, a data file's path made absolute),
``data.json`` (what the data is: sizes, classes and their original labels, a file's columns and
SHA-256), ``metrics.jsonl`` and ``layers.jsonl`` (one strict-JSON record per line),
``checkpoints/last.safetensors`` (everything a resume needs), optionally ``metrics.csv`` and
``tensorboard/`` (``output.csv``, ``output.tensorboard``), and at the end ``model.safetensors`` (the
final weights with the standardization statistics and the labels, what ``predict`` needs),
``summary.json`` and ``plots/``. Everything is checked before the directory exists; the directory
appears whole (:mod:`descend.train.rundir`) and is locked while a process trains in it; every file
is replaced atomically, so a run killed at any instant resumes (``run(config, run_dir,
resume=True)``) and finishes bit for bit as if it had never stopped.
"""

import hashlib
import json
import os
import time
from dataclasses import dataclass

import numpy as np

from .. import data as D
from ..autodiff import manual_seed, no_grad
from ..autodiff.extend import blas_threads, wrap
from ..nn.summary import summary as model_summary
from .callbacks import (Callback, CSVLogger, EarlyStopping, LayerMonitor, ModelCheckpoint, TensorBoardLogger,
                        TerminateOnNaN)
from .callbacks.trajectory import WeightTrajectory
from .checkpoint import CheckpointError, checkpoint_exists, checkpoint_path, load_checkpoint, save_checkpoint
from .config import ConfigError, copy_config, dumps, load_config
from .files import atomic_write, kill_point, strict_json
from .rundir import RunError, RunLock, clean_run, create_run, holder
from .spec import resolve
from .state import copy_state, load_model_state
from .trainer import Trainer


class TrainingDiverged(RuntimeError):
    """The training loss became NaN or infinite; the message says what was kept."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C during a run; ``run_dir`` is the directory to resume."""

    def __init__(self, run_dir):
        super().__init__(run_dir)
        self.run_dir = run_dir


# ---------------------------------------------------------------------------- data
@dataclass
class Data:
    """The splits of a run (TensorDatasets, standardized if asked; ``val`` and ``test`` None when empty), their
    sizes, the fitted standardization, and what the labels are: ``classes`` the original label of each class
    index (None for regression, whose ``n_out`` targets are numbers); for a file, ``table`` (its columns) and
    ``sha256``."""

    train: object
    val: object
    test: object
    n_in: int
    n_out: int
    standardize: object   # the fitted descend.data.Standardize, or None
    classes: tuple
    table: object = None  # the descend.data.Table of a file data set
    sha256: str = None    # of the file

    def description(self, spec):
        """What data.json records: the data's name, file, task, shapes, classes and columns."""
        t = self.table
        return {"name": spec.data.name, "path": os.path.abspath(spec.data.path) if spec.data.dataset.file else None,
                "sha256": self.sha256, "task": spec.data.task, "n_in": self.n_in, "n_out": self.n_out,
                "classes": None if self.classes is None else list(self.classes),
                "columns": None if t is None or t.columns is None else list(t.columns),
                "label": None if t is None else t.label, "label_index": None if t is None else t.label_index,
                "image_shape": None if spec.data.image_shape is None else list(spec.data.image_shape),
                "examples": {k: 0 if s is None else len(s) for k, s in (("train", self.train), ("val", self.val),
                                                                         ("test", self.test))}}


def _sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def load_splits(spec):
    """The raw (train, val, test, table) of ``spec.data`` before standardization: TensorDatasets (val and test None
    when empty) and, for a file, the :class:`descend.data.Table` read from it (else None)."""
    d = spec.data
    seed = d.seed if d.seed >= 0 else spec.training.seed
    try:
        pool, test, table = d.dataset.load(seed, d)
    except (OSError, RuntimeError, ValueError) as e:
        raise RunError(("data file " if d.dataset.file else f"data set {d.name!r}: ") + " ".join(str(e).split())) \
            from None
    stratify = d.stratify and d.classification
    if not d.dataset.split:
        train = val = test = pool
    elif test is not None:
        train, val, _ = _split(pool, d, d.val, 0.0, stratify, seed)
    else:
        train, val, test = _split(pool, d, d.val, d.test, stratify, seed)
    return tuple(D.TensorDataset(*D.as_arrays(s)) if len(s) else None for s in (train, val, test)) + (table,)


def _split(pool, d, val, test, stratify, seed):
    try:
        return D.train_val_test_split(pool, val=val, test=test, stratify=stratify, seed=seed)
    except ValueError:   # the training part is empty
        raise ConfigError(f"{d.path or d.name}: {len(pool)} examples are too few to split with data.val = {val} and "
                          f"data.test = {test} (no training example is left)") from None


def build_data(spec, expect_sha256=None):
    """The run's :class:`Data`; raises ConfigError for splits the configuration cannot train on, and RunError if the
    data file's SHA-256 is not ``expect_sha256`` (the file changed since the run started)."""
    d = spec.data
    sha256 = None
    if d.dataset.file and os.path.isfile(d.path):
        sha256 = _sha256(d.path)
        if expect_sha256 is not None and sha256 != expect_sha256:
            raise RunError(f"data file {d.path} changed since the run was made (its SHA-256 differs from the one in "
                           f"data.json): the run's numbers would not be its own; restore the file or train a new run")
    train, val, test, table = load_splits(spec)
    size = f"of {len(train)}" if not d.dataset.file else f"({d.path} has {len(train) + _len(val) + _len(test)} rows)"
    if val is None and d.has_validation:
        raise ConfigError(f"config key 'data.val' = {d.val}: leaves no validation example {size}")
    if test is None and d.has_test:
        raise ConfigError(f"config key 'data.test' = {d.test}: leaves no test example {size}; add examples or set "
                          f"data.test = 0")
    if spec.model.batchnorm and d.mode == "minibatch" and not d.drop_last and len(train) % d.batch_size == 1:
        raise ConfigError(f"the last mini-batch of each epoch holds 1 example ({len(train)} training examples, "
                          f"data.batch_size = {d.batch_size}), which BatchNorm cannot normalize: set "
                          f"data.drop_last = true or change data.batch_size")
    n_in = int(np.prod(train.arrays[0].shape[1:]))
    if d.image_shape is not None and int(np.prod(d.image_shape)) != n_in:
        raise ConfigError(f"config key 'data.image_shape' = {list(d.image_shape)}: images of "
                          f"{int(np.prod(d.image_shape))} values, but the examples of {d.path} have {n_in}")
    if not d.classification:
        classes, n_out = None, int(train.arrays[1].shape[1])
    elif table is not None:
        classes, n_out = table.classes, len(table.classes)
    else:
        labels = np.concatenate([s.arrays[1] for s in (train, val, test) if s is not None])
        if labels.min() < 0 or labels.max() >= d.dataset.classes:
            raise RunError(f"data set {d.name!r}: labels {labels.min()}..{labels.max()} outside "
                           f"0..{d.dataset.classes - 1}")
        classes, n_out = tuple(range(d.dataset.classes)), d.dataset.classes
    standardize = None
    if d.standardize:
        standardize = D.Standardize().fit(train)
        train, val, test = (None if s is None else standardize(s) for s in (train, val, test))
    return Data(train, val, test, n_in, n_out, standardize, classes, table, sha256)


def _len(split):
    return 0 if split is None else len(split)


def count_parameters(model):
    """Σ over parameters of their number of elements."""
    return int(sum(p.data.size for p in model.parameters()))


# ---------------------------------------------------------------------------- logging
def _read_jsonl(path):
    """The records of a .jsonl file; a line cut short by a kill (only ever the last) is skipped."""
    if not os.path.exists(path):
        return []
    rows = []
    with open(path, "rb") as f:
        for line in f:
            try:
                rows.append(json.loads(line))
            except ValueError:
                continue
    return rows


def _append_jsonl(path, records):
    if not records:
        return
    text = "".join(strict_json(r) + "\n" for r in records).encode()
    with open(path, "ab") as f:
        f.write(text[: len(text) // 2])
        f.flush()
        kill_point(f"{os.path.basename(path)}:append")
        f.write(text[len(text) // 2:])


def _truncate_jsonl(path, epoch):
    """Keep the records of epochs 1..epoch (a resume drops what was logged after the checkpoint)."""
    if os.path.exists(path):
        rows = [r for r in _read_jsonl(path) if isinstance(r, dict) and r.get("epoch", 0) <= epoch]
        atomic_write(path, "".join(strict_json(r) + "\n" for r in rows).encode())


def _clock(seconds):
    """``m:ss`` or ``h:mm:ss``."""
    m, sec = divmod(int(round(seconds)), 60)
    h, m = divmod(m, 60)
    return f"{h}:{m:02d}:{sec:02d}" if h else f"{m}:{sec:02d}"


class RunLogger(Callback):
    """Append each epoch's logs to metrics.jsonl (and the new layer records to layers.jsonl); print a table row.

    The row ends with ``left``: the time the remaining epochs of ``epochs`` take at this process's mean epoch
    time (an upper bound when early stopping ends the run sooner).
    """

    def __init__(self, run_dir, out, monitor, classification=True, epochs=None):
        self.path = os.path.join(run_dir, "metrics.jsonl")
        self.layers_path = os.path.join(run_dir, "layers.jsonl")
        self.out, self.monitor, self.epochs = out, monitor, epochs
        acc = [("acc", "accuracy", "7.4f")] if classification else []
        self.columns = ([("loss", "loss", "9.4f")] + acc + [("val_loss", "val_loss", "9.4f")] +
                        [("val_acc", "val_accuracy", "7.4f")] * bool(acc) + [("lr", "lr", "9.2e")])
        self._printed_head = False
        self._layer_count = 0
        self._warned = 0
        self._seconds = self._timed = 0

    def on_epoch_end(self, trainer, epoch, logs):
        _append_jsonl(self.path, [{k: int(v) if k == "epoch" else float(v) for k, v in logs.items()}])
        _append_jsonl(self.layers_path, self.monitor.records[self._layer_count:])
        self._layer_count = len(self.monitor.records)
        for w in self.monitor.warnings[self._warned:]:
            self.out("  monitor: " + w)
        self._warned = len(self.monitor.warnings)
        if not self._printed_head:
            self.out(f"{'epoch':>5} " + " ".join(f"{h:>{int(fmt.split('.')[0])}}" for h, _, fmt in self.columns) +
                     f" {'time':>6} {'left':>7}")
            self._printed_head = True
        self._seconds += logs.get("time", 0.0)
        self._timed += 1
        left = "-" if self.epochs is None else _clock(max(self.epochs - epoch, 0) * self._seconds / self._timed)
        cells = " ".join(format(logs[k], fmt) if k in logs else f"{'-':>{int(fmt.split('.')[0])}}"
                         for _, k, fmt in self.columns)
        self.out(f"{epoch:>5} {cells} {logs.get('time', 0.0):5.2f}s {left:>7}")

    def state_dict(self):
        return {"layer_count": self._layer_count, "warned": self._warned}

    def load_state_dict(self, state):
        self._layer_count, self._warned = state["layer_count"], state["warned"]


# ---------------------------------------------------------------------------- building
def _printer():
    try:
        from tqdm.auto import tqdm
        return tqdm.write
    except ImportError:
        return print


def check_extras(spec):
    """Raise ConfigError if ``spec`` asks for an optional package that is not installed (tensorboardX)."""
    if spec.output.tensorboard:
        try:
            import tensorboardX  # noqa: F401
        except ImportError:
            raise ConfigError("config key 'output.tensorboard' = true: TensorBoard event files need tensorboardX, "
                              "which is not installed: pip install tensorboardX (or set output.tensorboard = false)") \
                from None


def build_trainer(spec, run_dir, data, out):
    """(Trainer, loader, LayerMonitor) of a run: model, optimizer and callbacks built after seeding descend's and
    NumPy's generators."""
    t, d = spec.training, spec.data
    manual_seed(t.seed)
    np.random.seed(t.seed)
    model = spec.model.build(data.n_in, data.n_out)
    optimizer = spec.optimizer.build(model.parameters())
    monitor = LayerMonitor(every=t.monitor_every or None)
    callbacks = [monitor]
    if t.early_stopping is not None:
        callbacks.append(t.early_stopping.build())
    if spec.schedule is not None:
        callbacks.append(spec.schedule.callback(optimizer))
    callbacks.append(WeightTrajectory(os.path.join(run_dir, "trajectory"), spec.output.trajectory_max_parameters))
    callbacks += [TerminateOnNaN(), RunLogger(run_dir, out, monitor, d.classification, t.epochs)]
    if spec.output.csv:
        callbacks.append(CSVLogger(os.path.join(run_dir, "metrics.csv")))
    if spec.output.tensorboard:
        callbacks.append(TensorBoardLogger(os.path.join(run_dir, "tensorboard")))
    callbacks.append(ModelCheckpoint(os.path.join(run_dir, "checkpoints"), every=t.checkpoint_every))
    loader = D.DataLoader(data.train, batch_size=d.batch_size, shuffle=True, seed=t.seed + 1, mode=d.mode,
                          fixed_batches=d.fixed_batches, drop_last=d.drop_last,
                          transform=d.augment.build(d.image_shape))
    trainer = Trainer(model, d.loss(), optimizer, callbacks=callbacks, metrics=d.metrics(),
                      progress=spec.output.progress, verbose=0,   # RunLogger prints the epochs
                      compile=spec.training.compile)
    return trainer, loader, monitor


def fit_to(trainer, loader, val, total):
    """Train until ``total`` epochs are done (or a callback stops the run), counting the epochs a resumed trainer
    already did (``Trainer.fit(epochs=n)`` trains n more). A run that a callback stopped stays stopped; its
    ``fit(epochs=0)`` still runs the callbacks' fit hooks (early stopping restores the best weights there)."""
    trainer.fit(loader, val=val, epochs=0 if trainer.stop_training else max(total - trainer.epoch, 0))


# ---------------------------------------------------------------------------- the run
def new_run_dir(spec):
    """``<output.dir>/<output.name>``, or for an unnamed run ``<output.dir>/<timestamp>`` made unique."""
    o = spec.output
    if o.name:
        return os.path.join(o.dir, o.name)
    base = os.path.join(o.dir, time.strftime("%Y%m%d-%H%M%S"))
    path, k = base, 1
    while os.path.lexists(path):
        k += 1
        path = f"{base}-{k}"
    return path


def _saved_config(config):
    """The configuration a run directory keeps: ``data.path`` made absolute, so that the run resumes, evaluates
    and predicts from any working directory."""
    saved = copy_config(config)
    if saved["data"]["path"]:
        saved["data"]["path"] = os.path.abspath(saved["data"]["path"])
    return saved


def run(config, run_dir=None, resume=False, out=None, evaluate_test=True, overwrite=False):
    """Train the run described by ``config`` in ``run_dir`` (default: from ``[output]``); returns the summary dict
    (also written to summary.json).

    ``resume=True`` continues the run in ``run_dir`` from its last checkpoint (or from the start if it was
    killed before its first one). A new run refuses an existing run directory unless ``overwrite=True``.
    ``evaluate_test=False`` never evaluates or reports the test split (model selection keeps it locked).
    Raises ConfigError / RunError (nothing created), TrainingDiverged (the run's files say what was kept),
    or Interrupted on Ctrl-C (resume it).
    """
    out = out or _printer()
    spec = resolve(config)
    check_extras(spec)
    with blas_threads(spec.training.threads):
        if resume:
            if run_dir is None:
                raise RunError("resume=True needs the run directory to continue")
            lock = RunLock(run_dir)
        else:
            data = build_data(spec)
            run_dir = os.path.abspath(run_dir if run_dir is not None else new_run_dir(spec))
            lock = create_run(run_dir, {"config.toml": dumps(_saved_config(config)).encode(),
                                        "data.json": strict_json(data.description(spec), indent=2).encode()},
                              overwrite=overwrite)
        run_dir = os.path.abspath(run_dir)
        with lock:
            try:
                if resume:
                    clean_run(run_dir)
                    data = build_data(spec, _recorded_data(run_dir).get("sha256"))
                return _train(spec, data, run_dir, resume, out, evaluate_test)
            except KeyboardInterrupt:
                raise Interrupted(run_dir) from None


def _read_json(run_dir, name):
    """The JSON file ``name`` of the run (None if it does not exist)."""
    path = os.path.join(run_dir, name)
    if not os.path.exists(path):
        return None
    try:
        with open(path, "rb") as f:
            return json.loads(f.read())
    except ValueError as e:
        raise RunError(f"{path} is corrupted ({e})") from None


def _read_summary(run_dir):
    """The run's summary.json (None before the run ended)."""
    return _read_json(run_dir, "summary.json")


def _recorded_data(run_dir):
    """The run's data.json ({} for a run made before descend wrote it)."""
    return _read_json(run_dir, "data.json") or {}


def _train(spec, data, run_dir, resume, out, evaluate_test):
    t0 = time.perf_counter()
    out(f"run directory: {run_dir}")
    if resume:
        done = _read_summary(run_dir)
        if done is not None and not done.get("diverged") and (done["epochs"] >= spec.training.epochs or
                                                                 done.get("stop_reason")):
            out(f"{run_dir} already finished ({done['epochs']} epochs); nothing to resume")
            return done
        # otherwise it was killed, or it finished and its config now asks for more epochs: continue it
    trainer, loader, monitor = build_trainer(spec, run_dir, data, out)
    if resume:
        _restore(trainer, run_dir, out)
    elif spec.training.sanity_check:
        from .sanity import sanity_check
        out(str(sanity_check(trainer.model, spec.data.loss(), data.train, verbose=False)))
    d = spec.data
    source = f"{d.path} ({d.task})" if d.dataset.file else d.name
    test = f", {len(data.test)} test" if evaluate_test and data.test is not None else ""
    out(f"training a {spec.model.describe()} ({count_parameters(trainer.model)} parameters) on {source}: "
        f"{len(data.train)} train, {_len(data.val)} validation{test} examples, {spec.optimizer.name}, up to "
        f"{spec.training.epochs} epochs")
    fit_to(trainer, loader, data.val, spec.training.epochs)
    summary = {"run_dir": run_dir, "epochs": trainer.epoch, "steps": trainer.global_step,
               "parameters": count_parameters(trainer.model)}
    if trainer.nan_step is not None:
        message = _diverged(trainer, os.path.join(run_dir, "checkpoints", "last"))
        summary.update(diverged=True, stop_reason=message)
        atomic_write(os.path.join(run_dir, "summary.json"), strict_json(summary, indent=2).encode())
        raise TrainingDiverged(message)
    if trainer.stop_reason:
        out(trainer.stop_reason)
    summary.update(diverged=False, stop_reason=trainer.stop_reason)
    _finish(spec, data, run_dir, trainer, monitor, summary, evaluate_test, out)
    summary["time_seconds"] = time.perf_counter() - t0
    atomic_write(os.path.join(run_dir, "summary.json"), strict_json(summary, indent=2).encode())
    split = "test" if evaluate_test and data.test is not None else "val"
    if f"{split}_loss" in summary:
        acc = f"{split} accuracy {summary[f'{split}_accuracy']:.4f}, " if d.classification else ""
        loss = "loss" if d.classification else "loss (mean squared error)"
        out(f"{acc}{split} {loss} {summary[f'{split}_loss']:.4f} after {trainer.epoch} epochs in "
            f"{summary['time_seconds']:.1f} s")
    out(f"run directory: {run_dir}")
    return summary


def _restore(trainer, run_dir, out):
    """Load the run's last checkpoint into ``trainer`` (none yet: start again) and drop the records logged after it."""
    last = os.path.join(run_dir, "checkpoints", "last")
    if checkpoint_exists(last):
        try:
            trainer.load_checkpoint(last)
        except ValueError as e:
            raise RunError(f"cannot resume {run_dir}: " + " ".join(str(e).split())) from None
        out(f"resuming after epoch {trainer.epoch} (step {trainer.global_step})")
    else:
        out("resuming from the start (the run stopped before its first checkpoint)")
    for name in ("metrics.jsonl", "layers.jsonl"):
        _truncate_jsonl(os.path.join(run_dir, name), trainer.epoch)


def _splits(data, evaluate_test):
    """(name, data set) of the splits to evaluate: train, val and (unless ``evaluate_test`` is False) test."""
    return (("train", data.train), ("val", data.val)) + ((("test", data.test),) if evaluate_test else ())


def _finish(spec, data, run_dir, trainer, monitor, summary, evaluate_test, out):
    """Write the final model (with what prediction needs) and the plots; add the final metrics to ``summary``."""
    t = data.table
    save_checkpoint(os.path.join(run_dir, "model"), {
        "model": copy_state(trainer.model), "n_in": data.n_in, "n_out": data.n_out,
        "n_classes": data.n_out if spec.data.classification else None, "task": spec.data.task,
        "classes": None if data.classes is None else list(data.classes),
        "columns": None if t is None or t.columns is None else list(t.columns),
        "label": None if t is None else t.label, "label_index": None if t is None else t.label_index,
        "input_dtype": str(data.train.arrays[0].dtype),
        "standardize": None if data.standardize is None else data.standardize.state_dict()})
    summary.update(_evaluate(trainer, _splits(data, evaluate_test)))
    es = next((c for c in trainer.callbacks if isinstance(c, EarlyStopping)), None)
    if es is not None:
        summary["best_epoch"] = es.best_epoch
    history = trainer.history.history
    summary["train_time_seconds"] = float(sum(history.get("time", [])))
    summary["layer_warnings"] = monitor.warnings[-10:]
    if spec.output.plots:
        from .plots import plot_run
        written = plot_run(run_dir, history, _read_jsonl(os.path.join(run_dir, "layers.jsonl")), out)
        if written:
            out(f"plots: {os.path.dirname(written[0])}{os.sep} ({', '.join(os.path.basename(p) for p in written)})")


def _diverged(trainer, last):
    """The truthful account of a diverged run: where and what was kept."""
    where = f"training diverged: the loss became non-finite at step {trainer.nan_step} (epoch {trainer.epoch + 1})"
    if checkpoint_exists(last):
        epoch = load_checkpoint(last)["epoch"]
        kept = (f"the checkpoint after epoch {epoch} is kept ({checkpoint_path(last)}); no final model was written")
    else:
        kept = "no checkpoint had been written yet, and no final model was written"
    return f"{where}; {kept}. Lower optimizer.lr and train again"


def _evaluate(trainer, splits):
    result = {}
    for split, ds in splits:
        if ds is not None:
            for k, v in trainer.evaluate(ds).items():
                result[f"{split}_{k}"] = v
    return result


# ---------------------------------------------------------------------------- reading a run
def load_run_config(run_dir):
    """The resolved configuration saved in ``run_dir/config.toml``."""
    path = os.path.join(run_dir, "config.toml")
    if not os.path.isdir(run_dir):
        raise RunError(f"{run_dir} does not exist or is not a directory")
    if not os.path.exists(path):
        raise RunError(f"{run_dir} is not a descend run directory (no config.toml)")
    return load_config(path)


def _final_state(run_dir, allow_checkpoint):
    """(state, path) of the run's final model, or of its last checkpoint if allowed and no final model exists."""
    path = os.path.join(run_dir, "model")
    if not checkpoint_exists(path):
        if not allow_checkpoint:
            summary = _read_summary(run_dir)
            why = (summary["stop_reason"] if summary and summary.get("diverged") else
                   f"the run has not finished; continue it with `descend train --resume {run_dir}`")
            raise RunError(f"{run_dir} has no final model ({checkpoint_path(path)}): {why}")
        path = os.path.join(run_dir, "checkpoints", "last")
        if not checkpoint_exists(path):
            raise RunError(f"{run_dir} has neither a final model nor a checkpoint yet")
    return load_checkpoint(path), checkpoint_path(path)


def _load_model(spec, state, n_in, n_out, source):
    model = spec.model.build(n_in, n_out)
    try:
        load_model_state(model, state["model"], source=source)
    except (ValueError, KeyError) as e:
        raise RunError(" ".join(str(e).split())) from None
    return model


def load_run(run_dir):
    """(spec, data, model) of the run in ``run_dir``: its resolved configuration, its rebuilt :class:`Data`, and
    its model at the final weights (else at its last checkpoint)."""
    spec = resolve(load_run_config(run_dir))
    data = build_data(spec, _recorded_data(run_dir).get("sha256"))
    state, source = _final_state(run_dir, allow_checkpoint=True)
    return spec, data, _load_model(spec, state, data.n_in, data.n_out, source)


def evaluate_run(run_dir, out=print, evaluate_test=True):
    """Rebuild the run's data and model, load its final weights (else its last checkpoint), and return
    ``{split_metric: value}`` for train, validation and (unless ``evaluate_test=False``) test."""
    spec = resolve(load_run_config(run_dir))
    with blas_threads(spec.training.threads):
        spec, data, model = load_run(run_dir)
        trainer = Trainer(model, spec.data.loss(), optimizer=None, metrics=spec.data.metrics())
        splits = _splits(data, evaluate_test)
        result = _evaluate(trainer, splits)
    classification = spec.data.classification
    out(f"{'split':<6} {'loss':>9}" + (f" {'accuracy':>9}" if classification else "  (mean squared error)"))
    for split, _ in splits:
        if f"{split}_loss" in result:
            acc = f" {result[split + '_accuracy']:>9.4f}" if classification else ""
            out(f"{split:<6} {result[split + '_loss']:>9.4f}{acc}")
    return result


def predict_run(run_dir, input_path, out_path=None, out=print, batch_size=1024):
    """What the run's final model predicts for the rows of ``input_path`` (CSV with or without the label column,
    .npy, or .npz with the run's ``data.x`` array; in the data's own units: the saved standardization is applied):
    for classification the original labels (N,) (integers or strings, as in the training data), for regression
    the values (N, k). Written to ``out_path`` (``.npy``: an array; else one line per row) or printed."""
    spec = resolve(load_run_config(run_dir))
    state, source = _final_state(run_dir, allow_checkpoint=False)
    n_in = state["n_in"]
    n_out = state.get("n_out", state.get("n_classes"))
    try:
        x = D.read_inputs(input_path, n_in, columns=state.get("columns"), label=state.get("label"),
                          label_index=state.get("label_index"), x=spec.data.x)
    except ValueError as e:
        raise RunError("input file " + " ".join(str(e).split())) from None
    x = x.astype(state["input_dtype"])
    if state["standardize"] is not None:
        s = D.Standardize()
        s.load_state_dict(state["standardize"])
        x = s(x)
    with blas_threads(spec.training.threads):
        model = _load_model(spec, state, n_in, n_out, source)
        model.eval()
        with no_grad():
            y = np.concatenate([model(wrap(np.ascontiguousarray(x[i:i + batch_size]))).numpy()
                                for i in range(0, len(x), batch_size)])
    if state.get("task", "classification") == "classification":
        classes = state.get("classes") or list(range(n_out))
        result = np.array(classes)[np.argmax(y, axis=1)]
        lines = [str(c) for c in result]
    else:
        result = y
        lines = [",".join(str(v) for v in row) for row in y]
    if out_path is None:
        for line in lines:
            out(line)
    elif os.fspath(out_path).endswith(".npy"):
        with open(out_path, "wb") as f:
            np.save(f, result, allow_pickle=False)
    else:
        atomic_write(out_path, "".join(line + "\n" for line in lines).encode())
    return result


def _model_sizes(run_dir):
    """(n_in, n_out) of the run's model, from data.json or the final model; None if neither exists yet."""
    recorded = _recorded_data(run_dir)
    if "n_in" in recorded:
        return recorded["n_in"], recorded["n_out"]
    path = os.path.join(run_dir, "model")
    if checkpoint_exists(path):
        state = load_checkpoint(path)
        return state["n_in"], state.get("n_out", state.get("n_classes"))
    return None


def _data_line(d, recorded):
    """The data set of a run in a few words."""
    if recorded.get("path"):
        text = f"{recorded['path']} ({d['task']}"
    else:
        text = f"{d['name']} ({d['task']}"
    classes = recorded.get("classes")
    if classes:
        shown = ", ".join(str(c) for c in classes[:10]) + (", ..." if len(classes) > 10 else "")
        text += f", {len(classes)} classes: {shown}"
    examples = recorded.get("examples")
    if examples:
        text += f"; {examples['train']} train, {examples['val']} validation, {examples['test']} test examples"
    return text + ")"


def info_run(run_dir, out=print):
    """Print what a run directory holds: configuration, data, progress, final metrics, checkpoints, warnings, and the
    model's table of layers (``dc.summary``)."""
    config = load_run_config(run_dir)
    spec = resolve(config)
    m, d = config["model"], config["data"]
    recorded = _recorded_data(run_dir)
    out(f"run {os.path.abspath(run_dir)}")
    pid = holder(run_dir)
    if pid is not None:
        out(f"  status: training now (process {pid if pid > 0 else 'unknown'})")
    out(f"  model: {spec.model.describe()} activation={m['activation']} dropout={m['dropout']} "
        f"batchnorm={m['batchnorm']}")
    opt = ", ".join(f"{k}={v}" for k, v in config["optimizer"].items() if k != "name")
    out(f"  optimizer: {config['optimizer']['name']}({opt}); schedule: {config['schedule']['name']}")
    out(f"  data: {_data_line(d, recorded)}, batch {d['batch_size']}, mode {d['mode']}")
    rows = _read_jsonl(os.path.join(run_dir, "metrics.jsonl"))
    out(f"  epochs done: {len(rows)} of {config['training']['epochs']}")
    if rows:
        out("  last epoch: " + ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                         for k, v in rows[-1].items() if k != "epoch"))
    info = {"config": config, "epochs_done": len(rows)}
    summary = _read_summary(run_dir)
    if summary is not None:
        info["summary"] = summary
        if "time_seconds" in summary:
            out(f"  parameters: {summary['parameters']}, time {summary['time_seconds']:.1f} s")
        finals = [k for k in ("train_accuracy", "val_accuracy", "test_accuracy", "train_loss", "val_loss", "test_loss")
                  if isinstance(summary.get(k), float)]
        if finals:
            out("  final: " + ", ".join(f"{k}={summary[k]:.4f}" for k in finals))
        if summary.get("stop_reason"):
            out(f"  stopped: {summary['stop_reason']}")
        for w in summary.get("layer_warnings", []):
            out(f"  monitor: {w}")
    else:
        out(f"  no summary.json: the run did not finish (continue it with descend train --resume {run_dir})")
    cdir = os.path.join(run_dir, "checkpoints")
    if os.path.isdir(cdir):
        for n in sorted(n for n in os.listdir(cdir) if n.endswith(".safetensors") and not n.startswith(".")):
            try:
                st = load_checkpoint(os.path.join(cdir, n))
                out(f"  checkpoint {n[:-len('.safetensors')]}: epoch {st['epoch']}, step {st['global_step']}")
            except CheckpointError as e:
                out(f"  {e}")
    for extra, what in (("metrics.csv", "epochs as CSV"), ("tensorboard", "TensorBoard: tensorboard --logdir")):
        if os.path.exists(os.path.join(run_dir, extra)):
            out(f"  {what} {os.path.join(os.path.abspath(run_dir), extra)}")
    sizes = _model_sizes(run_dir)
    if sizes is None:
        out("  model table: not available before the run writes data.json or model.safetensors")
    else:
        table = model_summary(spec.model.build(*sizes), (1, sizes[0]))
        info["model_summary"] = table
        out("")
        for line in str(table).splitlines():
            out("  " + line)
    return info
