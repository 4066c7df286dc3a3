"""The reverse-mode engine: accumulation, graph lifetime, grad modes, depth, errors, hooks, aliasing,
and broadcasting gradients on hypothesis-drawn shapes."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import descend as dc
from descend.autodiff.extend import inplace


def leaf(values, dtype="float64"):
    return dc.tensor(values, dtype=dtype, requires_grad=True)


# --------------------------------------------------------------------------- accumulation in the graph
def test_reused_intermediate_accumulates():
    a = leaf([1.0, 2.0])
    b = a + a
    c = b + b
    c.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [4.0, 4.0])


def test_diamond_graph():
    """y = exp(x)·sin(x) through two branches that meet: dy/dx = eˣ(sin x + cos x)."""
    x = leaf([0.3, -1.2, 2.0])
    e, s = x.exp(), x.sin()
    y = (e * s).sum()
    y.backward()
    xv = x.numpy()
    np.testing.assert_allclose(x.grad.numpy(), np.exp(xv) * (np.sin(xv) + np.cos(xv)), rtol=1e-12)


def test_diamond_with_shared_node_used_three_times():
    """h = x²; y = h + 2h + h·h  ⇒  dy/dx = (3 + 2h)·2x."""
    x = leaf([0.5, -2.0])
    h = x * x
    y = (h + 2 * h + h * h).sum()
    y.backward()
    xv = x.numpy()
    np.testing.assert_allclose(x.grad.numpy(), (3 + 2 * xv ** 2) * 2 * xv, rtol=1e-12)


def test_two_leaves_and_one_leaf_used_in_both_operands():
    a, b = leaf([2.0]), leaf([5.0])
    y = (a * b + a * a).sum()  # dy/da = b + 2a, dy/db = a
    y.backward()
    assert a.grad.numpy().tolist() == [9.0]
    assert b.grad.numpy().tolist() == [2.0]


def test_gradient_accumulates_across_backward_calls():
    x = leaf([1.0, 3.0])
    (x * x).sum().backward()
    (x * 5).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2 + 5, 6 + 5])


def test_zero_grad_semantics():
    x = leaf([1.0, 3.0])
    (x * x).sum().backward()
    g = x.grad
    with dc.no_grad():
        x.grad.zero_()
    np.testing.assert_array_equal(g.numpy(), [0.0, 0.0])
    (x * 4).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [4.0, 4.0])
    x.grad = None
    (x * 7).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [7.0, 7.0])


def test_no_grad_on_leaves_that_do_not_require_it():
    a, b = leaf([1.0]), dc.tensor([2.0], dtype="float64")
    (a * b).sum().backward()
    assert b.grad is None and a.grad.numpy().tolist() == [2.0]


# --------------------------------------------------------------------------- graph lifetime
def test_backward_twice_with_retain_graph():
    x = leaf(3.0)
    y = x * x * x
    y.backward(retain_graph=True)
    y.backward()
    assert x.grad.item() == pytest.approx(2 * 27.0)


def test_second_backward_without_retain_graph_raises():
    x = leaf(3.0)
    y = x.exp() * x
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()


def test_retain_graph_then_free():
    x = leaf([1.0, 2.0])
    y = (x.sin() * 2).sum()
    y.backward(retain_graph=True)
    y.backward(retain_graph=False)
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()
    np.testing.assert_allclose(x.grad.numpy(), 4 * np.cos([1.0, 2.0]), rtol=1e-12)


# --------------------------------------------------------------------------- grad modes
def test_no_grad_and_enable_grad():
    x = leaf([1.0, 2.0])
    with dc.no_grad():
        y = x * 2
        assert not dc.is_grad_enabled()
        with dc.enable_grad():
            z = x * 2
            assert dc.is_grad_enabled()
        w = z * 3
    assert dc.is_grad_enabled()
    assert not y.requires_grad and y.is_leaf
    assert z.requires_grad and not z.is_leaf
    assert not w.requires_grad
    np.testing.assert_array_equal(y.numpy(), [2.0, 4.0])


def test_no_grad_as_decorator_and_set_grad_enabled():
    x = leaf([1.0])

    @dc.no_grad()
    def double(t):
        return t * 2

    assert not double(x).requires_grad
    with dc.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    with dc.set_grad_enabled(True):
        assert (x * 2).requires_grad


def test_detach_cuts_the_graph_and_shares_data():
    x = leaf([1.0, 2.0])
    d = (x * 2).detach()
    assert not d.requires_grad and d.is_leaf
    y = (x * d).sum()
    y.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])


# --------------------------------------------------------------------------- depth
def test_hundred_thousand_deep_chain():
    x = leaf(1.0)
    y = x
    for _ in range(100_000):
        y = y + 1e-5
    y.backward()
    assert x.grad.item() == 1.0
    assert y.item() == pytest.approx(2.0)


def test_deep_chain_of_nonlinear_ops_and_unused_graph_is_freed():
    x = leaf(0.5)
    y = x
    for _ in range(100_000):
        y = y * 1.000001
    y.backward()
    assert x.grad.item() == pytest.approx(1.000001 ** 100_000, rel=1e-9)
    z = x
    for _ in range(100_000):
        z = z * 1.0
    del z  # freeing a deep graph that was never used does not overflow the stack


# --------------------------------------------------------------------------- errors
def test_backward_on_non_scalar_without_grad_raises():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"shape \(2,\)"):
        (x * 2).backward()


def test_backward_with_explicit_grad_on_non_scalar():
    x = leaf([1.0, 2.0])
    (x * x).backward(dc.tensor([10.0, -1.0], dtype="float64"))
    np.testing.assert_array_equal(x.grad.numpy(), [20.0, -4.0])


def test_backward_grad_of_wrong_shape_raises():
    x = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="shape"):
        (x * x).backward(dc.tensor([1.0, 2.0, 3.0], dtype="float64"))


def test_backward_on_tensor_without_graph_raises():
    with pytest.raises(RuntimeError, match="does not require grad"):
        dc.tensor([1.0]).sum().backward()


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="int64"):
        dc.tensor([1, 2, 3], requires_grad=True)
    with pytest.raises(TypeError):
        dc.arange(3).requires_grad_()
    with pytest.raises(TypeError):
        dc.zeros(3, dtype="int32", requires_grad=True)


def test_inplace_change_of_saved_tensor_then_backward_raises():
    a = leaf([1.0, 2.0])
    b = dc.tensor([3.0, 4.0], dtype="float64")
    y = (a * b).sum()
    b.add_(1)
    with pytest.raises(RuntimeError, match="in-place"):
        y.backward()


def test_inplace_change_of_saved_leaf_under_no_grad_then_backward_raises():
    a = leaf([1.0, 2.0])
    y = a.log().sum()
    with dc.no_grad():
        a.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


def test_inplace_change_of_saved_output_raises():
    """A raw write into a held output is refused; a write through extend.inplace is seen at backward."""
    x = leaf([0.1, 0.2])
    y = x.exp()  # backward reads y
    z = y.sum()
    with pytest.raises(ValueError, match="read-only"):
        y.data[0] = 5.0
    with inplace(y) as (arr,):
        arr[0] = 5.0
    with pytest.raises(RuntimeError, match=r"gradient of Exp \(its output, shape \(2,\)\).*in-place"):
        z.backward()


@pytest.mark.parametrize("op", [lambda x: x.exp(), lambda x: x.relu(), lambda x: x.sigmoid()])
def test_inplace_change_of_saved_output_raises_for_every_output_saving_box(op):
    x = leaf([0.1, -0.2, 0.3])
    y = op(x)
    z = y.sum()
    with dc.no_grad():
        y.mul_(2)
    with pytest.raises(RuntimeError, match="in-place"):
        z.backward()


def test_inplace_change_of_a_view_of_a_saved_tensor_raises():
    b = dc.tensor([3.0, 4.0, 5.0], dtype="float64")
    a = leaf([1.0, 2.0, 3.0])
    y = (a * b).sum()
    v = b[1:]
    v.mul_(2)
    with pytest.raises(RuntimeError, match="in-place"):
        y.backward()


def test_inplace_change_of_unsaved_input_is_fine():
    """Add does not read its inputs in backward, so changing one afterwards is harmless."""
    a = leaf([1.0, 2.0])
    b = dc.tensor([3.0, 4.0], dtype="float64")
    y = (a + b).sum()
    b.add_(1)
    y.backward()
    np.testing.assert_array_equal(a.grad.numpy(), [1.0, 1.0])


def test_inplace_on_leaf_requiring_grad_needs_no_grad():
    a = leaf([1.0, 2.0])
    with pytest.raises(RuntimeError, match="no_grad"):
        a.add_(1)
    with dc.no_grad():
        a.add_(1)
    np.testing.assert_array_equal(a.numpy(), [2.0, 3.0])


# --------------------------------------------------------------------------- hooks and retain_grad
def test_retain_grad_on_intermediate():
    x = leaf([1.0, 2.0])
    y = x * 3
    y.retain_grad()
    z = y * y
    z.sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [6.0, 12.0])
    np.testing.assert_array_equal(x.grad.numpy(), [18.0, 36.0])
    assert z.grad is None


def test_hook_on_intermediate_replaces_gradient_and_retain_grad_sees_it():
    x = leaf([1.0, 2.0])
    y = x * 2
    y.retain_grad()
    seen = []
    y.register_hook(lambda g: seen.append(g.numpy().copy()) or g * 10)
    (y * y).sum().backward()
    np.testing.assert_array_equal(seen[0], [4.0, 8.0])
    np.testing.assert_array_equal(y.grad.numpy(), [40.0, 80.0])  # as torch: retain_grad runs after hooks
    np.testing.assert_array_equal(x.grad.numpy(), [80.0, 160.0])


def test_hook_on_leaf_and_removal():
    x = leaf([1.0, 2.0])
    h = x.register_hook(lambda g: g + 1)
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 5.0])
    h.remove()
    x.grad = None
    (x * x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 4.0])


def test_hook_returning_none_keeps_gradient():
    x = leaf([1.0, 2.0])
    calls = []
    x.register_hook(lambda g: calls.append(1))
    (x * 3).sum().backward()
    assert calls == [1]
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])


def test_hooks_and_retain_grad_require_grad():
    t = dc.tensor([1.0])
    with pytest.raises(RuntimeError):
        t.register_hook(lambda g: g)
    with pytest.raises(RuntimeError):
        t.retain_grad()


# --------------------------------------------------------------------------- aliasing of .grad
def test_leaf_grads_never_alias_each_other():
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (a + b).sum().backward()
    with dc.no_grad():
        a.grad.mul_(2)
    np.testing.assert_array_equal(a.grad.numpy(), [2.0, 2.0])
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0])


def test_leaf_grad_does_not_alias_the_seed_or_other_grads():
    a = leaf([1.0, 2.0])
    b = leaf([5.0, 6.0])
    seed = dc.tensor([1.0, 1.0], dtype="float64")
    (a + b).backward(seed)
    with dc.no_grad():
        a.grad.add_(1)
        b.grad.add_(10)
    np.testing.assert_array_equal(seed.numpy(), [1.0, 1.0])
    np.testing.assert_array_equal(a.grad.numpy(), [2.0, 2.0])
    np.testing.assert_array_equal(b.grad.numpy(), [11.0, 11.0])


def test_leaf_grad_of_a_reduction_is_writable():
    a = leaf([[1.0, 2.0], [3.0, 4.0]])
    a.sum().backward()
    with dc.no_grad():
        a.grad.mul_(3)
    np.testing.assert_array_equal(a.grad.numpy(), np.full((2, 2), 3.0))


def test_leaf_grads_after_create_graph_do_not_alias():
    """As in PyTorch, each leaf owns its gradient also after backward(create_graph=True)."""
    a, b = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (a + b).sum().backward(create_graph=True)
    assert a.grad is not b.grad
    with dc.no_grad():
        a.grad.mul_(2)
    np.testing.assert_array_equal(a.grad.numpy(), [2.0, 2.0])
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0])


# --------------------------------------------------------------------------- create_graph
def test_create_graph_gives_differentiable_grad():
    x = leaf([0.5, 1.5])
    y = (x ** 3).sum()
    y.backward(create_graph=True)
    g = x.grad
    assert g.requires_grad
    np.testing.assert_allclose(g.numpy(), 3 * np.array([0.5, 1.5]) ** 2)
    (gx,) = dc.autograd_grad(g.sum(), [x])
    np.testing.assert_allclose(gx.numpy(), 6 * np.array([0.5, 1.5]))


def test_autograd_grad_does_not_touch_dot_grad_and_allow_unused():
    x, u = leaf([1.0, 2.0]), leaf([3.0])
    y = (x * x).sum()
    (gx,) = dc.autograd_grad(y, [x], retain_graph=True)
    np.testing.assert_array_equal(gx.numpy(), [2.0, 4.0])
    assert x.grad is None
    with pytest.raises(RuntimeError, match="allow_unused"):
        dc.autograd_grad(y, [x, u], retain_graph=True)
    gx2, gu = dc.autograd_grad(y, [x, u], allow_unused=True)
    assert gu is None
    np.testing.assert_array_equal(gx2.numpy(), [2.0, 4.0])


def test_autograd_grad_with_respect_to_intermediate():
    x = leaf([1.0, 2.0])
    h = x * 3
    y = (h * h).sum()
    (gh,) = dc.autograd_grad(y, [h])
    np.testing.assert_array_equal(gh.numpy(), [6.0, 12.0])


# --------------------------------------------------------------------------- broadcasting (hypothesis)
BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: (np.ones_like(a), np.ones_like(b))),
    "sub": (lambda a, b: a - b, lambda a, b: (np.ones_like(a), -np.ones_like(b))),
    "mul": (lambda a, b: a * b, lambda a, b: (b, a)),
    "div": (lambda a, b: a / b, lambda a, b: (1 / b, -a / b ** 2)),
    "maximum": (lambda a, b: dc.maximum(a, b), lambda a, b: ((a > b) + 0.5 * (a == b), (b > a) + 0.5 * (a == b))),
    "minimum": (lambda a, b: dc.minimum(a, b), lambda a, b: ((a < b) + 0.5 * (a == b), (b < a) + 0.5 * (a == b))),
    "pow": (lambda a, b: b.abs() ** a,
            lambda a, b: (np.abs(b) ** a * np.log(np.abs(b)), a * np.abs(b) ** (a - 1) * np.sign(b))),
    "where": (lambda a, b: dc.where(a > 0, a * b, b), lambda a, b: ((a > 0) * b, (a > 0) * a + (a <= 0))),
}


def _sum_to(g, shape):
    """NumPy reference of the broadcast adjoint: sum g back to ``shape``."""
    lead = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(lead)))
    axes = tuple(i for i, s in enumerate(shape) if s == 1 and g.shape[i] != 1)
    return g.sum(axis=axes, keepdims=True).reshape(shape)


@settings(max_examples=100, deadline=None, derandomize=True)  # the same examples on every machine
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, max_side=4),
       op=st.sampled_from(sorted(BINARY)), seed=st.integers(0, 2 ** 16))
def test_broadcast_gradients_sum_back_to_each_input(shapes, op, seed):
    sa, sb = shapes.input_shapes
    rng = np.random.default_rng(seed)
    an = rng.standard_normal(sa)
    bn = rng.uniform(0.5, 2.0, sb) * rng.choice([-1.0, 1.0], sb)
    fn, dfn = BINARY[op]
    a, b = leaf(an), leaf(bn)
    y = fn(a, b)
    assert y.shape == shapes.result_shape
    w = rng.standard_normal(y.shape)
    y.backward(dc.tensor(w, dtype="float64"))
    A, B = np.broadcast_to(an, y.shape), np.broadcast_to(bn, y.shape)
    da, db = dfn(A, B)
    assert a.grad.shape == sa and b.grad.shape == sb
    np.testing.assert_allclose(a.grad.numpy(), _sum_to(w * da, sa), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), _sum_to(w * db, sb), rtol=1e-10, atol=1e-12)


@settings(max_examples=30, deadline=None, derandomize=True)  # the same examples on every machine
@given(shapes=hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=1, max_dims=3, max_side=3))
def test_broadcast_gradients_match_torch(shapes):
    torch = pytest.importorskip("torch")
    sa, sb = shapes.input_shapes
    rng = np.random.default_rng(0)
    an, bn = rng.standard_normal(sa), rng.uniform(0.5, 2.0, sb)
    a, b = leaf(an), leaf(bn)
    ta = torch.tensor(an, requires_grad=True)
    tb = torch.tensor(bn, requires_grad=True)
    ((a * b + a / b - dc.maximum(a, b)) ** 2).sum().backward()
    ((ta * tb + ta / tb - torch.maximum(ta, tb)) ** 2).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_incompatible_shapes_name_op_and_shapes():
    a, b = dc.ones(3), dc.ones(4)
    for op, name in [(lambda: a + b, "add"), (lambda: a - b, "sub"), (lambda: a * b, "mul"), (lambda: a / b, "div"),
                     (lambda: dc.maximum(a, b), "maximum"), (lambda: dc.minimum(a, b), "minimum"),
                     (lambda: a ** b, "pow")]:
        with pytest.raises(ValueError, match=rf"{name}.*\(3,\).*\(4,\)"):
            op()


def test_retain_grad_accumulates_across_backward_calls():
    """As in PyTorch, a retained non-leaf gradient accumulates like a leaf's."""
    x = leaf([1.0, 2.0])
    y = x * 2
    y.retain_grad()
    z = (y * y).sum()
    z.backward(retain_graph=True)
    z.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [16.0, 32.0])
    np.testing.assert_array_equal(y.grad.numpy(), [8.0, 16.0])


def test_setitem_on_saved_tensor_then_backward_raises():
    a = leaf([1.0, 2.0])
    b = dc.tensor([3.0, 4.0], dtype="float64")
    y = (a * b).sum()
    b[0] = 5.0
    with pytest.raises(RuntimeError, match="in-place"):
        y.backward()


def test_backward_on_a_leaf_and_a_clone():
    x = leaf(3.0)
    x.backward()
    assert x.grad.item() == 1.0
    y = leaf([1.0, 2.0])
    c = y.clone()
    assert not c.is_leaf and c.data is not y.data
    (c * c).sum().backward()
    np.testing.assert_array_equal(y.grad.numpy(), [2.0, 4.0])


def test_transforms_work_inside_no_grad():
    x = dc.tensor([1.0, 2.0], dtype="float64")
    with dc.no_grad():
        g = dc.grad(lambda t: (t ** 3).sum())(x)
        H = dc.hessian(lambda t: (t ** 3).sum())(x)
    np.testing.assert_array_equal(g.numpy(), [3.0, 12.0])
    np.testing.assert_array_equal(H.numpy(), [[6.0, 0.0], [0.0, 12.0]])
    assert dc.is_grad_enabled()


def test_reverse_over_forward_with_leaves_that_require_grad():
    a = leaf([1.0, 2.0])
    _, t = dc.jvp(lambda u: (u ** 3).sum(), (a,), (dc.ones(2, dtype="float64"),))
    t.backward()
    np.testing.assert_array_equal(a.grad.numpy(), [6.0, 12.0])


def test_grad_mode_is_per_thread():
    """As in PyTorch, ``no_grad`` in one thread does not stop recording in another."""
    import threading

    entered, release = threading.Event(), threading.Event()
    inside = []

    def other():
        with dc.no_grad():
            entered.set()
            release.wait(10)
            inside.append(dc.is_grad_enabled())

    t = threading.Thread(target=other)
    t.start()
    entered.wait(10)
    try:
        x = leaf([1.0])
        y = x * 2
        with dc.enable_grad():
            pass
    finally:
        release.set()
        t.join()
    assert y.requires_grad
    assert inside == [False]


def test_backward_with_create_graph_keeps_the_graph_by_default():
    # As torch: retain_graph defaults to create_graph, so the graph survives for a second pass.
    x = dc.tensor([1.0, 2.0], dtype=dc.float64, requires_grad=True)
    y = (x ** 3).sum()
    y.backward(create_graph=True)
    g = x.grad
    np.testing.assert_allclose(g.numpy(), [3.0, 12.0])
    y.backward(retain_graph=False)  # would raise if the first backward had freed the graph
    np.testing.assert_allclose(x.grad.numpy(), [6.0, 24.0])
