"""``EarlyStopping``: stop when the monitored metric has not improved for ``patience`` epochs.

Keras's rule. Improvement (mode "min"): value < best − min_delta; (mode "max"): value > best + min_delta.
An improving epoch sets ``wait`` to 0; every other epoch (also a NaN or infinite value) adds one, and
training stops at the end of the epoch where ``wait >= patience``: ``patience`` is the number of epochs
without improvement after which training stops. ``patience=1`` (and ``patience=0``, the same, as in
Keras) stops at the first epoch without improvement. Since every epoch before it improved, the best
value is the previous epoch's: this is the notes' plain rule "stop when the validation error
increases" (an equal error also stops; ``min_delta`` asks for a margin).

With ``notes_patience=True`` the notes' rule grows the patience when the best epoch moves:
patience = max(patience, patience_increase · best_epoch) (patience_increase = 2).
``restore_best_weights=True`` loads the best epoch's weights whenever training ends, also when the
stop did not trigger. ``mode`` is required: it is never guessed from the metric's name.

A later ``fit`` call continues the count; after a stop it starts with a fresh patience (``wait = 0``)
and keeps the best value and weights found so far.
"""

import numpy as np

from ...autodiff import Tensor
from ..state import copy_state, load_model_state
from .base import Callback, check_mode, check_monitor


class EarlyStopping(Callback):
    """Stop training when ``monitor`` stops improving; keep the best weights."""

    def __init__(self, monitor="val_loss", mode=None, patience=5, min_delta=0.0, restore_best_weights=True,
                 notes_patience=False, patience_increase=2.0):
        if not isinstance(monitor, str):
            raise TypeError(f"EarlyStopping: monitor={monitor!r}; expected the name of a logged value")
        self.monitor = monitor
        self.mode = check_mode(mode, "EarlyStopping")
        if isinstance(patience, bool) or not isinstance(patience, (int, np.integer)) or patience < 0:
            raise ValueError(f"EarlyStopping: patience={patience!r}; expected a non-negative integer")
        if not np.isfinite(min_delta) or min_delta < 0:
            raise ValueError(f"EarlyStopping: min_delta={min_delta!r}; expected a finite number >= 0")
        if not np.isfinite(patience_increase) or patience_increase < 0:
            raise ValueError(f"EarlyStopping: patience_increase={patience_increase!r}; expected a finite number >= 0")
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
        if not np.isfinite(value):
            return False
        if self.best is None:
            return True
        if self.mode == "min":
            return value < self.best - self.min_delta
        return value > self.best + self.min_delta

    def on_fit_start(self, trainer):
        if self.stopped_epoch is not None:
            self.wait, self.stopped_epoch = 0, None

    def on_epoch_end(self, trainer, epoch, logs):
        check_monitor(self.monitor, logs, "EarlyStopping")
        value = float(logs[self.monitor])
        if self._improved(value):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.notes_patience:
                self.patience = max(self.patience, int(self.patience_increase * epoch))
            if self.restore_best_weights:
                self.best_weights = copy_state(trainer.model)
            return
        self.wait += 1
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            trainer.stop_training = True
            epochs = "1 epoch" if self.wait == 1 else f"{self.wait} epochs"
            if self.best is None:
                best = "never finite"
            else:
                best = f"best {self.best:.6g} at epoch {self.best_epoch}"
                if self.restore_best_weights:
                    best += ", whose weights are restored"
            trainer.stop_reason = f"early stopping: {self.monitor} did not improve for {epochs} ({best})"

    def on_fit_end(self, trainer):
        if self.restore_best_weights and self.best_weights is not None:
            load_model_state(trainer.model, self.best_weights)

    def state_dict(self):
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait, "patience": self.patience,
                "stopped_epoch": self.stopped_epoch, "best_weights": self.best_weights}

    def load_state_dict(self, state):
        bw = state["best_weights"]
        best_weights = (
            None if bw is None else {k: v.numpy() if isinstance(v, Tensor) else np.asarray(v) for k, v in bw.items()}
        )
        self.best, self.best_epoch, self.wait = state["best"], state["best_epoch"], state["wait"]
        self.patience, self.stopped_epoch = state["patience"], state["stopped_epoch"]
        self.best_weights = best_weights
