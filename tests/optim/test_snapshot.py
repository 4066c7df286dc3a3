"""SnapshotEnsemble: snapshots at the cycle ends of warm-restart / cyclic schedules, averaged predictions."""

import numpy as np
import pytest

import descend as dc
from descend import optim
from descend.optim import SnapshotEnsemble
from descend.optim import lr_scheduler as L


class Lin:
    def __init__(self):
        self.w = dc.tensor(np.array([1.0, -1.0]), dtype=dc.float64, requires_grad=True)

    def parameters(self):
        return [self.w]

    def __call__(self, x):
        return x @ self.w

    def state_dict(self):
        return {"w": self.w}

    def load_state_dict(self, sd):
        v = sd["w"]
        self.w.data[...] = v.data if isinstance(v, dc.Tensor) else v


def train(model, opt, sched, ens, steps, rng):
    X = rng.normal(size=(32, 2))
    y = X @ np.array([2.0, 0.5])
    Xt, yt = dc.tensor(X, dtype=dc.float64), dc.tensor(y, dtype=dc.float64)
    ends = []
    weights = []
    for i in range(steps):
        opt.zero_grad()
        r = model(Xt) - yt
        (r * r).mean().backward()
        opt.step()
        sched.step()
        if ens.step():
            ends.append(i + 1)
            weights.append(model.w.data.copy())
    return ends, weights


def test_snapshots_at_warm_restarts_and_averaged_predictions():
    rng = np.random.default_rng(0)
    model = Lin()
    opt = optim.SGD(model.parameters(), lr=0.1)
    sched = L.CosineAnnealingWarmRestarts(opt, T_0=5, T_mult=2)
    ens = SnapshotEnsemble(model, sched)
    ends, weights = train(model, opt, sched, ens, 40, rng)
    assert ends == [5, 15, 35]                 # cycles of 5, 10, 20 steps
    assert len(ens) == 3
    for snap, w in zip(ens.snapshots, weights):
        np.testing.assert_array_equal(snap["w"], w)
    x = dc.tensor(rng.normal(size=(6, 2)), dtype=dc.float64)
    current = model.w.data.copy()
    pred = ens.predict(x)
    np.testing.assert_allclose(pred.data, np.mean([x.data @ w for w in weights], axis=0), rtol=1e-12)
    np.testing.assert_array_equal(model.w.data, current)     # the model's own weights are back
    prob = ens.predict(x, transform=lambda o: o.sigmoid())
    np.testing.assert_allclose(prob.data, np.mean([1 / (1 + np.exp(-(x.data @ w))) for w in weights], axis=0),
                               rtol=1e-12)


def test_snapshots_at_cyclic_lr_cycle_ends_and_max_snapshots():
    rng = np.random.default_rng(1)
    model = Lin()
    opt = optim.SGD(model.parameters(), lr=0.1)
    sched = L.CyclicLR(opt, base_lr=0.001, max_lr=0.05, step_size_up=3, step_size_down=5)
    ens = SnapshotEnsemble(model, sched, max_snapshots=2)
    ends, weights = train(model, opt, sched, ens, 30, rng)
    assert ends == [8, 16, 24]
    assert len(ens) == 2
    np.testing.assert_array_equal(ens.snapshots[-1]["w"], weights[-1])
    np.testing.assert_array_equal(ens.snapshots[0]["w"], weights[-2])


def test_cycle_length_for_other_schedules_and_errors():
    model = Lin()
    opt = optim.SGD(model.parameters(), lr=0.1)
    sched = L.StepLR(opt, 3)
    with pytest.raises(ValueError, match="cycle_length"):
        SnapshotEnsemble(model, sched)
    with pytest.raises(ValueError, match="cycle_length"):
        SnapshotEnsemble(model, cycle_length=0)
    with pytest.raises(ValueError, match=r"max_snapshots=True: expected an integer"):
        SnapshotEnsemble(model, cycle_length=2, max_snapshots=True)
    ens = SnapshotEnsemble(model, sched, cycle_length=4)
    taken = [ens.step() for _ in range(9)]
    assert [i + 1 for i, t in enumerate(taken) if t] == [4, 8]
    with pytest.raises(ValueError, match="no snapshot"):
        SnapshotEnsemble(model, cycle_length=2).predict(dc.ones(2, dtype=dc.float64))
