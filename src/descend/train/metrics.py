"""Metrics computed on each mini-batch as (sum, count) pairs, so that epoch values are exact averages.

A metric is a function ``m(output, target) -> (total, count)`` on NumPy arrays: the epoch value is
Σ total / Σ count. Built in: ``accuracy`` (argmax of C > 1 outputs, or output > ``threshold`` for a
single output column, compared with the target labels) and ``mse``.

A built-in metric is only logged where it means something: accuracy needs class labels (integer
class indices, one-hot or probability rows for C > 1 outputs; 0/1 labels for one output per
example), mse needs one target value per output value. ``metrics="auto"`` (the Trainer's default)
logs accuracy where it applies and nothing otherwise (a regression); a metric asked for by name
that does not apply raises ValueError on the first batch, before any parameter changes.
Callables are the user's own and always computed.

:class:`EpochMeter` accumulates the loss, the per-task losses and the metrics of one epoch (or one
evaluation pass) as exact averages over the examples.
"""

from collections import namedtuple

import numpy as np

RESERVED = ("epoch", "loss", "lr", "time")


def accuracy(output, target, threshold=0.5):
    """Correct predictions: argmax_c y_c == t for y (B, C) with C > 1, else [y > threshold] == t.

    Returns the pair (correct, B).
    """
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


def _first_non_integral(t):
    """A value of ``t`` that is not a whole number (None if all are)."""
    if t.dtype.kind in "biu":
        return None
    bad = ~np.isfinite(t) | (t != np.round(t))
    return t[bad][0] if bad.any() else None


def accuracy_mismatch(output, target):
    """None if accuracy applies to ``output`` (B, C) or (B,)/(B, 1) and ``target``, else the reason in words."""
    y, t = np.asarray(output), np.asarray(target)
    if y.ndim == 2 and y.shape[1] > 1:
        if t.shape == y.shape:
            if (t >= 0).all() and np.allclose(t.sum(axis=1, dtype=np.float64), 1.0, rtol=0, atol=1e-6):
                return None
            return (f"targets of shape {t.shape} are not one-hot or probability rows (values >= 0 summing to 1): "
                    f"a regression target")
        if t.size != len(y):
            return f"targets of shape {t.shape} are not class labels for outputs of shape {y.shape}"
        bad = _first_non_integral(t)
        if bad is not None:
            return f"targets are real values (e.g. {bad.item()!r}, dtype {t.dtype}), not class indices"
        return None
    if y.size != len(y):
        return f"outputs of shape {y.shape} are neither class scores (B, C) nor one value per example"
    if t.size != len(y):
        return f"targets of shape {t.shape} do not match outputs of shape {y.shape}"
    flat = t.reshape(-1)
    bad = flat[~np.isin(flat, (0, 1))]
    if bad.size:
        return f"targets are not 0/1 labels for one output per example (found {bad[0].item()!r}): a regression target"
    return None


def mse_mismatch(output, target):
    """None if mse applies (as many target values as output values), else the reason in words."""
    y, t = np.asarray(output), np.asarray(target)
    if y.size != t.size:
        return f"outputs of shape {y.shape} and targets of shape {t.shape} differ in size"
    return None


METRICS = {"accuracy": accuracy, "mse": mse}
MISMATCH = {accuracy: accuracy_mismatch, mse: mse_mismatch}

Metric = namedtuple("Metric", "name task fn explicit")
Metric.__doc__ = """One logged metric: its log ``name``, the ``task`` index (0 unless multi-task), the function and
whether the user asked for it by name (``explicit``: raise if it does not apply) or ``metrics="auto"`` chose it."""


def _named(spec):
    """[(name, fn, explicit)] for one spec: "auto" (accuracy, not explicit), None, or a name, a callable or a list of
    names and callables (explicit)."""
    if spec is None:
        return []
    if isinstance(spec, str) and spec == "auto":
        return [("accuracy", accuracy, False)]
    if isinstance(spec, str) or callable(spec):
        spec = [spec]
    if not isinstance(spec, (list, tuple)):
        raise TypeError(f"metrics: expected 'auto', None, or a list of metric names or callables, got "
                        f"{type(spec).__name__}")
    out = []
    for m in spec:
        if isinstance(m, str):
            if m not in METRICS:
                raise ValueError(f"unknown metric {m!r}; expected one of {', '.join(METRICS)} or a callable")
            out.append((m, METRICS[m], True))
        elif callable(m):
            out.append((getattr(m, "__name__", type(m).__name__), m, True))
        else:
            raise TypeError(f"a metric must be a name or a callable, got {type(m).__name__}")
    return out


def resolve(metrics, tasks=None):
    """The list of :class:`Metric` for a Trainer: ``metrics`` is "auto", None or a list of names/callables; for a
    multi-task model (``tasks`` = the task names) also a dict {task: such a spec}, and a single spec applies to
    every task (log names ``<task>_<metric>``)."""
    if tasks is None:
        if isinstance(metrics, dict):
            raise TypeError("metrics: a dict {task: metrics} needs a dict of losses (a multi-task model)")
        per_task = {None: metrics}
    elif isinstance(metrics, dict):
        unknown = sorted(set(metrics) - set(tasks))
        if unknown:
            raise ValueError(f"metrics name tasks {unknown} that have no loss; tasks: {sorted(tasks)}")
        per_task = {k: metrics.get(k) for k in tasks}
    else:
        per_task = {k: metrics for k in tasks}
    out = []
    for i, (task, spec) in enumerate(per_task.items()):
        for name, fn, explicit in _named(spec):
            if name in RESERVED:
                raise ValueError(f"metric name {name!r} clashes with a logged value ({', '.join(RESERVED)}); rename "
                                 f"the function")
            out.append(Metric(name if task is None else f"{task}_{name}", i, fn, explicit))
    names = [m.name for m in out]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ValueError(f"metrics: {duplicates} named twice; give each metric function its own name")
    return out


def applicable(metrics, outputs, targets):
    """The metrics of ``metrics`` that apply to a batch's ``outputs`` and ``targets`` (sequences of Tensors, one
    per task); an explicitly requested one that does not apply raises ValueError saying why."""
    kept = []
    for m in metrics:
        check = MISMATCH.get(m.fn)
        reason = None if check is None else check(outputs[m.task].data, targets[m.task].data)
        if reason is None:
            kept.append(m)
        elif m.explicit:
            raise ValueError(f"metric {m.name!r} does not apply: {reason}. Drop it (metrics='auto' logs accuracy "
                             f"only for class labels), or use 'mse' for a regression")
    return kept


class EpochMeter:
    """Exact averages over the examples of one epoch or evaluation pass.

    The loss and each task's loss are batch means ℓ_B, averaged as Σ_B |B| ℓ_B / Σ_B |B|; a metric
    m is averaged as Σ_B total_B / Σ_B count_B.
    """

    def __init__(self):
        self.examples = 0
        self.loss = 0.0
        self.task_losses = {}
        self.sums = {}

    def update(self, n, loss, parts=None, metrics=(), outputs=None, targets=None):
        """Add a batch of ``n`` examples: its mean ``loss`` (float), per-task loss Tensors ``parts`` and, for each
        of ``metrics``, the metric on the arrays of ``outputs``/``targets`` (sequences of Tensors, one per task)."""
        self.examples += n
        self.loss += loss * n
        if parts is not None:
            for k, p in parts.items():
                self.task_losses[k] = self.task_losses.get(k, 0.0) + float(p.data) * n
        for m in metrics:
            total, count = m.fn(outputs[m.task].data, targets[m.task].data)
            acc = self.sums.setdefault(m.name, [0.0, 0])
            acc[0] += total
            acc[1] += count

    def logs(self):
        """{"loss": ..., "loss_<task>": ..., metric: ...} (floats)."""
        out = {"loss": self.loss / self.examples}
        for k, s in self.task_losses.items():
            out[f"loss_{k}"] = s / self.examples
        for k, (s, n) in self.sums.items():
            out[k] = s / n
        return out
