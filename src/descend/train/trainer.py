"""``Trainer``: the training loop of the notes, with callbacks, metrics, checkpoints and resume.

One epoch = one pass of the loader; one step (iteration) = one mini-batch B:
    L_B(θ) = (1/|B|) Σ_{n∈B} ℓ(f(x_n; θ), t_n),   g = ∇_θ L_B,   θ ← optimizer update(θ, g).
Closure-based optimizers (L-BFGS, conjugate gradient, Newton, Hessian-free) receive a closure that
recomputes L_B and its gradient, as ``opt.step(closure)``; Hessian-free with Gauss-Newton curvature also
gets ``output_fn`` (the outputs z = f(x_B; θ)) and ``loss_fn`` (z ↦ ℓ(z, t_B)). Multi-task models return a dict of outputs
{k: y_k}; ``loss`` is then a dict {k: ℓ_k} and the total is L = Σ_k w_k L_k (``loss_weights``, default 1);
the targets are the batch's fields after the input, in the order of the loss dict.
"""

import time

import numpy as np

from ..autodiff import Tensor, get_rng_state, no_grad, set_rng_state
from ..autodiff.extend import needs_closure
from ..data import DataLoader, Dataset, TensorDataset
from .callbacks.base import overrides
from .checkpoint import load_checkpoint, save_checkpoint
from .metrics import resolve
from .state import copy_state, load_model_state

HOOKS = ("on_fit_start", "on_fit_end", "on_epoch_start", "on_epoch_end", "on_batch_start", "on_batch_end",
         "on_after_backward")


def as_loader(data, batch_size=32, shuffle=False, seed=None):
    """A DataLoader for ``data``: a DataLoader (as is), a Dataset, or a tuple (X, T, ...) of arrays/Tensors."""
    if isinstance(data, DataLoader):
        return data
    if isinstance(data, tuple):
        data = TensorDataset(*data)
    if isinstance(data, Dataset):
        return DataLoader(data, batch_size=batch_size, shuffle=shuffle, seed=seed)
    raise TypeError(f"expected a DataLoader, a Dataset or a tuple (inputs, targets), got {type(data).__name__}")


class Trainer:
    """Train ``model`` by minimising ``loss(model(x), t)`` with ``optimizer``.

    - ``fit(train, val=None, epochs=1)``: runs epochs ``trainer.epoch + 1 .. epochs`` (so a loaded
      checkpoint continues where it stopped); returns the History (a dict of per-epoch lists).
    - ``evaluate(data)``: {"loss": ..., metric: ...} under ``no_grad`` in eval mode.
    - ``predict(data)``: the outputs on all inputs, concatenated (N, ...).
    - ``save_checkpoint(path)`` / ``load_checkpoint(path)``: everything needed to resume bit for bit.

    Per-epoch logs hold ``loss``, each metric, ``val_loss`` and ``val_<metric>`` when ``val`` is given,
    ``lr`` and ``time``; for multi-task losses also ``loss_<task>``.
    """

    def __init__(self, model, loss, optimizer, callbacks=(), metrics=("accuracy",), loss_weights=None,
                 batch_size=32, shuffle=True, seed=None, progress=False, eval_batch_size=1024, verbose=0):
        from .callbacks.history import History
        self.model = model
        self.loss = loss
        self.optimizer = optimizer
        self.multitask = isinstance(loss, dict)
        if self.multitask:
            weights = dict(loss_weights or {})
            unknown = set(weights) - set(loss)
            if unknown:
                raise ValueError(f"Trainer: loss_weights name tasks {sorted(unknown)} that have no loss; tasks: "
                                 f"{sorted(loss)}")
            self.loss_weights = {k: float(weights.get(k, 1.0)) for k in loss}
        elif not callable(loss):
            raise TypeError(f"Trainer: loss must be callable (output, target) -> scalar Tensor or a dict of them, "
                            f"got {type(loss).__name__}")
        self.metrics = resolve(metrics)
        self.callbacks = list(callbacks)
        self.history = next((c for c in self.callbacks if isinstance(c, History)), None)
        if self.history is None:
            self.history = History()
            self.callbacks.insert(0, self.history)
        # checkpoint writers run last at each epoch end, after every other callback updated its state
        self.callbacks.sort(key=lambda c: getattr(c, "runs_last", False))
        self.batch_size, self.shuffle, self.seed = batch_size, shuffle, seed
        self.eval_batch_size = eval_batch_size
        self.verbose = verbose
        self.progress = progress or verbose >= 1
        self.closure_based = needs_closure(optimizer)
        groups = getattr(optimizer, "param_groups", None) or [{}]
        self._gauss_newton = self.closure_based and groups[0].get("curvature") == "gauss-newton"
        self.epoch = 0
        self.step = 0
        self.stop_training = False
        self.stop_reason = None
        self.nan_step = None
        self.last_loss = None
        self.last_output = None
        self.train_loader = None
        self._pending_loader_state = None
        self._hooks = {h: [c for c in self.callbacks if overrides(c, h)] for h in HOOKS}

    # ------------------------------------------------------------------ loss
    def compute_loss(self, output, targets):
        """The total loss Tensor and, for multi-task models, the per-task loss Tensors."""
        if not self.multitask:
            return self.loss(output, targets[0]), None
        if not isinstance(output, dict):
            raise TypeError(f"Trainer: a dict of losses needs a model returning a dict of outputs, got "
                            f"{type(output).__name__}")
        if len(targets) != len(self.loss):
            raise ValueError(f"Trainer: {len(self.loss)} task losses ({', '.join(self.loss)}) need as many target "
                             f"fields after the inputs, got {len(targets)}")
        parts = {k: fn(output[k], t) for (k, fn), t in zip(self.loss.items(), targets)}
        total = None
        for k, p in parts.items():
            term = p * self.loss_weights[k]
            total = term if total is None else total + term
        return total, parts

    def _metric_sums(self, sums, output, targets):
        if self.multitask:
            for (k, _), t in zip(self.loss.items(), targets):
                for name, m in self.metrics.items():
                    s, n = m(output[k].data, t.data)
                    acc = sums.setdefault(f"{k}_{name}", [0.0, 0])
                    acc[0] += s
                    acc[1] += n
        else:
            for name, m in self.metrics.items():
                s, n = m(output.data, targets[0].data)
                acc = sums.setdefault(name, [0.0, 0])
                acc[0] += s
                acc[1] += n

    # ------------------------------------------------------------------ one step
    def train_step(self, batch):
        """One optimisation step on ``batch`` = (x, t, ...); returns the loss (float) before the step."""
        x, targets = batch[0], batch[1:]
        opt = self.optimizer
        after = self._hooks["on_after_backward"]
        if self.closure_based:
            first = {}

            def closure():
                opt.zero_grad()
                out = self.model(x)
                loss, parts = self.compute_loss(out, targets)
                loss.backward()
                if not first:
                    first.update(out=out, loss=loss, parts=parts)
                    for c in after:
                        c.on_after_backward(self)
                return loss

            if self._gauss_newton and not self.multitask:
                opt.step(closure, output_fn=lambda: self.model(x), loss_fn=lambda z: self.loss(z, targets[0]))
            else:
                opt.step(closure)
            out, loss, parts = first["out"], first["loss"], first["parts"]
        else:
            opt.zero_grad()
            out = self.model(x)
            loss, parts = self.compute_loss(out, targets)
            loss.backward()
            for c in after:
                c.on_after_backward(self)
            opt.step()
        self.last_output = out
        self.last_parts = parts
        self.last_loss = float(loss.data)
        return self.last_loss

    # ------------------------------------------------------------------ fit
    def fit(self, train, val=None, epochs=1):
        """Train for epochs ``self.epoch + 1 .. epochs``; returns ``History.history`` (dict of lists)."""
        if not isinstance(epochs, (int, np.integer)) or epochs < 0:
            raise ValueError(f"Trainer.fit: epochs={epochs!r}; expected a non-negative integer")
        loader = as_loader(train, self.batch_size, self.shuffle, self.seed)
        self.train_loader = loader
        self.target_epochs = epochs
        if self._pending_loader_state is not None:
            loader.load_state_dict(self._pending_loader_state)
            self._pending_loader_state = None
        val_loader = None if val is None else as_loader(val, self.eval_batch_size, seed=0)
        hooks = self._hooks
        set_train = getattr(self.model, "train", None)
        for c in hooks["on_fit_start"]:
            c.on_fit_start(self)
        try:
            while self.epoch < epochs and not self.stop_training:
                epoch = self.epoch + 1
                for c in hooks["on_epoch_start"]:
                    c.on_epoch_start(self, epoch)
                if set_train is not None:
                    set_train()
                t0 = time.perf_counter()
                loss_sum, count, sums, task_sums = 0.0, 0, {}, {}
                bar = self._bar(loader, epoch, epochs)
                batch_start, batch_end = hooks["on_batch_start"], hooks["on_batch_end"]
                for i, batch in enumerate(bar if bar is not None else loader):
                    for c in batch_start:
                        c.on_batch_start(self, batch)
                    value = self.train_step(batch)
                    self.step += 1
                    n = len(batch[0].data)
                    loss_sum += value * n
                    count += n
                    if self.metrics:
                        self._metric_sums(sums, self.last_output, batch[1:])
                    if self.last_parts is not None:
                        for k, p in self.last_parts.items():
                            task_sums[k] = task_sums.get(k, 0.0) + float(p.data) * n
                    if batch_end:
                        blogs = {"loss": value, "batch": i, "step": self.step}
                        for c in batch_end:
                            c.on_batch_end(self, batch, blogs)
                    if bar is not None and (i % 10 == 0):
                        bar.set_postfix(self._postfix(loss_sum / count, sums), refresh=False)
                    if self.stop_training:
                        break
                if bar is not None:
                    bar.set_postfix(self._postfix(loss_sum / max(count, 1), sums), refresh=False)
                    bar.close()
                if self.nan_step is not None:
                    break
                logs = {"epoch": epoch, "loss": loss_sum / max(count, 1)}
                for k, s in task_sums.items():
                    logs[f"loss_{k}"] = s / count
                for k, (s, n) in sums.items():
                    logs[k] = s / max(n, 1)
                if val_loader is not None:
                    for k, v in self._evaluate_loader(val_loader).items():
                        logs[f"val_{k}"] = v
                groups = getattr(self.optimizer, "param_groups", None)
                if groups:
                    logs["lr"] = float(groups[0]["lr"])
                logs["time"] = time.perf_counter() - t0
                self.epoch = epoch
                self.last_logs = logs
                for c in hooks["on_epoch_end"]:
                    c.on_epoch_end(self, epoch, logs)
        finally:
            for c in hooks["on_fit_end"]:
                c.on_fit_end(self)
        return self.history.history

    def _bar(self, loader, epoch, epochs):
        if not self.progress:
            return None
        try:
            from tqdm.auto import tqdm
        except ImportError:
            return None
        return tqdm(loader, total=len(loader), desc=f"epoch {epoch}/{epochs}", leave=False, mininterval=0.2,
                    dynamic_ncols=True)

    @staticmethod
    def _postfix(loss, sums):
        out = {"loss": f"{loss:.4f}"}
        if "accuracy" in sums:
            s, n = sums["accuracy"]
            out["acc"] = f"{s / max(n, 1):.3f}"
        return out

    # ------------------------------------------------------------------ evaluation
    def _evaluate_loader(self, loader):
        training = getattr(self.model, "training", None)
        if hasattr(self.model, "eval"):
            self.model.eval()
        loss_sum, count, sums, task_sums = 0.0, 0, {}, {}
        try:
            with no_grad():
                for batch in loader:
                    out = self.model(batch[0])
                    loss, parts = self.compute_loss(out, batch[1:])
                    n = len(batch[0].data)
                    loss_sum += float(loss.data) * n
                    count += n
                    if parts is not None:
                        for k, p in parts.items():
                            task_sums[k] = task_sums.get(k, 0.0) + float(p.data) * n
                    if self.metrics:
                        self._metric_sums(sums, out, batch[1:])
        finally:
            if training and hasattr(self.model, "train"):
                self.model.train()
        logs = {"loss": loss_sum / count}
        for k, s in task_sums.items():
            logs[f"loss_{k}"] = s / count
        for k, (s, n) in sums.items():
            logs[k] = s / max(n, 1)
        return logs

    def evaluate(self, data):
        """{"loss": mean loss, metric: value, ...} on ``data`` (DataLoader, Dataset or (X, T) tuple), without grad."""
        return self._evaluate_loader(as_loader(data, self.eval_batch_size, seed=0))

    def predict(self, data):
        """The model's outputs on all inputs of ``data`` (a Tensor or array X, a Dataset or a DataLoader), as a Tensor."""
        if isinstance(data, (Tensor, np.ndarray)):
            data = (data,)
        loader = as_loader(data, self.eval_batch_size, seed=0)
        training = getattr(self.model, "training", None)
        if hasattr(self.model, "eval"):
            self.model.eval()
        outs = []
        try:
            with no_grad():
                for batch in loader:
                    outs.append(self.model(batch[0]))
        finally:
            if training and hasattr(self.model, "train"):
                self.model.train()
        if isinstance(outs[0], dict):
            return {k: Tensor._make(np.concatenate([o[k].data for o in outs])) for k in outs[0]}
        return Tensor._make(np.concatenate([o.data for o in outs]))

    # ------------------------------------------------------------------ checkpoints
    def state_dict(self):
        """Everything a resumed run needs: model, optimizer, callbacks, counters and every random generator."""
        loader = self.train_loader.state_dict() if self.train_loader is not None else self._pending_loader_state
        return {"epoch": self.epoch, "step": self.step, "stop_training": self.stop_training,
                "stop_reason": self.stop_reason,
                "model": copy_state(self.model),
                "optimizer": self.optimizer.state_dict() if hasattr(self.optimizer, "state_dict") else None,
                "callbacks": [{"class": type(c).__name__, "state": c.state_dict()} for c in self.callbacks],
                "rng": {"descend": get_rng_state(), "numpy": np.random.get_state(), "loader": loader}}

    def load_state_dict(self, state):
        """Restore a state from :meth:`state_dict` (raises listing mismatches for another architecture)."""
        load_model_state(self.model, state["model"])
        if state["optimizer"] is not None:
            self.optimizer.load_state_dict(state["optimizer"])
        saved = state["callbacks"]
        names = [type(c).__name__ for c in self.callbacks]
        if [s["class"] for s in saved] != names:
            raise ValueError(f"checkpoint callbacks {[s['class'] for s in saved]} differ from this Trainer's {names}")
        for c, s in zip(self.callbacks, saved):
            c.load_state_dict(s["state"])
        self.epoch, self.step = int(state["epoch"]), int(state["step"])
        self.stop_training, self.stop_reason = bool(state["stop_training"]), state["stop_reason"]
        set_rng_state(state["rng"]["descend"])
        np.random.set_state(state["rng"]["numpy"])
        self._pending_loader_state = state["rng"]["loader"]
        if self.train_loader is not None and self._pending_loader_state is not None:
            self.train_loader.load_state_dict(self._pending_loader_state)
            self._pending_loader_state = None

    def save_checkpoint(self, path, extra=None):
        """Write the trainer's state (and ``extra`` JSON-able info) to ``path.npz`` + ``path.json`` atomically."""
        state = self.state_dict()
        if extra is not None:
            state["extra"] = extra
        return save_checkpoint(path, state)

    def load_checkpoint(self, path):
        """Load a checkpoint written by :meth:`save_checkpoint`; returns its ``extra`` info (or None)."""
        state = load_checkpoint(path)
        self.load_state_dict(state)
        return state.get("extra")
