"""Every scheduler's learning-rate (and momentum) sequence against torch.optim.lr_scheduler for
100 steps, with a state_dict save/load into a fresh optimizer and scheduler in the middle."""

import warnings

import numpy as np
import pytest

import descend as dc
from descend import optim
from descend.optim import lr_scheduler as L

torch = pytest.importorskip("torch")
TL = torch.optim.lr_scheduler

STEPS = 100
SWITCH = 50


def lam(e):
    return 0.95 ** e


def lam2(e):
    return 1.0 / (1.0 + 0.1 * e)


def mult(e):
    return 0.97


class Scale:
    """A callable object: its __dict__ is saved by state_dict."""

    def __init__(self, k):
        self.k = k

    def __call__(self, e):
        return self.k ** e


SCHEDULES = {
    "LambdaLR": lambda m, o: m.LambdaLR(o, lam),
    "LambdaLR-per-group": lambda m, o: m.LambdaLR(o, [lam, lam2]),
    "MultiplicativeLR": lambda m, o: m.MultiplicativeLR(o, mult),
    "StepLR": lambda m, o: m.StepLR(o, step_size=7, gamma=0.5),
    "MultiStepLR": lambda m, o: m.MultiStepLR(o, milestones=[10, 30, 30, 70], gamma=0.3),
    "ConstantLR": lambda m, o: m.ConstantLR(o, factor=0.25, total_iters=20),
    "LinearLR": lambda m, o: m.LinearLR(o, start_factor=0.1, end_factor=0.9, total_iters=60),
    "ExponentialLR": lambda m, o: m.ExponentialLR(o, gamma=0.999),
    "ExponentialLR-fast": lambda m, o: m.ExponentialLR(o, gamma=0.95),
    "PolynomialLR": lambda m, o: m.PolynomialLR(o, total_iters=80, power=2.0),
    "CosineAnnealingLR": lambda m, o: m.CosineAnnealingLR(o, T_max=30, eta_min=0.001),
    "CosineAnnealingWarmRestarts": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=7, T_mult=2, eta_min=0.002),
    "CosineAnnealingWarmRestarts-1": lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=9),
    "CyclicLR-triangular": lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=8),
    "CyclicLR-triangular2": lambda m, o: m.CyclicLR(o, base_lr=[0.01, 0.02], max_lr=0.1, step_size_up=5,
                                                    step_size_down=10, mode="triangular2"),
    "CyclicLR-exp_range": lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=6, mode="exp_range",
                                                  gamma=0.98, base_momentum=0.7, max_momentum=0.95),
    "CyclicLR-scale_fn": lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=6, scale_fn=Scale(0.9),
                                                 scale_mode="iterations", cycle_momentum=False),
    "OneCycleLR": lambda m, o: m.OneCycleLR(o, max_lr=0.5, total_steps=STEPS + 1),
    "OneCycleLR-linear-3phase": lambda m, o: m.OneCycleLR(o, max_lr=[0.5, 0.3], epochs=10, steps_per_epoch=11,
                                                          anneal_strategy="linear", three_phase=True),
    "SequentialLR": lambda m, o: m.SequentialLR(o, [m.LinearLR(o, start_factor=0.1, total_iters=10),
                                                    m.ExponentialLR(o, gamma=0.97)], milestones=[10]),
    "SequentialLR-3": lambda m, o: m.SequentialLR(o, [m.ConstantLR(o, factor=0.5, total_iters=5),
                                                      m.CosineAnnealingLR(o, T_max=20),
                                                      m.StepLR(o, step_size=5, gamma=0.8)], milestones=[20, 45]),
    "ChainedScheduler": lambda m, o: m.ChainedScheduler([m.ExponentialLR(o, gamma=0.98),
                                                         m.StepLR(o, step_size=10, gamma=0.5)]),
}


def dc_opt(kind="sgd"):
    a = dc.zeros(3, requires_grad=True, dtype=dc.float64)
    b = dc.zeros(2, requires_grad=True, dtype=dc.float64)
    if kind == "adam":
        return optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.05}], lr=0.1)
    return optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.05}], lr=0.1, momentum=0.9)


def torch_opt(kind="sgd"):
    a = torch.zeros(3, requires_grad=True, dtype=torch.float64)
    b = torch.zeros(2, requires_grad=True, dtype=torch.float64)
    if kind == "adam":
        return torch.optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.05}], lr=0.1)
    return torch.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.05}], lr=0.1, momentum=0.9)


def record(opt):
    out = []
    for g in opt.param_groups:
        out.append(float(g["lr"]))
        out.append(float(g["momentum"]) if "momentum" in g else float(g["betas"][0]))
    return out


def run_torch(make, kind, metrics=None):
    opt = torch_opt(kind)
    sched = make(TL, opt)
    seq = [record(opt)]
    for i in range(STEPS):
        opt.step()
        sched.step() if metrics is None else sched.step(metrics[i])
        seq.append(record(opt))
    return np.array(seq)


def run_dc(make, kind, metrics=None):
    opt = dc_opt(kind)
    sched = make(L, opt)
    seq = [record(opt)]
    for i in range(STEPS):
        if i == SWITCH:   # resume from a checkpoint: fresh optimizer and scheduler, then load
            osd, ssd = opt.state_dict(), sched.state_dict()
            opt = dc_opt(kind)
            sched = make(L, opt)
            opt.load_state_dict(osd)
            sched.load_state_dict(ssd)
        opt.step()
        sched.step() if metrics is None else sched.step(metrics[i])
        seq.append(record(opt))
    assert sched.get_last_lr() == [g["lr"] for g in opt.param_groups]
    return np.array(seq)


@pytest.mark.parametrize("name", list(SCHEDULES))
@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_schedule_matches_torch(name, kind):
    make = SCHEDULES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # no warning in the right step order
        ours = run_dc(make, kind)
    ref = run_torch(make, kind)
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-15)
    assert len(np.unique(ours[:, 0])) > 1   # the schedule does change the rate


METRICS = [1.0, 0.9, 0.85, 0.85, 0.86, 0.84, 0.84, 0.84, 0.84, 0.9] * 10


@pytest.mark.parametrize("kw", [dict(), dict(patience=2), dict(patience=1, cooldown=2, factor=0.5),
                                dict(mode="max", patience=0, threshold=0.05, threshold_mode="abs", min_lr=0.004),
                                dict(patience=1, threshold=0.02, min_lr=[0.01, 0.001], eps=1e-3)])
def test_reduce_on_plateau_matches_torch(kw):
    make = lambda m, o: m.ReduceLROnPlateau(o, **kw)  # noqa: E731
    ours = run_dc(make, "sgd", METRICS)
    ref = run_torch(make, "sgd", METRICS)
    np.testing.assert_allclose(ours, ref, rtol=1e-12)
    assert ours[-1, 0] < ours[0, 0]


def test_plateau_reduces_on_patience_plus_one_bad_epoch():
    opt = dc_opt()
    s = L.ReduceLROnPlateau(opt, patience=2, factor=0.5)
    for m, lr in zip([1.0, 1.0, 1.0, 1.0], [0.1, 0.1, 0.1, 0.05]):
        s.step(m)
        assert opt.param_groups[0]["lr"] == pytest.approx(lr)


def test_inverse_time_decay_formula():
    opt = dc_opt()
    s = L.InverseTimeDecay(opt, decay_rate=0.3)
    for e in range(1, 101):
        opt.step()
        s.step()
        assert s.get_last_lr()[0] == pytest.approx(0.1 / (1 + 0.3 * e), rel=1e-13)
        assert s.get_last_lr()[1] == pytest.approx(0.05 / (1 + 0.3 * e), rel=1e-13)
    s.step(7)   # explicit epoch: closed form
    assert s.get_last_lr()[0] == pytest.approx(0.1 / (1 + 0.3 * 7), rel=1e-15)


def test_inverse_time_decay_equals_lambda_lr():
    o1, o2 = dc_opt(), dc_opt()
    s1 = L.InverseTimeDecay(o1, 0.05)
    s2 = L.LambdaLR(o2, lambda e: 1 / (1 + 0.05 * e))
    for _ in range(30):
        o1.step(), o2.step(), s1.step(), s2.step()
    np.testing.assert_allclose(s1.get_last_lr(), s2.get_last_lr(), rtol=1e-13)


def test_cyclic_lr_cycles_momentum_of_plain_sgd_like_torch():
    a = dc.zeros(2, requires_grad=True)
    opt = optim.SGD([a], lr=0.1)
    s = L.CyclicLR(opt, 0.01, 0.1, step_size_up=20)
    ta = torch.zeros(2, requires_grad=True)
    topt = torch.optim.SGD([ta], lr=0.1)
    ts = TL.CyclicLR(topt, 0.01, 0.1, step_size_up=20)
    for _ in range(30):
        opt.step(), topt.step()
        s.step(), ts.step()
    assert opt.param_groups[0]["momentum"] == pytest.approx(0.85)
    assert topt.param_groups[0]["momentum"] == pytest.approx(0.85)


def test_warm_restarts_fractional_epochs_match_torch():
    o, to = dc_opt(), torch_opt()
    s, ts = L.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2), TL.CosineAnnealingWarmRestarts(to, T_0=3, T_mult=2)
    for k in range(40):
        epoch = k / 4
        o.step(), to.step()
        s.step(epoch)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ts.step(epoch)
        np.testing.assert_allclose(s.get_last_lr(), ts.get_last_lr(), rtol=1e-13)


def test_lambdas_are_not_saved_callable_objects_are():
    opt = dc_opt()
    s = L.LambdaLR(opt, [lam, Scale(0.9)])
    sd = s.state_dict()
    assert sd["lr_lambdas"] == [None, {"k": 0.9}]
    fresh = L.LambdaLR(dc_opt(), [lam, Scale(0.5)])
    fresh.load_state_dict(sd)
    assert fresh.lr_lambdas[1].k == 0.9


def test_warns_only_when_scheduler_steps_before_optimizer():
    opt = dc_opt()
    s = L.StepLR(opt, 2)
    with pytest.warns(UserWarning, match="before `optimizer.step"):
        s.step()
    opt = dc_opt()
    s = L.StepLR(opt, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step()
        s.step()
        s.step(5)   # an explicit epoch gives no deprecation warning
        s.get_lr()


@pytest.mark.parametrize("make,match", [
    (lambda o: L.StepLR(o, 0), "step_size"),
    (lambda o: L.StepLR(o, 2, gamma=-1.0), "gamma"),
    (lambda o: L.ExponentialLR(o, float("nan")), "gamma"),
    (lambda o: L.CosineAnnealingLR(o, 0), "T_max"),
    (lambda o: L.CosineAnnealingWarmRestarts(o, 0), "T_0"),
    (lambda o: L.CosineAnnealingWarmRestarts(o, 2, T_mult=0), "T_mult"),
    (lambda o: L.LinearLR(o, start_factor=0.0), "start_factor"),
    (lambda o: L.ConstantLR(o, factor=2.0), "factor"),
    (lambda o: L.CyclicLR(o, 0.1, 0.2, mode="sawtooth"), "mode"),
    (lambda o: L.OneCycleLR(o, 0.1), "total_steps"),
    (lambda o: L.OneCycleLR(o, 0.1, total_steps=10, pct_start=1.5), "pct_start"),
    (lambda o: L.ReduceLROnPlateau(o, factor=1.0), "factor"),
    (lambda o: L.ReduceLROnPlateau(o, mode="median"), "mode"),
    (lambda o: L.ReduceLROnPlateau(o, threshold_mode="pct"), "threshold_mode"),
    (lambda o: L.InverseTimeDecay(o, -0.1), "decay_rate"),
    (lambda o: L.LambdaLR(o, [lam]), "lr_lambdas"),
])
def test_bad_scheduler_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make(dc_opt())


def test_scheduler_needs_an_optimizer():
    with pytest.raises(TypeError, match="not an Optimizer"):
        L.StepLR(object(), 3)
