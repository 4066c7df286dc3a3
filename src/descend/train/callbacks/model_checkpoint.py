"""``ModelCheckpoint``: save the whole training state every ``every`` epochs, and the best one.

Files (``<dirpath>/last.npz|json`` and ``<dirpath>/best.npz|json``) are written atomically, so a crash
never leaves a half-written checkpoint; after a NaN stop nothing is written, so the last good one stays.
"""

import os

import numpy as np

from .base import Callback, check_mode, check_monitor


class ModelCheckpoint(Callback):
    """Save ``last`` every ``every`` epochs (and at the last epoch of each ``fit``, or when training stops); with
    ``save_best``, ``best`` whenever ``monitor`` improves (``mode`` "min" or "max", required then)."""

    runs_last = True

    def __init__(self, dirpath, every=1, save_best=False, monitor="val_loss", mode=None):
        if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every < 1:
            raise ValueError(f"ModelCheckpoint: every={every!r}; expected a positive integer (epochs)")
        self.dirpath = os.fspath(dirpath)
        self.every = int(every)
        self.save_best = save_best
        self.monitor = monitor if save_best else None
        self.mode = check_mode(mode, "ModelCheckpoint") if save_best else mode
        self.best = None

    @property
    def last_path(self):
        """The checkpoint of the last epoch: ``dirpath/last``."""
        return os.path.join(self.dirpath, "last")

    @property
    def best_path(self):
        """The checkpoint of the best epoch so far (by ``monitor``): ``dirpath/best``."""
        return os.path.join(self.dirpath, "best")

    def on_epoch_end(self, trainer, epoch, logs):
        improved = False
        if self.save_best:
            check_monitor(self.monitor, logs, "ModelCheckpoint")
            v = float(logs[self.monitor])
            if np.isfinite(v) and (self.best is None or (v < self.best if self.mode == "min" else v > self.best)):
                self.best, improved = v, True
        if improved:
            trainer.save_checkpoint(self.best_path, extra={"epoch": epoch, self.monitor: self.best})
        if epoch % self.every == 0 or trainer.stop_training or epoch == trainer.target_epochs:
            trainer.save_checkpoint(self.last_path, extra={"epoch": epoch})

    def state_dict(self):
        return {"best": self.best}

    def load_state_dict(self, state):
        self.best = state["best"]
