"""optim.line_search: strong Wolfe (PyTorch's) and backtracking Armijo, including non-finite trials."""

import math

import numpy as np
import pytest

from descend import optim
from descend.optim.second_order.line_search import backtracking, cubic_interpolate, strong_wolfe


def _phi_of(fun, grad, x, d, calls=None):
    def phi(t):
        if calls is not None:
            calls.append(t)
        z = x + t * d
        return fun(z), grad(z)

    return phi


def _rosen(z):
    return float(np.sum(100 * (z[1:] - z[:-1] ** 2) ** 2 + (1 - z[:-1]) ** 2))


def _rosen_grad(z):
    g = np.zeros_like(z)
    g[:-1] = -400 * z[:-1] * (z[1:] - z[:-1] ** 2) - 2 * (1 - z[:-1])
    g[1:] += 200 * (z[1:] - z[:-1] ** 2)
    return g


def test_module_is_public():
    assert optim.line_search.strong_wolfe is strong_wolfe


def test_cubic_interpolation_is_exact_for_a_cubic():
    # φ(t) = (t - 1)³ + 3(t - 1)² ... take φ(t) = t³ - 6t² + 9t, minimiser at t = 3 on [2, 5]
    phi = lambda t: t ** 3 - 6 * t ** 2 + 9 * t
    dphi = lambda t: 3 * t ** 2 - 12 * t + 9
    assert cubic_interpolate(2.0, phi(2.0), dphi(2.0), 5.0, phi(5.0), dphi(5.0)) == pytest.approx(3.0, abs=1e-12)
    assert cubic_interpolate(5.0, phi(5.0), dphi(5.0), 2.0, phi(2.0), dphi(2.0)) == pytest.approx(3.0, abs=1e-12)
    # clamped to the bounds, and the midpoint when a value is not finite
    assert cubic_interpolate(2.0, phi(2.0), dphi(2.0), 5.0, phi(5.0), dphi(5.0), bounds=(3.5, 4.0)) == 3.5
    assert cubic_interpolate(0.0, 1.0, -1.0, 2.0, math.inf, 0.0) == 1.0


@pytest.mark.parametrize("t0", [1e-3, 1.0, 50.0])
def test_strong_wolfe_conditions_hold(t0):
    x = np.array([-1.2, 1.0])
    g = _rosen_grad(x)
    d = -g
    f, gtd = _rosen(x), float(g @ d)
    res = strong_wolfe(_phi_of(_rosen, _rosen_grad, x, d), t0, d, f, g, gtd, c1=1e-4, c2=0.9)
    assert res.success and res.reason == "strong_wolfe"
    assert res.f <= f + 1e-4 * res.t * gtd
    assert abs(float(res.g @ d)) <= 0.9 * abs(gtd)
    assert res.f == pytest.approx(_rosen(x + res.t * d), rel=1e-14)


def test_strong_wolfe_equals_torch_port_on_random_quadratics():
    torch = pytest.importorskip("torch")
    from torch.optim.lbfgs import _strong_wolfe

    rng = np.random.default_rng(0)
    for _ in range(10):
        A = rng.normal(size=(5, 5))
        A = A @ A.T + 0.1 * np.eye(5)
        fun = lambda z: float(0.5 * z @ A @ z + np.sum(np.cos(z)))
        grad = lambda z: A @ z - np.sin(z)
        x = rng.normal(size=5)
        g = grad(x)
        d = -g * rng.uniform(0.1, 3)
        t0 = float(rng.uniform(0.01, 5))
        res = strong_wolfe(_phi_of(fun, grad, x, d), t0, d, fun(x), g, float(g @ d), max_ls=25)

        def obj(xt, t, dt):
            z = xt.numpy() + float(t) * dt.numpy()
            return fun(z), torch.tensor(grad(z))

        f_t, g_t, t_t, n_t = _strong_wolfe(obj, torch.tensor(x), t0, torch.tensor(d), fun(x), torch.tensor(g),
                                           torch.tensor(float(g @ d), dtype=torch.float64))
        assert res.t == pytest.approx(float(t_t), abs=1e-12)
        assert res.f == pytest.approx(float(f_t), abs=1e-12)
        assert res.evals == n_t
        np.testing.assert_allclose(res.g, g_t.numpy(), atol=1e-12)


def _nan_beyond(limit):
    """f(z) = ‖z‖² but NaN (gradient too) when any |zᵢ| > limit: a blow-up at long steps."""

    def fun(z):
        return math.nan if np.abs(z).max() > limit else float(z @ z)

    def grad(z):
        return np.full_like(z, math.nan) if np.abs(z).max() > limit else 2 * z

    return fun, grad


@pytest.mark.parametrize("search", ["strong_wolfe", "backtracking"])
def test_nan_trial_point_is_never_accepted(search):
    fun, grad = _nan_beyond(3.0)
    x = np.array([2.0, -1.0])
    g = grad(x)
    d = -g
    calls = []
    phi = _phi_of(fun, grad, x, d, calls)
    ls = strong_wolfe if search == "strong_wolfe" else backtracking
    res = ls(phi, 10.0, d, fun(x), g, float(g @ d))  # t = 10 lands far outside: NaN
    assert math.isnan(fun(x + calls[0] * d))
    assert res.t > 0 and np.isfinite(res.f) and np.isfinite(res.g).all()
    assert res.f < fun(x)
    assert res.f == pytest.approx(fun(x + res.t * d))


def test_inf_loss_is_backed_off_too():
    x = np.array([1.0])
    fun = lambda z: math.inf if z[0] < 0 else float((z[0] - 0.2) ** 2)
    grad = lambda z: np.array([math.inf]) if z[0] < 0 else np.array([2 * (z[0] - 0.2)])
    g = grad(x)
    res = strong_wolfe(_phi_of(fun, grad, x, -g), 5.0, -g, fun(x), g, float(-g @ g))
    assert res.t > 0 and math.isfinite(res.f) and res.f < fun(x)


@pytest.mark.parametrize("search", ["strong_wolfe", "backtracking"])
def test_exhausted_search_stays_put_and_says_why(search):
    fun = lambda z: math.nan  # nothing but NaN away from the start
    grad = lambda z: np.full_like(z, math.nan)
    x = np.array([1.0, 2.0])
    g = np.array([1.0, 1.0])
    d = -g
    ls = strong_wolfe if search == "strong_wolfe" else backtracking
    res = ls(_phi_of(fun, grad, x, d), 1.0, d, 3.0, g, -2.0, max_ls=6)
    assert res.t == 0.0 and res.f == 3.0 and not res.success
    np.testing.assert_array_equal(res.g, g)
    assert res.reason.startswith("no_decrease")
    assert res.evals <= 7


def test_backtracking_armijo_and_interpolation():
    fun = lambda z: float(z @ z)
    grad = lambda z: 2 * z
    x = np.array([1.0, -1.0])
    g = grad(x)
    d = -g  # the exact minimiser along d is t = 1/2
    res = backtracking(_phi_of(fun, grad, x, d), 4.0, d, fun(x), g, float(g @ d))
    assert res.success and res.reason == "armijo"
    assert res.t == pytest.approx(0.5)  # quadratic interpolation is exact on a quadratic (after one clamp)
    assert res.f <= fun(x) + 1e-4 * res.t * float(g @ d)


def test_bad_arguments_raise():
    g = np.array([1.0])
    phi = lambda t: (1.0, g)
    with pytest.raises(ValueError, match="descent direction"):
        strong_wolfe(phi, 1.0, g, 1.0, g, 1.0)
    with pytest.raises(ValueError, match="initial step"):
        backtracking(phi, -1.0, -g, 1.0, g, -1.0)
    with pytest.raises(ValueError, match="c1"):
        strong_wolfe(phi, 1.0, -g, 1.0, g, -1.0, c1=0.95, c2=0.9)
    with pytest.raises(ValueError, match="finite start"):
        backtracking(phi, 1.0, -g, math.nan, g, -1.0)
