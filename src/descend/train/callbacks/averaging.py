"""Parameter averaging callbacks: ``PolyakAveraging`` and ``SnapshotEnsemble``."""

import math

import numpy as np

from ...autodiff import Tensor, no_grad
from ..state import copy_state, load_model_state
from .base import Callback


def _params(model):
    return list(model.parameters())


class PolyakAveraging(Callback):
    """Average the parameters over the steps: θ̄_k = θ̄_{k-1} + (θ_k - θ̄_{k-1}) / k (Polyak-Ruppert), or, with
    ``decay`` = β, the exponential average θ̄_k = β θ̄_{k-1} + (1 - β) θ_k. Starts at epoch ``start``.

    With ``apply_at_end=True`` the averaged parameters replace the model's when training ends;
    ``swap(model)`` exchanges them at any time.
    """

    def __init__(self, start=1, decay=None, apply_at_end=True):
        if decay is not None and not 0 <= decay < 1:
            raise ValueError(f"PolyakAveraging: decay={decay!r}; expected 0 <= decay < 1")
        self.start, self.decay, self.apply_at_end = int(start), decay, apply_at_end
        self.average = None
        self.count = 0

    def on_batch_end(self, trainer, batch, logs):
        if trainer.epoch + 1 < self.start:
            return
        params = _params(trainer.model)
        if self.average is None:
            self.average = [np.array(p.data, dtype=np.float64) for p in params]
            self.count = 1
            return
        self.count += 1
        w = 1.0 / self.count if self.decay is None else 1.0 - self.decay
        for a, p in zip(self.average, params):
            a += w * (p.data - a)

    def swap(self, model):
        """Exchange the model's parameters with the averaged ones."""
        if self.average is None:
            return
        with no_grad():
            for a, p in zip(self.average, _params(model)):
                current = p.data.astype(np.float64)
                p.data[...] = a
                p.bump_version()
                a[...] = current

    def on_fit_end(self, trainer):
        if self.apply_at_end and self.average is not None and trainer.nan_step is None:
            self.swap(trainer.model)

    def state_dict(self):
        return {"average": self.average, "count": self.count}

    def load_state_dict(self, state):
        self.average = None if state["average"] is None else [np.array(a, dtype=np.float64) for a in state["average"]]
        self.count = state["count"]


class SnapshotEnsemble(Callback):
    """Snapshot ensembles (Huang et al. 2017): the learning rate follows M cosine cycles,
    α(t) = α₀/2 · (cos(π · (t mod T_c) / T_c) + 1) with T_c = steps per cycle, and a snapshot of the
    weights is kept at the end of each cycle. ``predict(trainer, data)`` averages the snapshots'
    softmax outputs (or raw outputs for single-column models).
    """

    def __init__(self, cycles, epochs_per_cycle):
        if cycles < 1 or epochs_per_cycle < 1:
            raise ValueError(f"SnapshotEnsemble: cycles={cycles!r}, epochs_per_cycle={epochs_per_cycle!r}; expected "
                             f"positive integers")
        self.cycles, self.epochs_per_cycle = int(cycles), int(epochs_per_cycle)
        self.snapshots = []
        self.base_lrs = None

    def on_fit_start(self, trainer):
        if self.base_lrs is None:
            self.base_lrs = [g["lr"] for g in trainer.optimizer.param_groups]

    def on_batch_start(self, trainer, batch):
        steps = self.epochs_per_cycle * len(trainer.train_loader)
        t = trainer.step % steps
        f = 0.5 * (math.cos(math.pi * t / steps) + 1)
        for g, lr in zip(trainer.optimizer.param_groups, self.base_lrs):
            g["lr"] = lr * f

    def on_epoch_end(self, trainer, epoch, logs):
        if epoch % self.epochs_per_cycle == 0 and len(self.snapshots) < self.cycles:
            self.snapshots.append(copy_state(trainer.model))

    def predict(self, trainer, data):
        """Mean of the snapshots' probabilities (softmax over C > 1 outputs) on ``data``: (N, C)."""
        if not self.snapshots:
            raise ValueError("SnapshotEnsemble.predict: no snapshot yet (train for at least one cycle)")
        current = copy_state(trainer.model)
        total = None
        try:
            for s in self.snapshots:
                load_model_state(trainer.model, s)
                y = trainer.predict(data).data.astype(np.float64)
                if y.ndim == 2 and y.shape[1] > 1:
                    y = np.exp(y - y.max(1, keepdims=True))
                    y /= y.sum(1, keepdims=True)
                total = y if total is None else total + y
        finally:
            load_model_state(trainer.model, current)
        return Tensor._make(total / len(self.snapshots))

    def state_dict(self):
        return {"snapshots": self.snapshots, "base_lrs": self.base_lrs}

    def load_state_dict(self, state):
        self.snapshots = [{k: np.asarray(getattr(v, "data", v)) for k, v in s.items()} for s in state["snapshots"]]
        self.base_lrs = state["base_lrs"]
