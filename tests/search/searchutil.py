"""Helpers of the search tests: tiny digits runs (a [16] MLP, a few epochs, a fraction of a second each)."""

import json
import os

from descend.train.config import load_config

TINY = ["model.hidden=[16]", "model.dropout=0.0", "training.epochs=2", "data.augment.rotate=0.0",
        "data.augment.noise=0.0", "output.plots=false", "output.progress=false", "data.batch_size=64"]


def tiny_config(*overrides):
    """The default run config made tiny (2 epochs of a [16] MLP on digits), then ``overrides``."""
    return load_config(None, TINY + list(overrides))


def write_search(path, body):
    """Write a search file: the tiny run config's keys plus ``body`` (the [search] tables)."""
    head = """[model]
hidden = [16]
dropout = 0.0
[data]
batch_size = 64
[data.augment]
rotate = 0.0
noise = 0.0
[training]
epochs = 2
[output]
plots = false
progress = false
"""
    with open(path, "w") as f:
        f.write(head + body)
    return str(path)


def without_time(rows):
    """Per-epoch logs without the wall-clock time."""
    return [{k: v for k, v in r.items() if k != "time"} for r in rows]


def read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def strict_json(path):
    """Parse ``path`` with a parser that rejects NaN and Infinity."""
    def reject(name):
        raise ValueError(f"{path}: non-strict JSON constant {name}")
    with open(path) as f:
        return json.loads(f.read(), parse_constant=reject)


def tree(path):
    """Every file under ``path`` (relative), or [] if it does not exist."""
    out = []
    for root, _, files in os.walk(path):
        out += [os.path.relpath(os.path.join(root, f), path) for f in files]
    return sorted(out)
