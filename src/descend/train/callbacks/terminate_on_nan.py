"""``TerminateOnNaN``: stop as soon as the training loss is NaN or infinite."""

import math

from .base import Callback


class TerminateOnNaN(Callback):
    """Stop training at the first non-finite batch loss; the message names the step, epoch and batch.

    The epoch is not finished, so no checkpoint is written and the last good one is kept.
    """

    def on_batch_end(self, trainer, batch, logs):
        loss = logs["loss"]
        if not math.isfinite(loss):
            trainer.nan_step = trainer.step
            trainer.stop_training = True
            trainer.stop_reason = (f"TerminateOnNaN: the loss became {loss} at step {trainer.step} (epoch "
                                   f"{trainer.epoch + 1}, batch {logs['batch'] + 1}); training stopped, the last "
                                   f"good checkpoint is kept")
