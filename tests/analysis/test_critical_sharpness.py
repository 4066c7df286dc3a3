"""critical_point's second-order test and sharpness, on functions whose answers are known exactly."""

import numpy as np
import pytest

import descend as dc
import descend.nn.functional as F
from descend import analysis

from .nets import SmallNet


def _point(*values):
    return dc.tensor(list(values), dtype=dc.float64, requires_grad=True)


@pytest.mark.parametrize("f, at, kind, lo, hi, negative", [
    (lambda p: p[0] ** 2 - p[1] ** 2, (0.0, 0.0), "saddle", -2, 2, 1),
    (lambda p: p[0] ** 2 + 3 * p[1] ** 2, (0.0, 0.0), "minimum", 2, 6, 0),
    (lambda p: -p[0] ** 2 - p[1] ** 2, (0.0, 0.0), "maximum", -2, -2, 2),
    (lambda p: p[0] ** 2 + p[1] ** 4, (0.0, 0.0), "degenerate", 0, 2, 0),
    (lambda p: p[0] ** 2 - p[1] ** 2, (1.0, 0.0), "not critical", -2, 2, 1),
])
def test_second_order_test_on_quadratic_forms(f, at, kind, lo, hi, negative):
    p = _point(*at)
    info = analysis.critical_point(lambda: f(p), [p])
    assert info["kind"] == kind
    assert info["min_eigenvalue"] == pytest.approx(lo, abs=1e-12)
    assert info["max_eigenvalue"] == pytest.approx(hi, abs=1e-12)
    assert info["negative_count"] == negative and info["negative_count_exact"]
    assert info["grad_norm"] == pytest.approx(2 * abs(at[0]), abs=1e-12)
    assert {"grad_tol", "eig_tol", "loss", "n"} <= set(info)


def test_minimum_of_a_strictly_convex_logistic_regression():
    rng = np.random.default_rng(0)
    X = dc.tensor(rng.normal(size=(60, 3)), dtype=dc.float64)
    t = dc.tensor((rng.random(60) < 0.5).astype(np.float64), dtype=dc.float64)
    w = dc.tensor(np.zeros(3), dtype=dc.float64, requires_grad=True)
    b = dc.tensor(0.0, dtype=dc.float64, requires_grad=True)

    def loss_fn():  # L2-regularized: strictly convex with a unique minimum
        return F.binary_cross_entropy_with_logits(X @ w + b, t) + 0.01 * (w * w).sum()

    def flat(theta):
        return F.binary_cross_entropy_with_logits(X @ theta[:3] + theta[3], t) + 0.01 * (theta[:3] * theta[:3]).sum()

    theta = np.zeros(4)
    for _ in range(20):  # Newton's method to the minimum
        th = dc.tensor(theta, dtype=dc.float64)
        theta = theta - np.linalg.solve(dc.hessian(flat)(th).numpy(), dc.grad(flat)(th).numpy())
    with dc.no_grad():
        w.copy_(dc.tensor(theta[:3], dtype=dc.float64))
        b.copy_(dc.tensor(theta[3], dtype=dc.float64))
    info = analysis.critical_point(loss_fn, [w, b])
    assert info["grad_norm"] < 1e-12
    assert info["kind"] == "minimum"
    assert info["min_eigenvalue"] > 0 and info["negative_count"] == 0
    # away from the minimum it is not critical
    with dc.no_grad():
        b.add_(0.5)
    assert analysis.critical_point(loss_fn, [w, b])["kind"] == "not critical"


def test_large_n_branch_lanczos_extremes_and_estimated_negative_count():
    net = SmallNet(widths=(3, 4, 2), batch=12, seed=5)
    ev = np.linalg.eigvalsh(net.hessian())
    exact = analysis.critical_point(net.loss_fn, net.params)
    est = analysis.critical_point(net.loss_fn, net.params, exact_max=0, steps=net.n, runs=net.n)
    assert not est["negative_count_exact"] and exact["negative_count_exact"]
    assert est["min_eigenvalue"] == pytest.approx(ev[0], abs=1e-8 * abs(ev).max())
    assert est["max_eigenvalue"] == pytest.approx(ev[-1], rel=1e-8)
    # n orthonormal probes with full Krylov spaces: the quadrature counts exactly
    assert est["negative_count"] == exact["negative_count"] == int((ev < -exact["eig_tol"]).sum())
    assert exact["kind"] == est["kind"] == "not critical"
    cheap = analysis.critical_point(net.loss_fn, net.params, exact_max=0)
    assert 0 < cheap["negative_count"] < net.n


def test_sharpness_of_a_quadratic_minimum_is_exact():
    a = np.array([1.0, 4.0, 9.0])
    ad = dc.tensor(a, dtype=dc.float64)
    w = dc.tensor(np.zeros(3), dtype=dc.float64, requires_grad=True)
    eps = 1e-2
    out = analysis.sharpness(lambda: 0.5 * (ad * w * w).sum(), [w], epsilon=eps)
    assert out["top_eigenvalue"] == pytest.approx(9.0, rel=1e-10)
    # the maximum of ½ Σ a_i y_i² over |y_i| ≤ ε(|w_i| + 1) = ε is at a corner: ½ ε² Σ a_i
    assert out["max_loss"] == pytest.approx(0.5 * eps ** 2 * a.sum(), rel=1e-12)
    assert out["epsilon_sharpness"] == pytest.approx(100 * 0.5 * eps ** 2 * a.sum(), rel=1e-12)
    np.testing.assert_array_equal(w.numpy(), np.zeros(3))


def test_sharpness_restores_the_parameters_bit_for_bit_even_on_an_exception():
    net = SmallNet(seed=6)
    before = net.snapshot()
    moved = {"calls": 0}

    def flaky():  # fails in the middle of the search, with the parameters moved
        if any(not np.array_equal(p.numpy(), s) for p, s in zip(net.params, before)):
            moved["calls"] += 1
            if moved["calls"] == 5:
                raise KeyboardInterrupt
        return net.loss_fn()

    out = analysis.sharpness(net.loss_fn, net.params, epsilon=1e-2)
    assert out["max_loss"] >= out["loss"] and out["epsilon_sharpness"] >= 0
    for p, s in zip(net.params, before):
        np.testing.assert_array_equal(p.numpy(), s)
    with pytest.raises(KeyboardInterrupt):
        analysis.sharpness(flaky, net.params, epsilon=1e-2, steps=200)
    assert moved["calls"] == 5
    for p, s in zip(net.params, before):
        np.testing.assert_array_equal(p.numpy(), s)
