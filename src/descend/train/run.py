"""A run described by a configuration: build data, model, optimizer and callbacks, train, and write the
run directory. ``descend train``, ``evaluate``, ``predict`` and ``info`` are thin wrappers around it.

A run directory holds ``config.toml`` (the resolved configuration), ``metrics.jsonl`` and
``layers.jsonl`` (one strict-JSON record per line), ``checkpoints/last.safetensors`` (everything a
resume needs), and at the end ``model.safetensors`` (the final weights with the standardization
statistics, what ``predict`` needs), ``summary.json`` and ``plots/``. Everything is checked before the
directory exists; the directory appears whole (:mod:`descend.train.rundir`) and is locked while a
process trains in it; every file is replaced atomically, so a run killed at any instant resumes
(``run(config, run_dir, resume=True)``) and finishes bit for bit as if it had never stopped.
"""

import json
import os
import time
from dataclasses import dataclass

import numpy as np

from .. import data as D
from ..autodiff import manual_seed, no_grad
from ..autodiff.extend import wrap
from .callbacks import Callback, EarlyStopping, LayerMonitor, ModelCheckpoint, TerminateOnNaN
from .checkpoint import CheckpointError, checkpoint_exists, checkpoint_path, load_checkpoint, save_checkpoint
from .config import ConfigError, dumps, load_config
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
    """The splits of a run (TensorDatasets, standardized if asked), the sizes, and the statistics used."""

    train: object
    val: object        # None: no validation split
    test: object
    n_in: int
    n_classes: int
    standardize: object   # the fitted descend.data.Standardize, or None


def load_splits(spec):
    """The raw (train, val, test) TensorDatasets of ``spec.data`` (val None if empty), before standardization."""
    d = spec.data
    seed = d.seed if d.seed >= 0 else spec.training.seed
    try:
        pool, test = d.dataset.load(seed, d.path)
    except (OSError, RuntimeError, ValueError) as e:
        raise RunError(f"data set {d.name!r}: " + " ".join(str(e).split())) from None
    if not d.dataset.split:
        train = val = test = pool
    elif test is not None:
        train, val, _ = D.train_val_test_split(pool, val=d.val, test=0.0, stratify=d.stratify, seed=seed)
    else:
        train, val, test = D.train_val_test_split(pool, val=d.val, test=d.test, stratify=d.stratify, seed=seed)
    train, test = (D.TensorDataset(*D.as_arrays(s)) for s in (train, test))
    return train, (D.TensorDataset(*D.as_arrays(val)) if len(val) else None), test


def build_data(spec):
    """The run's :class:`Data`; raises ConfigError for splits the configuration cannot train on."""
    train, val, test = load_splits(spec)
    d = spec.data
    if val is None and d.has_validation:
        raise ConfigError(f"config key 'data.val' = {d.val}: leaves no validation example of {len(train)}")
    if spec.model.batchnorm and d.mode == "minibatch" and not d.drop_last and len(train) % d.batch_size == 1:
        raise ConfigError(f"the last mini-batch of each epoch holds 1 example ({len(train)} training examples, "
                          f"data.batch_size = {d.batch_size}), which BatchNorm cannot normalize: set "
                          f"data.drop_last = true or change data.batch_size")
    labels = np.concatenate([s.arrays[1] for s in (train, val, test) if s is not None])
    if labels.min() < 0 or labels.max() >= d.dataset.classes:
        raise RunError(f"data set {d.name!r}: labels {labels.min()}..{labels.max()} outside 0..{d.dataset.classes - 1}")
    standardize = None
    if d.standardize:
        standardize = D.Standardize().fit(train)
        train, test = standardize(train), standardize(test)
        val = None if val is None else standardize(val)
    n_in = int(np.prod(train.arrays[0].shape[1:]))
    return Data(train, val, test, n_in, d.dataset.classes, standardize)


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


class RunLogger(Callback):
    """Append each epoch's logs to metrics.jsonl (and the new layer records to layers.jsonl); print a table row."""

    HEAD = f"{'epoch':>5} {'loss':>9} {'acc':>7} {'val_loss':>9} {'val_acc':>7} {'lr':>9} {'time':>6}"

    def __init__(self, run_dir, out, monitor):
        self.path = os.path.join(run_dir, "metrics.jsonl")
        self.layers_path = os.path.join(run_dir, "layers.jsonl")
        self.out, self.monitor = out, monitor
        self._printed_head = False
        self._layer_count = 0
        self._warned = 0

    def on_epoch_end(self, trainer, epoch, logs):
        _append_jsonl(self.path, [{k: int(v) if k == "epoch" else float(v) for k, v in logs.items()}])
        _append_jsonl(self.layers_path, self.monitor.records[self._layer_count:])
        self._layer_count = len(self.monitor.records)
        for w in self.monitor.warnings[self._warned:]:
            self.out("  monitor: " + w)
        self._warned = len(self.monitor.warnings)
        if not self._printed_head:
            self.out(self.HEAD)
            self._printed_head = True

        def f(k, fmt):
            return format(logs[k], fmt) if k in logs else "-"
        self.out(f"{epoch:>5} {f('loss', '9.4f')} {f('accuracy', '7.4f')} {f('val_loss', '9.4f')} "
                 f"{f('val_accuracy', '7.4f')} {f('lr', '9.2e')} {f('time', '5.2f')}s")

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


def build_trainer(spec, run_dir, data, out):
    """(Trainer, loader, LayerMonitor) of a run: model, optimizer and callbacks built after seeding descend's and
    NumPy's generators."""
    from ..nn import functional as F
    t, d = spec.training, spec.data
    manual_seed(t.seed)
    np.random.seed(t.seed)
    model = spec.model.build(data.n_in, data.n_classes)
    optimizer = spec.optimizer.build(model.parameters())
    monitor = LayerMonitor(every=t.monitor_every or None)
    callbacks = [monitor]
    if t.early_stopping is not None:
        callbacks.append(t.early_stopping.build())
    if spec.schedule is not None:
        callbacks.append(spec.schedule.callback(optimizer))
    callbacks += [TerminateOnNaN(), RunLogger(run_dir, out, monitor),
                  ModelCheckpoint(os.path.join(run_dir, "checkpoints"), every=t.checkpoint_every)]
    loader = D.DataLoader(data.train, batch_size=d.batch_size, shuffle=True, seed=t.seed + 1, mode=d.mode,
                          fixed_batches=d.fixed_batches, drop_last=d.drop_last,
                          transform=d.augment.build(d.dataset.image_shape))
    trainer = Trainer(model, F.cross_entropy, optimizer, callbacks=callbacks, metrics=["accuracy"],
                      progress=spec.output.progress, verbose=0)   # RunLogger prints the epochs
    return trainer, loader, monitor


def fit_to(trainer, loader, val, total):
    """Train until ``total`` epochs are done (or a callback stops the run), counting the epochs a resumed trainer
    already did. ``Trainer.fit(epochs=n)`` runs epochs ``trainer.epoch + 1 .. n``."""
    trainer.fit(loader, val=val, epochs=total)


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
    if resume:
        if run_dir is None:
            raise RunError("resume=True needs the run directory to continue")
        lock = RunLock(run_dir)
    else:
        data = build_data(spec)
        run_dir = os.path.abspath(run_dir if run_dir is not None else new_run_dir(spec))
        lock = create_run(run_dir, {"config.toml": dumps(config).encode()}, overwrite=overwrite)
    run_dir = os.path.abspath(run_dir)
    with lock:
        try:
            if resume:
                clean_run(run_dir)
                data = build_data(spec)
            return _train(spec, data, run_dir, resume, out, evaluate_test)
        except KeyboardInterrupt:
            raise Interrupted(run_dir) from None


def _read_summary(run_dir):
    """The run's summary.json (None before the run ended)."""
    path = os.path.join(run_dir, "summary.json")
    if not os.path.exists(path):
        return None
    try:
        with open(path, "rb") as f:
            return json.loads(f.read())
    except ValueError as e:
        raise RunError(f"{path} is corrupted ({e})") from None


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
        from ..nn import functional as F
        from .sanity import sanity_check
        out(str(sanity_check(trainer.model, F.cross_entropy, data.train, verbose=False)))
    out(f"training a {list(spec.model.hidden)} MLP ({count_parameters(trainer.model)} parameters) on "
        f"{spec.data.name}: {len(data.train)} train, {0 if data.val is None else len(data.val)} validation"
        + (f", {len(data.test)} test" if evaluate_test else "") +
        f" examples, {spec.optimizer.name}, up to {spec.training.epochs} epochs")
    fit_to(trainer, loader, data.val, spec.training.epochs)
    summary = {"run_dir": run_dir, "epochs": trainer.epoch, "steps": trainer.step,
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
    split = "test" if evaluate_test else "val"
    if f"{split}_loss" in summary:
        out(f"{split} accuracy {summary[f'{split}_accuracy']:.4f}, {split} loss {summary[f'{split}_loss']:.4f} "
            f"after {trainer.epoch} epochs in {summary['time_seconds']:.1f} s")
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
        out(f"resuming after epoch {trainer.epoch} (step {trainer.step})")
    else:
        out("resuming from the start (the run stopped before its first checkpoint)")
    for name in ("metrics.jsonl", "layers.jsonl"):
        _truncate_jsonl(os.path.join(run_dir, name), trainer.epoch)


def _finish(spec, data, run_dir, trainer, monitor, summary, evaluate_test, out):
    """Write the final model (with what prediction needs) and the plots; add the final metrics to ``summary``."""
    save_checkpoint(os.path.join(run_dir, "model"), {
        "model": copy_state(trainer.model), "n_in": data.n_in, "n_classes": data.n_classes,
        "input_dtype": str(data.train.arrays[0].dtype),
        "standardize": None if data.standardize is None else data.standardize.state_dict()})
    splits = (("train", data.train), ("val", data.val)) + ((("test", data.test),) if evaluate_test else ())
    summary.update(_evaluate(trainer, splits))
    es = next((c for c in trainer.callbacks if isinstance(c, EarlyStopping)), None)
    if es is not None:
        summary["best_epoch"] = es.best_epoch
    history = trainer.history.history
    summary["train_time_seconds"] = float(sum(history.get("time", [])))
    summary["layer_warnings"] = monitor.warnings[-10:]
    if spec.output.plots:
        from .plots import plot_run
        plot_run(run_dir, history, _read_jsonl(os.path.join(run_dir, "layers.jsonl")), out)


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


def _load_model(spec, state, n_in, n_classes, source):
    model = spec.model.build(n_in, n_classes)
    try:
        load_model_state(model, state["model"], source=source)
    except (ValueError, KeyError) as e:
        raise RunError(" ".join(str(e).split())) from None
    return model


def evaluate_run(run_dir, out=print, evaluate_test=True):
    """Rebuild the run's data and model, load its final weights (else its last checkpoint), and return
    ``{split_metric: value}`` for train, validation and (unless ``evaluate_test=False``) test."""
    from ..nn import functional as F
    spec = resolve(load_run_config(run_dir))
    data = build_data(spec)
    state, source = _final_state(run_dir, allow_checkpoint=True)
    model = _load_model(spec, state, data.n_in, data.n_classes, source)
    trainer = Trainer(model, F.cross_entropy, optimizer=None, metrics=["accuracy"])
    splits = (("train", data.train), ("val", data.val)) + ((("test", data.test),) if evaluate_test else ())
    result = _evaluate(trainer, splits)
    out(f"{'split':<6} {'loss':>9} {'accuracy':>9}")
    for split, _ in splits:
        if f"{split}_loss" in result:
            out(f"{split:<6} {result[split + '_loss']:>9.4f} {result.get(split + '_accuracy', float('nan')):>9.4f}")
    return result


def read_inputs(path, n_in):
    """The rows of ``path`` (.npy, or CSV text with an optional header line) as an (N, n_in) float64 array."""
    path = os.fspath(path)
    try:
        if path.endswith(".npy"):
            x = np.load(path, allow_pickle=False)
        else:
            with open(path) as f:
                lines = [line for line in f.read().splitlines() if line.strip()]
            try:
                x = np.loadtxt(lines, delimiter=",", ndmin=2)
            except ValueError:
                x = np.loadtxt(lines[1:], delimiter=",", ndmin=2)   # a header line
    except FileNotFoundError:
        raise RunError(f"input file {path} does not exist") from None
    except (ValueError, OSError, UnicodeDecodeError) as e:
        raise RunError(f"input file {path}: not a numeric CSV or .npy array (" + " ".join(str(e).split()) + ")") \
            from None
    if not (np.issubdtype(x.dtype, np.floating) or np.issubdtype(x.dtype, np.integer)) or x.dtype == np.bool_:
        raise RunError(f"input file {path}: expected numbers, got an array of {x.dtype}")
    if x.ndim < 1 or len(x) == 0:
        raise RunError(f"input file {path} holds no rows")
    x = x.reshape(len(x), -1).astype(np.float64)
    if x.shape[1] != n_in:
        raise RunError(f"input file {path}: rows of {x.shape[1]} values; the model takes {n_in} inputs per row")
    if not np.isfinite(x).all():
        row = int(np.nonzero(~np.isfinite(x).all(axis=1))[0][0])
        raise RunError(f"input file {path}: row {row + 1} holds NaN or infinite values")
    return x


def predict_run(run_dir, input_path, out_path=None, out=print, batch_size=1024):
    """The classes the run's final model predicts for the rows of ``input_path`` (in the data set's own units:
    the saved standardization is applied), as an (N,) int64 array; written one per line to ``out_path``
    (``.npy``: an array) or printed."""
    spec = resolve(load_run_config(run_dir))
    state, source = _final_state(run_dir, allow_checkpoint=False)
    x = read_inputs(input_path, state["n_in"]).astype(state["input_dtype"])
    if state["standardize"] is not None:
        s = D.Standardize()
        s.load_state_dict(state["standardize"])
        x = s(x)
    model = _load_model(spec, state, state["n_in"], state["n_classes"], source)
    model.eval()
    with no_grad():
        classes = np.concatenate([np.argmax(model(wrap(np.ascontiguousarray(x[i:i + batch_size]))).numpy(), axis=1)
                                  for i in range(0, len(x), batch_size)]).astype(np.int64)
    if out_path is None:
        for c in classes:
            out(str(c))
    elif os.fspath(out_path).endswith(".npy"):
        with open(out_path, "wb") as f:
            np.save(f, classes, allow_pickle=False)
    else:
        atomic_write(out_path, "".join(f"{c}\n" for c in classes).encode())
    return classes


def info_run(run_dir, out=print):
    """Print what a run directory holds: configuration, progress, final metrics, checkpoints, warnings."""
    config = load_run_config(run_dir)
    m, d = config["model"], config["data"]
    out(f"run {os.path.abspath(run_dir)}")
    pid = holder(run_dir)
    if pid is not None:
        out(f"  status: training now (process {pid if pid > 0 else 'unknown'})")
    out(f"  model: MLP hidden={m['hidden']} activation={m['activation']} dropout={m['dropout']} "
        f"batchnorm={m['batchnorm']}")
    opt = ", ".join(f"{k}={v}" for k, v in config["optimizer"].items() if k != "name")
    out(f"  optimizer: {config['optimizer']['name']}({opt}); schedule: {config['schedule']['name']}")
    out(f"  data: {d['name']}, batch {d['batch_size']}, mode {d['mode']}")
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
        finals = [k for k in ("train_accuracy", "val_accuracy", "test_accuracy", "test_loss")
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
                out(f"  checkpoint {n[:-len('.safetensors')]}: epoch {st['epoch']}, step {st['step']}")
            except CheckpointError as e:
                out(f"  {e}")
    return info
