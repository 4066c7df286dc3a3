"""Every scheduler's learning-rate (and momentum) sequence for 100 steps, with a state_dict save/load
into a fresh optimizer and scheduler in the middle: against its closed form written out here (no
torch needed), and step for step against torch.optim.lr_scheduler, including chaining and
last_epoch resumption."""

import math
import warnings

import numpy as np
import pytest

import descend as dc
from descend import optim
from descend.optim import lr_scheduler as L


def _torch():
    return pytest.importorskip("torch")

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


B = (0.1, 0.05)   # the groups' initial rates


def triangle(e, base, peak, up, down):
    """Smith's triangle written directly: base at the cycle start, peak after ``up`` steps, base after ``down`` more."""
    pos = e % (up + down)
    return base + (peak - base) * (pos / up if pos <= up else (up + down - pos) / down)


def restart_cosine(e, base, eta_min, lengths):
    start = 0
    for n in lengths:
        if e < start + n:
            return eta_min + (base - eta_min) * (1 + math.cos(math.pi * (e - start) / n)) / 2
        start += n
    raise AssertionError("cycle lengths too short")


def anneal_cos(a, b, pct):
    """From a to b along half a cosine, written as a + (b − a)(1 − cos(π pct)) / 2."""
    return a + (b - a) * (1 - math.cos(math.pi * pct)) / 2


def phases(e, ends, points, anneal):
    begin = 0.0
    for i, end in enumerate(ends):
        if e <= end or i == len(ends) - 1:
            return anneal(points[i], points[i + 1], (e - begin) / (end - begin))
        begin = end


def one_cycle(e, peak):
    lo = peak / 25.0
    return phases(e, [0.3 * 101 - 1, 100], [lo, peak, lo / 1e4], anneal_cos)


def one_cycle_3(e, peak):
    lo = peak / 25.0
    return phases(e, [0.3 * 110 - 1, 0.6 * 110 - 2, 109], [lo, peak, lo, lo / 1e4], lambda a, b, p: a + (b - a) * p)


CLOSED = {   # (e, group) -> the learning rate after e steps
    "LambdaLR": lambda e, i: B[i] * 0.95 ** e,
    "LambdaLR-per-group": lambda e, i: 0.1 * 0.95 ** e if i == 0 else 0.05 / (1 + 0.1 * e),
    "MultiplicativeLR": lambda e, i: B[i] * 0.97 ** e,
    "StepLR": lambda e, i: B[i] * 0.5 ** (e // 7),
    "MultiStepLR": lambda e, i: B[i] * 0.3 ** sum(m <= e for m in (10, 30, 30, 70)),
    "ConstantLR": lambda e, i: B[i] * (0.25 if e < 20 else 1.0),
    "LinearLR": lambda e, i: B[i] * (0.1 + 0.8 * min(e, 60) / 60),
    "ExponentialLR": lambda e, i: B[i] * 0.999 ** e,
    "ExponentialLR-fast": lambda e, i: B[i] * 0.95 ** e,
    "PolynomialLR": lambda e, i: B[i] * (1 - min(e, 80) / 80) ** 2,
    "CosineAnnealingLR": lambda e, i: 0.001 + (B[i] - 0.001) * (1 + math.cos(math.pi * e / 30)) / 2,
    "CosineAnnealingWarmRestarts": lambda e, i: restart_cosine(e, B[i], 0.002, [7, 14, 28, 56]),
    "CosineAnnealingWarmRestarts-1": lambda e, i: restart_cosine(e, B[i], 0.0, [9] * 12),
    "CyclicLR-triangular": lambda e, i: triangle(e, 0.01, 0.1, 8, 8),
    "CyclicLR-triangular2": lambda e, i: (0.01, 0.02)[i] + (triangle(e, (0.01, 0.02)[i], 0.1, 5, 10)
                                                           - (0.01, 0.02)[i]) / 2 ** (e // 15),
    "CyclicLR-exp_range": lambda e, i: 0.01 + (triangle(e, 0.01, 0.1, 6, 6) - 0.01) * 0.98 ** e,
    "CyclicLR-scale_fn": lambda e, i: 0.01 + (triangle(e, 0.01, 0.1, 6, 6) - 0.01) * 0.9 ** e,
    "OneCycleLR": lambda e, i: one_cycle(e, 0.5),
    "OneCycleLR-linear-3phase": lambda e, i: one_cycle_3(e, (0.5, 0.3)[i]),
    "SequentialLR": lambda e, i: B[i] * (0.1 + 0.9 * e / 10) if e < 10 else B[i] * 0.97 ** (e - 10),
    "SequentialLR-3": lambda e, i: (0.5 * B[i] if e < 5 else B[i] if e < 20 else
                                    B[i] * (1 + math.cos(math.pi * (e - 20) / 20)) / 2 if e < 45 else
                                    B[i] * 0.8 ** ((e - 45) // 5)),
    "ChainedScheduler": lambda e, i: B[i] * 0.98 ** e * 0.5 ** (e // 10),
}
MOMENTUM = {   # the momentum (β₁ with Adam) the cycling schedulers set, group 0
    "CyclicLR-triangular": lambda e: 0.9 - (triangle(e, 0.01, 0.1, 8, 8) - 0.01) / 0.09 * 0.1,
    "OneCycleLR": lambda e: phases(e, [0.3 * 101 - 1, 100], [0.95, 0.85, 0.95], anneal_cos),
}


def dc_opt(kind="sgd"):
    a = dc.zeros(3, requires_grad=True, dtype=dc.float64)
    b = dc.zeros(2, requires_grad=True, dtype=dc.float64)
    if kind == "adam":
        return optim.Adam([{"params": [a]}, {"params": [b], "lr": 0.05}], lr=0.1)
    return optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.05}], lr=0.1, momentum=0.9)


def torch_opt(kind="sgd"):
    torch = _torch()
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
    sched = make(_torch().optim.lr_scheduler, opt)
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
def test_schedule_follows_its_closed_form(name, kind):
    make = SCHEDULES[name]
    with warnings.catch_warnings():
        warnings.simplefilter("error")   # no warning in the right step order
        ours = run_dc(make, kind)
    expected = np.array([[CLOSED[name](e, i) for i in range(2)] for e in range(STEPS + 1)])
    # the chained (multiplicative) forms drift from the closed ones by a few ulps per step
    np.testing.assert_allclose(ours[:, [0, 2]], expected, rtol=1e-12, atol=1e-15)
    assert len(np.unique(ours[:, 0])) > 1   # the schedule does change the rate
    if name in MOMENTUM:
        np.testing.assert_allclose(ours[:, 1], [MOMENTUM[name](e) for e in range(STEPS + 1)], rtol=1e-12)


@pytest.mark.parametrize("name", list(SCHEDULES))
@pytest.mark.parametrize("kind", ["sgd", "adam"])
def test_schedule_matches_torch(name, kind):
    _torch()
    make = SCHEDULES[name]
    ours = run_dc(make, kind)
    ref = run_torch(make, kind)
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-15)


METRICS = [1.0, 0.9, 0.85, 0.85, 0.86, 0.84, 0.84, 0.84, 0.84, 0.9] * 10


@pytest.mark.parametrize("kw", [dict(), dict(patience=2), dict(patience=1, cooldown=2, factor=0.5),
                                dict(mode="max", patience=0, threshold=0.05, threshold_mode="abs", min_lr=0.004),
                                dict(patience=1, threshold=0.02, min_lr=[0.01, 0.001], eps=1e-3)])
def test_reduce_on_plateau_matches_torch(kw):
    _torch()
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


def test_metric_scheduler_is_the_type_that_takes_a_metric():
    opt = dc_opt()
    assert isinstance(L.ReduceLROnPlateau(opt), L.MetricScheduler)
    assert not isinstance(L.StepLR(dc_opt(), 2), L.MetricScheduler)
    with pytest.raises(TypeError, match="needs the epoch's metric as a number"):
        L.ReduceLROnPlateau(opt).step(None)


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
    torch = _torch()
    a = dc.zeros(2, requires_grad=True)
    opt = optim.SGD([a], lr=0.1)
    s = L.CyclicLR(opt, 0.01, 0.1, step_size_up=20)
    ta = torch.zeros(2, requires_grad=True)
    topt = torch.optim.SGD([ta], lr=0.1)
    ts = torch.optim.lr_scheduler.CyclicLR(topt, 0.01, 0.1, step_size_up=20)
    for _ in range(30):
        opt.step(), topt.step()
        s.step(), ts.step()
    assert opt.param_groups[0]["momentum"] == pytest.approx(0.85)
    assert topt.param_groups[0]["momentum"] == pytest.approx(0.85)


def test_warm_restarts_fractional_epochs_follow_the_cycles():
    o = dc_opt()
    s = L.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2)
    for k in range(60):
        epoch = k / 4
        o.step()
        s.step(epoch)
        start, length = next((a, n) for a, n in [(0, 3), (3, 6), (9, 12)] if epoch < a + n)
        expected = 0.1 * (1 + math.cos(math.pi * (epoch - start) / length)) / 2
        assert s.get_last_lr()[0] == pytest.approx(expected, rel=1e-14)
        assert (s.T_cur, s.T_i, s.last_epoch) == (epoch - start, length, math.floor(epoch))
    s.step()   # one epoch on from 14.75 (T_cur 5.75 in the cycle of 12 from 9)
    assert (s.T_cur, s.T_i, s.last_epoch) == (6.75, 12, 15)


def test_warm_restarts_fractional_epochs_match_torch():
    torch = _torch()
    o, to = dc_opt(), torch_opt()
    s = L.CosineAnnealingWarmRestarts(o, T_0=3, T_mult=2)
    ts = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(to, T_0=3, T_mult=2)
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
    # non-finite values, for every scheduler that takes a number
    (lambda o: L.StepLR(o, 2, gamma=float("inf")), r"gamma=inf: expected a finite number"),
    (lambda o: L.MultiStepLR(o, [2, 5], gamma=float("nan")), r"gamma=nan"),
    (lambda o: L.ConstantLR(o, factor=float("nan")), r"factor=nan"),
    (lambda o: L.LinearLR(o, end_factor=float("inf")), r"end_factor=inf"),
    (lambda o: L.ExponentialLR(o, float("inf")), r"gamma=inf"),
    (lambda o: L.InverseTimeDecay(o, float("inf")), r"decay_rate=inf"),
    (lambda o: L.PolynomialLR(o, power=float("nan")), r"power=nan"),
    (lambda o: L.CosineAnnealingLR(o, float("inf")), r"T_max=inf"),
    (lambda o: L.CosineAnnealingLR(o, 10, eta_min=float("inf")), r"eta_min=inf"),
    (lambda o: L.CosineAnnealingWarmRestarts(o, 5, eta_min=float("nan")), r"eta_min=nan"),
    (lambda o: L.CyclicLR(o, 0.01, float("inf")), r"max_lr=inf"),
    (lambda o: L.CyclicLR(o, float("nan"), 0.1), r"base_lr=nan"),
    (lambda o: L.CyclicLR(o, 0.01, 0.1, mode="exp_range", gamma=float("inf")), r"gamma=inf"),
    (lambda o: L.CyclicLR(o, 0.01, 0.1, max_momentum=float("inf")), r"momentum=inf"),
    (lambda o: L.OneCycleLR(o, float("inf"), total_steps=10), r"max_lr=inf"),
    (lambda o: L.OneCycleLR(o, 0.1, total_steps=10, div_factor=float("nan")), r"div_factor=nan"),
    (lambda o: L.ReduceLROnPlateau(o, threshold=float("inf")), r"threshold=inf"),
    (lambda o: L.ReduceLROnPlateau(o, min_lr=float("nan")), r"min_lr=nan"),
    (lambda o: L.ReduceLROnPlateau(o, eps=float("inf")), r"eps=inf"),
    (lambda o: optim.swa_utils.SWALR(o, swa_lr=float("inf")), r"swa_lr=inf"),
    (lambda o: L.StepLR(o, 2, last_epoch=-5), r"last_epoch=-5"),
])
def test_bad_scheduler_arguments(make, match):
    with pytest.raises(ValueError, match=match):
        make(dc_opt())


def test_a_schedule_that_yields_a_bad_rate_is_refused_at_the_write():
    opt = dc_opt()
    s = L.LambdaLR(opt, lambda e: float("inf") if e == 3 else 1.0 / (e + 1))
    for _ in range(2):
        opt.step()
        s.step()
    with pytest.raises(ValueError, match=r"Invalid learning rate lr=inf for SGD"):
        s.step()
    assert opt.param_groups[0]["lr"] == pytest.approx(0.1 / 3)   # the last good rate is kept


def test_two_schedulers_on_one_optimizer_chain_their_factors():
    opt = dc_opt()
    a, b = L.ExponentialLR(opt, gamma=0.9), L.MultiStepLR(opt, milestones=[3, 6], gamma=0.5)
    c = L.CosineAnnealingLR(opt, T_max=8, eta_min=0.0)
    for e in range(1, 9):   # (at e = 8 the cosine is 0; after it, PyTorch's chained form adds, not multiplies)
        opt.step()
        a.step(), b.step(), c.step()
        factor = 0.9 ** e * 0.5 ** sum(m <= e for m in (3, 6)) * (1 + math.cos(math.pi * e / 8)) / 2
        assert opt.param_groups[0]["lr"] == pytest.approx(0.1 * factor, rel=1e-12, abs=1e-17)


def test_explicit_epoch_uses_the_closed_form():
    opt = dc_opt()
    s = L.StepLR(opt, 3, gamma=0.5)
    opt.step()
    s.step(7)
    assert s.get_last_lr() == [0.1 * 0.25, 0.05 * 0.25]
    s = L.CosineAnnealingLR(dc_opt(), T_max=10, eta_min=0.01)
    s.optimizer.step()
    s.step(5)
    assert s.get_last_lr()[0] == pytest.approx(0.01 + 0.09 * 0.5, rel=1e-15)


RESUMABLE = {
    "StepLR": lambda m, o, e: m.StepLR(o, step_size=7, gamma=0.5, last_epoch=e),
    "MultiStepLR": lambda m, o, e: m.MultiStepLR(o, milestones=[14, 20], gamma=0.3, last_epoch=e),
    "ConstantLR": lambda m, o, e: m.ConstantLR(o, factor=0.25, total_iters=14, last_epoch=e),
    "LinearLR": lambda m, o, e: m.LinearLR(o, start_factor=0.1, total_iters=30, last_epoch=e),
    "ExponentialLR": lambda m, o, e: m.ExponentialLR(o, gamma=0.95, last_epoch=e),
    "PolynomialLR": lambda m, o, e: m.PolynomialLR(o, total_iters=30, power=2.0, last_epoch=e),
    "CosineAnnealingLR": lambda m, o, e: m.CosineAnnealingLR(o, T_max=10, eta_min=0.001, last_epoch=e),
    "CosineAnnealingWarmRestarts": lambda m, o, e: m.CosineAnnealingWarmRestarts(o, T_0=6, last_epoch=e),
    "LambdaLR": lambda m, o, e: m.LambdaLR(o, lam, last_epoch=e),
    "MultiplicativeLR": lambda m, o, e: m.MultiplicativeLR(o, mult, last_epoch=e),
    "CyclicLR": lambda m, o, e: m.CyclicLR(o, 0.01, 0.1, step_size_up=5, last_epoch=e),
    "OneCycleLR": lambda m, o, e: m.OneCycleLR(o, max_lr=0.5, total_steps=40, last_epoch=e),
}


def resume(lib, make_opt, make, k=12, more=20):
    """Run k + 1 steps, save the optimizer, build a fresh optimizer with it and a scheduler with
    last_epoch = k + 1 (PyTorch's resumption), then step on: the rates after resuming."""
    opt = make_opt()
    s = make(lib, opt, -1)
    for _ in range(k + 1):
        opt.step()
        s.step()
    saved = opt.state_dict()
    opt2 = make_opt()
    opt2.load_state_dict(saved)
    s2 = make(lib, opt2, s.last_epoch)
    seq = [record(opt2)]
    for _ in range(more):
        opt2.step()
        s2.step()
        seq.append(record(opt2))
    return np.array(seq)


@pytest.mark.parametrize("name", list(RESUMABLE))
def test_last_epoch_resumption_matches_torch(name):
    torch = _torch()
    ours = resume(L, dc_opt, RESUMABLE[name])
    ref = resume(torch.optim.lr_scheduler, torch_opt, RESUMABLE[name])
    np.testing.assert_allclose(ours, ref, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("chain", [
    lambda m, o: [m.ExponentialLR(o, gamma=0.9), m.MultiStepLR(o, milestones=[3, 6], gamma=0.5)],
    lambda m, o: [m.StepLR(o, 4, gamma=0.7), m.CosineAnnealingLR(o, T_max=8, eta_min=0.002)],
    lambda m, o: [m.LinearLR(o, start_factor=0.2, total_iters=6), m.PolynomialLR(o, total_iters=9, power=1.5),
                  m.ConstantLR(o, factor=0.5, total_iters=4)],
])
def test_schedulers_stepped_together_match_torch(chain):
    torch = _torch()

    def run(lib, opt):
        ss = chain(lib, opt)
        seq = [record(opt)]
        for _ in range(25):
            opt.step()
            for s in ss:
                s.step()
            seq.append(record(opt))
        return np.array(seq)

    np.testing.assert_allclose(run(L, dc_opt()), run(torch.optim.lr_scheduler, torch_opt()), rtol=1e-12,
                               atol=1e-15)


def test_scheduler_needs_an_optimizer():
    with pytest.raises(TypeError, match="not an Optimizer"):
        L.StepLR(object(), 3)


def test_validate_checks_a_configuration_without_a_model():
    s = L.validate(L.StepLR, {"step_size": 3, "gamma": 0.5})
    assert isinstance(s, L.StepLR) and s.gamma == 0.5
    with pytest.raises(TypeError, match="step_size"):
        L.validate(L.StepLR, {})                                  # missing: the CLI's "StepLR without step_size"
    with pytest.raises(TypeError, match="unexpected keyword argument 'gama'"):
        L.validate(L.StepLR, {"step_size": 3, "gama": 0.5})
    with pytest.raises(ValueError, match=r"T_max=nan"):
        L.validate(L.CosineAnnealingLR, {"T_max": float("nan")})
    assert isinstance(L.validate(L.CyclicLR, {"base_lr": 0.01, "max_lr": 0.1}, optimizer=optim.Adam), L.CyclicLR)
    with pytest.raises(ValueError, match="momentum or beta1"):
        L.validate(L.CyclicLR, {"base_lr": 0.01, "max_lr": 0.1}, optimizer=optim.Adagrad)
    with pytest.raises(TypeError, match="scheduler class"):
        L.validate("StepLR", {})
