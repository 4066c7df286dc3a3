"""Loggers that other tools read: ``CSVLogger`` (one row per epoch) and ``TensorBoardLogger`` (event files).

Both survive a resume: rows or events past the epoch (step) the training restarts from are dropped
when ``fit`` starts, so a run killed and resumed logs every epoch exactly once.
"""

import csv
import io
import math
import os

import numpy as np

from ..files import atomic_write
from .base import Callback


def _number(v):
    """A log value as a float, or None when it is not a finite number (written as an empty CSV cell)."""
    try:
        v = float(v)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


class CSVLogger(Callback):
    """Write each epoch's logs (``epoch``, ``loss``, metrics, ``val_*``, ``lr``, ``time``) as a row of ``path``.

    As Keras's ``CSVLogger(filename, separator=",", append=False)``: a new fit (epoch 0) starts a new
    file unless ``append``; a fit that continues (after ``load_checkpoint`` or a second ``fit``) keeps
    the rows up to the current epoch and appends. The header is the union of the keys seen; a value
    missing in an epoch is an empty cell. Non-finite values are written as empty cells.
    """

    def __init__(self, path, separator=",", append=False):
        if not isinstance(separator, str) or len(separator) != 1:
            raise ValueError(f"CSVLogger: separator={separator!r}; expected one character")
        self.path, self.separator, self.append = os.fspath(path), separator, bool(append)
        self.rows = []

    def on_fit_start(self, trainer):
        if trainer.epoch == 0 and not self.append:
            self.rows = []
        else:
            self.rows = [r for r in self._read() if int(r["epoch"]) <= trainer.epoch]
        self._write()

    def on_epoch_end(self, trainer, epoch, logs):
        self.rows.append({"epoch": int(epoch), **{k: _number(v) for k, v in logs.items() if k != "epoch"}})
        self._write()

    def _read(self):
        if not os.path.exists(self.path):
            return []
        with open(self.path, newline="") as f:
            return [{k: (int(v) if k == "epoch" else (float(v) if v != "" else None)) for k, v in row.items()}
                    for row in csv.DictReader(f, delimiter=self.separator)]

    def _write(self):
        keys = ["epoch"]
        for r in self.rows:
            keys += [k for k in r if k not in keys]
        text = io.StringIO(newline="")
        w = csv.DictWriter(text, fieldnames=keys, delimiter=self.separator, restval="")
        w.writeheader()
        for r in self.rows:
            w.writerow({k: ("" if v is None else v) for k, v in r.items()})
        atomic_write(self.path, text.getvalue().encode())


class TensorBoardLogger(Callback):
    """Event files for TensorBoard in ``log_dir`` (written with tensorboardX: ``pip install descend[tensorboard]``).

    Everything is logged at the global step (the number of optimizer steps so far), as Lightning
    does: every ``batch_every``-th batch's loss as ``batch/loss``; at each epoch's end its logs as
    ``epoch/<name>`` (loss, metrics, ``val_*``, the learning rate ``lr``, time) and, every
    ``histogram_every`` epochs (0 = never), histograms ``weights/<parameter name>`` and
    ``gradients/<parameter name>`` (the last batch's gradient; skipped while non-finite).
    View with ``tensorboard --logdir LOG_DIR``.
    """

    def __init__(self, log_dir, histogram_every=1, batch_every=1):
        try:
            import tensorboardX  # noqa: F401
        except ImportError:
            raise ImportError("TensorBoardLogger writes event files with tensorboardX; install it with "
                              "`pip install tensorboardX` (or `pip install descend[tensorboard]`)") from None
        for name, v in (("histogram_every", histogram_every), ("batch_every", batch_every)):
            if not isinstance(v, int) or isinstance(v, bool) or v < 0:
                raise ValueError(f"TensorBoardLogger: {name}={v!r}; expected an integer >= 0")
        self.log_dir, self.histogram_every, self.batch_every = os.fspath(log_dir), histogram_every, batch_every
        self.writer = None
        self._step = 0

    def on_fit_start(self, trainer):
        from tensorboardX import SummaryWriter
        # after a resume, TensorBoard drops the events logged past the checkpoint's step (purge_step)
        # the pid in the file name: a resume in the same second as the killed start must not overwrite its file
        self.writer = SummaryWriter(log_dir=self.log_dir, purge_step=self._step + 1 if self._step else None,
                                    filename_suffix=f".{os.getpid()}")

    def on_batch_end(self, trainer, batch, logs):
        self._step = int(trainer.global_step)
        if self.batch_every and self._step % self.batch_every == 0:
            value = _number(logs["loss"])
            if value is not None:
                self.writer.add_scalar("batch/loss", value, self._step)

    def on_epoch_end(self, trainer, epoch, logs):
        for k, v in logs.items():
            value = _number(v)
            if k != "epoch" and value is not None:
                self.writer.add_scalar(f"epoch/{k}", value, self._step)
        if self.histogram_every and epoch % self.histogram_every == 0:
            named = getattr(trainer.model, "named_parameters", None)
            for name, p in (named() if named is not None else []):
                for tag, t in ((f"weights/{name}", p), (f"gradients/{name}", p.grad)):
                    if t is not None and np.isfinite(t.numpy()).all():
                        self.writer.add_histogram(tag, t.numpy(), self._step)
        self.writer.flush()

    def on_fit_end(self, trainer):
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    def state_dict(self):
        return {"step": self._step}

    def load_state_dict(self, state):
        self._step = int(state["step"])
