"""Generic tests of every primitive in ``registry.CASES``.

For each case and input shapes: the forward value against NumPy; reverse- and forward-mode
derivatives against central finite differences (``dc.gradcheck``, float64); second derivatives
(``dc.gradgradcheck``); the duality wᵀ(J v) = (Jᵀ w)ᵀ v between jvp and vjp; float32 in gives
float32 out and float32 gradients; and, where PyTorch is installed, forward values, gradients
for a random upstream gradient, dtypes and double-backward against PyTorch.
"""

import numpy as np
import pytest

import descend as dc

from .registry import CASES, expand

# isnan_of_log takes the log of negative numbers on purpose
pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered in log:RuntimeWarning")

ALL, ALL_IDS = expand(CASES)
DIFF, DIFF_IDS = expand(CASES, lambda c: c.differentiable and c.gradcheck)
GRAD, GRAD_IDS = expand(CASES, lambda c: c.differentiable)
SECOND, SECOND_IDS = expand(CASES, lambda c: c.differentiable and c.second_order)


def _dc_inputs(arrays, dtype="float64", requires_grad=False):
    return [dc.tensor(a, dtype=dtype, requires_grad=requires_grad) for a in arrays]


def _zeros_if_none(g, like):
    return np.zeros_like(like) if g is None else g


@pytest.mark.parametrize("case,shapes", ALL, ids=ALL_IDS)
def test_forward_matches_numpy(case, shapes):
    xs = case.inputs(shapes)
    out = case.fn(*_dc_inputs(xs))
    ref = np.asarray(case.ref(*xs))
    assert isinstance(out, dc.Tensor)
    assert out.shape == ref.shape
    if ref.dtype.kind == "f":
        assert out.dtype == np.float64
        np.testing.assert_allclose(out.numpy(), ref, rtol=case.rtol, atol=1e-12)
    else:
        assert out.dtype.kind == ref.dtype.kind
        np.testing.assert_array_equal(out.numpy(), ref)
        assert not out.requires_grad


@pytest.mark.parametrize("case,shapes", DIFF, ids=DIFF_IDS)
def test_gradcheck_reverse_and_forward(case, shapes):
    assert dc.gradcheck(case.fn, tuple(_dc_inputs(case.inputs(shapes))))


@pytest.mark.parametrize("case,shapes", DIFF, ids=DIFF_IDS)
def test_gradgradcheck(case, shapes):
    assert dc.gradgradcheck(case.fn, tuple(_dc_inputs(case.inputs(shapes))))


@pytest.mark.parametrize("case,shapes", GRAD, ids=GRAD_IDS)
def test_jvp_and_vjp_are_dual(case, shapes):
    """wᵀ (J v) from forward mode equals (Jᵀ w)ᵀ v from reverse mode."""
    rng = np.random.default_rng(1)
    xs = _dc_inputs(case.inputs(shapes))
    vs = [dc.tensor(rng.standard_normal(x.shape), dtype="float64") for x in xs]
    out, tangent = dc.jvp(case.fn, tuple(xs), tuple(vs))
    np.testing.assert_allclose(out.numpy(), case.fn(*xs).numpy(), rtol=1e-12)
    assert tangent.shape == out.shape
    w = dc.tensor(rng.standard_normal(out.shape), dtype="float64")
    out2, vjp_fn = dc.vjp(case.fn, *xs)
    cot = vjp_fn(w)
    assert len(cot) == len(xs)
    for c, x in zip(cot, xs):
        assert c.shape == x.shape
    lhs = float(np.sum(w.numpy() * tangent.numpy()))
    rhs = sum(float(np.sum(c.numpy() * v.numpy())) for c, v in zip(cot, vs))
    assert lhs == pytest.approx(rhs, rel=1e-9, abs=1e-9)


@pytest.mark.parametrize("case,shapes", ALL, ids=ALL_IDS)
def test_float32_in_float32_out(case, shapes):
    xs = _dc_inputs(case.inputs(shapes), "float32", requires_grad=case.differentiable)
    out = case.fn(*xs)
    ref = np.asarray(case.ref(*case.inputs(shapes)))
    if ref.dtype.kind == "f":
        assert out.dtype == np.float32
        np.testing.assert_allclose(out.numpy(), ref, rtol=2e-5, atol=2e-6)
    else:
        assert out.dtype.kind == ref.dtype.kind
    if case.differentiable:
        out.backward(dc.ones_like(out))
        grads = [x.grad for x in xs if x.grad is not None]  # None only for an input f does not use (where's c)
        assert grads
        for x in xs:
            assert x.grad is None or (x.grad.dtype == np.float32 and x.grad.shape == x.shape)


# --------------------------------------------------------------------------- against PyTorch
def _torch_inputs(torch, arrays, dtype, requires_grad):
    return [torch.tensor(a, dtype=dtype, requires_grad=requires_grad) for a in arrays]


@pytest.mark.parametrize("case,shapes", ALL, ids=ALL_IDS)
def test_forward_and_gradient_match_torch(case, shapes):
    torch = pytest.importorskip("torch")
    arrays = case.inputs(shapes)
    xs = _dc_inputs(arrays, requires_grad=case.differentiable)
    ts = _torch_inputs(torch, arrays, torch.float64, case.differentiable)
    out, tout = case.fn(*xs), case.torch_ref(*ts)
    assert out.shape == tuple(tout.shape)
    np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-10, atol=1e-12)
    if not case.differentiable:
        assert not out.requires_grad
        return
    upstream = np.random.default_rng(2).standard_normal(out.shape)
    out.backward(dc.tensor(upstream, dtype="float64"))
    tgrads = torch.autograd.grad(tout, ts, torch.from_numpy(upstream), allow_unused=True)
    for x, tg in zip(xs, tgrads):
        assert (x.grad is None) == (tg is None)
        if tg is not None:
            np.testing.assert_allclose(x.grad.numpy(), tg.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("case,shapes", ALL, ids=ALL_IDS)
def test_dtypes_match_torch(case, shapes):
    torch = pytest.importorskip("torch")
    arrays = case.inputs(shapes)
    xs = _dc_inputs(arrays, "float32", case.differentiable)
    ts = _torch_inputs(torch, arrays, torch.float32, case.differentiable)
    out, tout = case.fn(*xs), case.torch_ref(*ts)
    assert out.dtype == np.dtype(str(tout.dtype).replace("torch.", ""))
    if tout.dtype == torch.float32:
        np.testing.assert_allclose(out.numpy(), tout.detach().numpy(), rtol=1e-5, atol=1e-6)
    else:
        np.testing.assert_array_equal(out.numpy(), tout.numpy())
    if case.differentiable:
        out.backward(dc.ones_like(out))
        tgrads = torch.autograd.grad(tout, ts, torch.ones_like(tout), allow_unused=True)
        for x, tg in zip(xs, tgrads):
            assert (x.grad is None) == (tg is None)
            if tg is not None:
                assert x.grad.dtype == np.float32
                assert tg.dtype == torch.float32
                np.testing.assert_allclose(x.grad.numpy(), tg.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("case,shapes", SECOND, ids=SECOND_IDS)
def test_second_order_matches_torch(case, shapes):
    """∂/∂x [ (Jᵀ w) · v ] against torch's double backward."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    arrays = case.inputs(shapes)
    xs = _dc_inputs(arrays, requires_grad=True)
    ts = _torch_inputs(torch, arrays, torch.float64, True)
    out, tout = case.fn(*xs), case.torch_ref(*ts)
    w = rng.standard_normal(out.shape)
    vs = [rng.standard_normal(a.shape) for a in arrays]
    gs = dc.autograd_grad(out, xs, dc.tensor(w, dtype="float64"), create_graph=True, allow_unused=True)
    tgs = torch.autograd.grad(tout, ts, torch.from_numpy(w), create_graph=True, allow_unused=True)
    for g, tg, a in zip(gs, tgs, arrays):
        np.testing.assert_allclose(_zeros_if_none(None if g is None else g.numpy(), a),
                                   _zeros_if_none(None if tg is None else tg.detach().numpy(), a),
                                   rtol=1e-9, atol=1e-12)
    s = sum((g * dc.tensor(v, dtype="float64")).sum() for g, v in zip(gs, vs) if g is not None)
    ts_sum = sum((tg * torch.from_numpy(v)).sum() for tg, v in zip(tgs, vs) if tg is not None and tg.requires_grad)
    hv = (dc.autograd_grad(s, xs, allow_unused=True) if isinstance(s, dc.Tensor) and s.requires_grad
          else [None] * len(xs))
    thv = torch.autograd.grad(ts_sum, ts, allow_unused=True) if torch.is_tensor(ts_sum) else [None] * len(ts)
    for h, th, a in zip(hv, thv, arrays):
        np.testing.assert_allclose(_zeros_if_none(None if h is None else h.numpy(), a),
                                   _zeros_if_none(None if th is None else th.numpy(), a), rtol=1e-8, atol=1e-10)


def test_cast_gradient_goes_back_to_the_source_dtype():
    """``x.to(float64)`` on a float32 leaf: the value is exact and the gradient comes back float32."""
    x = dc.tensor([0.5, -1.25, 3.0], requires_grad=True)
    y = x.to(dc.float64)
    assert y.dtype == np.float64 and y.requires_grad
    np.testing.assert_array_equal(y.numpy(), np.array([0.5, -1.25, 3.0]))
    (y * y).sum().backward()
    assert x.grad.dtype == np.float32
    np.testing.assert_array_equal(x.grad.numpy(), np.array([1.0, -2.5, 6.0], dtype=np.float32))
    i = x.to("int64")
    assert i.dtype == np.int64 and not i.requires_grad
    assert x.to(dc.float32) is x


def test_registry_covers_every_listed_primitive():
    """Every primitive named in issue 2 has at least one registry entry."""
    names = {c.name.split("_")[0] for c in CASES} | {c.name for c in CASES}
    wanted = ("add sub mul div pow_tensor_tensor pow_tensor_scalar pow_scalar_tensor matmul neg exp log log1p sqrt "
              "sin cos tanh sigmoid relu abs sign clamp maximum minimum where sum mean var std max min amax amin "
              "logsumexp argmax argmin reshape view flatten transpose permute squeeze unsqueeze expand broadcast_to "
              "cat stack index softmax log_softmax lt le gt ge eq to").split()
    missing = [w for w in wanted if w not in names]
    assert missing == []


def test_registry_covers_nn_functional():
    """Every function of descend.nn.functional has a registry entry (or is named here with the reason)."""
    import descend.nn.functional as F

    names = {c.name for c in CASES}
    autodiff_primitives = {"sigmoid", "tanh", "relu", "softmax", "log_softmax", "sign"}  # registered above
    elsewhere = {"dropout": "a random mask: tests/nn/test_nn_layers.py", "one_hot": "integer encoding, no gradient",
                 "swish": "the same function as silu", "identity": "returns its input", "flatten": "reshape"}
    missing = [n for n in F.__all__
               if n not in autodiff_primitives and n not in elsewhere and not any(c.startswith(n) for c in names)]
    assert missing == []


@pytest.mark.parametrize("case,shapes", GRAD, ids=GRAD_IDS)
def test_reverse_over_forward_matches_reverse_over_reverse(case, shapes):
    """∂/∂x [wᵀ J(x) v] by differentiating the jvp rules equals ∂/∂x [(J(x)ᵀ w)ᵀ v] by double backward."""
    rng = np.random.default_rng(4)
    arrays = case.inputs(shapes)
    xs = _dc_inputs(arrays)
    vs = tuple(dc.tensor(rng.standard_normal(a.shape), dtype="float64") for a in arrays)
    w = dc.tensor(rng.standard_normal(case.fn(*xs).shape), dtype="float64")
    n = len(xs)

    def directional(*ys):
        return (dc.jvp(case.fn, ys, vs)[1] * w).sum()

    rf = dc.grad(directional, argnums=tuple(range(n)))(*xs)
    leaves = _dc_inputs(arrays, requires_grad=True)
    gs = dc.autograd_grad(case.fn(*leaves), leaves, w, create_graph=True, allow_unused=True)
    s = sum((g * v).sum() for g, v in zip(gs, vs) if g is not None)
    if isinstance(s, dc.Tensor) and s.requires_grad:
        rr = dc.autograd_grad(s, leaves, allow_unused=True)
    else:
        rr = [None] * n
    for a, b, arr in zip(rf, rr, arrays):
        np.testing.assert_allclose(a.numpy(), _zeros_if_none(None if b is None else b.numpy(), arr),
                                   rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("case,shapes", GRAD, ids=GRAD_IDS)
def test_float32_tangents_stay_float32(case, shapes):
    arrays = case.inputs(shapes)
    xs = tuple(_dc_inputs(arrays, "float32"))
    vs = tuple(dc.ones_like(x) for x in xs)
    out, t = dc.jvp(case.fn, xs, vs)
    assert out.dtype == np.float32 and t.dtype == np.float32 and t.shape == out.shape
    _, t64 = dc.jvp(case.fn, tuple(_dc_inputs(arrays)), tuple(dc.ones_like(x, dtype="float64") for x in xs))
    np.testing.assert_allclose(t.numpy(), t64.numpy(), rtol=1e-4, atol=1e-4)
