"""What a study shows: a line per finished job, the table sorted by the metric, results.csv, best.json and
best.toml (the selected configuration as a ready ``descend train`` config)."""

import csv
import io
import json
import os

from ..train.checkpoint import atomic_write
from ..train.config import default_config, dumps
from .trial import COMPLETE, FAILED, PRUNED, RUNNING, strict


def fmt(value):
    """A hyperparameter or metric value, short: 4 significant digits for floats."""
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return "[" + ",".join(fmt(v) for v in value) + "]"
    return str(value)


def short_names(paths):
    """{path: name}: the last part of each config path where that is unambiguous ("lr" for "optimizer.lr")."""
    last = [p.rsplit(".", 1)[-1] for p in paths]
    return {p: n if last.count(n) == 1 else p for p, n in zip(paths, last)}


def trial_line(study, trial, budgets):
    """One line for a trial whose job just ended, e.g.
    ``trial 3 COMPLETE val_loss 0.08412 after 3 epochs (2.1 s): lr=0.00316 hidden=[64]``."""
    names = short_names(list(study.space))
    params = " ".join(f"{names[p]}={fmt(v)}" for p, v in trial.params.items())
    if trial.state == FAILED:
        return f"trial {trial.index} FAILED: {trial.error} ({params})"
    rung = f" rung {trial.rung + 1}/{len(budgets)}" if len(budgets) > 1 else ""
    state = "" if trial.state == RUNNING else f" {trial.state}"
    return (f"trial {trial.index}{rung}{state} {study.metric} {fmt(trial.value)} after {trial.epochs} epoch"
            f"{'s' * (trial.epochs != 1)} ({trial.seconds:.1f} s): {params}")


def order(study):
    """The trials best first: COMPLETE by the metric, then PRUNED by their last rung's metric, then the
    RUNNING and the FAILED ones by index."""
    sign = 1 if study.mode == "min" else -1
    rank = {COMPLETE: 0, PRUNED: 1, RUNNING: 2, FAILED: 3}
    return sorted(study.trials, key=lambda t: (rank[t.state], -len(t.rungs),
                                               sign * t.value if t.value is not None else 0, t.index))


def table(study, limit=None):
    """The trials as an aligned text table, best first (at most ``limit`` rows)."""
    names = short_names(list(study.space))
    head = ["rank", "trial", "state", study.metric] + [names[p] for p in study.space] + ["epochs", "seconds"]
    rows = []
    for i, t in enumerate(order(study)):
        rows.append([str(i + 1) if t.state == COMPLETE else "", str(t.index), t.state, fmt(t.value)] +
                    [fmt(t.params.get(p)) for p in study.space] + [str(t.epochs), f"{t.seconds:.1f}"])
    shown = rows if limit is None else rows[:limit]
    width = [max(len(r[j]) for r in [head] + shown) for j in range(len(head))]
    lines = ["  ".join(c.rjust(w) for c, w in zip(r, width)) for r in [head] + shown]
    if len(shown) < len(rows):
        lines.append(f"... {len(rows) - len(shown)} more in results.csv")
    return "\n".join(lines)


def write_csv(study):
    """results.csv: one row per trial (trial, state, the metric, each hyperparameter, seed, epochs, the
    metric after each rung, seconds, error, run_dir)."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["trial", "state", study.metric] + list(study.space) +
               ["seed", "epochs", "rungs", "seconds", "error", "run_dir"])
    for t in study.trials:
        w.writerow([t.index, t.state, "" if t.value is None else repr(t.value)] +
                   [t.params.get(p) if isinstance(t.params.get(p), (int, float)) and
                    not isinstance(t.params.get(p), bool) else json.dumps(t.params.get(p)) for p in study.space] +
                   [t.seed, t.epochs, json.dumps(t.rungs), f"{t.seconds:.3f}", t.error or "",
                    os.path.relpath(t.run_dir, study.directory)])
    path = os.path.join(study.directory, "results.csv")
    atomic_write(path, buf.getvalue().encode())
    return path


def diff(config, default):
    """The keys of ``config`` that differ from ``default`` (nested dicts)."""
    out = {}
    for k, v in config.items():
        if isinstance(v, dict) and isinstance(default.get(k), dict):
            d = diff(v, default[k])
            if d:
                out[k] = d
        elif default.get(k, object()) != v:
            out[k] = v
    return out


def compact_toml(config):
    """``config`` as TOML with only the keys that differ from descend's defaults (``descend train`` fills in
    the rest)."""
    return dumps(diff(config, default_config()))


def write_best(study):
    """best.toml (the best configuration, complete) and best.json (the best trial, its metric, its
    hyperparameters and seed, and the test metrics measured once); returns their paths."""
    best = study.best
    config = study.best_config()
    toml_path = os.path.join(study.directory, "best.toml")
    header = (f"# best of {len(study.trials)} trials of the study in {study.directory}: trial {best.index}, "
              f"{study.metric} = {best.value!r}\n")
    atomic_write(toml_path, (header + dumps(config)).encode())
    doc = {"metric": study.metric, "mode": study.mode, "trial": best.index, "value": best.value,
           "params": best.params, "seed": best.seed, "epochs": best.epochs,
           "run_dir": os.path.relpath(best.run_dir, study.directory), "config": config}
    if study.final is not None:
        doc["test"] = study.final["test"]
        doc["retrained"] = study.final["retrained"]
        doc["final_run_dir"] = study.final["run_dir"]
    json_path = os.path.join(study.directory, "best.json")
    atomic_write(json_path, json.dumps(strict(doc), indent=2, allow_nan=False).encode())
    return toml_path, json_path
