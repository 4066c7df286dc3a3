"""Metrics computed on each mini-batch as (sum, count) pairs, so that epoch values are exact averages.

A metric is a function ``m(output, target) -> (total, count)`` on NumPy arrays: the epoch value is
Σ total / Σ count. Built in: ``accuracy`` (argmax of C > 1 outputs, or output > ``threshold`` for a
single output column, compared with the target labels) and ``mse``.
"""

import numpy as np


def accuracy(output, target, threshold=0.5):
    """Correct predictions: argmax_c y_c == t for y (B, C) with C > 1, else [y > threshold] == t; returns (correct, B)."""
    y = np.asarray(output)
    t = np.asarray(target)
    if y.ndim == 2 and y.shape[1] > 1:
        pred = y.argmax(axis=1)
        t = t.argmax(axis=1) if t.ndim == 2 and t.shape[1] == y.shape[1] else t.reshape(-1)
    else:
        pred = (y.reshape(len(y), -1) > threshold).astype(np.int64).reshape(-1)
        t = t.reshape(-1)
    return float((pred == t).sum()), len(pred)


def mse(output, target):
    """Sum of squared errors Σ (y - t)² over the batch and its element count."""
    y = np.asarray(output, dtype=np.float64)
    d = y - np.asarray(target, dtype=np.float64).reshape(y.shape)
    return float((d * d).sum()), d.size


METRICS = {"accuracy": accuracy, "mse": mse}


def resolve(metrics):
    """Turn names or callables into a dict name -> metric function."""
    out = {}
    for m in metrics or ():
        if isinstance(m, str):
            if m not in METRICS:
                raise ValueError(f"unknown metric {m!r}; expected one of {', '.join(METRICS)} or a callable")
            out[m] = METRICS[m]
        elif callable(m):
            out[getattr(m, "__name__", "metric")] = m
        else:
            raise TypeError(f"a metric must be a name or a callable, got {type(m).__name__}")
    return out
