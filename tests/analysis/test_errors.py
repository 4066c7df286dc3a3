"""Bad input to the curvature routines: a clear ValueError/TypeError naming the problem."""

import numpy as np
import pytest

import descend as dc
from descend import analysis

from .nets import SmallNet

ROUTINES = [
    lambda f, p: analysis.hessian_eigenvalues(f, p),
    lambda f, p: analysis.hessian_trace(f, p, samples=4),
    lambda f, p: analysis.spectral_density(f, p, steps=3, runs=1),
    lambda f, p: analysis.critical_point(f, p),
    lambda f, p: analysis.sharpness(f, p),
]


@pytest.mark.parametrize("routine", ROUTINES)
def test_empty_parameter_list(routine):
    with pytest.raises(ValueError, match="parameter list is empty"):
        routine(lambda: dc.tensor(1.0), [])


@pytest.mark.parametrize("routine", ROUTINES)
def test_non_scalar_loss(routine):
    net = SmallNet()
    with pytest.raises(ValueError, match=r"scalar .*shape \(16, 3\)"):
        routine(lambda: net.loss_fn() * dc.ones(16, 3, dtype=dc.float64), net.params)


@pytest.mark.parametrize("routine", ROUTINES)
def test_loss_that_does_not_depend_on_the_parameters(routine):
    net = SmallNet()
    with pytest.raises(ValueError, match="does not depend on the parameters"):
        routine(lambda: dc.tensor(3.0, dtype=dc.float64), net.params)
    with pytest.raises(ValueError, match="does not depend on the parameters"):
        routine(lambda: net.loss_fn().detach(), net.params)


@pytest.mark.parametrize("routine", ROUTINES)
def test_nan_loss(routine):
    net = SmallNet()
    with pytest.raises(ValueError, match="the loss is nan"):
        routine(lambda: net.loss_fn() * float("nan"), net.params)


def test_k_larger_than_the_number_of_parameters():
    net = SmallNet(widths=(2, 2, 1))
    with pytest.raises(ValueError, match=r"k=10 eigenvalues .* 9×9"):
        analysis.hessian_eigenvalues(net.loss_fn, net.params, k=10)
    with pytest.raises(ValueError, match="k=0"):
        analysis.hessian_eigenvalues(net.loss_fn, net.params, k=0)


def test_bad_which_and_bad_numbers():
    net = SmallNet()
    with pytest.raises(ValueError, match=r"which='biggest'; expected one of 'largest', 'smallest', 'magnitude'"):
        analysis.hessian_eigenvalues(net.loss_fn, net.params, which="biggest")
    with pytest.raises(ValueError, match="hvp='reverse-over-reverse'"):
        analysis.hessian_eigenvalues(net.loss_fn, net.params, hvp="reverse-over-reverse")
    with pytest.raises(ValueError, match="tol=-1"):
        analysis.hessian_eigenvalues(net.loss_fn, net.params, tol=-1)
    with pytest.raises(ValueError, match="samples=1"):
        analysis.hessian_trace(net.loss_fn, net.params, samples=1)
    with pytest.raises(ValueError, match="sigma=0"):
        analysis.spectral_density(net.loss_fn, net.params, sigma=0)
    with pytest.raises(ValueError, match="seed=-3"):
        analysis.hessian_trace(net.loss_fn, net.params, seed=-3)
    with pytest.raises(ValueError, match="epsilon=0"):
        analysis.sharpness(net.loss_fn, net.params, epsilon=0)


def test_bad_params_and_loss_fn_types():
    net = SmallNet()
    with pytest.raises(TypeError, match=r"params\[1\] is a ndarray"):
        analysis.hessian_eigenvalues(net.loss_fn, [net.params[0], np.zeros(3)])
    with pytest.raises(TypeError, match="mix dtypes"):
        analysis.hessian_eigenvalues(net.loss_fn, [net.params[0], dc.zeros(3, requires_grad=True)])
    with pytest.raises(TypeError, match="loss_fn must be a function"):
        analysis.hessian_eigenvalues(net.loss_fn(), net.params)
    with pytest.raises(TypeError, match="scalar Tensor, got float"):
        analysis.hessian_eigenvalues(lambda: 1.0, net.params)
    frozen = dc.tensor([1.0, 2.0], dtype=dc.float64)
    with pytest.raises(ValueError, match="does not require grad"):
        analysis.hessian_eigenvalues(lambda: (frozen * frozen).sum(), [frozen])
    with pytest.raises(ValueError, match="appears twice"):
        analysis.hessian_eigenvalues(net.loss_fn, [net.params[0], net.params[0]])


def test_a_random_loss_is_caught():
    from descend import nn
    import descend.nn.functional as F
    dc.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 16), nn.ReLU(), nn.Dropout(0.5), nn.Linear(16, 2))
    x, y = dc.randn(32, 4), dc.randn(32, 2)
    with pytest.raises(ValueError, match=r"then .* at the same parameters; .*model.eval\(\)"):
        analysis.hessian_eigenvalues(lambda: F.mse_loss(model(x), y), model.parameters())
    model.eval()
    assert analysis.hessian_eigenvalues(lambda: F.mse_loss(model(x), y), model.parameters())[0] > 0
