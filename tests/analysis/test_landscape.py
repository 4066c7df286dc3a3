"""Landscape functions: exact values on quadratics, parameters restored bit for bit, PCA of trajectories."""

import numpy as np
import pytest

import descend as dc
from descend import analysis, nn
import descend.nn.functional as F

from .nets import SmallNet


def _state(params):
    return [(p.data, p.data.copy()) for p in params]


def _assert_restored(params, state):
    for p, (array, values) in zip(params, state):
        assert p.data is array  # the model keeps its own arrays
        np.testing.assert_array_equal(p.data, values)
        assert p.data.tobytes() == values.tobytes()


def test_random_directions_are_filter_normalized_and_seeded():
    dc.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 3))
    params = list(model.parameters())
    d = analysis.random_directions(params, seed=1)
    assert [a.shape for a in d] == [p.shape for p in params]
    assert all(a.dtype == np.float32 for a in d)
    for a, p in zip(d, params):
        if p.ndim == 1:
            assert not np.any(a)  # biases: d = 0 (Li et al.)
        else:
            np.testing.assert_allclose(np.linalg.norm(a, axis=1), np.linalg.norm(p.numpy(), axis=1), rtol=1e-5)
    again = analysis.random_directions(params, seed=1)
    other = analysis.random_directions(params, seed=2)
    assert all(np.array_equal(a, b) for a, b in zip(d, again))
    assert not np.array_equal(d[0], other[0])
    raw = analysis.random_directions(params, filter_normalize=False, seed=1)
    assert np.any(raw[1])
    with pytest.raises(ValueError, match="filter_normalize=False"):
        analysis.random_directions([params[1]])


def test_interpolation_ends_equal_the_losses_at_the_ends_and_parameters_are_restored():
    net = SmallNet(seed=0)
    start = net.snapshot()
    end = [a + np.random.default_rng(1).normal(size=a.shape) for a in start]
    with dc.no_grad():
        loss_start = float(net.loss_fn().numpy())
        for p, e in zip(net.params, end):
            p.copy_(dc.tensor(e, dtype=dc.float64))
        loss_end = float(net.loss_fn().numpy())
        for p, s in zip(net.params, start):
            p.copy_(dc.tensor(s, dtype=dc.float64))
    state = _state(net.params)
    out = analysis.loss_interpolation(net.loss_fn, net.params, start, end, [0.0, 0.25, 0.5, 1.0, 1.5])
    assert out.shape == (5,)
    assert out[0] == loss_start and out[3] == loss_end
    _assert_restored(net.params, state)


def test_interpolation_of_a_quadratic_is_exact():
    w = dc.tensor([3.0, -1.0], dtype=dc.float64, requires_grad=True)
    alphas = np.linspace(-1, 2, 7)
    out = analysis.loss_interpolation(lambda: 0.5 * (w * w).sum(), [w], [np.array([1.0, 0.0])],
                                      [np.array([0.0, 2.0])], alphas)
    np.testing.assert_allclose(out, 0.5 * ((1 - alphas) ** 2 + 4 * alphas ** 2), rtol=1e-15)
    np.testing.assert_array_equal(w.numpy(), [3.0, -1.0])


def test_surface_of_a_quadratic_is_exact_and_restores_parameters():
    a = dc.tensor([1.0, 2.0, 5.0], dtype=dc.float64)
    w = dc.tensor([0.5, -0.5, 1.0], dtype=dc.float64, requires_grad=True)
    state = _state([w])
    d1, d2 = np.array([1.0, 0, 0]), np.array([0, 0, 1.0])
    al, be = np.linspace(-1, 1, 5), np.linspace(-2, 2, 3)
    Z = analysis.loss_surface(lambda: 0.5 * (a * w * w).sum(), [w], d1, d2, al, be)
    assert Z.shape == (5, 3)
    expect = 0.5 * ((0.5 + al[:, None]) ** 2 + 2 * 0.25 + 5 * (1 + be[None, :]) ** 2)
    np.testing.assert_allclose(Z, expect, rtol=1e-15)
    _assert_restored([w], state)


def test_landscape_restores_parameters_bit_for_bit_on_an_exception_and_float32():
    dc.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    x, y = dc.randn(8, 3), dc.randn(8, 2)
    params = list(model.parameters())
    state = _state(params)
    d1 = analysis.random_directions(params, seed=0)
    d2 = analysis.random_directions(params, seed=1)
    calls = {"n": 0}

    def loss_fn():
        calls["n"] += 1
        if calls["n"] == 7:
            raise RuntimeError("interrupted")
        return F.mse_loss(model(x), y)

    with pytest.raises(RuntimeError, match="interrupted"):
        analysis.loss_surface(loss_fn, params, d1, d2, np.linspace(-1, 1, 4), np.linspace(-1, 1, 4))
    _assert_restored(params, state)
    Z = analysis.loss_surface(lambda: F.mse_loss(model(x), y), params, d1, d2, [-0.3, 0.0, 0.3], [0.0])
    with dc.no_grad():
        assert Z[1, 0] == float(F.mse_loss(model(x), y).numpy())
    _assert_restored(params, state)


def test_landscape_bad_input():
    w = dc.tensor([1.0, 2.0], dtype=dc.float64, requires_grad=True)
    with pytest.raises(ValueError, match=r"start\[0\] has shape \(3,\) but parameter 0 has shape \(2,\)"):
        analysis.loss_interpolation(lambda: (w * w).sum(), [w], [np.zeros(3)], [np.zeros(2)], [0.0])
    with pytest.raises(ValueError, match="alphas must be a non-empty 1-D"):
        analysis.loss_surface(lambda: (w * w).sum(), [w], np.ones(2), np.ones(2), [], [0.0])
    with pytest.raises(ValueError, match="scalar"):
        analysis.loss_interpolation(lambda: w * w, [w], [np.zeros(2)], [np.ones(2)], [0.5])
    with pytest.raises(ValueError, match="at least 2 snapshots"):
        analysis.trajectory_projection([np.zeros(3)])


def test_trajectory_projection_recovers_a_planar_path():
    rng = np.random.default_rng(0)
    n, T = 40, 12
    u, v = np.linalg.qr(rng.normal(size=(n, 2)))[0].T
    t = np.linspace(0, 1, T)
    final = rng.normal(size=n)
    X = final + np.outer(3 * (1 - t), u) + np.outer(np.sin(4 * t) * (1 - t), v)
    proj = analysis.trajectory_projection(X)
    D = X - X[-1]
    assert proj.coordinates.shape == (T, 2) and proj.directions.shape == (2, n)
    np.testing.assert_allclose(proj.directions @ proj.directions.T, np.eye(2), atol=1e-12)
    np.testing.assert_allclose(proj.coordinates @ proj.directions, D, atol=1e-10)  # the path lies in the plane
    np.testing.assert_array_equal(proj.coordinates[-1], [0.0, 0.0])
    assert np.all(proj.coordinates[0] >= 0)
    assert proj.explained_variance_ratio.sum() == pytest.approx(1.0, abs=1e-12)
    # the same trajectory given as per-epoch lists of parameter-shaped arrays
    listed = [[x[:30].reshape(5, 6), x[30:]] for x in X]
    again = analysis.trajectory_projection(listed)
    np.testing.assert_allclose(again.coordinates, proj.coordinates, atol=1e-12)
