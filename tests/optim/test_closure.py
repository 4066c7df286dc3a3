"""A closure must return the loss (a one-element Tensor) and leave a gradient: a closure that forgets
``loss.backward()`` raises, naming the parameters, instead of passing for convergence."""

import numpy as np
import pytest

import descend as dc
from descend import optim
from descend.optim.second_order.problems import rosenbrock

SECOND_ORDER = {
    "LBFGS": lambda p: optim.LBFGS(p),
    "LBFGS-wolfe": lambda p: optim.LBFGS(p, line_search_fn="strong_wolfe"),
    "BFGS": lambda p: optim.BFGS(p),
    "ConjugateGradient": lambda p: optim.ConjugateGradient(p),
    "Newton": lambda p: optim.Newton(p),
    "HessianFree": lambda p: optim.HessianFree(p),
}
FIRST_ORDER = {
    "SGD": lambda p: optim.SGD(p, lr=5e-4),
    "Adam": lambda p: optim.Adam(p),
    "RMSprop": lambda p: optim.RMSprop(p),
    "Rprop": lambda p: optim.Rprop(p),
    "Rprop-irprop+": lambda p: optim.Rprop(p, variant="irprop+"),
    "ASGD": lambda p: optim.ASGD(p, lr=5e-4),
}
ALL = {**SECOND_ORDER, **FIRST_ORDER}


def params():
    return [dc.tensor([-1.2, 1.0], dtype=dc.float64, requires_grad=True),
            dc.tensor([0.5], dtype=dc.float64, requires_grad=True)]


def loss_of(ps):
    return rosenbrock(ps[0]) + (ps[1] * ps[1]).sum()


@pytest.mark.parametrize("name", list(ALL))
def test_closure_without_backward_raises_and_names_the_parameters(name):
    ps = params()
    opt = ALL[name](ps)

    def closure():
        opt.zero_grad()
        return loss_of(ps)   # forgot loss.backward()

    with pytest.raises(ValueError, match=r"the closure produced no gradient \(parameters without \.grad: "
                                         r"0 \(shape \(2,\)\), 1 \(shape \(1,\)\)\): it must call loss\.backward\(\)"):
        opt.step(closure)
    np.testing.assert_array_equal(ps[0].numpy(), [-1.2, 1.0])   # nothing moved
    if name in SECOND_ORDER:
        assert opt.report is None                                # no claim of convergence was recorded


@pytest.mark.parametrize("name", list(ALL))
def test_closure_that_leaves_stale_gradients_raises(name):
    ps = params()
    opt = ALL[name](ps)
    loss_of(ps).backward()                                       # gradients from before the step

    def closure():
        return loss_of(ps)   # neither zero_grad nor backward: the old .grad stays

    with pytest.raises(ValueError, match=r"produced no gradient \(parameters whose \.grad it left unchanged: 0"):
        opt.step(closure)


@pytest.mark.parametrize("name", list(ALL))
def test_closure_must_return_a_scalar_tensor(name):
    ps = params()
    opt = ALL[name](ps)

    def returns_float():
        opt.zero_grad()
        loss = loss_of(ps)
        loss.backward()
        return float(loss)

    def returns_vector():
        opt.zero_grad()
        loss = loss_of(ps)
        loss.backward()
        return ps[0] * 2

    with pytest.raises(TypeError, match=r"the closure must return the loss as a one-element Tensor, got float .*"
                                        r"not loss\.item\(\)"):
        opt.step(returns_float)
    with pytest.raises(ValueError, match=r"must return a scalar loss \(one element\), got a Tensor of shape \(2,\)"):
        opt.step(returns_vector)
    with pytest.raises(TypeError, match="must be a function"):
        opt.step(3.0)


@pytest.mark.parametrize("name", list(ALL))
def test_a_correct_closure_works_also_with_zero_grad_to_zeros(name):
    ps = params()
    opt = ALL[name](ps)
    start = float(loss_of(ps))

    def closure():
        opt.zero_grad(set_to_none=False)   # the .grad Tensors stay, filled with zeros; backward stores new ones
        loss = loss_of(ps)
        loss.backward()
        return loss

    for _ in range(3):
        opt.step(closure)
    assert float(loss_of(ps)) < start


def test_a_parameter_without_gradient_is_fine_if_another_has_one():
    ps = params()
    unused = dc.zeros(3, dtype=dc.float64, requires_grad=True)
    opt = optim.LBFGS(ps + [unused])

    def closure():
        opt.zero_grad()
        loss = loss_of(ps)
        loss.backward()
        return loss

    opt.step(closure)   # unused has no .grad: its gradient counts as zero, as in PyTorch
    assert opt.report["iterations"] > 0
    np.testing.assert_array_equal(unused.numpy(), 0.0)


def test_hessian_free_curvature_closure_without_backward_raises():
    ps = params()
    opt = optim.HessianFree(ps)

    def closure():
        opt.zero_grad()
        loss = loss_of(ps)
        loss.backward()
        return loss

    def curvature():
        opt.zero_grad()
        return loss_of(ps)

    with pytest.raises(ValueError, match="produced no gradient"):
        opt.step(closure, curvature_closure=curvature)


def test_hessian_free_rejects_unknown_step_options():
    opt = optim.HessianFree(params())
    with pytest.raises(TypeError, match=r"unexpected options \['curvature'\]"):
        opt.step(lambda: None, curvature=None)
    with pytest.raises(TypeError, match=r"LBFGS.step\(\) got unexpected options \['output_fn'\]"):
        optim.LBFGS(params()).step(lambda: None, output_fn=None)
