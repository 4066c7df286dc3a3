"""The ``Callback`` interface: hooks the Trainer calls around epochs, batches, backward and the step."""


class Callback:
    """Base class. Override any of the hooks; each receives the Trainer (``trainer.model``,
    ``trainer.optimizer``, ``trainer.epoch``, ``trainer.step``, ``trainer.last_loss`` (float),
    ``trainer.last_output`` (Tensor), ``trainer.stop_training``).

    - ``on_fit_start(trainer)`` / ``on_fit_end(trainer)``
    - ``on_epoch_start(trainer, epoch)`` / ``on_epoch_end(trainer, epoch, logs)`` (logs: dict of floats)
    - ``on_batch_start(trainer, batch)`` / ``on_batch_end(trainer, batch, logs)`` (logs: loss of the batch)
    - ``on_after_backward(trainer)``: gradients are in ``p.grad``, the step has not been taken yet
    - ``state_dict()`` / ``load_state_dict(state)``: what a checkpoint must keep to resume bit for bit
    """

    def on_fit_start(self, trainer):
        pass

    def on_fit_end(self, trainer):
        pass

    def on_epoch_start(self, trainer, epoch):
        pass

    def on_epoch_end(self, trainer, epoch, logs):
        pass

    def on_batch_start(self, trainer, batch):
        pass

    def on_batch_end(self, trainer, batch, logs):
        pass

    def on_after_backward(self, trainer):
        pass

    def state_dict(self):
        return {}

    def load_state_dict(self, state):
        pass


def overrides(callback, hook):
    """True if ``callback`` defines its own ``hook`` (the Trainer only calls those, to keep steps cheap)."""
    return getattr(type(callback), hook) is not getattr(Callback, hook)


def check_monitor(name, logs, who):
    """Raise ValueError if the monitored metric ``name`` is not among ``logs`` (lists the available names)."""
    if name not in logs:
        raise ValueError(f"{who}: monitored metric {name!r} is not logged; available: "
                         f"{', '.join(sorted(k for k in logs if k not in ('epoch',)))}")


def check_mode(mode, who):
    """Return ``mode`` if it is "min" or "max", else raise ValueError (the mode is never guessed)."""
    if mode not in ("min", "max"):
        raise ValueError(f"{who}: mode={mode!r}; expected 'min' or 'max' (descend never guesses it from the metric name)")
    return mode
