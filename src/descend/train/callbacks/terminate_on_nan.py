"""``TerminateOnNaN``: stop as soon as the training loss is NaN or infinite."""

import math

from .base import Callback


class TerminateOnNaN(Callback):
    """Stop training at the first non-finite batch loss; the message names the step, epoch and batch.

    The epoch is not finished: it is not logged and no checkpoint is written for it. The step with the
    non-finite loss was taken, so the model's parameters may be non-finite too; whether an earlier
    checkpoint exists is for the caller to say (``trainer.nan_step`` tells it a NaN stop happened).
    """

    def on_batch_end(self, trainer, batch, logs):
        loss = logs["loss"]
        if not math.isfinite(loss):
            trainer.nan_step = trainer.global_step
            trainer.stop_training = True
            trainer.stop_reason = (f"TerminateOnNaN: the loss became {loss} at step {trainer.global_step} (epoch "
                                   f"{trainer.epoch + 1}, batch {logs['batch'] + 1}); training stopped in the middle "
                                   f"of epoch {trainer.epoch + 1}, which is not logged")
