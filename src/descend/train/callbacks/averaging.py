"""Parameter averaging callbacks: ``PolyakAveraging`` and ``SnapshotEnsemble``."""

import math

import numpy as np

from ...autodiff import Tensor, no_grad
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
    """Snapshot ensembles (Huang et al. 2017) as a callback around ``optim.SnapshotEnsemble``: the learning rate
    follows M cosine cycles, α(t) = α₀/2 · (cos(π · (t mod T_c) / T_c) + 1) with T_c = steps per cycle
    (``epochs_per_cycle`` epochs), and a snapshot of the weights is kept at the end of each cycle.
    ``predict(trainer, data)`` averages the snapshots' softmax probabilities (raw outputs for one column).
    """

    def __init__(self, cycles, epochs_per_cycle):
        if cycles < 1 or epochs_per_cycle < 1:
            raise ValueError(f"SnapshotEnsemble: cycles={cycles!r}, epochs_per_cycle={epochs_per_cycle!r}; expected "
                             f"positive integers")
        self.cycles, self.epochs_per_cycle = int(cycles), int(epochs_per_cycle)
        self.ensemble = None
        self.base_lrs = None
        self._pending = None

    @property
    def snapshots(self):
        return [] if self.ensemble is None else self.ensemble.snapshots

    def on_fit_start(self, trainer):
        from ...optim import SnapshotEnsemble as Collector
        if self.base_lrs is None:
            self.base_lrs = [g["lr"] for g in trainer.optimizer.param_groups]
        self.steps = self.epochs_per_cycle * len(trainer.train_loader)
        if self.ensemble is None:
            self.ensemble = Collector(trainer.model, cycle_length=self.steps, max_snapshots=self.cycles)
        if self._pending is not None:
            self.ensemble.load_state_dict(self._pending)
            self._pending = None

    def on_batch_start(self, trainer, batch):
        f = 0.5 * (math.cos(math.pi * (trainer.step % self.steps) / self.steps) + 1)
        for g, lr in zip(trainer.optimizer.param_groups, self.base_lrs):
            g["lr"] = lr * f

    def on_batch_end(self, trainer, batch, logs):
        self.ensemble.step()

    def predict(self, trainer, data):
        """Mean of the snapshots' probabilities (softmax over C > 1 outputs) on inputs ``data`` (N, ...): (N, C)."""
        if not self.snapshots:
            raise ValueError("SnapshotEnsemble.predict: no snapshot yet (train for at least one cycle)")
        x = data if isinstance(data, Tensor) else Tensor._make(np.asarray(data))
        model = trainer.model
        training = getattr(model, "training", False)
        if hasattr(model, "eval"):
            model.eval()
        try:
            def soft(y):
                return y.softmax(-1) if y.ndim == 2 and y.shape[1] > 1 else y
            return self.ensemble.predict(x, transform=soft)
        finally:
            if training and hasattr(model, "train"):
                model.train()

    def state_dict(self):
        return {"ensemble": None if self.ensemble is None else self.ensemble.state_dict(), "base_lrs": self.base_lrs}

    def load_state_dict(self, state):
        self.base_lrs = state["base_lrs"]
        if state["ensemble"] is not None:
            if self.ensemble is None:
                self._pending = state["ensemble"]
            else:
                self.ensemble.load_state_dict(state["ensemble"])
