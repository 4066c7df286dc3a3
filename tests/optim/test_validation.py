"""Bad parameters and hyperparameters raise ValueError/TypeError naming the thing and its range,
at construction and again at step() after a group was edited."""


import numpy as np
import pytest

import descend as dc
from descend import optim


def param():
    return dc.zeros(3, requires_grad=True, dtype=dc.float64)


NAN = float("nan")

BAD = [
    (optim.SGD, dict(lr=-0.1), "lr"),
    (optim.SGD, dict(lr=NAN), "lr"),
    (optim.SGD, dict(momentum=-0.5), "momentum"),
    (optim.SGD, dict(weight_decay=-1e-3), "weight_decay"),
    (optim.SGD, dict(nesterov=True), "Nesterov"),
    (optim.SGD, dict(nesterov=True, momentum=0.9, dampening=0.1), "Nesterov"),
    (optim.SGD, dict(nesterov="yes", momentum=0.9), "nesterov"),
    (optim.Adam, dict(lr=-1.0), "lr"),
    (optim.Adam, dict(betas=(1.0, 0.999)), "betas\\[0\\]"),
    (optim.Adam, dict(betas=(0.9, -0.1)), "betas\\[1\\]"),
    (optim.Adam, dict(betas=(0.9, NAN)), "betas\\[1\\]"),
    (optim.Adam, dict(betas=0.9), "betas"),
    (optim.Adam, dict(eps=0.0), "eps"),
    (optim.Adam, dict(eps=-1e-8), "eps"),
    (optim.Adam, dict(weight_decay=-0.1), "weight_decay"),
    (optim.AdamW, dict(betas=(0.9, 1.5)), "betas\\[1\\]"),
    (optim.AdamW, dict(weight_decay=-0.01), "weight_decay"),
    (optim.RMSprop, dict(alpha=1.5), "alpha"),
    (optim.RMSprop, dict(eps=0), "eps"),
    (optim.RMSprop, dict(momentum=-0.1), "momentum"),
    (optim.RMSprop, dict(nesterov=True), "Nesterov"),
    (optim.RMSprop, dict(weight_decay=-1.0), "weight_decay"),
    (optim.Adagrad, dict(lr_decay=-0.1), "lr_decay"),
    (optim.Adagrad, dict(initial_accumulator_value=-1.0), "initial_accumulator_value"),
    (optim.Adagrad, dict(eps=0.0), "eps"),
    (optim.Adadelta, dict(rho=1.1), "rho"),
    (optim.Adadelta, dict(rho=-0.1), "rho"),
    (optim.Adadelta, dict(eps=0.0), "eps"),
    (optim.Adadelta, dict(lr=-1.0), "lr"),
    (optim.Rprop, dict(etas=(1.2, 0.5)), "etaminus"),
    (optim.Rprop, dict(etas=(0.5, 1.0)), "etaplus"),
    (optim.Rprop, dict(etas=(0.5,)), "etas"),
    (optim.Rprop, dict(step_sizes=(-1.0, 1.0)), "step_sizes\\[0\\]"),
    (optim.Rprop, dict(step_sizes=(1.0, 0.5)), "step_sizes\\[1\\]"),
    (optim.Rprop, dict(variant="rprop-"), "variant"),
    (optim.ASGD, dict(lambd=-1.0), "lambd"),
    (optim.ASGD, dict(alpha=-1.0), "alpha"),
    (optim.ASGD, dict(t0=-1.0), "t0"),
]


@pytest.mark.parametrize("cls,kw,match", BAD, ids=[f"{c.__name__}-{k}" for c, k, _ in BAD])
def test_bad_hyperparameter_at_construction(cls, kw, match):
    with pytest.raises(ValueError, match=match) as info:
        cls([param()], **kw)
    msg = str(info.value)
    if "Nesterov" not in match:
        assert "expected" in msg   # the range is named


@pytest.mark.parametrize("cls,kw,match", BAD, ids=[f"{c.__name__}-{k}" for c, k, _ in BAD])
def test_bad_hyperparameter_edited_into_a_group_fails_at_step(cls, kw, match):
    p = param()
    opt = cls([p])
    p.grad = dc.ones(3, dtype=dc.float64)
    opt.param_groups[0].update(kw)
    before = p.data.copy()
    with pytest.raises(ValueError, match=match):
        opt.step()
    np.testing.assert_array_equal(p.data, before)   # nothing moved


def test_error_message_names_value_and_range():
    with pytest.raises(ValueError, match=r"lr=-0\.1: expected >= 0"):
        optim.SGD([param()], lr=-0.1)
    with pytest.raises(ValueError, match=r"betas\[0\]\)=1\.0: expected \[0\.0, 1\.0\)"):
        optim.Adam([param()], betas=(1.0, 0.9))


def test_empty_parameter_list():
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([])


def test_consumed_generator_is_named():
    ps = [param()]
    gen = (p for p in ps)
    optim.SGD(gen, lr=0.1)
    with pytest.raises(ValueError, match="consumed"):
        optim.Adam(gen)


def test_duplicate_parameter():
    p = param()
    with pytest.raises(ValueError, match="twice"):
        optim.SGD([p, p], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        optim.SGD([{"params": [p]}, {"params": [p]}], lr=0.1)
    opt = optim.SGD([p], lr=0.1)
    with pytest.raises(ValueError, match="more than one parameter group"):
        opt.add_param_group({"params": [p]})


def test_non_leaf_and_integer_tensors():
    p = param()
    with pytest.raises(ValueError, match="non-leaf"):
        optim.SGD([p * 2], lr=0.1)
    with pytest.raises(ValueError, match="int64"):
        optim.SGD([dc.tensor(np.arange(3))], lr=0.1)
    with pytest.raises(TypeError, match="Tensors"):
        optim.SGD([np.zeros(3)], lr=0.1)
    with pytest.raises(TypeError, match="iterable"):
        optim.SGD(p, lr=0.1)
    with pytest.raises(TypeError, match="sets"):
        optim.SGD([{"params": {p}}], lr=0.1)


def test_add_param_group_and_defaults():
    a, b = param(), param()
    opt = optim.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": b, "lr": 0.01})
    assert opt.param_groups[1]["lr"] == 0.01 and opt.param_groups[1]["momentum"] == 0.9
    with pytest.raises(ValueError, match="lr"):
        opt.add_param_group({"params": [param()], "lr": -1})


def test_zero_grad_modes_and_repr():
    p = param()
    opt = optim.Adam([p], lr=0.1)
    p.grad = dc.ones(3, dtype=dc.float64)
    g = p.grad
    opt.zero_grad(set_to_none=False)
    assert p.grad is g and np.all(g.data == 0)
    opt.zero_grad()
    assert p.grad is None
    r = repr(opt)
    assert "Adam" in r and "lr: 0.1" in r and "betas: (0.9, 0.999)" in r


def test_parameters_without_grad_are_skipped_and_closure_is_returned():
    a, b = param(), param()
    opt = optim.SGD([a, b], lr=0.5)
    a.grad = dc.ones(3, dtype=dc.float64)

    def closure():
        return 3.0
    assert opt.step(closure) == 3.0
    np.testing.assert_array_equal(a.data, -0.5)
    np.testing.assert_array_equal(b.data, 0.0)
    assert b not in opt.state or not opt.state[b]


def test_step_never_builds_graph():
    p = param()
    opt = optim.Adam([p], lr=0.1)
    p.grad = dc.ones(3, dtype=dc.float64)
    opt.step()
    assert p.is_leaf and p.grad_fn is None
