"""Toy data sets of the notes: logic gates (XOR), two moons, spirals, circles.

Each returns a ``TensorDataset(X, t)`` with X (N, 2) float32 and t (N,) int64 class labels (for
``logic_gate``/``xor`` the targets are floats (4, 1) in {0, 1}, as the notes' sigmoid networks use).
Random generators take ``seed`` (None: descend's generator).
"""

import numpy as np

from ..autodiff.random import generator
from .dataset import TensorDataset

GATES = {"and": [0, 0, 0, 1], "or": [0, 1, 1, 1], "xor": [0, 1, 1, 0], "nand": [1, 1, 1, 0], "nor": [1, 0, 0, 0],
         "xnor": [1, 0, 0, 1]}


def _rng(seed):
    return np.random.default_rng(seed) if seed is not None else generator()


def logic_gate(name):
    """The truth table of a two-input gate: X = [[0,0],[0,1],[1,0],[1,1]] (4, 2), t (4, 1)."""
    key = str(name).lower()
    if key not in GATES:
        raise ValueError(f"logic_gate: unknown gate {name!r}; expected one of {', '.join(GATES)}")
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    return TensorDataset(x, np.array(GATES[key], dtype=np.float32)[:, None])


def xor():
    """XOR's truth table: X (4, 2), t = x1 ⊕ x2 (4, 1)."""
    return logic_gate("xor")


def _check(n, noise, who):
    if not isinstance(n, (int, np.integer)) or n < 2:
        raise ValueError(f"{who}: n={n!r}; expected an integer >= 2")
    if noise < 0:
        raise ValueError(f"{who}: noise={noise!r}; expected >= 0")


def two_moons(n=200, noise=0.1, seed=None):
    """Two interleaved half circles (classes 0 and 1, n/2 each), plus Gaussian noise of std ``noise``."""
    _check(n, noise, "two_moons")
    rng = _rng(seed)
    n0 = n // 2
    a0, a1 = np.linspace(0, np.pi, n0), np.linspace(0, np.pi, n - n0)
    x = np.concatenate([np.stack([np.cos(a0), np.sin(a0)], 1), np.stack([1 - np.cos(a1), 0.5 - np.sin(a1)], 1)])
    x = x + rng.normal(0, noise, size=x.shape)
    t = np.concatenate([np.zeros(n0, np.int64), np.ones(n - n0, np.int64)])
    return TensorDataset(x.astype(np.float32), t)


def spirals(n=200, classes=2, noise=0.1, turns=1.0, seed=None):
    """``classes`` interleaved spiral arms (n/classes points each): r ∈ [0, 1], angle r·turns·2π + 2πk/classes."""
    _check(n, noise, "spirals")
    rng = _rng(seed)
    k = np.arange(n) % classes
    r = (np.arange(n) // classes + 1) / (-(-n // classes))
    a = r * turns * 2 * np.pi + 2 * np.pi * k / classes
    x = np.stack([r * np.cos(a), r * np.sin(a)], 1) + rng.normal(0, noise, size=(n, 2)) * r[:, None]
    return TensorDataset(x.astype(np.float32), k.astype(np.int64))


def circles(n=200, noise=0.05, factor=0.5, seed=None):
    """Two concentric circles: class 0 of radius 1, class 1 of radius ``factor`` (0 < factor < 1)."""
    _check(n, noise, "circles")
    if not 0 < factor < 1:
        raise ValueError(f"circles: factor={factor!r}; expected 0 < factor < 1")
    rng = _rng(seed)
    n0 = n // 2
    a = rng.uniform(0, 2 * np.pi, size=n)
    r = np.where(np.arange(n) < n0, 1.0, factor)
    x = np.stack([r * np.cos(a), r * np.sin(a)], 1) + rng.normal(0, noise, size=(n, 2))
    return TensorDataset(x.astype(np.float32), (np.arange(n) >= n0).astype(np.int64))
