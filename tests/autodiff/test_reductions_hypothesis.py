"""Reductions and layout ops on hypothesis-drawn shapes and dims: values against NumPy and the
gradient for a random upstream ȳ against the closed-form adjoint (broadcast ȳ back, times the
derivative), and forward-mode tangents against the vector-Jacobian products by duality."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import descend as dc


@st.composite
def shape_and_dims(draw):
    shape = draw(hnp.array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4))
    nd = len(shape)
    dims = draw(st.one_of(st.none(), st.integers(-nd, nd - 1),
                          st.lists(st.integers(0, nd - 1), min_size=1, max_size=nd, unique=True).map(tuple)))
    keepdim = draw(st.booleans())
    return shape, dims, keepdim


def _np_axes(dims, nd):
    if dims is None:
        return tuple(range(nd))
    dims = (dims,) if isinstance(dims, int) else dims
    return tuple(sorted(d % nd for d in dims))


def _np_lse(x, axes, keepdims):
    m = x.max(axis=axes, keepdims=True)
    y = np.log(np.exp(x - m).sum(axis=axes, keepdims=True)) + m
    return y if keepdims else np.squeeze(y, axis=axes)


REDUCTIONS = {
    # name: (descend call, value reference, derivative ∂y/∂x broadcast to x's shape)
    "sum": (lambda x, d, k: x.sum(dim=d, keepdim=k), lambda x, a, k: x.sum(axis=a, keepdims=k),
            lambda x, a: np.ones_like(x)),
    "mean": (lambda x, d, k: x.mean(dim=d, keepdim=k), lambda x, a, k: x.mean(axis=a, keepdims=k),
             lambda x, a: np.full_like(x, 1.0 / np.prod([x.shape[i] for i in a]))),
    "amax": (lambda x, d, k: x.amax(dim=d, keepdim=k), lambda x, a, k: x.max(axis=a, keepdims=k),
             lambda x, a: (x == x.max(axis=a, keepdims=True)).astype(float)),
    "amin": (lambda x, d, k: x.amin(dim=d, keepdim=k), lambda x, a, k: x.min(axis=a, keepdims=k),
             lambda x, a: (x == x.min(axis=a, keepdims=True)).astype(float)),
    "logsumexp": (lambda x, d, k: x.logsumexp(dim=d, keepdim=k), _np_lse,
                  lambda x, a: np.exp(x - _np_lse(x, a, True))),
}


@settings(max_examples=60, deadline=None, derandomize=True)  # the same examples on every machine
@given(sdk=shape_and_dims(), name=st.sampled_from(sorted(REDUCTIONS)), seed=st.integers(0, 1000))
def test_reduction_value_and_gradient(sdk, name, seed):
    shape, dims, keepdim = sdk
    f, ref, deriv = REDUCTIONS[name]
    rng = np.random.default_rng(seed)
    xn = rng.permutation(int(np.prod(shape))).reshape(shape) * 0.37 - 1.0  # distinct values: no ties
    axes = _np_axes(dims, len(shape))
    x = dc.tensor(xn, dtype="float64", requires_grad=True)
    y = f(x, dims, keepdim)
    expected = np.asarray(ref(xn, axes, keepdim))
    assert y.shape == expected.shape
    np.testing.assert_allclose(y.numpy(), expected, rtol=1e-12, atol=1e-12)
    w = rng.standard_normal(y.shape)
    y.backward(dc.tensor(w, dtype="float64"))
    wk = w if keepdim else np.expand_dims(w, axes)
    np.testing.assert_allclose(x.grad.numpy(), np.broadcast_to(wk, shape) * deriv(xn, axes), rtol=1e-10, atol=1e-12)
    v = rng.standard_normal(shape)
    _, t = dc.jvp(lambda z: f(z, dims, keepdim), (dc.tensor(xn, dtype="float64"),), (dc.tensor(v, dtype="float64"),))
    assert float((t.numpy() * w).sum()) == pytest.approx(float((x.grad.numpy() * v).sum()), rel=1e-9, abs=1e-9)


@settings(max_examples=60, deadline=None, derandomize=True)  # the same examples on every machine
@given(shape=hnp.array_shapes(min_dims=1, max_dims=4, max_side=4), seed=st.integers(0, 1000),
       correction=st.sampled_from([0, 1]))
def test_var_std_along_random_dim(shape, seed, correction):
    rng = np.random.default_rng(seed)
    dim = int(rng.integers(0, len(shape)))
    assume(shape[dim] - correction > 0)
    xn = rng.standard_normal(shape)
    x = dc.tensor(xn, dtype="float64", requires_grad=True)
    v = x.var(dim=dim, correction=correction)
    s = x.std(dim=dim, correction=correction, keepdim=True)
    np.testing.assert_allclose(v.numpy(), xn.var(axis=dim, ddof=correction), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(s.numpy(), xn.std(axis=dim, ddof=correction, keepdims=True), rtol=1e-12, atol=1e-14)
    v.sum().backward()
    n = shape[dim]
    expected = 2 * (xn - xn.mean(axis=dim, keepdims=True)) / (n - correction)
    np.testing.assert_allclose(x.grad.numpy(), expected, rtol=1e-10, atol=1e-12)


@settings(max_examples=60, deadline=None, derandomize=True)  # the same examples on every machine
@given(shape=hnp.array_shapes(min_dims=1, max_dims=4, max_side=4), data=st.data())
def test_permute_reshape_roundtrip_gradient(shape, data):
    """y = permute(x).reshape(-1) · w: the gradient is w moved back by the inverse permutation."""
    perm = data.draw(st.permutations(range(len(shape))))
    xn = np.arange(float(np.prod(shape))).reshape(shape)
    x = dc.tensor(xn, dtype="float64", requires_grad=True)
    y = x.permute(*perm).reshape(-1)
    np.testing.assert_array_equal(y.numpy(), xn.transpose(perm).reshape(-1))
    w = np.random.default_rng(0).standard_normal(y.shape)
    (y * dc.tensor(w, dtype="float64")).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), w.reshape(xn.transpose(perm).shape).transpose(np.argsort(perm)))
