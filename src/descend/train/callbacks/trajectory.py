"""``WeightTrajectory``: the weights θ_t after every epoch, for drawing the optimizer's path.

Each snapshot goes to its own file ``<dirpath>/epoch-NNNN.npz`` (epoch 0 = the initial weights),
one float32 array per parameter under its ``named_parameters()`` name, written atomically
(temporary file, fsync, rename; never pickle), so the run writes O(epochs · n) bytes in total and a
crash leaves every finished epoch readable. Models with more than ``max_parameters`` parameters
keep no trajectory (60 epochs of a 250,000-parameter model take 60 MB). On resume, snapshots of
epochs after the checkpoint are removed: they belonged to the interrupted run.
"""

import io
import os
import re

import numpy as np

from ..checkpoint import atomic_write
from .base import Callback

PATTERN = re.compile(r"^epoch-(\d{4,})\.npz$")


def snapshot_path(dirpath, epoch):
    """``<dirpath>/epoch-NNNN.npz``."""
    return os.path.join(dirpath, f"epoch-{epoch:04d}.npz")


def list_snapshots(dirpath):
    """[(epoch, path)] of the snapshots in ``dirpath``, by epoch (empty if there is none)."""
    if not os.path.isdir(dirpath):
        return []
    found = [(int(m.group(1)), os.path.join(dirpath, name)) for name in os.listdir(dirpath)
             if (m := PATTERN.match(name))]
    return sorted(found)


def load_snapshot(path):
    """{parameter name: float32 array} of one snapshot file."""
    with np.load(path, allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


class WeightTrajectory(Callback):
    """Save θ (float32) at the start of training and after each epoch into ``dirpath`` (see the module
    docstring); nothing is saved for a model with more than ``max_parameters`` parameters (0 = never)."""

    def __init__(self, dirpath, max_parameters=250_000):
        if isinstance(max_parameters, bool) or not isinstance(max_parameters, (int, np.integer)) or max_parameters < 0:
            raise ValueError(f"WeightTrajectory: max_parameters={max_parameters!r}; expected an integer ≥ 0 (0 = off)")
        self.dirpath = os.fspath(dirpath)
        self.max_parameters = int(max_parameters)
        self.enabled = False

    def on_fit_start(self, trainer):
        n = sum(p.data.size for p in trainer.model.parameters())
        self.enabled = 0 < n <= self.max_parameters
        if not self.enabled:
            return
        for epoch, path in list_snapshots(self.dirpath):
            if epoch > trainer.epoch:
                os.remove(path)
        if not os.path.exists(snapshot_path(self.dirpath, trainer.epoch)):
            self._save(trainer, trainer.epoch)

    def on_epoch_end(self, trainer, epoch, logs):
        if self.enabled and trainer.nan_step is None:
            self._save(trainer, epoch)

    def _save(self, trainer, epoch):
        arrays = {name: np.asarray(p.data, dtype=np.float32) for name, p in trainer.model.named_parameters()}
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        atomic_write(snapshot_path(self.dirpath, epoch), buf.getvalue())
