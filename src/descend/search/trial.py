"""A trial: one configuration of the search space, trained as an ordinary descend run.

Its ``state`` is RUNNING (started, or waiting between the rungs of successive halving), COMPLETE,
FAILED (the run raised, or diverged to NaN; ``error`` says why) or PRUNED (successive halving stopped it).
"""

import copy
import math
import os
from dataclasses import dataclass, field

from .space import set_path

RUNNING, COMPLETE, FAILED, PRUNED = "RUNNING", "COMPLETE", "FAILED", "PRUNED"
STATES = (RUNNING, COMPLETE, FAILED, PRUNED)


def strict(obj):
    """``obj`` with every non-finite float replaced by None (strict JSON has no NaN or Infinity)."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: strict(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [strict(v) for v in obj]
    return obj


@dataclass(eq=False)
class Trial:
    """One trial of a study.

    ``params``: {config path: value}; ``seed``: its ``training.seed``; ``rungs``: the metric after each
    rung it finished (one rung outside successive halving), ``value`` the last of them; ``metrics``: the
    per-epoch logs of its run (loss, accuracy, val_loss, val_accuracy, lr, time); ``seconds``: the time its
    runs took in the workers; ``run_dir``: its run directory (``descend train`` reruns it from its
    config.toml).
    """

    index: int
    params: dict
    seed: int
    state: str = RUNNING
    rung: int = 0
    rungs: list = field(default_factory=list)
    epochs: int = 0
    metrics: list = field(default_factory=list)
    error: str = None
    started: float = None
    finished: float = None
    seconds: float = 0.0
    attempts: int = 0
    run_dir: str = ""

    @property
    def value(self):
        """The metric of the model this trial keeps (after its last finished rung), or None."""
        return self.rungs[-1] if self.rungs else None

    @staticmethod
    def dirname(index):
        """The trial's run directory, relative to the study directory."""
        return os.path.join("trials", f"{index:04d}")


def trial_config(base, trial, epochs=None):
    """The run configuration of ``trial``: the study's ``base`` config with the trial's hyperparameters and
    training seed, without per-run plots or progress bar, trained up to ``epochs`` (default: the base's
    ``training.epochs``). ``descend train`` on it reruns the trial bit for bit."""
    config = copy.deepcopy(base)
    for path, value in trial.params.items():
        set_path(config, path, value)
    config["training"]["seed"] = trial.seed
    config["output"].update(plots=False, progress=False)
    if epochs is not None:
        config["training"]["epochs"] = epochs
    return config
