"""Logic networks from the notes: threshold units y = step(b + w·x) that compute Boolean functions.

Inputs and outputs are 0/1 floats. A single threshold unit computes AND, OR, NOT, NAND and NOR;
XOR is not linearly separable and needs the notes' two-layer network XOR(a, b) = AND(OR(a, b),
NAND(a, b)). Any Boolean function of n inputs is computed by :func:`from_truth_table`, the
disjunctive-normal-form network: one hidden unit per true row r of the table (it fires only for
x = r: weights +1 where rⱼ = 1 and −1 where rⱼ = 0, bias ½ − |r|), and an output OR over them.

The step activation has zero gradient: these networks are built, not trained by backprop.
"""

import itertools

import numpy as np

from descend.autodiff.dtype import get_default_dtype
from descend.autodiff.extend import wrap

from . import functional as F
from .containers import Sequential
from .module import Module
from .parameter import Parameter


class ThresholdLayer(Module):
    """yᵢ = step(bᵢ + Σⱼ Wᵢⱼ xⱼ) = 1 if bᵢ + Wᵢ·x > 0 else 0. Shapes: x (N, in) → (N, out); W (out, in), b (out,).

    The parameters are fixed (``requires_grad=False``): the step has zero gradient.
    """

    def __init__(self, weight, bias):
        super().__init__()
        dt = get_default_dtype()
        w = np.atleast_2d(np.asarray(weight, dtype=dt))
        b = np.atleast_1d(np.asarray(bias, dtype=dt))
        if b.shape != (w.shape[0],):
            raise ValueError(f"ThresholdLayer: bias has shape {b.shape}; expected ({w.shape[0]},) for weight {w.shape}")
        self.weight = Parameter(w, requires_grad=False)
        self.bias = Parameter(b, requires_grad=False)

    def forward(self, x):
        if x.data.dtype != self.weight.data.dtype:
            x = x.to(self.weight.data.dtype)
        return F.step(F.linear(x, self.weight, self.bias))

    def extra_repr(self):
        return f"in_features={self.weight.shape[1]}, out_features={self.weight.shape[0]}"


def threshold_unit(weights, bias):
    """One threshold unit y = step(b + w·x) with the given weights and bias."""
    return ThresholdLayer([list(weights)], [bias])


def AND(n=2):
    """y = x₁ ∧ ... ∧ xₙ: weights 1, bias ½ − n (fires only when all n inputs are 1)."""
    return threshold_unit([1.0] * n, 0.5 - n)


def OR(n=2):
    """y = x₁ ∨ ... ∨ xₙ: weights 1, bias −½ (fires when at least one input is 1)."""
    return threshold_unit([1.0] * n, -0.5)


def NOT():
    """y = ¬x: weight −1, bias ½."""
    return threshold_unit([-1.0], 0.5)


def NAND(n=2):
    """y = ¬(x₁ ∧ ... ∧ xₙ): weights −1, bias n − ½."""
    return threshold_unit([-1.0] * n, n - 0.5)


def NOR(n=2):
    """y = ¬(x₁ ∨ ... ∨ xₙ): weights −1, bias ½."""
    return threshold_unit([-1.0] * n, 0.5)


def XOR():
    """The notes' two-layer network: hidden (OR, NAND), output AND: XOR(a, b) = AND(OR(a, b), NAND(a, b))."""
    hidden = ThresholdLayer([[1.0, 1.0], [-1.0, -1.0]], [-0.5, 1.5])
    out = ThresholdLayer([[1.0, 1.0]], [-1.5])
    return Sequential(hidden, out)


def truth_table(network, n_inputs):
    """All 2ⁿ input rows (x₁ most significant, as in :func:`from_truth_table`) and the network's 0/1 outputs."""
    rows = np.array(list(itertools.product((0.0, 1.0), repeat=n_inputs)), dtype=get_default_dtype())
    out = network(wrap(rows)).data
    return rows, out.reshape(len(rows), -1)


def _parse_table(table):
    if isinstance(table, dict):
        if not table:
            raise ValueError("from_truth_table: the table is empty")
        keys = [tuple(int(v) for v in k) for k in table]
        n = len(keys[0])
        if any(len(k) != n for k in keys):
            raise ValueError("from_truth_table: all input rows must have the same length")
        true_rows = [k for k, v in zip(keys, table.values()) if int(v) == 1]
        if any(int(v) not in (0, 1) for v in table.values()):
            raise ValueError("from_truth_table: outputs must be 0 or 1")
        if any(x not in (0, 1) for k in keys for x in k):
            raise ValueError("from_truth_table: inputs must be 0 or 1")
        return n, true_rows
    out = np.asarray(table).reshape(-1)
    size = out.size
    n = size.bit_length() - 1
    if size < 2 or 2 ** n != size:
        raise ValueError(f"from_truth_table: a table of outputs needs 2^n entries (one per input row), got {size}")
    if not np.isin(out, (0, 1)).all():
        raise ValueError("from_truth_table: outputs must be 0 or 1")
    rows = list(itertools.product((0, 1), repeat=n))
    return n, [r for r, v in zip(rows, out) if v == 1]


def from_truth_table(table):
    """The disjunctive-normal-form network of a Boolean function: one hidden unit per true row, then OR.

    ``table`` is either a sequence of 2ⁿ outputs (0/1), row i holding the output for the inputs
    given by the n bits of i (x₁ most significant, i.e. the order of ``itertools.product((0, 1), repeat=n)``),
    or a dict mapping input tuples to outputs (missing rows are false). Returns a
    ``Sequential(ThresholdLayer(n → k), ThresholdLayer(k → 1))`` mapping (N, n) 0/1 inputs to (N, 1).
    """
    n, true_rows = _parse_table(table)
    if not true_rows:  # the constant-false function: one hidden unit that never fires
        hidden = ThresholdLayer(np.zeros((1, n)), [-0.5])
    else:
        r = np.array(true_rows, dtype=float)
        hidden = ThresholdLayer(2 * r - 1, 0.5 - r.sum(axis=1))
    k = hidden.weight.shape[0]
    out = ThresholdLayer(np.ones((1, k)), [-0.5])
    return Sequential(hidden, out)
