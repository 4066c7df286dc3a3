"""``History``: every epoch's logs, as lists of floats per metric name."""

from .base import Callback


class History(Callback):
    """Records ``history[name]`` = [value at epoch 1, 2, ...] for every logged metric (floats only)."""

    def __init__(self):
        self.history = {}
        self.epochs = []

    def on_epoch_end(self, trainer, epoch, logs):
        self.epochs.append(epoch)
        for k, v in logs.items():
            self.history.setdefault(k, []).append(float(v))

    def state_dict(self):
        return {"history": self.history, "epochs": self.epochs}

    def load_state_dict(self, state):
        self.history, self.epochs = {k: list(v) for k, v in state["history"].items()}, list(state["epochs"])
