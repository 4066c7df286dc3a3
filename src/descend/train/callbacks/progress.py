"""What the Trainer prints (Keras's ``verbose``): a progress bar per epoch and one line per epoch.

``Trainer(verbose=1)`` (the default) uses both, ``verbose=2`` only the lines, ``verbose=0`` neither;
``progress=True/False`` turns the bar on or off whatever ``verbose`` says. The Trainer adds these
itself, after every other callback; they are not part of ``trainer.callbacks`` and keep no state in
checkpoints.

A line reads, Keras-like,
``Epoch 3/10 - loss: 0.3012 - accuracy: 0.9120 - val_loss: 0.2011 - val_accuracy: 0.9400 - lr: 1.0000e-03 - 2.8s``:
every logged value in log order, 4 decimals (scientific below 1e-3), then the epoch's time (ms below 1 s).
"""

from tqdm.auto import tqdm

from .base import Callback


def format_value(v):
    """``0.3012`` for |v| >= 1e-3 (and 0), ``1.0000e-04`` below (Keras's rule)."""
    return f"{v:.4f}" if v == 0 or abs(v) >= 1e-3 else f"{v:.4e}"


def epoch_line(epoch, epochs, logs):
    """``Epoch i/n - name: value - ... - 2.8s`` (or ``- 420ms``) for the epoch's ``logs``."""
    parts = [f"Epoch {epoch}/{epochs}"]
    parts += [f"{k}: {format_value(v)}" for k, v in logs.items() if k not in ("epoch", "time")]
    if "time" in logs:
        t = logs["time"]
        parts.append(f"{t:.1f}s" if t >= 1 else f"{1e3 * t:.0f}ms")
    return " - ".join(parts)


class ProgressBar(Callback):
    """A tqdm bar over each epoch's steps: steps done, step rate, time left, and the running mean loss."""

    def __init__(self):
        self.bar = None
        self.loss_sum, self.examples = 0.0, 0

    def on_epoch_start(self, trainer, epoch):
        self.bar = tqdm(total=len(trainer.train_loader), desc=f"Epoch {epoch}/{trainer.target_epochs}", unit="step",
                        leave=False, dynamic_ncols=True, mininterval=0.2)
        self.loss_sum, self.examples = 0.0, 0

    def on_batch_end(self, trainer, batch, logs):
        self.loss_sum += logs["loss"] * logs["size"]
        self.examples += logs["size"]
        if logs["batch"] % 10 == 0:
            self.bar.set_postfix_str(f"loss: {format_value(self.loss_sum / self.examples)}", refresh=False)
        self.bar.update(1)

    def on_epoch_end(self, trainer, epoch, logs):
        self.close()

    def on_fit_end(self, trainer):
        self.close()

    def close(self):
        """Remove the bar (at the end of an epoch, or of a fit stopped or failed in the middle of one)."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None


class EpochLogger(Callback):
    """One line per epoch (see :func:`epoch_line`), and why training stopped early, if it did."""

    def on_epoch_end(self, trainer, epoch, logs):
        tqdm.write(epoch_line(epoch, trainer.target_epochs, logs))

    def on_fit_end(self, trainer):
        if trainer.stop_reason:
            tqdm.write(trainer.stop_reason)
