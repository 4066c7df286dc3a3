"""Learning-rate schedules as callbacks: any ``optim.lr_scheduler`` stepped per batch or per epoch, and
``ReduceLROnPlateau`` on a monitored metric.

PyTorch's ReduceLROnPlateau reduces on the (patience + 1)-th bad epoch (``num_bad_epochs > patience``)
with a relative threshold; Keras' reduces one epoch earlier with an absolute ``min_delta``. descend uses
PyTorch's rule (it is ``optim.lr_scheduler.ReduceLROnPlateau``).
"""

from .base import Callback, check_mode, check_monitor


class LRScheduler(Callback):
    """Step ``scheduler`` after every batch (``interval="batch"``) or epoch (``"epoch"``).

    With ``monitor`` (e.g. "val_loss"), the epoch's value is passed: ``scheduler.step(logs[monitor])``.
    """

    def __init__(self, scheduler, interval="epoch", monitor=None):
        if interval not in ("batch", "epoch"):
            raise ValueError(f"LRScheduler: interval={interval!r}; expected 'batch' or 'epoch'")
        if monitor is not None and interval == "batch":
            raise ValueError("LRScheduler: a monitored metric exists only per epoch; use interval='epoch'")
        self.scheduler = scheduler
        self.interval = interval
        self.monitor = monitor

    def on_batch_end(self, trainer, batch, logs):
        if self.interval == "batch":
            self.scheduler.step()

    def on_epoch_end(self, trainer, epoch, logs):
        if self.interval != "epoch":
            return
        if self.monitor is not None:
            check_monitor(self.monitor, logs, "LRScheduler")
            self.scheduler.step(logs[self.monitor])
        else:
            self.scheduler.step()

    def state_dict(self):
        return {"scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, state):
        self.scheduler.load_state_dict(state["scheduler"])


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` has not improved for more than ``patience`` epochs.

    Builds ``optim.lr_scheduler.ReduceLROnPlateau(trainer.optimizer, mode, factor, patience, threshold,
    threshold_mode, cooldown, min_lr, eps)`` when training starts. ``mode`` is required.
    """

    def __init__(self, monitor="val_loss", mode=None, factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                 cooldown=0, min_lr=0.0, eps=1e-8):
        self.monitor = monitor
        self.mode = check_mode(mode, "ReduceLROnPlateau")
        self.kwargs = dict(mode=self.mode, factor=factor, patience=patience, threshold=threshold,
                           threshold_mode=threshold_mode, cooldown=cooldown, min_lr=min_lr, eps=eps)
        self.scheduler = None
        self._pending = None

    def on_fit_start(self, trainer):
        if self.scheduler is None:
            from ...optim import lr_scheduler
            self.scheduler = lr_scheduler.ReduceLROnPlateau(trainer.optimizer, **self.kwargs)
        if self._pending is not None:
            self.scheduler.load_state_dict(self._pending)
            self._pending = None

    def on_epoch_end(self, trainer, epoch, logs):
        check_monitor(self.monitor, logs, "ReduceLROnPlateau")
        self.scheduler.step(logs[self.monitor])

    def state_dict(self):
        if self.scheduler is None:
            return {"scheduler": self._pending}
        return {"scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, state):
        if state["scheduler"] is None:
            return
        if self.scheduler is None:
            self._pending = state["scheduler"]
        else:
            self.scheduler.load_state_dict(state["scheduler"])
