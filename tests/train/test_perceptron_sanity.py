import numpy as np
import pytest

import descend as dc
from descend import data as D
from descend import nn, optim
from descend import train as T
from descend.nn import functional as F


def test_perceptron_learns_and_but_not_xor():
    res = T.perceptron(D.logic_gate("and"), epochs=50)
    assert res.converged and res.errors[-1] == 0
    x, t = D.logic_gate("and").arrays
    np.testing.assert_array_equal(res.predict(x), t[:, 0])
    # hand check of the first online epoch: theta starts at 0, the rule moves it on mistakes only
    theta = np.zeros(3)
    for xi, ti in zip(np.hstack([x, np.ones((4, 1))]), t[:, 0]):
        theta -= (float(xi @ theta > 0) - ti) * xi
    res1 = T.perceptron(D.logic_gate("and"), epochs=1)
    np.testing.assert_array_equal(res1.theta, theta)
    bad = T.perceptron(D.xor(), epochs=30)
    assert not bad.converged and min(bad.errors) > 0


def _mlp():
    dc.manual_seed(0)
    return nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Linear(32, 10))


def test_sanity_check_passes_on_a_good_model_and_restores_it():
    ds = D.Standardize().fit(D.digits())(D.digits())
    model = _mlp()
    before = {k: v.numpy().copy() for k, v in model.state_dict().items()}
    rng = dc.get_rng_state()
    report = T.sanity_check(model, F.cross_entropy, ds, verbose=False)
    assert report.passed, str(report)
    name, ok, detail = report["initial loss"]
    assert ok and "ln(10) = 2.3026" in detail
    for k, v in model.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])
    assert dc.get_rng_state() == rng


def test_sanity_check_catches_dead_gradients_and_bad_init():
    ds = D.Standardize().fit(D.digits())(D.digits())
    model = _mlp()
    with dc.no_grad():
        model[0].weight.mul_(0.0)
        model[0].bias.fill_(-1.0)   # every ReLU dead: no gradient reaches layer 0
    report = T.sanity_check(model, F.cross_entropy, ds, verbose=False)
    assert not report["gradients"][1] and "0.weight" in report["gradients"][2]
    big = _mlp()
    with dc.no_grad():
        big[2].weight.mul_(100.0)
    assert not T.sanity_check(big, F.cross_entropy, ds, verbose=False)["initial loss"][1]


def test_layer_monitor_on_nn_model_flags_dead_relus():
    ds = D.Standardize().fit(D.digits())(D.digits())
    model = _mlp()
    with dc.no_grad():
        model[0].bias.fill_(-50.0)
    lm = T.LayerMonitor()
    T.Trainer(model, F.cross_entropy, optim.SGD(model.parameters(), lr=0.0), callbacks=[lm]).fit(
        D.DataLoader(ds, batch_size=256), epochs=1)
    relu = [r for r in lm.records if r["layer"] == "1"]
    assert relu and relu[0]["dead_fraction"] == 1.0 and relu[0]["act_mean"] == 0.0
    assert any("ReLU units of layer 1 are dead" in w for w in lm.warnings)
    lin = [r for r in lm.records if r["layer"] == "0"][0]
    x = ds.arrays[0][-(len(ds) % 256 or 256):]
    pre = x @ model[0].weight.numpy().T + model[0].bias.numpy()
    assert lin["act_mean"] == pytest.approx(pre.mean(), rel=1e-4)


def test_trainer_with_lbfgs_full_batch():
    ds = D.two_moons(200, noise=0.1, seed=0)
    dc.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))
    opt = optim.LBFGS(model.parameters(), lr=1, max_iter=20)
    assert T.needs_closure(opt)
    h = T.Trainer(model, F.cross_entropy, opt).fit(D.DataLoader(ds, mode="batch"), epochs=5)
    assert h["loss"][-1] < 0.1 * h["loss"][0] and h["accuracy"][-1] > 0.95


@pytest.mark.parametrize("curvature", ["hessian", "gauss-newton"])
def test_trainer_with_hessian_free(curvature):
    ds = D.two_moons(200, noise=0.1, seed=0)
    dc.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 2))
    opt = optim.HessianFree(model.parameters(), max_iter=3, curvature=curvature, max_cg_iters=20)
    trainer = T.Trainer(model, F.cross_entropy, opt)
    assert trainer._gauss_newton == (curvature == "gauss-newton")
    h = trainer.fit(D.DataLoader(ds, mode="batch"), epochs=4)
    assert h["loss"][-1] < 0.3 * h["loss"][0]
