"""Learning-rate schedules as callbacks: an ``optim.lr_scheduler`` object stepped by the Trainer.

What ``step()`` takes is decided by the scheduler's type, never its name: a
``optim.lr_scheduler.MetricScheduler`` (``ReduceLROnPlateau``) is stepped once per epoch with the
monitored value, ``scheduler.step(logs[monitor])``; every other scheduler counts steps and is
stepped with no argument after each batch or each epoch. Misuse raises when the callback is built.

PyTorch's ReduceLROnPlateau reduces on the (patience + 1)-th bad epoch (``num_bad_epochs > patience``)
with a relative threshold; Keras' reduces one epoch earlier with an absolute ``min_delta``. descend uses
PyTorch's rule (it is ``optim.lr_scheduler.ReduceLROnPlateau``).
"""

from ...optim import lr_scheduler
from .base import Callback, check_mode, check_monitor


class LRScheduler(Callback):
    """Step ``scheduler`` (an ``optim.lr_scheduler.LRScheduler``) after every batch (``interval="batch"``) or every
    epoch (``"epoch"``).

    A ``MetricScheduler`` (e.g. ``ReduceLROnPlateau``) needs ``monitor`` (e.g. "val_loss") and is stepped at
    each epoch end with that value; any other scheduler takes no ``monitor``.
    """

    def __init__(self, scheduler, interval="epoch", monitor=None):
        if not isinstance(scheduler, lr_scheduler.LRScheduler):
            raise TypeError(f"LRScheduler: expected an optim.lr_scheduler.LRScheduler (a schedule of your own "
                            f"subclasses it, or MetricScheduler), got {type(scheduler).__name__}")
        if interval not in ("batch", "epoch"):
            raise ValueError(f"LRScheduler: interval={interval!r}; expected 'batch' or 'epoch'")
        if monitor is not None and not isinstance(monitor, str):
            raise TypeError(f"LRScheduler: monitor={monitor!r}; expected the name of a logged value, e.g. 'val_loss'")
        name = type(scheduler).__name__
        if isinstance(scheduler, lr_scheduler.MetricScheduler):
            if monitor is None:
                raise ValueError(f"LRScheduler: {name} is stepped with a measured value (step(metric)); give "
                                 f"monitor=, e.g. LRScheduler(scheduler, monitor='val_loss')")
            if interval != "epoch":
                raise ValueError(f"LRScheduler: {name} is stepped with a value measured once per epoch; "
                                 f"interval={interval!r} is not possible, use interval='epoch'")
        elif monitor is not None:
            raise ValueError(f"LRScheduler: {name}.step() counts steps and takes no metric, so "
                             f"monitor={monitor!r} would be ignored; drop it (a schedule driven by a metric is an "
                             f"optim.lr_scheduler.MetricScheduler, e.g. ReduceLROnPlateau)")
        self.scheduler = scheduler
        self.interval = interval
        self.monitor = monitor

    def setup(self, trainer):
        own = getattr(self.scheduler, "optimizer", None)
        if own is not None and own is not trainer.optimizer:
            raise ValueError(f"LRScheduler: the {type(self.scheduler).__name__} drives another optimizer than the "
                             f"Trainer's; build it on the Trainer's optimizer")

    def on_batch_end(self, trainer, batch, logs):
        if self.interval == "batch":
            self.scheduler.step()

    def on_epoch_end(self, trainer, epoch, logs):
        if self.interval != "epoch":
            return
        if self.monitor is None:
            self.scheduler.step()
        else:
            check_monitor(self.monitor, logs, type(self).__name__)
            self.scheduler.step(logs[self.monitor])

    def state_dict(self):
        return {"class": type(self.scheduler).__name__, "scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, state):
        if state["class"] != type(self.scheduler).__name__:
            raise ValueError(f"{type(self).__name__}: the checkpoint holds the state of a {state['class']}, this "
                             f"callback steps a {type(self.scheduler).__name__}")
        self.scheduler.load_state_dict(state["scheduler"])


class ReduceLROnPlateau(LRScheduler):
    """Multiply the learning rate by ``factor`` when ``monitor`` has not improved for more than ``patience`` epochs.

    The callback form of ``optim.lr_scheduler.ReduceLROnPlateau(trainer.optimizer, mode, factor, patience,
    threshold, threshold_mode, cooldown, min_lr, eps)``, built on the Trainer's optimizer when the Trainer is
    built (which checks the arguments). ``mode`` ("min" or "max") is required.
    """

    def __init__(self, monitor="val_loss", mode=None, factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                 cooldown=0, min_lr=0.0, eps=1e-8):
        if not isinstance(monitor, str):
            raise TypeError(f"ReduceLROnPlateau: monitor={monitor!r}; expected the name of a logged value")
        self.kwargs = {"mode": check_mode(mode, "ReduceLROnPlateau"), "factor": factor, "patience": patience,
                       "threshold": threshold, "threshold_mode": threshold_mode, "cooldown": cooldown,
                       "min_lr": min_lr, "eps": eps}
        self.scheduler = None
        self.interval = "epoch"
        self.monitor = monitor

    def setup(self, trainer):
        self.scheduler = lr_scheduler.ReduceLROnPlateau(trainer.optimizer, **self.kwargs)
