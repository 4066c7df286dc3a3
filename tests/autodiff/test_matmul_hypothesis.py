"""matmul on hypothesis-drawn operand shapes: vectors, matrices and batches whose batch dimensions
broadcast. Values against NumPy; gradients against the closed form ā = ȳ bᵀ, b̄ = aᵀ ȳ (vectors
promoted to matrices, batch dimensions summed back); and against PyTorch where installed."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import descend as dc


@st.composite
def matmul_shapes(draw):
    n, k, m = draw(st.integers(1, 4)), draw(st.integers(1, 4)), draw(st.integers(1, 4))
    batch = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=2, max_side=3))
    ba, bb = batch.input_shapes
    a_vec, b_vec = draw(st.booleans()), draw(st.booleans())
    sa = (k,) if a_vec else ba + (n, k)
    sb = (k,) if b_vec else bb + (k, m)
    return sa, sb


def _sum_to(g, shape):
    lead = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True).reshape(shape)


def _reference_grads(a, b, w):
    A = a[None, :] if a.ndim == 1 else a
    B = b[:, None] if b.ndim == 1 else b
    W = w
    if b.ndim == 1:
        W = W[..., None]
    if a.ndim == 1:
        W = W[..., None, :]
    ga = W @ np.swapaxes(B, -1, -2)
    gb = np.swapaxes(A, -1, -2) @ W
    if a.ndim == 1:
        ga = ga[..., 0, :]
    if b.ndim == 1:
        gb = gb[..., 0]
    return _sum_to(ga, a.shape), _sum_to(gb, b.shape)


@settings(max_examples=80, deadline=None, derandomize=True)  # the same examples on every machine
@given(shapes=matmul_shapes(), seed=st.integers(0, 1000))
def test_matmul_values_and_gradients(shapes, seed):
    sa, sb = shapes
    rng = np.random.default_rng(seed)
    an, bn = rng.standard_normal(sa), rng.standard_normal(sb)
    a = dc.tensor(an, dtype="float64", requires_grad=True)
    b = dc.tensor(bn, dtype="float64", requires_grad=True)
    y = a @ b
    expected = np.matmul(an, bn)
    assert y.shape == expected.shape
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-12, atol=1e-12)
    w = rng.standard_normal(y.shape)
    y.backward(dc.tensor(w, dtype="float64"))
    ga, gb = _reference_grads(an, bn, w)
    np.testing.assert_allclose(a.grad.numpy(), ga, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), gb, rtol=1e-10, atol=1e-12)
    va, vb = rng.standard_normal(sa), rng.standard_normal(sb)
    _, t = dc.jvp(lambda p, q: p @ q, (dc.tensor(an, dtype="float64"), dc.tensor(bn, dtype="float64")),
                  (dc.tensor(va, dtype="float64"), dc.tensor(vb, dtype="float64")))
    np.testing.assert_allclose(t.numpy(), np.matmul(va, bn) + np.matmul(an, vb), rtol=1e-10, atol=1e-12)


@settings(max_examples=30, deadline=None, derandomize=True)  # the same examples on every machine
@given(shapes=matmul_shapes())
def test_matmul_matches_torch(shapes):
    torch = pytest.importorskip("torch")
    sa, sb = shapes
    rng = np.random.default_rng(0)
    an, bn = rng.standard_normal(sa), rng.standard_normal(sb)
    a = dc.tensor(an, dtype="float64", requires_grad=True)
    b = dc.tensor(bn, dtype="float64", requires_grad=True)
    ta, tb = torch.tensor(an, requires_grad=True), torch.tensor(bn, requires_grad=True)
    ((a @ b).tanh() ** 2).sum().backward()
    ((ta @ tb).tanh() ** 2).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-10, atol=1e-12)
