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


def test_reduce_lr_on_plateau_callback_follows_torch_rule():
    torch = pytest.importorskip("torch")
    vals = [1.0, 0.9, 0.95, 0.95, 0.95, 0.95, 0.8, 0.85, 0.85, 0.85]

    class Feed(T.Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            logs["val_metric"] = vals[epoch - 1]

    ds = D.two_moons(20, seed=0)
    model = _mlp2()
    opt = optim.SGD(model.parameters(), lr=1.0)
    lrs = []

    class Rec(T.Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            lrs.append(opt.param_groups[0]["lr"])

    T.Trainer(model, F.cross_entropy, opt, callbacks=[Feed(), T.ReduceLROnPlateau("val_metric", "min", factor=0.5,
                                                                                patience=2), Rec()]).fit(
        D.DataLoader(ds, batch_size=20), epochs=len(vals))
    tp = torch.nn.Parameter(torch.zeros(1))
    topt = torch.optim.SGD([tp], lr=1.0)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(topt, "min", factor=0.5, patience=2)
    expected = []
    for v in vals:
        sched.step(v)
        expected.append(topt.param_groups[0]["lr"])
    assert lrs == expected and lrs[-1] < 1.0


def _mlp2():
    dc.manual_seed(0)
    return nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 2))


def test_monitored_name_typo_lists_available_names_after_first_epoch():
    ds = D.two_moons(20, seed=0)
    model = _mlp2()
    tr = T.Trainer(model, F.cross_entropy, optim.SGD(model.parameters(), lr=0.1),
                   callbacks=[T.EarlyStopping("val_los", mode="min")])
    with pytest.raises(ValueError, match="'val_los' is not logged; available: accuracy, loss, lr, time, val_accuracy, "
                                         "val_loss"):
        tr.fit(D.DataLoader(ds, batch_size=10), val=ds, epochs=3)
    assert tr.epoch == 1
