"""The notes' worked example f(x₁, x₂) = ln x₁ + x₁x₂ − sin x₂ at (2, 5).

f = ln 2 + 10 − sin 5 ≈ 11.652, ∂f/∂x₁ = 1/x₁ + x₂ = 5.5, ∂f/∂x₂ = x₁ − cos x₂ = 2 − cos 5,
computed by reverse mode (one backward pass gives both) and by forward mode (one jvp per input).
"""

import math

import numpy as np
import pytest

import descend as dc


def f(x1, x2):
    """f(x₁, x₂) = ln x₁ + x₁ x₂ − sin x₂."""
    return x1.log() + x1 * x2 - x2.sin()


EXPECTED_F = math.log(2.0) + 10.0 - math.sin(5.0)
EXPECTED_GRAD = (5.5, 2.0 - math.cos(5.0))


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_value(dtype):
    y = f(dc.tensor(2.0, dtype=dtype), dc.tensor(5.0, dtype=dtype))
    assert y.item() == pytest.approx(11.652, abs=1e-3)
    assert y.item() == pytest.approx(EXPECTED_F, rel=1e-6)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_reverse_mode(dtype):
    x1 = dc.tensor(2.0, dtype=dtype, requires_grad=True)
    x2 = dc.tensor(5.0, dtype=dtype, requires_grad=True)
    y = f(x1, x2)
    y.backward()
    assert x1.grad.item() == pytest.approx(5.5, rel=1e-6)
    assert x2.grad.item() == pytest.approx(2.0 - math.cos(5.0), rel=1e-6)
    assert x1.grad.dtype == np.dtype(dtype)


def test_reverse_mode_functional():
    value, (g1, g2) = dc.value_and_grad(f, argnums=(0, 1))(
        dc.tensor(2.0, dtype="float64"), dc.tensor(5.0, dtype="float64")
    )
    assert value.item() == pytest.approx(EXPECTED_F, rel=1e-12)
    assert (g1.item(), g2.item()) == pytest.approx(EXPECTED_GRAD, rel=1e-12)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_forward_mode_one_jvp_per_input(dtype):
    x1, x2 = dc.tensor(2.0, dtype=dtype), dc.tensor(5.0, dtype=dtype)
    one, zero = dc.tensor(1.0, dtype=dtype), dc.tensor(0.0, dtype=dtype)
    y, d1 = dc.jvp(f, (x1, x2), (one, zero))
    _, d2 = dc.jvp(f, (x1, x2), (zero, one))
    assert y.item() == pytest.approx(11.652, abs=1e-3)
    assert d1.item() == pytest.approx(5.5, rel=1e-6)
    assert d2.item() == pytest.approx(2.0 - math.cos(5.0), rel=1e-6)


def test_forward_mode_directional_derivative():
    """A jvp along (1, 1) gives the sum of the partial derivatives."""
    x = (dc.tensor(2.0, dtype="float64"), dc.tensor(5.0, dtype="float64"))
    _, d = dc.jvp(f, x, (dc.tensor(1.0, dtype="float64"), dc.tensor(1.0, dtype="float64")))
    assert d.item() == pytest.approx(sum(EXPECTED_GRAD), rel=1e-12)


def test_second_derivatives():
    """∂²f/∂x₁² = −1/x₁², ∂²f/∂x₁∂x₂ = 1, ∂²f/∂x₂² = sin x₂."""

    def g(x):
        return f(x[0], x[1])

    H = dc.hessian(g)(dc.tensor([2.0, 5.0], dtype="float64"))
    np.testing.assert_allclose(H.numpy(), [[-0.25, 1.0], [1.0, math.sin(5.0)]], rtol=1e-12)
