"""A run described by a configuration: build data, model, optimizer and callbacks, train, and write the
run directory (config.toml, metrics.jsonl, layers.jsonl, checkpoints/, model.npz/json, summary.json,
plots/). ``descend train``, ``descend evaluate`` and ``descend info`` are thin wrappers around it.
"""

import json
import os
import time

import numpy as np

from .. import data as D
from ..autodiff import manual_seed
from .callbacks import Callback, EarlyStopping, LayerMonitor, LRScheduler, ModelCheckpoint, ReduceLROnPlateau, \
    TerminateOnNaN
from .callbacks.trajectory import WeightTrajectory
from .checkpoint import atomic_write, checkpoint_exists, load_checkpoint, save_checkpoint
from .config import dumps, load_config, resolve_classes
from .state import copy_state, load_model_state
from .trainer import Trainer

IMAGE_SHAPES = {"digits": (8, 8), "mnist": (28, 28), "fashion_mnist": (28, 28)}


# ---------------------------------------------------------------------------- data
def _materialize(ds):
    return D.TensorDataset(*D.as_arrays(ds))


def build_data(config):
    """(train, val, test, number of inputs, number of classes) as TensorDatasets, standardized if asked."""
    d, seed = config["data"], config["training"]["seed"]
    name = d["name"]
    if name in ("mnist", "fashion_mnist"):
        fn = D.mnist if name == "mnist" else D.fashion_mnist
        root = d["path"] or None
        full = fn(root=root, train=True)
        train, val, _ = D.train_val_test_split(full, val=d["val"], test=0.0, stratify=d["stratify"], seed=seed)
        test = fn(root=root, train=False)
    elif name == "xor":
        x, t = D.xor().arrays
        full = D.TensorDataset(x, t.reshape(-1).astype(np.int64))
        train = val = test = full
    else:
        if name == "digits":
            full = D.digits()
        elif name == "two_moons":
            full = D.two_moons(1000, noise=0.2, seed=seed)
        elif name == "spirals":
            full = D.spirals(1200, classes=3, noise=0.1, seed=seed)
        else:
            full = D.circles(1000, noise=0.08, seed=seed)
        train, val, test = D.train_val_test_split(full, val=d["val"], test=d["test"], stratify=d["stratify"], seed=seed)
    train, val, test = _materialize(train), _materialize(val), _materialize(test)
    if len(val) == 0:
        val = None
    if d["standardize"]:
        s = D.Standardize().fit(train)
        train, test = s(train), s(test)
        val = None if val is None else s(val)
    n_in = int(np.prod(train.arrays[0].shape[1:]))
    n_classes = int(max(train.arrays[1].max(), test.arrays[1].max())) + 1
    return train, val, test, n_in, n_classes


def build_transform(config):
    """The augmentation of ``[data.augment]`` (None if all off), applied to flat image rows."""
    a, shape = config["data"]["augment"], IMAGE_SHAPES.get(config["data"]["name"])
    T = D.transforms
    steps = []
    if shape is not None:
        if a["shift"]:
            steps.append(T.RandomShift(a["shift"], image_shape=shape))
        if a["flip"]:
            steps.append(T.RandomHorizontalFlip(image_shape=shape))
        if a["rotate"]:
            steps.append(T.RandomRotation(a["rotate"], image_shape=shape))
    elif a["shift"] or a["flip"] or a["rotate"]:
        raise ValueError(f"data.augment: shift/flip/rotate need image data; {config['data']['name']!r} is not images")
    if a["noise"]:
        steps.append(T.GaussianNoise(a["noise"]))
    return T.Compose(steps) if steps else None


# ---------------------------------------------------------------------------- model
def build_model(config, n_in, n_out):
    """The MLP of ``[model]``: Linear → [BatchNorm1d] → activation → [Dropout] per hidden layer, then Linear."""
    from .. import nn
    m = config["model"]
    acts = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "leaky_relu": nn.LeakyReLU, "elu": nn.ELU,
            "gelu": nn.GELU}
    layers, prev = [], n_in
    for h in m["hidden"]:
        layers.append(nn.Linear(prev, h))
        if m["batchnorm"]:
            layers.append(nn.BatchNorm1d(h))
        layers.append(acts[m["activation"]]())
        if m["dropout"] > 0:
            layers.append(nn.Dropout(m["dropout"]))
        prev = h
    layers.append(nn.Linear(prev, n_out))
    model = nn.Sequential(*layers)
    if m["init"] != "default":
        init = getattr(nn.init, m["init"] + "_")
        for layer in layers:
            if isinstance(layer, nn.Linear):
                if m["init"].startswith("kaiming"):
                    init(layer.weight, nonlinearity="relu" if m["activation"] == "relu" else "leaky_relu")
                else:
                    init(layer.weight)
                nn.init.zeros_(layer.bias)
    return model


def count_parameters(model):
    """Σ over parameters of their number of elements."""
    return int(sum(p.data.size for p in model.parameters()))


# ---------------------------------------------------------------------------- logging callbacks
class RunLogger(Callback):
    """Append each epoch's logs to metrics.jsonl (and the layer records to layers.jsonl); print a table row."""

    HEAD = f"{'epoch':>5} {'loss':>9} {'acc':>7} {'val_loss':>9} {'val_acc':>7} {'lr':>9} {'time':>6}"

    def __init__(self, run_dir, out, monitor=None):
        self.path = os.path.join(run_dir, "metrics.jsonl")
        self.layers_path = os.path.join(run_dir, "layers.jsonl")
        self.out, self.monitor = out, monitor
        self._printed_head = False
        self._layer_count = 0

    def on_epoch_end(self, trainer, epoch, logs):
        with open(self.path, "a") as f:
            f.write(json.dumps({k: float(v) if k != "epoch" else int(v) for k, v in logs.items()}) + "\n")
        if self.monitor is not None:
            new = self.monitor.records[self._layer_count:]
            self._layer_count = len(self.monitor.records)
            with open(self.layers_path, "a") as f:
                for r in new:
                    f.write(json.dumps(r) + "\n")
            for w in self.monitor.warnings[getattr(self, "_warned", 0):]:
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
        return {"layer_count": self._layer_count, "warned": getattr(self, "_warned", 0)}

    def load_state_dict(self, state):
        self._layer_count, self._warned = state["layer_count"], state["warned"]


def _truncate_jsonl(path, keep):
    """Keep the lines of ``path`` satisfying ``keep(record)`` (after a resume, drop epochs past the checkpoint)."""
    if not os.path.exists(path):
        return
    with open(path) as f:
        rows = [line for line in f if line.strip() and keep(json.loads(line))]
    atomic_write(path, "".join(rows).encode())


# ---------------------------------------------------------------------------- the run
def new_run_dir(config):
    """``<output.dir>/<output.name or timestamp>``, made unique."""
    o = config["output"]
    base = os.path.join(o["dir"], o["name"] or time.strftime("%Y%m%d-%H%M%S"))
    path, k = base, 1
    while os.path.exists(path):
        k += 1
        path = f"{base}-{k}"
    os.makedirs(path)
    return path


def _printer():
    try:
        from tqdm.auto import tqdm
        return tqdm.write
    except ImportError:
        return print


def build_trainer(config, run_dir, train, n_in, n_classes, out):
    """Model, optimizer, callbacks and Trainer of a run (descend's generator seeded first)."""
    from ..nn import functional as F
    t = config["training"]
    manual_seed(t["seed"])
    np.random.seed(t["seed"])
    opt_cls, sched_cls = resolve_classes(config)
    model = build_model(config, n_in, n_classes)
    kwargs = {k: v for k, v in config["optimizer"].items() if k != "name"}
    optimizer = opt_cls(model.parameters(), **kwargs)
    monitor = LayerMonitor(every=t["monitor_every"] or None)
    callbacks = [monitor]
    es = t["early_stopping"]
    if es["enabled"]:
        callbacks.append(EarlyStopping(es["monitor"], es["mode"], es["patience"], es["min_delta"],
                                       es["restore_best_weights"], es["notes_patience"]))
    s = config["schedule"]
    if sched_cls is not None:
        skw = {k: v for k, v in s.items() if k not in ("name", "interval", "monitor")}
        sched = sched_cls(optimizer, **skw)
        plateau = sched_cls.__name__ == "ReduceLROnPlateau"
        callbacks.append(LRScheduler(sched, "epoch" if plateau else s["interval"], s["monitor"] if plateau else None))
    callbacks.append(WeightTrajectory(os.path.join(run_dir, "trajectory"), config["output"]["trajectory_max_parameters"]))
    callbacks += [TerminateOnNaN(), RunLogger(run_dir, out, monitor),
                  ModelCheckpoint(os.path.join(run_dir, "checkpoints"), every=t["checkpoint_every"])]
    loader = D.DataLoader(train, batch_size=config["data"]["batch_size"], shuffle=True,
                          seed=t["seed"] + 1, mode=config["data"]["mode"], fixed_batches=config["data"]["fixed_batches"],
                          transform=build_transform(config))
    trainer = Trainer(model, F.cross_entropy, optimizer, callbacks=callbacks, metrics=["accuracy"],
                      progress=config["output"]["progress"])
    return trainer, loader, monitor


def run(config, run_dir=None, resume=False, out=None):
    """Train the run described by ``config`` in ``run_dir`` (new if None); ``resume=True`` continues from
    ``run_dir/checkpoints/last``. Returns the summary dict (also written to summary.json)."""
    out = out or _printer()
    t0 = time.perf_counter()
    if run_dir is None:
        run_dir = new_run_dir(config)
    os.makedirs(run_dir, exist_ok=True)
    if not resume:
        atomic_write(os.path.join(run_dir, "config.toml"), dumps(config).encode())
        for name in ("metrics.jsonl", "layers.jsonl"):
            p = os.path.join(run_dir, name)
            if os.path.exists(p):
                os.remove(p)
    train, val, test, n_in, n_classes = build_data(config)
    trainer, loader, monitor = build_trainer(config, run_dir, train, n_in, n_classes, out)
    if config["training"]["sanity_check"] and not resume:
        from .sanity import sanity_check
        from ..nn import functional as F
        out(str(sanity_check(trainer.model, F.cross_entropy, train, verbose=False)))
    last = os.path.join(run_dir, "checkpoints", "last")
    if resume:
        if not checkpoint_exists(last):
            raise FileNotFoundError(f"--resume {run_dir}: no checkpoint at {last}.npz/.json (nothing to resume)")
        trainer.load_checkpoint(last)
        _truncate_jsonl(os.path.join(run_dir, "metrics.jsonl"), lambda r: r["epoch"] <= trainer.epoch)
        _truncate_jsonl(os.path.join(run_dir, "layers.jsonl"), lambda r: r["epoch"] <= trainer.epoch)
        out(f"resuming {run_dir} after epoch {trainer.epoch} (step {trainer.step})")
    epochs = config["training"]["epochs"]
    out(f"training a {config['model']['hidden']} MLP ({count_parameters(trainer.model)} parameters) on "
        f"{config['data']['name']}: {len(train)} train, {0 if val is None else len(val)} validation, {len(test)} test "
        f"examples, {config['optimizer']['name']}, up to {epochs} epochs")
    trainer.fit(loader, val=val, epochs=epochs)
    if trainer.stop_reason:
        out(trainer.stop_reason)
    save_checkpoint(os.path.join(run_dir, "model"), {"model": copy_state(trainer.model),
                                                    "n_in": n_in, "n_classes": n_classes})
    summary = {"run_dir": os.path.abspath(run_dir), "epochs": trainer.epoch, "steps": trainer.step,
               "stop_reason": trainer.stop_reason, "parameters": count_parameters(trainer.model)}
    for split, ds in (("train", train), ("val", val), ("test", test)):
        if ds is not None:
            for k, v in trainer.evaluate(ds).items():
                summary[f"{split}_{k}"] = v
    es = next((c for c in trainer.callbacks if isinstance(c, EarlyStopping)), None)
    if es is not None:
        summary["best_epoch"] = es.best_epoch
    h = trainer.history.history
    summary["train_time_seconds"] = float(sum(h.get("time", [])))
    summary["time_seconds"] = time.perf_counter() - t0
    summary["layer_warnings"] = monitor.warnings[-10:]
    atomic_write(os.path.join(run_dir, "summary.json"), json.dumps(summary, indent=2).encode())
    if config["output"]["plots"]:
        plot_records = []
        lp = os.path.join(run_dir, "layers.jsonl")
        if os.path.exists(lp):
            with open(lp) as f:
                plot_records = [json.loads(line) for line in f if line.strip()]
        from .plots import plot_run
        plot_run(run_dir, h, plot_records, out)
    out(f"test accuracy {summary.get('test_accuracy', float('nan')):.4f}, test loss {summary['test_loss']:.4f} "
        f"after {trainer.epoch} epochs in {summary['time_seconds']:.1f} s")
    out(f"run directory: {os.path.abspath(run_dir)}")
    return summary


def load_run_config(run_dir):
    """The resolved configuration saved in ``run_dir/config.toml``."""
    path = os.path.join(run_dir, "config.toml")
    if not os.path.exists(path):
        raise FileNotFoundError(f"{run_dir} is not a descend run directory (no config.toml)")
    return load_config(path)


def evaluate_run(run_dir, out=print):
    """Rebuild the run's data and model, load its final weights (model.npz), and return {split_metric: value}."""
    from ..nn import functional as F
    config = load_run_config(run_dir)
    train, val, test, n_in, n_classes = build_data(config)
    model = build_model(config, n_in, n_classes)
    path = os.path.join(run_dir, "model")
    if not checkpoint_exists(path):
        path = os.path.join(run_dir, "checkpoints", "last")
    state = load_checkpoint(path)
    load_model_state(model, state["model"], source=path)
    trainer = Trainer(model, F.cross_entropy, optimizer=None, metrics=["accuracy"])
    result = {}
    for split, ds in (("train", train), ("val", val), ("test", test)):
        if ds is not None:
            for k, v in trainer.evaluate(ds).items():
                result[f"{split}_{k}"] = v
    out(f"{'split':<6} {'loss':>9} {'accuracy':>9}")
    for split in ("train", "val", "test"):
        if f"{split}_loss" in result:
            out(f"{split:<6} {result[split + '_loss']:>9.4f} {result.get(split + '_accuracy', float('nan')):>9.4f}")
    return result


def info_run(run_dir, out=print):
    """Print what a run directory holds: configuration, progress, final metrics, checkpoints, warnings."""
    config = load_run_config(run_dir)
    out(f"run {os.path.abspath(run_dir)}")
    out(f"  model: MLP hidden={config['model']['hidden']} activation={config['model']['activation']} "
        f"dropout={config['model']['dropout']} batchnorm={config['model']['batchnorm']}")
    opt = ", ".join(f"{k}={v}" for k, v in config["optimizer"].items() if k != "name")
    out(f"  optimizer: {config['optimizer']['name']}({opt}); schedule: {config['schedule']['name']}")
    out(f"  data: {config['data']['name']}, batch {config['data']['batch_size']}, mode {config['data']['mode']}")
    mpath = os.path.join(run_dir, "metrics.jsonl")
    rows = []
    if os.path.exists(mpath):
        with open(mpath) as f:
            rows = [json.loads(line) for line in f if line.strip()]
    out(f"  epochs done: {len(rows)} of {config['training']['epochs']}")
    if rows:
        last = rows[-1]
        out("  last epoch: " + ", ".join(f"{k}={v:.4g}" for k, v in last.items() if k != "epoch"))
    spath = os.path.join(run_dir, "summary.json")
    info = {"config": config, "epochs_done": len(rows)}
    if os.path.exists(spath):
        with open(spath) as f:
            summary = json.load(f)
        info["summary"] = summary
        out(f"  parameters: {summary['parameters']}, time {summary['time_seconds']:.1f} s")
        out("  final: " + ", ".join(f"{k}={summary[k]:.4f}" for k in ("train_accuracy", "val_accuracy",
                                                                      "test_accuracy", "test_loss") if k in summary))
        if summary.get("stop_reason"):
            out(f"  stopped: {summary['stop_reason']}")
        for w in summary.get("layer_warnings", []):
            out(f"  monitor: {w}")
    else:
        out("  no summary.json: the run did not finish (resume it with descend train --resume)")
    cdir = os.path.join(run_dir, "checkpoints")
    if os.path.isdir(cdir):
        names = sorted({os.path.splitext(n)[0] for n in os.listdir(cdir) if n.endswith(".json")})
        for n in names:
            st = load_checkpoint(os.path.join(cdir, n))
            out(f"  checkpoint {n}: epoch {st['epoch']}, step {st['step']}")
    return info
