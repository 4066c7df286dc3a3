"""The ``[search]`` table of a search file, and the checks made before any trial runs.

A search file is a run configuration (what ``descend train`` reads) plus::

    [search]
    method = "random"        # "grid", "random", or "halving"
    trials = 20              # random and halving (default 10); grid runs the product of its grid axes
    metric = "val_loss"      # any metric the runs log: loss, accuracy, val_loss, val_accuracy
    mode = "min"             # default: min for losses, max for accuracies
    seed = 0                 # trial i draws its hyperparameters and its training seed from (seed, i)
    eta = 3                  # halving: the best 1/eta of a rung go on with eta times more epochs
    min_epochs = 1           # halving: the epochs of the first rung (the last rung has training.epochs)
    retrain = false          # the best configuration is retrained on train + validation before its test
    [search.space]
    "optimizer.lr" = { loguniform = [1e-4, 1e-1] }
"""

import copy
import difflib
from dataclasses import asdict, dataclass

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

from ..optim.lr_scheduler import MetricScheduler
from ..train.config import ConfigError, apply_override, default_config, validate
from ..train.spec import resolve as resolve_run
from . import space as S

METHODS = ("grid", "random", "halving")
#: the direction of each metric a run logs per epoch (metrics.jsonl)
METRIC_MODES = {"loss": "min", "accuracy": "max"}
DEFAULT_TRIALS = 10
MAX_SEED = 2 ** 32 - 1


class SearchError(ValueError):
    """A search that cannot start or go on: a study directory that exists or is not a study, a study another
    driver holds, a Dask cluster out of reach."""


@dataclass
class Settings:
    """How to search: the method, the number of trials, the metric to select on and its mode, the study seed,
    and for successive halving the reduction factor η (``eta``) and the first rung's epochs."""

    method: str = "random"
    trials: int = None
    metric: str = "val_loss"
    mode: str = None
    seed: int = 0
    eta: int = 3
    min_epochs: int = 1
    retrain: bool = False

    def to_dict(self):
        """The settings as a plain dict (stored in the study)."""
        return asdict(self)


def logged_metrics(config):
    """The per-epoch metrics a run of ``config`` logs: loss and accuracy on the training batches, and
    val_loss and val_accuracy when the config holds out a validation split."""
    names = list(METRIC_MODES)
    if config["data"]["val"] > 0 or config["data"]["name"] == "xor":
        names += [f"val_{m}" for m in METRIC_MODES]
    return names


def _check_int(name, value, low):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"search.{name} = {value!r}: expected an integer")
    if value < low:
        raise ConfigError(f"search.{name} = {value!r}: expected an integer >= {low}")


def rung_epochs(min_epochs, eta, epochs):
    """Successive halving's budgets r_k = min_epochs · eta^k below ``epochs``, then ``epochs`` itself."""
    budgets, r = [], min_epochs
    while r * eta <= epochs:
        budgets.append(r)
        r *= eta
    return budgets + [epochs]


def grid_size(space):
    """The number of points of the product of the grid axes (1 without grid axes)."""
    n = 1
    for d in space.values():
        if d.kind == "grid":
            n *= len(d.values)
    return n


def resolve(settings, config, space):
    """Check the settings, the space and the config together before anything is created; return
    ``(config, settings)`` with the defaults filled in (trials, mode, the split seed). Raises ConfigError."""
    s = copy.copy(settings)
    if s.method not in METHODS:
        close = difflib.get_close_matches(str(s.method), METHODS, n=1)
        raise ConfigError(f"search.method = {s.method!r}: expected one of {', '.join(METHODS)}"
                          + (f"; did you mean {close[0]!r}?" if close else ""))
    config = validate(copy.deepcopy(config))
    S.check(space, config)
    epochs = config["training"]["epochs"]
    if epochs < 1:
        raise ConfigError(f"config key 'training.epochs' = {epochs}: a search needs at least one epoch per trial")
    if s.method == "grid":
        if not any(d.kind == "grid" for d in space.values()):
            raise ConfigError("search.method = 'grid' needs at least one grid axis, e.g. "
                              "\"optimizer.lr\" = { grid = [0.001, 0.01, 0.1] }")
        if s.trials is not None and s.trials != grid_size(space):
            raise ConfigError(f"search.trials = {s.trials!r}: method 'grid' runs one trial per point of the grid "
                              f"({grid_size(space)}); remove search.trials, or use method 'random'")
        s.trials = grid_size(space)
    elif s.trials is None:
        s.trials = DEFAULT_TRIALS
    _check_int("trials", s.trials, 1)
    _check_int("seed", s.seed, 0)
    if s.seed > MAX_SEED:
        raise ConfigError(f"search.seed = {s.seed}: expected an integer < 2**32")
    metrics = logged_metrics(config)
    if s.metric not in metrics:
        close = difflib.get_close_matches(str(s.metric), metrics, n=1)
        why = " (data.val = 0 holds out no validation split)" if str(s.metric).startswith("val_") and \
            "val_loss" not in metrics else ""
        raise ConfigError(f"search.metric = {s.metric!r}: the runs never log it{why}; they log "
                          f"{', '.join(metrics)}" + (f"; did you mean {close[0]!r}?" if close and not why else ""))
    if s.mode is None:
        s.mode = METRIC_MODES[s.metric.removeprefix("val_")]
    if s.mode not in ("min", "max"):
        raise ConfigError(f"search.mode = {s.mode!r}: expected 'min' or 'max'")
    if s.method == "halving":
        _check_int("eta", s.eta, 2)
        _check_int("min_epochs", s.min_epochs, 1)
        if s.min_epochs * s.eta > epochs:
            raise ConfigError(f"search.method = 'halving' needs training.epochs >= min_epochs * eta = "
                              f"{s.min_epochs * s.eta} to have two rungs; training.epochs is {epochs}")
    if not isinstance(s.retrain, bool):
        raise ConfigError(f"search.retrain = {s.retrain!r}: expected true or false")
    if s.retrain:
        schedule = resolve_run(config).schedule
        if schedule is not None and issubclass(schedule.cls, MetricScheduler) and \
                config["schedule"]["monitor"].startswith("val_"):
            raise ConfigError(f"search.retrain = true trains on train + validation, so nothing can monitor "
                              f"{config['schedule']['monitor']!r}: choose a schedule that does not (schedule.name "
                              f"= {config['schedule']['name']!r})")
    if config["data"]["seed"] < 0:
        config["data"]["seed"] = config["training"]["seed"]
    return config, s


def from_table(table):
    """``(Settings, space)`` from the ``[search]`` table of a file (unknown keys get did-you-mean)."""
    if not isinstance(table, dict):
        raise ConfigError(f"search must be a table ([search]), got {table!r}")
    table = dict(table)
    fields = list(Settings.__dataclass_fields__)
    misplaced = [k for k, v in table.get("space", {}).items() if k in fields and not isinstance(v, dict)]
    if misplaced:
        raise ConfigError(f"search.space {misplaced[0]!r}: {misplaced[0]!r} is a search setting; put it above "
                          f"[search.space], whose keys are all config paths")
    space = S.from_toml(table.pop("space", {}))
    for k in table:
        if k not in fields:
            close = difflib.get_close_matches(k, fields + ["space"], n=1)
            raise ConfigError(f"unknown config key 'search.{k}'" + (f"; did you mean 'search.{close[0]}'?" if close
                                                                    else f" (valid: {', '.join(fields)}, space)"))
    return Settings(**table), space


def load(path, overrides=()):
    """``(config, space, settings)`` of the search file at ``path``, with ``--set key=value`` overrides
    (``search.*`` keys set the search), checked by :func:`resolve`. Raises ConfigError."""
    try:
        with open(path, "rb") as f:
            raw = tomllib.load(f)
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML ({e})") from None
    except FileNotFoundError:
        raise ConfigError(f"{path}: no such file") from None
    for a in overrides:
        apply_override(raw, a)
    if "search" not in raw:
        raise ConfigError(f"{path}: no [search] table; a search file is a run config plus [search] and "
                          f"[search.space] (see docs/search.md)")
    settings, space = from_table(raw.pop("search"))
    config = default_config()
    for p in S.leaf_paths(raw):
        S.set_path(config, p, S.get_path(raw, p))
    config, settings = resolve(settings, config, space)
    return config, space, settings
