"""Activations against PyTorch (float64, values and gradients, conventions at kinks) and finite differences."""

import math

import numpy as np
import pytest

import descend as dc
import descend.nn as nn
import descend.nn.functional as F


X = np.concatenate([np.linspace(-30, 30, 61), [0.0, -1e-3, 1e-3, 25.0, 19.9, 20.1]])

CASES = [
    ("sigmoid", nn.Sigmoid(), lambda torch: torch.nn.Sigmoid()),
    ("tanh", nn.Tanh(), lambda torch: torch.nn.Tanh()),
    ("relu", nn.ReLU(), lambda torch: torch.nn.ReLU()),
    ("leaky_relu", nn.LeakyReLU(), lambda torch: torch.nn.LeakyReLU()),
    ("leaky_relu_0.2", nn.LeakyReLU(0.2), lambda torch: torch.nn.LeakyReLU(0.2)),
    ("elu", nn.ELU(), lambda torch: torch.nn.ELU()),
    ("elu_0.5", nn.ELU(0.5), lambda torch: torch.nn.ELU(0.5)),
    ("gelu", nn.GELU(), lambda torch: torch.nn.GELU()),
    ("gelu_tanh", nn.GELU("tanh"), lambda torch: torch.nn.GELU("tanh")),
    ("silu", nn.SiLU(), lambda torch: torch.nn.SiLU()),
    ("softplus", nn.Softplus(), lambda torch: torch.nn.Softplus()),
    ("softplus_beta", nn.Softplus(beta=2.0, threshold=10.0), lambda torch: torch.nn.Softplus(beta=2.0, threshold=10.0)),
    ("softmax", nn.Softmax(dim=-1), lambda torch: torch.nn.Softmax(dim=-1)),
    ("log_softmax", nn.LogSoftmax(dim=0), lambda torch: torch.nn.LogSoftmax(dim=0)),
    ("identity", nn.Identity(), lambda torch: torch.nn.Identity()),
]


_erf = np.vectorize(math.erf)
NUMPY = {
    "sigmoid": lambda x: 1 / (1 + np.exp(-x)), "tanh": np.tanh, "relu": lambda x: np.maximum(x, 0),
    "leaky_relu": lambda x: np.where(x > 0, x, 0.01 * x), "leaky_relu_0.2": lambda x: np.where(x > 0, x, 0.2 * x),
    "elu": lambda x: np.where(x > 0, x, np.expm1(x)), "elu_0.5": lambda x: np.where(x > 0, x, 0.5 * np.expm1(x)),
    "gelu": lambda x: 0.5 * x * (1 + _erf(x / math.sqrt(2))),
    "gelu_tanh": lambda x: 0.5 * x * (1 + np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3))),
    "silu": lambda x: x / (1 + np.exp(-x)), "softplus": lambda x: np.where(x > 20, x, np.log1p(np.exp(x))),
    "softplus_beta": lambda x: np.where(2 * x > 10, x, np.log1p(np.exp(2 * x)) / 2),
    "softmax": lambda x: (np.exp(x - x.max(-1, keepdims=True))
                          / np.exp(x - x.max(-1, keepdims=True)).sum(-1, keepdims=True)),
    "log_softmax": lambda x: x - x.max(0) - np.log(np.exp(x - x.max(0)).sum(0)), "identity": lambda x: x,
}


@pytest.mark.parametrize("name,mod,tmod", CASES, ids=[c[0] for c in CASES])
def test_activation_matches_numpy_float64_over_the_whole_range(name, mod, tmod):
    """Values from -30 to 30 and around the kinks and softplus's threshold, against the formulas."""
    x = X.reshape(-1, 1).repeat(2, axis=1) * np.array([1.0, 0.5])
    np.testing.assert_allclose(mod(dc.tensor(x, dtype=dc.float64)).numpy(), NUMPY[name](x), rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize("name,mod,tmod", CASES, ids=[c[0] for c in CASES])
def test_activation_matches_torch_float64(name, mod, tmod):
    torch = pytest.importorskip("torch")
    tmod = tmod(torch)
    x = X.reshape(-1, 1).repeat(2, axis=1) * np.array([1.0, 0.5])
    g = np.random.default_rng(0).standard_normal(x.shape)
    xd = dc.tensor(x, dtype=dc.float64, requires_grad=True)
    xt = torch.tensor(x, requires_grad=True)
    yd, yt = mod(xd), tmod(xt)
    np.testing.assert_allclose(yd.numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-14)
    if name == "identity":
        return
    yd.backward(dc.tensor(g, dtype=dc.float64))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xd.grad.numpy(), xt.grad.numpy(), rtol=1e-11, atol=1e-14)


@pytest.mark.parametrize("name,mod,tmod", CASES[:12], ids=[c[0] for c in CASES[:12]])
def test_activation_float32_close_to_torch(name, mod, tmod):
    torch = pytest.importorskip("torch")
    tmod = tmod(torch)
    x = np.random.default_rng(1).standard_normal((50, 7)).astype(np.float32) * 4
    yd = mod(dc.from_numpy(x))
    assert yd.dtype == np.float32
    np.testing.assert_allclose(yd.numpy(), tmod(torch.from_numpy(x)).numpy(), rtol=1e-6, atol=1e-6)


def test_derivatives_at_zero_follow_torch():
    for fn, expected in ((F.relu, 0.0), (F.leaky_relu, 0.01), (lambda x: F.leaky_relu(x, 0.3), 0.3),
                         (F.elu, 1.0), (lambda x: F.elu(x, 0.7), 0.7), (F.gelu, 0.5), (F.silu, 0.5),
                         (F.softplus, 0.5)):
        x = dc.zeros(1, dtype=dc.float64, requires_grad=True)
        fn(x).sum().backward()
        assert x.grad.item() == pytest.approx(expected, abs=1e-15)


@pytest.mark.parametrize("fn", [F.sigmoid, F.tanh, F.leaky_relu, F.elu, F.gelu, lambda x: F.gelu(x, "tanh"), F.silu,
                                lambda x: F.silu(x, beta=1.7), F.softplus, lambda x: F.softplus(x, 3.0, 5.0),
                                lambda x: F.softmax(x, 1), lambda x: F.log_softmax(x, 0), F.erf])
def test_activation_gradcheck_and_gradgradcheck(fn):
    x = dc.tensor(np.random.default_rng(2).standard_normal((3, 4)) * 2 + 0.05, dtype=dc.float64)
    assert dc.gradcheck(fn, (x,))
    assert dc.gradgradcheck(fn, (x,))


def test_erf_matches_torch_to_float64_precision():
    torch = pytest.importorskip("torch")
    x = np.linspace(-6, 6, 2001)
    np.testing.assert_allclose(F.erf(dc.tensor(x, dtype=dc.float64)).numpy(), torch.erf(torch.tensor(x)).numpy(),
                               rtol=1e-14, atol=1e-15)


def test_swish_beta():
    x = dc.tensor([[-1.0, 0.5, 2.0]], dtype=dc.float64)
    beta = 2.5
    expect = x.numpy() / (1 + np.exp(-beta * x.numpy()))
    np.testing.assert_allclose(nn.Swish(beta)(x).numpy(), expect, rtol=1e-14)


def test_step_and_sign_have_zero_gradient():
    x = dc.tensor([-2.0, 0.0, 0.5, 3.0], requires_grad=True)
    y = nn.Step()(x)
    np.testing.assert_array_equal(y.numpy(), [0, 0, 1, 1])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 0)
    x.grad = None
    s = nn.Sign()(x)
    np.testing.assert_array_equal(s.numpy(), [-1, 0, 1, 1])
    s.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 0)


def test_softplus_threshold_is_identity_above():
    x = dc.tensor([25.0, 30.0], dtype=dc.float64)
    np.testing.assert_array_equal(F.softplus(x).numpy(), [25.0, 30.0])
    with pytest.raises(ValueError, match="beta"):
        F.softplus(x, beta=0)


def test_erf_fallback_without_scipy_agrees():
    from descend.nn.functional.erf import erf_array, erf_math

    x = np.linspace(-6, 6, 1001)
    np.testing.assert_allclose(erf_math(x), erf_array(x), rtol=1e-15, atol=1e-16)  # math.erf and scipy agree to an ulp
    assert erf_math(np.array([1.0]))[0] == 0.8427007929497149
    np.testing.assert_array_equal(erf_math(-x), -erf_math(x))


def test_erf_closed_form_values():
    x = dc.tensor([0.0, 0.5, 1.0, -2.0, 6.0], dtype=dc.float64, requires_grad=True)
    y = F.erf(x)
    np.testing.assert_allclose(y.numpy(), [0.0, 0.5204998778130465, 0.8427007929497149, -0.9953222650189527, 1.0],
                               rtol=1e-15, atol=1e-16)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 / np.sqrt(np.pi) * np.exp(-x.numpy() ** 2), rtol=1e-15)
