"""``EarlyStopping``: stop when the monitored metric has not improved for ``patience`` epochs.

Improvement (mode "min"): value < best - min_delta; (mode "max"): value > best + min_delta. After
each epoch without improvement ``wait`` grows by one; training stops when ``wait >= patience`` (Keras'
convention; PyTorch's ReduceLROnPlateau acts one epoch later, on ``wait > patience``). With
``notes_patience=True`` the notes' rule grows the patience when the best epoch moves:
patience = max(patience, patience_increase · best_epoch) (patience_increase = 2).
``restore_best_weights=True`` loads the best epoch's weights whenever training ends, also when the
stop did not trigger. ``mode`` is required: it is never guessed from the metric's name.
"""

import numpy as np

from .base import Callback, check_mode, check_monitor
from ..state import copy_state, load_model_state


class EarlyStopping(Callback):
    """Stop training when ``monitor`` stops improving; keep the best weights."""

    def __init__(self, monitor="val_loss", mode=None, patience=5, min_delta=0.0, restore_best_weights=True,
                 notes_patience=False, patience_increase=2.0):
        self.monitor = monitor
        self.mode = check_mode(mode, "EarlyStopping")
        if not isinstance(patience, (int, np.integer)) or patience < 0:
            raise ValueError(f"EarlyStopping: patience={patience!r}; expected a non-negative integer")
        if min_delta < 0:
            raise ValueError(f"EarlyStopping: min_delta={min_delta!r}; expected >= 0")
        self.patience = int(patience)
        self.min_delta = float(min_delta)
        self.restore_best_weights = restore_best_weights
        self.notes_patience = notes_patience
        self.patience_increase = float(patience_increase)
        self.best = None
        self.best_epoch = 0
        self.wait = 0
        self.stopped_epoch = None
        self.best_weights = None

    def _improved(self, value):
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_epoch_end(self, trainer, epoch, logs):
        check_monitor(self.monitor, logs, "EarlyStopping")
        value = float(logs[self.monitor])
        if not np.isfinite(value):
            self.wait += 1
        elif self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.notes_patience:
                self.patience = max(self.patience, int(self.patience_increase * epoch))
            if self.restore_best_weights:
                self.best_weights = copy_state(trainer.model)
        else:
            self.wait += 1
        if self.wait >= self.patience and self.best is not None:
            self.stopped_epoch = epoch
            trainer.stop_training = True
            trainer.stop_reason = (f"early stopping: {self.monitor} did not improve for {self.wait} epochs "
                                   f"(best {self.best:.6g} at epoch {self.best_epoch})")

    def on_fit_end(self, trainer):
        if self.restore_best_weights and self.best_weights is not None:
            load_model_state(trainer.model, self.best_weights)

    def state_dict(self):
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait, "patience": self.patience,
                "stopped_epoch": self.stopped_epoch, "best_weights": self.best_weights}

    def load_state_dict(self, state):
        self.best, self.best_epoch, self.wait = state["best"], state["best_epoch"], state["wait"]
        self.patience, self.stopped_epoch = state["patience"], state["stopped_epoch"]
        bw = state["best_weights"]
        self.best_weights = None if bw is None else {k: np.asarray(getattr(v, "data", v)) for k, v in bw.items()}
