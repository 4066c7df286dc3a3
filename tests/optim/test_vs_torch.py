"""Every first-order optimizer and option against torch.optim, 40 steps, float64, 1e-9 relative."""

import numpy as np
import pytest

import descend as dc
from descend import optim
from netutil import assert_close, init_values, run_dc, run_torch

torch = pytest.importorskip("torch")

STEPS = 40

CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, dampening=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.8, dampening=0.3, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.002, momentum=0.9, nesterov=True, weight_decay=0.1, maximize=True)),
    ("SGD", dict(lr=0.05, weight_decay=0.1)),
    ("SGD", dict(lr=0.005, maximize=True)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.05)),
    ("Adam", dict(lr=0.01, amsgrad=True)),
    ("Adam", dict(lr=0.01, amsgrad=True, weight_decay=0.1, maximize=True)),
    ("Adam", dict(lr=0.01, weight_decay=0.1, decoupled_weight_decay=True)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, weight_decay=0.3, amsgrad=True)),
    ("AdamW", dict(lr=0.01, maximize=True)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-5, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, centered=True)),
    ("RMSprop", dict(lr=0.005, centered=True, momentum=0.5, weight_decay=0.01, maximize=True)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, lr_decay=0.05, weight_decay=0.1, initial_accumulator_value=0.2, eps=1e-6)),
    ("Adagrad", dict(lr=0.1, maximize=True)),
    ("Adadelta", dict()),
    ("Adadelta", dict(lr=0.5, rho=0.8, eps=1e-4, weight_decay=0.1)),
    ("Adadelta", dict(lr=0.5, maximize=True)),
    ("Rprop", dict()),
    ("Rprop", dict(lr=0.05, etas=(0.3, 1.5), step_sizes=(1e-3, 0.2))),
    ("Rprop", dict(lr=0.05, maximize=True)),
    ("ASGD", dict(lr=0.05)),
    ("ASGD", dict(lr=0.05, lambd=0.01, alpha=0.5, t0=10, weight_decay=0.1)),
    ("ASGD", dict(lr=0.05, t0=5, maximize=True)),
]


@pytest.mark.parametrize("name,kw", CASES,
                         ids=[f"{n}-{'-'.join(f'{k}={v}' for k, v in kw.items())}" for n, kw in CASES])
def test_matches_torch(name, kw):
    v = init_values()
    ours, opt = run_dc(lambda p: getattr(optim, name)(p, **kw), v, STEPS)
    # torch keeps ASGD's eta and mu in 0-d tensors of the default dtype: make that float64 so they
    # are not rounded to float32 (descend keeps them as Python floats)
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    try:
        ref, topt = run_torch(torch, lambda p: getattr(torch.optim, name)(p, **kw), v, STEPS)
    finally:
        torch.set_default_dtype(old)
    assert_close(ours, ref)
    # the parameters moved: the comparison is not vacuous
    assert not np.allclose(ours[0], v["W1"])
    if name == "ASGD":
        for p_ours, p_ref in zip(opt.param_groups[0]["params"], topt.param_groups[0]["params"]):
            np.testing.assert_allclose(opt.state[p_ours]["ax"], topt.state[p_ref]["ax"].numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["SGD", "Adam", "RMSprop", "Adagrad"])
def test_two_param_groups(name):
    v = init_values(seed=3)
    kw_first = dict(lr=0.02)
    kw_second = dict(lr=0.1, weight_decay=0.05) if name != "SGD" else dict(lr=0.1, momentum=0.9)

    def groups(p):
        return [dict(params=p[:2], **kw_first), dict(params=p[2:], **kw_second)]

    ours, _ = run_dc(lambda g: getattr(optim, name)(g, lr=1.0), v, STEPS, groups=groups)
    ref, _ = run_torch(torch, lambda g: getattr(torch.optim, name)(g, lr=1.0), v, STEPS, groups=groups)
    assert_close(ours, ref)


def test_scheduled_lr_matches_torch_and_rescales_the_velocity():
    """With a schedule, torch (and descend) rescale the whole momentum at once when lr changes;
    the notes' velocity form v <- alpha v - eps g does not, so the two then part ways."""
    from descend.optim import functional as Fn
    from descend.optim import lr_scheduler as L
    from netutil import batches, dc_loss, dc_params, torch_loss, torch_params
    v = init_values(seed=5)
    bs = batches(40)
    ps, tps = dc_params(v), torch_params(torch, v)
    opt, topt = optim.SGD(ps, lr=0.1, momentum=0.9), torch.optim.SGD(tps, lr=0.1, momentum=0.9)
    s, ts = L.StepLR(opt, 10, gamma=0.3), torch.optim.lr_scheduler.StepLR(topt, 10, gamma=0.3)
    notes = [p.data.copy() for p in ps]
    vel = [np.zeros_like(a) for a in notes]
    for b in bs:
        opt.zero_grad(), topt.zero_grad()
        # the notes' form, on its own copy of the parameters, with the same rate
        qs = [dc.tensor(a, dtype=dc.float64, requires_grad=True) for a in notes]
        dc_loss(qs, v, b).backward()
        for a, vv, q in zip(notes, vel, qs):
            Fn.momentum_step(a, vv, q.grad.data, opt.param_groups[0]["lr"], 0.9)
        dc_loss(ps, v, b).backward()
        torch_loss(torch, tps, v, b).backward()
        opt.step(), topt.step()
        s.step(), ts.step()
    assert_close([p.data for p in ps], [p.detach().numpy() for p in tps])
    assert not np.allclose(notes[0], ps[0].data, rtol=1e-6)
