"""Extreme inputs: softmax, log_softmax, logsumexp, sigmoid and tanh at ±1e4 and mixed large values
stay finite and agree with float64 references (and PyTorch), in values and gradients."""

import numpy as np
import pytest

import descend as dc

BIG = [
    np.array([1e4, -1e4, 0.0, 1e4 - 1.0]),
    np.array([-1e4, -1e4 + 2.0, -1e4 + 1.0]),
    np.array([[1e4, 1.0, -1e4], [-3.0, 5e3, 5e3]]),
    np.array([1e4, 1e4, 1e4]),
]


def _lse(x, axis=-1):
    m = x.max(axis=axis, keepdims=True)
    return (m + np.log(np.exp(x - m).sum(axis=axis, keepdims=True))).squeeze(axis)


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


# name: (descend f, float64 value reference, its vector-Jacobian product w ↦ wᵀJ, torch f)
OPS = {
    "softmax": (lambda x: x.softmax(dim=-1), _softmax,
                lambda x, w: _softmax(x) * (w - (w * _softmax(x)).sum(-1, keepdims=True)), lambda x: x.softmax(dim=-1)),
    "log_softmax": (lambda x: x.log_softmax(dim=-1), lambda x: x - _lse(x)[..., None],
                    lambda x, w: w - _softmax(x) * w.sum(-1, keepdims=True), lambda x: x.log_softmax(dim=-1)),
    "logsumexp": (lambda x: x.logsumexp(dim=-1), _lse, lambda x, w: w[..., None] * _softmax(x),
                  lambda x: x.logsumexp(dim=-1)),
    "sigmoid": (lambda x: x.sigmoid(), _sigmoid, lambda x, w: w * _sigmoid(x) * (1 - _sigmoid(x)),
                lambda x: x.sigmoid()),
    "tanh": (lambda x: x.tanh(), np.tanh, lambda x, w: w * (1 - np.tanh(x) ** 2), lambda x: x.tanh()),
}


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("k", range(len(BIG)))
@pytest.mark.parametrize("name", sorted(OPS))
def test_finite_and_matches_reference(name, k, dtype):
    f, ref, vjp_ref, _ = OPS[name]
    xn = BIG[k]
    x = dc.tensor(xn, dtype=dtype, requires_grad=True)
    with np.errstate(over="raise", divide="raise", invalid="raise"):  # no overflow, no 0/0 (underflow is fine)
        y = f(x)
        w = np.random.default_rng(k).standard_normal(y.shape)
        y.backward(dc.tensor(w, dtype=dtype))
    assert np.isfinite(y.numpy()).all() and np.isfinite(x.grad.numpy()).all()
    tol = dict(rtol=1e-5, atol=1e-3) if dtype == "float32" else dict(rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(y.numpy(), ref(xn), **tol)
    np.testing.assert_allclose(x.grad.numpy(), vjp_ref(xn, w), **tol)


def test_softmax_saturates_to_one_hot_and_logsumexp_to_max():
    x = dc.tensor([1e4, 0.0, -1e4], dtype="float64")
    np.testing.assert_array_equal(x.softmax(dim=0).numpy(), [1.0, 0.0, 0.0])
    assert x.logsumexp().item() == 1e4
    np.testing.assert_array_equal(x.log_softmax(dim=0).numpy(), [0.0, -1e4, -2e4])
    np.testing.assert_array_equal(x.sigmoid().numpy(), [1.0, 0.5, 0.0])
    np.testing.assert_array_equal(x.tanh().numpy(), [1.0, 0.0, -1.0])


def test_logsumexp_full_reduction_and_second_order_at_large_values():
    x = dc.tensor([[1e4, 1e4 - 1.0], [-1e4, 1e4 - 2.0]], dtype="float64", requires_grad=True)
    y = x.logsumexp()
    e = np.exp(np.array([0.0, -1.0, -2e4, -2.0]))
    assert y.item() == pytest.approx(1e4 + np.log(e.sum()), rel=1e-15)
    (g,) = dc.autograd_grad(y, [x], create_graph=True)
    p = (e / e.sum()).reshape(2, 2)
    np.testing.assert_allclose(g.numpy(), p, rtol=1e-12, atol=1e-300)
    v = np.array([[1.0, -1.0], [0.5, 2.0]])
    (hv,) = dc.autograd_grad((g * dc.tensor(v, dtype="float64")).sum(), [x])
    expected = p * v - p * (p * v).sum()  # H v for H = diag(p) − p pᵀ
    np.testing.assert_allclose(hv.numpy(), expected, rtol=1e-10, atol=1e-14)


@pytest.mark.parametrize("k", range(len(BIG)))
@pytest.mark.parametrize("name", sorted(OPS))
def test_matches_torch(name, k):
    torch = pytest.importorskip("torch")
    f, _, _, tf = OPS[name]
    xn = BIG[k]
    x = dc.tensor(xn, dtype="float64", requires_grad=True)
    t = torch.tensor(xn, dtype=torch.float64, requires_grad=True)
    y, ty = f(x), tf(t)
    w = np.random.default_rng(k).standard_normal(y.shape)
    y.backward(dc.tensor(w, dtype="float64"))
    ty.backward(torch.from_numpy(w))
    np.testing.assert_allclose(y.numpy(), ty.detach().numpy(), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(OPS))
def test_jvp_finite_at_extremes(name):
    f, ref, vjp_ref, _ = OPS[name]
    xn = BIG[2]
    v = np.random.default_rng(5).standard_normal(xn.shape)
    y, t = dc.jvp(f, (dc.tensor(xn, dtype="float64"),), (dc.tensor(v, dtype="float64"),))
    assert np.isfinite(t.numpy()).all()
    # wᵀ(J v) = (Jᵀ w)ᵀ v with the reference vjp
    w = np.random.default_rng(6).standard_normal(y.shape)
    assert float((w * t.numpy()).sum()) == pytest.approx(float((vjp_ref(xn, w) * v).sum()), rel=1e-10, abs=1e-12)


@pytest.mark.parametrize("dtype,x", [("float32", -20.0), ("float32", -80.0), ("float64", -40.0), ("float64", -700.0)])
def test_sigmoid_keeps_relative_precision_in_the_left_tail(dtype, x):
    """σ(x) ≈ eˣ for x ≪ 0: tiny but representable, so log σ(x) ≈ x stays finite and exact."""
    t = dc.tensor([x], dtype=dtype, requires_grad=True)
    y = t.sigmoid()
    expected = np.exp(x) / (1 + np.exp(x))
    assert y.numpy()[0] == pytest.approx(expected, rel=1e-6)
    assert y.log().item() == pytest.approx(x, rel=1e-6)
    y.backward(dc.ones_like(y))
    assert t.grad.numpy()[0] == pytest.approx(expected * (1 - expected), rel=1e-6)


MASKED = np.array([[0.5, -np.inf, 1.0], [-np.inf, 2.0, -np.inf]])
MASKED_EXPECTED = {
    # name: (values, gradient of the sum)
    "softmax": (np.array([[1 / (1 + np.exp(0.5)), 0.0, 1 / (1 + np.exp(-0.5))], [0.0, 1.0, 0.0]]), np.zeros((2, 3))),
    "log_softmax": (np.array([[0.5 - np.logaddexp(0.5, 1.0), -np.inf, 1.0 - np.logaddexp(0.5, 1.0)],
                              [-np.inf, 0.0, -np.inf]]),
                    np.array([[1 - 3 / (1 + np.exp(0.5)), 1.0, 1 - 3 / (1 + np.exp(-0.5))], [1.0, -2.0, 1.0]])),
    "logsumexp": (np.array([np.logaddexp(0.5, 1.0), 2.0]),
                  np.array([[1 / (1 + np.exp(0.5)), 0.0, 1 / (1 + np.exp(-0.5))], [0.0, 1.0, 0.0]])),
}


@pytest.mark.parametrize("name", sorted(MASKED_EXPECTED))
def test_minus_infinity_masks(name):
    """Entries at −inf (attention-style masks) get probability 0 and a finite gradient, as in PyTorch."""
    x = dc.tensor(MASKED, dtype="float64", requires_grad=True)
    y = getattr(x, name)(dim=-1)
    values, grad = MASKED_EXPECTED[name]
    np.testing.assert_allclose(y.numpy(), values, rtol=1e-12)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), grad, rtol=1e-12, atol=1e-15)
    torch = pytest.importorskip("torch")
    t = torch.tensor(MASKED, requires_grad=True)
    getattr(t, name)(dim=-1).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-12, atol=1e-15)
