"""``Study``: the trials of a search and what it selected, read from a study directory.

A study directory holds ``study.sqlite`` (one row per trial), ``trials/NNNN/`` (each trial's ordinary run
directory), ``results.csv``, ``best.json``, ``best.toml`` (the selected configuration, ready for
``descend train``), ``final/`` (the retrained best run, if asked) and ``plots/``.
"""

import copy

from . import report
from .settings import Settings
from .space import from_spec
from .storage import Storage
from .trial import COMPLETE, FAILED, trial_config


class Study:
    """A search's trials (``.trials``, by index), the best COMPLETE trial (``.best``, chosen on the
    validation metric), its test metrics (``.test_metrics``, measured once at the end) and the summary
    table (``.table()``)."""

    def __init__(self, directory, config, space, settings, trials, final=None):
        self.directory, self.config, self.space, self.settings = directory, config, space, settings
        self.trials, self.final = trials, final

    @property
    def metric(self):
        """The metric trials are compared on (e.g. "val_loss")."""
        return self.settings.metric

    @property
    def mode(self):
        """"min" or "max"."""
        return self.settings.mode

    @property
    def completed(self):
        """The COMPLETE trials, best first."""
        sign = 1 if self.mode == "min" else -1
        return sorted((t for t in self.trials if t.state == COMPLETE), key=lambda t: (sign * t.value, t.index))

    @property
    def best(self):
        """The COMPLETE trial with the best metric (ties: the lowest index); ValueError if none completed."""
        done = self.completed
        if not done:
            failed = [t for t in self.trials if t.state == FAILED]
            why = f"; the first error: trial {failed[0].index}: {failed[0].error}" if failed else ""
            raise ValueError(f"no trial of the study in {self.directory} completed ({len(failed)} of "
                             f"{len(self.trials)} FAILED){why}")
        return done[0]

    @property
    def test_metrics(self):
        """{"loss": ..., "accuracy": ...} of the best configuration on the test split (None before the end)."""
        return None if self.final is None else self.final.get("test")

    def best_config(self):
        """The best trial's run configuration, with the study's output settings: ready for ``descend train``."""
        config = trial_config(self.config, self.best)
        config["output"] = copy.deepcopy(self.config["output"])
        return config

    def table(self, limit=None):
        """The trials as a text table sorted by the metric (best first; then PRUNED, RUNNING and FAILED)."""
        return report.table(self, limit)

    def __repr__(self):
        states = {}
        for t in self.trials:
            states[t.state] = states.get(t.state, 0) + 1
        return (f"Study({self.directory!r}, {self.settings.method}, {len(self.trials)} trials: "
                f"{', '.join(f'{n} {s}' for s, n in states.items())})")


def load(directory):
    """The study in ``directory`` (read only; a running driver may go on writing it)."""
    storage = Storage.open(directory)
    try:
        return Study(storage.directory, storage.get("config"), from_spec(storage.get("space")),
                     Settings(**storage.get("settings")), storage.trials(), storage.get("final"))
    finally:
        storage.close()
