"""Parameter averaging callbacks, around the ``optim`` objects that do the work.

- ``PolyakAveraging`` steps an ``optim.swa_utils.AveragedModel`` after every optimizer step.
- ``SnapshotEnsemble`` steps an ``optim.lr_scheduler.CosineAnnealingWarmRestarts`` and an
  ``optim.SnapshotEnsemble`` after every optimizer step.
"""

import numpy as np

from ...autodiff import Tensor
from ...autodiff.extend import inplace, wrap
from ...optim import Optimizer, lr_scheduler
from ...optim.snapshot import SnapshotEnsemble as Collector
from ...optim.swa_utils import AveragedModel, get_ema_multi_avg_fn
from .base import Callback


def _positive_int(who, name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{who}: {name}={value!r}; expected a positive integer")
    return int(value)


class PolyakAveraging(Callback):
    """Average the parameters over the steps: θ̄_k = θ̄_{k-1} + (θ_k - θ̄_{k-1}) / k (Polyak-Ruppert), or, with
    ``decay`` = β, the exponential average θ̄_k = β θ̄_{k-1} + (1 - β) θ_k, from epoch ``start`` on.

    ``averaged`` is the ``optim.swa_utils.AveragedModel`` (a copy of the model made when the Trainer is built).
    With ``apply_at_end=True`` the averaged parameters are swapped into the model when ``fit`` ends (the raw
    ones are kept, and swapped back when a later ``fit`` continues training); ``swap(model)`` exchanges them at
    any time. Buffers (BatchNorm statistics) are not averaged: ``optim.swa_utils.update_bn`` recomputes them.
    """

    def __init__(self, start=1, decay=None, apply_at_end=True):
        self.start = _positive_int("PolyakAveraging", "start", start)
        self.avg_fn = None if decay is None else get_ema_multi_avg_fn(decay)
        self.decay, self.apply_at_end = decay, apply_at_end
        self.averaged = None
        self.swapped = False

    def setup(self, trainer):
        self.averaged = AveragedModel(trainer.model, multi_avg_fn=self.avg_fn)
        self.swapped = False

    @property
    def count(self):
        """The number of iterates averaged so far."""
        return self.averaged.n_averaged

    def on_fit_start(self, trainer):
        if self.swapped:
            self.swap(trainer.model)

    def on_batch_end(self, trainer, batch, logs):
        if trainer.epoch + 1 >= self.start:
            self.averaged.update_parameters(trainer.model)

    def swap(self, model):
        """Exchange the model's parameters with the averaged ones (nothing before the first average)."""
        if self.count == 0:
            return
        pairs = list(zip(self.averaged.parameters(), model.parameters()))
        with inplace(*(t for pair in pairs for t in pair)):
            for a, p in pairs:
                current = p.data.copy()
                p.data[...] = a.data
                a.data[...] = current
        self.swapped = not self.swapped

    def on_fit_end(self, trainer):
        if self.apply_at_end and not self.swapped and trainer.nan_step is None:
            self.swap(trainer.model)

    def state_dict(self):
        averaged = dict(self.averaged.state_dict())
        count = int(averaged.pop("n_averaged"))
        arrays = {k: np.array(v.numpy() if isinstance(v, Tensor) else v) for k, v in averaged.items()}  # a snapshot
        return {"averaged": arrays, "count": count, "swapped": self.swapped}

    def load_state_dict(self, state):
        averaged = {k: wrap(np.array(v.numpy() if isinstance(v, Tensor) else v)) for k, v in state["averaged"].items()}
        self.averaged.load_state_dict({**averaged, "n_averaged": np.array(state["count"], dtype=np.int64)})
        self.swapped = bool(state["swapped"])


class SnapshotEnsemble(Callback):
    """Snapshot ensembles (Huang et al. 2017): the learning rate follows cosine cycles of ``epochs_per_cycle``
    epochs (T_c steps), α(t) = α₀/2 · (cos(π · (t mod T_c) / T_c) + 1) — ``CosineAnnealingWarmRestarts(T_0=T_c)``
    stepped after every batch — and ``optim.SnapshotEnsemble`` keeps the weights at the end of each cycle (the
    last ``cycles`` of them). ``predict(trainer, data)`` averages the snapshots' softmax probabilities (raw outputs
    for one column). Both objects are built when the first ``fit`` starts (T_c needs the loader's length).
    """

    def __init__(self, cycles, epochs_per_cycle):
        self.cycles = _positive_int("SnapshotEnsemble", "cycles", cycles)
        self.epochs_per_cycle = _positive_int("SnapshotEnsemble", "epochs_per_cycle", epochs_per_cycle)
        self.scheduler = None
        self.ensemble = None
        self._saved = None

    def setup(self, trainer):
        if not isinstance(trainer.optimizer, Optimizer):
            raise TypeError(f"SnapshotEnsemble: its cosine schedule needs an optim.Optimizer, got "
                            f"{type(trainer.optimizer).__name__}")

    @property
    def snapshots(self):
        """The snapshots taken so far (state dicts of arrays), oldest first."""
        return [] if self.ensemble is None else self.ensemble.snapshots

    def on_fit_start(self, trainer):
        if self.scheduler is not None:
            return
        steps = self.epochs_per_cycle * len(trainer.train_loader)
        self.scheduler = lr_scheduler.CosineAnnealingWarmRestarts(trainer.optimizer, T_0=steps)
        self.ensemble = Collector(trainer.model, self.scheduler, max_snapshots=self.cycles)
        if self._saved is not None:
            self.scheduler.load_state_dict(self._saved["scheduler"])
            self.ensemble.load_state_dict(self._saved["ensemble"])
            for group, lr in zip(trainer.optimizer.param_groups, self.scheduler.get_last_lr()):
                group["lr"] = lr
            self._saved = None

    def on_batch_end(self, trainer, batch, logs):
        self.scheduler.step()
        self.ensemble.step()

    def predict(self, trainer, data):
        """Mean of the snapshots' probabilities (softmax over C > 1 outputs) on inputs ``data`` (N, ...): (N, C)."""
        if not self.snapshots:
            raise ValueError("SnapshotEnsemble.predict: no snapshot yet (train for at least one cycle)")
        x = data if isinstance(data, Tensor) else wrap(np.asarray(data))

        def soft(y):
            return y.softmax(-1) if y.ndim == 2 and y.shape[1] > 1 else y

        with trainer.evaluating():
            return self.ensemble.predict(x, transform=soft)

    def state_dict(self):
        if self.scheduler is None:
            return {"saved": self._saved}
        return {"saved": {"scheduler": self.scheduler.state_dict(), "ensemble": self.ensemble.state_dict()}}

    def load_state_dict(self, state):
        saved = state["saved"]
        if saved is None:  # saved before the first fit: the next fit starts the cycles afresh
            self.scheduler = self.ensemble = self._saved = None
        elif self.scheduler is None:
            self._saved = saved
        else:
            self.scheduler.load_state_dict(saved["scheduler"])
            self.ensemble.load_state_dict(saved["ensemble"])
