"""The ``Callback`` interface: hooks the Trainer calls around epochs, batches, backward and the step."""


class Callback:
    """Base class. Override any of the hooks; each receives the Trainer (``trainer.model``,
    ``trainer.optimizer``, ``trainer.epoch`` (epochs done), ``trainer.global_step`` (optimizer steps
    done), ``trainer.last_loss`` (float), ``trainer.last_output`` (Tensor), ``trainer.stop_training``).

    - ``setup(trainer)``: once, when the Trainer is built (bind to its model and optimizer here)
    - ``on_fit_start(trainer)`` / ``on_fit_end(trainer)``: around each ``fit`` call (also when it raises)
    - ``on_epoch_start(trainer, epoch)`` / ``on_epoch_end(trainer, epoch, logs)`` (logs: dict of floats)
    - ``on_batch_start(trainer, batch)`` / ``on_batch_end(trainer, batch, logs)`` (logs: the batch's mean
      ``loss``, its index ``batch`` in the epoch, ``global_step`` and its ``size``)
    - ``on_after_backward(trainer)``: gradients are in ``p.grad``, the step has not been taken yet
    - ``state_dict()`` / ``load_state_dict(state)``: what a checkpoint must keep to resume bit for bit

    A callback that watches a logged value names it in ``self.monitor`` (None if it watches none):
    the Trainer then refuses, when ``fit`` starts, a ``val_...`` name without validation data.
    """

    monitor = None

    def setup(self, trainer):
        """Once, when the Trainer is built: bind to ``trainer.model`` and ``trainer.optimizer`` here."""
        pass

    def on_fit_start(self, trainer):
        """At the start of each ``fit`` call."""
        pass

    def on_fit_end(self, trainer):
        """At the end of each ``fit`` call, also when it raises."""
        pass

    def on_epoch_start(self, trainer, epoch):
        """Before epoch ``epoch`` (counted from 0) trains."""
        pass

    def on_epoch_end(self, trainer, epoch, logs):
        """After epoch ``epoch``; ``logs`` is its dict of floats (``loss``, ``val_...``, ``lr``, ``time``, ...),
        which a callback may add to."""
        pass

    def on_batch_start(self, trainer, batch):
        """Before the step on ``batch`` (the loader's tuple of Tensors)."""
        pass

    def on_batch_end(self, trainer, batch, logs):
        """After the step on ``batch``; ``logs``: its mean ``loss``, index ``batch``, ``global_step``, ``size``."""
        pass

    def on_after_backward(self, trainer):
        """After backward, before the optimizer step: the gradients are in ``p.grad``."""
        pass

    def needs_eager_step(self, trainer):
        """Whether the coming step must run eagerly for this callback (``Trainer(compile=True)``):
        by default, if it defines ``on_after_backward`` (Python that a replayed step would skip)."""
        return overrides(self, "on_after_backward")

    def state_dict(self):
        """What a checkpoint keeps to resume this callback bit for bit (a dict of JSON values and arrays)."""
        return {}

    def load_state_dict(self, state):
        """Restore what ``state_dict`` returned."""
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
        raise ValueError(
            f"{who}: mode={mode!r}; expected 'min' or 'max' (descend never guesses it from the metric name)"
        )
    return mode
