"""Splitting a data set into training, validation and test parts (disjoint index sets)."""

import numpy as np

from ..autodiff.random import generator
from .dataset import Subset, as_arrays


def _rng(seed):
    return np.random.default_rng(seed if seed is not None else int(generator().integers(2**63 - 1)))


def _lengths(n, lengths, who):
    lengths = list(lengths)
    if not lengths:
        raise ValueError(f"{who}: lengths is empty")
    if all(isinstance(l, float) for l in lengths):
        if any(l < 0 or l > 1 for l in lengths) or abs(sum(lengths) - 1) > 1e-6:
            raise ValueError(f"{who}: fractions {lengths} must lie in [0, 1] and sum to 1")
        counts = [int(np.floor(n * f)) for f in lengths]
        for i in range(n - sum(counts)):  # round-robin remainder, as torch
            counts[i % len(counts)] += 1
        return counts
    if any(not isinstance(l, (int, np.integer)) or l < 0 for l in lengths) or sum(lengths) != n:
        raise ValueError(f"{who}: lengths {lengths} must be non-negative integers summing to the data set size {n} "
                         f"(or fractions summing to 1)")
    return [int(l) for l in lengths]


def random_split(dataset, lengths, seed=None):
    """Split ``dataset`` into disjoint random ``Subset``s of the given lengths (counts, or fractions summing to 1)."""
    counts = _lengths(len(dataset), lengths, "random_split")
    perm = _rng(seed).permutation(len(dataset))
    bounds = np.cumsum([0] + counts)
    return [Subset(dataset, perm[bounds[i]:bounds[i + 1]]) for i in range(len(counts))]


def train_val_test_split(dataset, val=0.15, test=0.15, stratify=True, seed=None):
    """Split into (train, val, test) ``Subset``s with fractions (1 - val - test, val, test).

    ``stratify=True`` splits every class (labels = the last field) in the same proportions, so each part
    keeps the class frequencies of the whole set.
    """
    for name, f in (("val", val), ("test", test)):
        if not 0 <= f < 1:
            raise ValueError(f"train_val_test_split: {name}={f!r}; expected a fraction in [0, 1)")
    if val + test >= 1:
        raise ValueError(f"train_val_test_split: val + test = {val + test}; expected < 1 to leave training data")
    rng = _rng(seed)
    n = len(dataset)
    if stratify:
        labels = as_arrays(dataset)[-1]
        if labels.ndim != 1:
            raise ValueError(f"train_val_test_split: stratify=True needs one label per example, got labels of shape "
                             f"{labels.shape}")
        groups = [rng.permutation(np.flatnonzero(labels == c)) for c in np.unique(labels)]
    else:
        groups = [rng.permutation(n)]
    parts = ([], [], [])
    for g in groups:
        n_test, n_val = int(round(len(g) * test)), int(round(len(g) * val))
        parts[2].append(g[:n_test])
        parts[1].append(g[n_test:n_test + n_val])
        parts[0].append(g[n_test + n_val:])
    out = []
    for p in parts:
        idx = np.concatenate(p).astype(np.int64)
        out.append(Subset(dataset, rng.permutation(idx)))
    if len(out[0]) == 0:
        raise ValueError(f"train_val_test_split: the training part is empty (data set of {n} examples)")
    return tuple(out)
