"""The function oracle and flat-parameter views: f, g, H v (forward-over-reverse through the user's
closure) and Gauss-Newton products G v = Jᵀ H_ℓ J v, checked against dc.hessian / explicit J."""

import numpy as np
import pytest

import descend as dc
from descend.optim.second_order.flat import FlatParams, parameters_to_vector, vector_to_parameters
from descend.optim.second_order.oracle import Oracle
from descend.optim.second_order.reduction_ratio import reduction_ratio, update_damping, update_radius


def _net(seed=0):
    rng = np.random.default_rng(seed)
    X = dc.tensor(rng.normal(size=(7, 3)), dtype=dc.float64)
    Y = dc.tensor(rng.normal(size=(7, 2)), dtype=dc.float64)
    shapes = [(3, 4), (4,), (4, 2), (2,)]
    ps = [dc.tensor(rng.normal(size=s) * 0.8, dtype=dc.float64, requires_grad=True) for s in shapes]

    def outputs(W1, b1, W2, b2):
        return (X @ W1 + b1).tanh() @ W2 + b2

    def loss_of(z):
        return 0.5 * ((z - Y) ** 2).sum() / 7 + (z.exp()).mean() * 0.1  # convex in z

    def flat_loss(theta):
        parts, off = [], 0
        for s in shapes:
            k = int(np.prod(s))
            parts.append(theta[off:off + k].reshape(*s))
            off += k
        return loss_of(outputs(*parts))

    def closure():
        for p in ps:
            p.grad = None
        loss = loss_of(outputs(*ps))
        loss.backward()
        return loss

    return ps, closure, flat_loss, outputs, loss_of


def test_flat_views_round_trip():
    ps, *_ = _net()
    flat = FlatParams(ps)
    assert flat.n == 12 + 4 + 8 + 2
    theta = flat.get()
    np.testing.assert_array_equal(parameters_to_vector(ps).numpy(), theta)
    arrays = [p.data for p in ps]
    kept = [(p * p).sum() for p in ps]     # graphs that saved the old values
    vector_to_parameters(dc.tensor(theta * 2, dtype=dc.float64), ps)
    np.testing.assert_array_equal(flat.get(), theta * 2)
    assert all(p.data is a for p, a in zip(ps, arrays))  # written in place: models keep their arrays
    for k in kept:                                        # and their versions moved: stale graphs refuse
        with pytest.raises(RuntimeError, match="modified by an in-place operation"):
            k.backward()
    flat.add(-0.5, theta * 2)
    np.testing.assert_allclose(flat.get(), theta)
    parts = flat.split(np.arange(flat.n, dtype=np.float64))
    assert [t.shape for t in parts] == [p.shape for p in ps]
    assert parts[1].numpy().tolist() == [12.0, 13.0, 14.0, 15.0]
    with pytest.raises(ValueError, match=r"expected \(26,\)"):
        flat.set(np.zeros(5))
    with pytest.raises(TypeError, match="mix dtypes"):
        FlatParams([dc.zeros(2, requires_grad=True), dc.zeros(2, dtype=dc.float64, requires_grad=True)])


def test_evaluate_gives_loss_and_flat_gradient_and_counts():
    ps, closure, flat_loss, *_ = _net()
    oracle = Oracle(ps, closure)
    theta = parameters_to_vector(ps)
    loss, f, g = oracle.evaluate()
    assert f == pytest.approx(float(flat_loss(theta)), rel=1e-14)
    np.testing.assert_allclose(g, dc.grad(flat_loss)(theta).numpy(), rtol=1e-12, atol=1e-14)
    assert oracle.func_evals == 1
    f2, _ = oracle.evaluate_at(theta.numpy() * 0)
    assert oracle.func_evals == 2 and f2 == pytest.approx(float(flat_loss(theta * 0)))


def test_hvp_through_the_closure_equals_the_hessian_product():
    ps, closure, flat_loss, *_ = _net()
    theta = parameters_to_vector(ps)
    H = dc.hessian(flat_loss)(theta).numpy()
    oracle = Oracle(ps, closure)
    v = np.random.default_rng(1).normal(size=theta.shape[0])
    hv, f, g = oracle.hvp(v)
    np.testing.assert_allclose(hv, H @ v, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(g, dc.grad(flat_loss)(theta).numpy(), rtol=1e-12, atol=1e-14)
    assert oracle.hvp_evals == 1 and oracle.func_evals == 0
    # nothing is left behind: parameters carry no tangent, an ordinary backward still works
    assert all(p.tangent is None for p in ps)
    _, _, g2 = oracle.evaluate()
    np.testing.assert_allclose(g2, g, rtol=1e-14)


def test_gauss_newton_product_equals_explicit_jt_h_j():
    ps, closure, flat_loss, outputs, loss_of = _net()
    theta = parameters_to_vector(ps)
    shapes = [p.shape for p in ps]

    def out_flat(t):
        parts, off = [], 0
        for s in shapes:
            k = int(np.prod(s))
            parts.append(t[off:off + k].reshape(*s))
            off += k
        return outputs(*parts).reshape(-1)

    J = dc.jacobian(out_flat)(theta).numpy()  # (14, 26)
    z = out_flat(theta).detach()
    H_l = dc.hessian(lambda zz: loss_of(zz.reshape(7, 2)))(z).numpy()
    G = J.T @ H_l @ J
    v = np.random.default_rng(2).normal(size=theta.shape[0])
    oracle = Oracle(ps, closure)
    gv = oracle.gnvp(v, lambda: outputs(*ps), loss_of)
    np.testing.assert_allclose(gv, G @ v, rtol=1e-10, atol=1e-12)
    assert v @ gv > 0  # G is positive semi-definite for a loss convex in z
    assert all(p.tangent is None for p in ps)


def test_reduction_ratio_and_damping_rules():
    assert reduction_ratio(10.0, 9.0, -1.0) == 1.0
    assert reduction_ratio(10.0, 11.0, -1.0) == -1.0
    assert reduction_ratio(10.0, float("nan"), -1.0) == -np.inf
    assert update_damping(1.0, 0.1) == 1.5
    assert update_damping(1.0, 0.9) == pytest.approx(2 / 3)
    assert update_damping(1.0, 0.5) == 1.0
    assert update_damping(1e-9, 0.9, min_damping=1e-6) == 1e-6
    assert update_radius(1.0, 0.1, False) == 0.25
    assert update_radius(1.0, 0.9, True) == 2.0
    assert update_radius(1.0, 0.9, False) == 1.0
    assert update_radius(800.0, 0.9, True) == 1000.0


def test_closure_must_be_callable_and_scalar():
    w = dc.zeros(3, requires_grad=True)
    with pytest.raises(TypeError, match="closure"):
        Oracle([w], None)

    def bad():
        return w * 2

    with pytest.raises(ValueError, match="scalar"):
        Oracle([w], bad).evaluate()
