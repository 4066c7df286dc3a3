"""Each second-order method trains a small tanh MLP (plain descend tensors W1, b1, W2, b2) to zero
training error on XOR and on a two-class spiral (full batch), and survives NaN trial points."""

import numpy as np
import pytest

import descend as dc
from descend import optim


def spiral(n=40, turns=1.5, noise=0.02, seed=0):
    """Two interleaved spirals: class 0 at r(t)(cos 2π·turns·t, sin 2π·turns·t), class 1 its mirror."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0.15, 1.0, n)
    a = 2 * np.pi * turns * t
    arm = np.stack([t * np.cos(a), t * np.sin(a)], 1)
    X = np.concatenate([arm, -arm]) + noise * rng.normal(size=(2 * n, 2))
    return 2 * X, np.concatenate([np.zeros(n), np.ones(n)])


def xor():
    return np.array([[-1, -1], [-1, 1], [1, -1], [1, 1]], dtype=np.float64), np.array([0, 1, 1, 0], dtype=np.float64)


def train(make, X, y, hidden, seed=0, nan_at=()):
    """Full-batch training in one ``step``; the closure's plain evaluations number ``nan_at``
    (counting from 1; Hessian-vector products excluded) return NaN loss and NaN gradients."""
    rng = np.random.default_rng(seed)
    init = [rng.normal(size=(2, hidden)), np.zeros(hidden), rng.normal(size=(hidden, 1)) / np.sqrt(hidden), np.zeros(1)]
    ps = [dc.tensor(a, dtype=dc.float64, requires_grad=True) for a in init]
    Xd, yd = dc.tensor(X, dtype=dc.float64), dc.tensor(y[:, None], dtype=dc.float64)
    opt = make(ps)
    calls = {"plain": 0, "nan": 0}

    def logits():
        return (Xd @ ps[0] + ps[1]).tanh() @ ps[2] + ps[3]

    def closure():
        opt.zero_grad()
        z = logits()
        loss = (dc.log1p((-z.abs()).exp()) + dc.relu(z) - yd * z).mean()  # binary cross-entropy of logits
        if ps[0].tangent is None:  # a plain evaluation (not inside a Hessian-vector product)
            calls["plain"] += 1
            if calls["plain"] in nan_at:
                calls["nan"] += 1
                loss = loss * float("nan")
        loss.backward()
        return loss

    opt.step(closure)
    with dc.no_grad():
        predicted = logits().numpy()[:, 0] > 0
    return float((predicted == (y > 0.5)).mean()), opt.report, ps, calls


KW = dict(max_iter=500, max_eval=2500, tolerance_grad=1e-9, tolerance_change=0.0)
METHODS = {
    "LBFGS": lambda p: optim.LBFGS(p, line_search_fn="strong_wolfe", **KW),
    "BFGS": lambda p: optim.BFGS(p, **KW),
    "ConjugateGradient": lambda p: optim.ConjugateGradient(p, **KW),
    "Newton": lambda p: optim.Newton(p, **KW),
    "HessianFree": lambda p: optim.HessianFree(p, **KW),
}


@pytest.mark.parametrize("method", list(METHODS))
def test_xor_to_zero_training_error(method):
    acc, report, ps, _ = train(METHODS[method], *xor(), hidden=4)
    assert acc == 1.0, report
    assert report["loss"] < 1e-3


@pytest.mark.parametrize("method", list(METHODS))
def test_spiral_to_zero_training_error(method):
    X, y = spiral()
    acc, report, ps, _ = train(METHODS[method], X, y, hidden=16)
    assert acc == 1.0, report
    assert report["loss"] < 1e-3


@pytest.mark.filterwarnings("ignore:BFGS. skipped")
@pytest.mark.parametrize("method", list(METHODS) + ["LBFGS-fixed-step"])
def test_nan_at_trial_points_does_not_break_training(method):
    make = METHODS.get(method) or (lambda p: optim.LBFGS(p, **KW))
    acc, report, ps, calls = train(make, *xor(), hidden=4, nan_at=(2, 5, 9))
    assert calls["nan"] == 3  # evaluations 2, 5 and 9 are trial points (1 is the start) and returned NaN
    assert all(np.isfinite(p.numpy()).all() for p in ps)
    assert acc == 1.0, report
    assert np.isfinite(report["loss"]) and report["loss"] < 1e-3
