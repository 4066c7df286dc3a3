"""Optimizers write parameters in place through ``descend.autodiff.extend.inplace``, in one place (the
step path of the base class): a graph that saved a parameter's old value raises on backward instead
of using the new one, for every optimizer, including ones written by users."""

import pathlib
import re
import warnings

import numpy as np
import pytest

import descend as dc
from descend import optim
from descend.optim import lr_scheduler as L

STALE = "modified by an in-place operation"

FIRST_ORDER = [optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop, optim.Adagrad, optim.Adadelta, optim.Rprop,
               optim.ASGD]
SECOND_ORDER = [optim.LBFGS, optim.BFGS, optim.ConjugateGradient, optim.Newton, optim.HessianFree]


def test_optim_uses_no_private_autodiff_name():
    root = pathlib.Path(dc.__file__).parent / "optim"
    pattern = re.compile(r"\._make\(|\._fw\b|\._vc\b|\._ctx\b|\.bump_version\(")
    hits = [f"{path.name}:{i}" for path in root.rglob("*.py")
            for i, line in enumerate(path.read_text().splitlines(), 1) if pattern.search(line)]
    assert hits == []


@pytest.mark.parametrize("cls", FIRST_ORDER)
def test_step_moves_the_version_of_updated_parameters_only(cls):
    a = dc.tensor([1.0, -2.0], dtype=dc.float64, requires_grad=True)
    b = dc.tensor([3.0], dtype=dc.float64, requires_grad=True)
    opt = cls([a, b], lr=0.01)
    ya = (a * a).sum()
    yb = (b * b).sum()
    ya.backward(retain_graph=True)   # a has a gradient, b none
    opt.step()
    with pytest.raises(RuntimeError, match=STALE):
        ya.backward()                # a's saved value is stale: refused
    yb.backward()                    # b was not written: its graph still works
    np.testing.assert_array_equal(b.grad.numpy(), [6.0])


@pytest.mark.parametrize("cls", SECOND_ORDER)
def test_second_order_writes_move_the_versions(cls):
    x = dc.tensor([-1.2, 1.0], dtype=dc.float64, requires_grad=True)
    opt = cls([x], max_iter=2)
    kept = (x * x).sum()

    def closure():
        opt.zero_grad()
        loss = ((x - 1.0) ** 2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with pytest.raises(RuntimeError, match=STALE):
        kept.backward()


class PlainSGD(optim.Optimizer):
    """An optimizer written as in PyTorch's tutorials: it writes p.data itself and never bumps a version."""

    def __init__(self, params, lr=0.1):
        super().__init__(params, dict(lr=lr))

    def step(self, closure=None):
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    p.data -= group["lr"] * p.grad.data


def test_an_optimizer_written_by_a_user_gets_versions_lr_check_and_step_count_for_free():
    w = dc.tensor([1.0, 2.0], dtype=dc.float64, requires_grad=True)
    opt = PlainSGD([w], lr=0.5)
    y = (w * w).sum()
    y.backward(retain_graph=True)
    opt.step()
    np.testing.assert_array_equal(w.numpy(), [0.0, 0.0])
    with pytest.raises(RuntimeError, match=STALE):
        y.backward()
    with pytest.raises(ValueError, match=r"learning rate lr=inf for PlainSGD"):
        PlainSGD([dc.zeros(1, requires_grad=True)], lr=float("inf"))      # lr is checked even undeclared
    with pytest.raises(ValueError, match=r"learning rate lr=nan for PlainSGD"):
        opt.param_groups[0]["lr"] = float("nan")
    dict.__setitem__(opt.param_groups[0], "lr", float("inf"))             # behind the group's back
    with pytest.raises(ValueError, match=r"learning rate lr=inf for PlainSGD"):
        opt.step()                                                         # checked at step
    opt.param_groups[0]["lr"] = 0.1
    with pytest.warns(UserWarning, match="before `optimizer.step"):
        L.StepLR(PlainSGD([dc.zeros(1, requires_grad=True)]), 2).step()
    sched = L.StepLR(opt, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        opt.step()
        sched.step()


def test_zero_grad_to_zeros_moves_the_gradients_version():
    w = dc.tensor([1.0, 2.0], dtype=dc.float64, requires_grad=True)
    opt = optim.SGD([w], lr=0.1)
    (w * w).sum().backward()
    g = w.grad
    opt.zero_grad(set_to_none=False)
    assert w.grad is g
    np.testing.assert_array_equal(g.numpy(), 0.0)


def test_clipping_writes_the_gradients_in_place():
    w = dc.tensor([3.0, 4.0], dtype=dc.float64, requires_grad=True)
    (w * w).sum().backward()
    total = optim.clip_grad_norm_([w], 1.0)
    assert float(total) == pytest.approx(10.0)
    np.testing.assert_allclose(w.grad.numpy(), [0.6, 0.8], rtol=1e-6)
    optim.clip_grad_value_([w], 0.7)
    np.testing.assert_allclose(w.grad.numpy(), [0.6, 0.7], rtol=1e-6)
