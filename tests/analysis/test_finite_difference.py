"""Finite differences against exact gradients, and the U-shaped error curve."""

import numpy as np
import pytest

import descend as dc
from descend import analysis


def f(x):
    return (x.sin() * x.exp()).sum() + (x * x).sum() * x[0]


def grad_f(x):
    return np.sin(x) * np.exp(x) + np.cos(x) * np.exp(x) + 2 * x * x[0] + np.eye(len(x))[0] * (x * x).sum()


X = np.array([0.3, -1.2, 0.7])


def test_central_and_forward_against_the_exact_gradient():
    x = dc.tensor(X, dtype=dc.float64)
    g = analysis.finite_difference(f, x, eps=1e-5)
    assert g.shape == (3,) and g.dtype == np.float64
    np.testing.assert_allclose(g, grad_f(X), atol=1e-9)
    # forward differences: error ≈ ½ ε f'' — ten times smaller ε, ten times smaller error
    e3 = np.abs(analysis.finite_difference(f, x, 1e-3, "forward") - grad_f(X)).max()
    e4 = np.abs(analysis.finite_difference(f, x, 1e-4, "forward") - grad_f(X)).max()
    assert 8 < e3 / e4 < 12


def test_numpy_functions_and_shapes():
    g = analysis.finite_difference(lambda a: np.sum(a ** 3), [[1, 2], [3, 4]], eps=1e-4)
    np.testing.assert_allclose(g, 3 * np.array([[1, 4], [9, 16]]), rtol=1e-7)
    with pytest.raises(ValueError, match="scheme='backward'"):
        analysis.finite_difference(np.sum, X, scheme="backward")
    with pytest.raises(ValueError, match="eps=0"):
        analysis.finite_difference(np.sum, X, eps=0)
    with pytest.raises(ValueError, match="scalar"):
        analysis.finite_difference(lambda a: a, X)


@pytest.mark.parametrize("scheme, best_lo, best_hi, best_error", [("central", 1e-8, 1e-3, 1e-9),
                                                                   ("forward", 1e-10, 1e-5, 1e-6)])
def test_error_curve_is_u_shaped(scheme, best_lo, best_hi, best_error):
    eps, err = analysis.finite_difference_errors(f, X, scheme=scheme)
    assert eps.shape == err.shape == (27,)
    i = int(np.argmin(err))
    assert best_lo <= eps[i] <= best_hi  # about u^(1/3) central, u^(1/2) forward
    assert err[i] < best_error
    assert err[0] > 100 * err[i] and err[-1] > 100 * err[i]  # round-off on the left, truncation on the right
