"""Bit-identical resume: 20 steps, state_dict, fresh model + optimizer, load, 20 more == 40 straight."""

import copy

import numpy as np
import pytest

import descend as dc
from descend import optim
from descend.optim import lr_scheduler as L
from netutil import batches, dc_loss, dc_params, init_values

CASES = [
    (optim.SGD, dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01)),
    (optim.Adam, dict(lr=0.01, amsgrad=True)),
    (optim.AdamW, dict(lr=0.01)),
    (optim.RMSprop, dict(lr=0.01, momentum=0.5, centered=True)),
    (optim.Adagrad, dict(lr=0.1, lr_decay=0.01)),
    (optim.Adadelta, dict(lr=0.5)),
    (optim.Rprop, dict(lr=0.01)),
    (optim.Rprop, dict(lr=0.01, variant="rprop+")),
    (optim.ASGD, dict(lr=0.05, t0=5)),
]


def train(params, opt, v, bs, sched=None):
    for b in bs:
        opt.zero_grad()
        dc_loss(params, v, b).backward()
        opt.step()
        if sched is not None:
            sched.step()


def groups(params):
    return [{"params": params[:2]}, {"params": params[2:], "lr": 0.003}]


@pytest.mark.parametrize("cls,kw", CASES, ids=[c.__name__ + str(i) for i, (c, _) in enumerate(CASES)])
def test_resume_is_bit_identical(cls, kw):
    v = init_values(seed=11)
    bs = batches(40, seed=3)

    def fresh():
        return dc_params(v)

    ps = fresh()
    opt = cls(groups(ps), **kw)
    sched = L.ExponentialLR(opt, 0.97)
    train(ps, opt, v, bs, sched)
    straight = [p.data.copy() for p in ps]

    ps = fresh()
    opt = cls(groups(ps), **kw)
    sched = L.ExponentialLR(opt, 0.97)
    train(ps, opt, v, bs[:20], sched)
    osd = copy.deepcopy(opt.state_dict())
    ssd = sched.state_dict()
    model_sd = [p.data.copy() for p in ps]

    ps2 = fresh()
    for p, a in zip(ps2, model_sd):
        p.data[...] = a
    opt2 = cls(groups(ps2), **kw)
    sched2 = L.ExponentialLR(opt2, 0.97)
    opt2.load_state_dict(osd)
    sched2.load_state_dict(ssd)
    train(ps2, opt2, v, bs[20:], sched2)
    for a, b in zip(ps2, straight):
        np.testing.assert_array_equal(a.data, b)


def test_state_dict_is_a_snapshot_and_keyed_by_position():
    v = init_values()
    ps = dc_params(v)
    opt = optim.Adam(groups(ps), lr=0.01)
    train(ps, opt, v, batches(3))
    sd = opt.state_dict()
    assert sorted(sd["state"]) == [0, 1, 2, 3]
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2, 3]]
    assert sd["state"][0]["step"] == 3
    saved = sd["state"][0]["exp_avg"].copy()
    train(ps, opt, v, batches(2))
    np.testing.assert_array_equal(sd["state"][0]["exp_avg"], saved)   # later steps do not change it


def test_load_state_dict_checks_group_sizes():
    v = init_values()
    opt = optim.SGD(dc_params(v), lr=0.1)
    sd = opt.state_dict()
    other = optim.SGD(groups(dc_params(v)), lr=0.1)
    with pytest.raises(ValueError, match="groups"):
        other.load_state_dict(sd)
    small = optim.SGD(dc_params(v)[:3], lr=0.1)
    with pytest.raises(ValueError, match="parameters"):
        small.load_state_dict(sd)


def test_state_dict_restores_hyperparameters_and_casts_state():
    v = init_values()
    ps = dc_params(v)
    opt = optim.SGD(ps, lr=0.1, momentum=0.9)
    train(ps, opt, v, batches(2))
    sd = opt.state_dict()
    sd["param_groups"][0]["lr"] = 0.25
    ps32 = [dc.tensor(p.data, dtype=dc.float32, requires_grad=True) for p in ps]
    opt2 = optim.SGD(ps32, lr=0.1, momentum=0.9)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == 0.25
    assert opt2.state[ps32[0]]["momentum_buffer"].dtype == np.float32
