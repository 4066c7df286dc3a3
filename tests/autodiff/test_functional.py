"""Function transformations (grad, value_and_grad, vjp, jvp, jacobian, hessian, hvp), custom
Functions, gradcheck itself, detect_anomaly, dtype rules, factories and error messages."""

import math

import numpy as np
import pytest

import descend as dc


def f64(values, requires_grad=False):
    return dc.tensor(values, dtype="float64", requires_grad=requires_grad)


def scalar_f(x):
    """f(x) = Σ sin(xᵢ)·xᵢ² + (Σ xᵢ)³/10  (a scalar with a dense Hessian)."""
    return (x.sin() * x * x).sum() + x.sum() ** 3 / 10


def vector_f(x):
    """R³ → R²: (x₀x₁, exp(x₂) + x₀²)."""
    return dc.stack([x[0] * x[1], x[2].exp() + x[0] ** 2])


X = np.array([0.3, -1.1, 0.7])


# --------------------------------------------------------------------------- grad, value_and_grad, vjp, jvp
def test_grad_and_value_and_grad():
    x = f64(X)
    g = dc.grad(scalar_f)(x)
    expected = np.cos(X) * X ** 2 + 2 * X * np.sin(X) + 3 * X.sum() ** 2 / 10
    np.testing.assert_allclose(g.numpy(), expected, rtol=1e-12)
    v, g2 = dc.value_and_grad(scalar_f)(x)
    assert v.item() == pytest.approx(float((np.sin(X) * X ** 2).sum() + X.sum() ** 3 / 10), rel=1e-12)
    np.testing.assert_allclose(g2.numpy(), expected, rtol=1e-12)
    assert not v.requires_grad and not g.requires_grad
    assert x.grad is None  # transformations never touch .grad


def test_grad_argnums():
    def f(a, b, c):
        return (a * b * c).sum()

    a, b, c = f64([1.0, 2.0]), f64([3.0, 4.0]), f64([5.0, 6.0])
    np.testing.assert_array_equal(dc.grad(f, argnums=1)(a, b, c).numpy(), [5.0, 12.0])
    ga, gc = dc.grad(f, argnums=(0, 2))(a, b, c)
    np.testing.assert_array_equal(ga.numpy(), [15.0, 24.0])
    np.testing.assert_array_equal(gc.numpy(), [3.0, 8.0])
    np.testing.assert_array_equal(dc.grad(f, argnums=-1)(a, b, c).numpy(), [3.0, 8.0])
    with pytest.raises(ValueError, match="argnums"):
        dc.grad(f, argnums=3)(a, b, c)


def test_grad_of_non_scalar_raises():
    with pytest.raises(ValueError, match="scalar"):
        dc.grad(lambda x: x * 2)(f64([1.0, 2.0]))


def test_grad_of_unused_argument_is_zero():
    g = dc.grad(lambda x, y: (x * 2).sum(), argnums=1)(f64([1.0]), f64([3.0, 4.0]))
    np.testing.assert_array_equal(g.numpy(), [0.0, 0.0])


def test_vjp_returns_tuple():
    x, y = f64([1.0, 2.0]), f64([3.0, -1.0])
    out, vjp_fn = dc.vjp(lambda a, b: a * b + a.exp(), x, y)
    np.testing.assert_allclose(out.numpy(), [3.0 + math.e, -2.0 + math.exp(2.0)])
    gx, gy = vjp_fn(f64([1.0, 10.0]))
    np.testing.assert_allclose(gx.numpy(), [3.0 + math.e, 10 * (-1.0 + math.exp(2.0))])
    np.testing.assert_allclose(gy.numpy(), [1.0, 20.0])
    (again,) = vjp_fn(f64([0.0, 1.0]))[1:]  # vjp_fn can be called several times
    np.testing.assert_allclose(again.numpy(), [0.0, 2.0])
    with pytest.raises(ValueError, match="shape"):
        vjp_fn(f64([1.0, 2.0, 3.0]))


def test_jvp_single_and_several_outputs():
    x = f64(X)
    v = f64([1.0, 0.5, -2.0])
    out, t = dc.jvp(vector_f, (x,), (v,))
    J = np.array([[X[1], X[0], 0.0], [2 * X[0], 0.0, np.exp(X[2])]])
    np.testing.assert_allclose(t.numpy(), J @ v.numpy(), rtol=1e-12)
    outs, ts = dc.jvp(lambda a: (a.sin(), a.sum()), x, v)
    np.testing.assert_allclose(ts[0].numpy(), np.cos(X) * v.numpy(), rtol=1e-12)
    assert ts[1].item() == pytest.approx(float(v.numpy().sum()))
    with pytest.raises(ValueError, match="shape"):
        dc.jvp(vector_f, (x,), (f64([1.0, 2.0]),))


def test_jvp_of_constant_output_is_zero():
    _, t = dc.jvp(lambda a: dc.ones(2, dtype="float64"), (f64([1.0]),), (f64([1.0]),))
    np.testing.assert_array_equal(t.numpy(), [0.0, 0.0])


# --------------------------------------------------------------------------- jacobian, hessian, hvp
@pytest.mark.parametrize("f,x", [(vector_f, X), (lambda x: x.softmax(dim=-1), X), (lambda x: (x @ x.T).tanh(),
                                                                                 np.arange(6.0).reshape(2, 3) / 5)])
def test_jacobian_modes_agree_and_match_torch(f, x):
    xt = f64(x)
    Jr = dc.jacobian(f, mode="reverse")(xt)
    Jf = dc.jacobian(f, mode="forward")(xt)
    Ja = dc.jacobian(f)(xt)
    assert Jr.shape == f(xt).shape + xt.shape
    np.testing.assert_allclose(Jr.numpy(), Jf.numpy(), rtol=1e-12, atol=1e-14)
    np.testing.assert_allclose(Ja.numpy(), Jf.numpy(), rtol=1e-12, atol=1e-14)
    torch = pytest.importorskip("torch")
    tf = {vector_f: lambda t: torch.stack([t[0] * t[1], t[2].exp() + t[0] ** 2])}.get(f)
    if tf is None:
        tf = (lambda t: t.softmax(dim=-1)) if x.ndim == 1 else (lambda t: (t @ t.T).tanh())
    Jt = torch.autograd.functional.jacobian(tf, torch.tensor(x))
    np.testing.assert_allclose(Jr.numpy(), Jt.numpy(), rtol=1e-12, atol=1e-14)


def test_jacobian_argnums_and_bad_mode():
    J = dc.jacobian(lambda a, b: a * b, argnums=1)(f64([1.0, 2.0]), f64([3.0, 4.0]))
    np.testing.assert_array_equal(J.numpy(), [[1.0, 0.0], [0.0, 2.0]])
    with pytest.raises(ValueError, match="mode"):
        dc.jacobian(vector_f, mode="sideways")


def test_hessian_matches_torch_and_closed_form():
    x = f64(X)
    H = dc.hessian(scalar_f)(x)
    s = X.sum()
    expected = np.diag(-np.sin(X) * X ** 2 + 4 * X * np.cos(X) + 2 * np.sin(X)) + 6 * s / 10
    np.testing.assert_allclose(H.numpy(), expected, rtol=1e-12)
    torch = pytest.importorskip("torch")
    Ht = torch.autograd.functional.hessian(lambda t: (t.sin() * t * t).sum() + t.sum() ** 3 / 10, torch.tensor(X))
    np.testing.assert_allclose(H.numpy(), Ht.numpy(), rtol=1e-12)


def test_hessian_of_matrix_input():
    W = np.array([[0.2, -0.4], [1.0, 0.3]])
    H = dc.hessian(lambda w: (w @ w).tanh().sum())(f64(W))
    assert H.shape == (2, 2, 2, 2)
    torch = pytest.importorskip("torch")
    Ht = torch.autograd.functional.hessian(lambda w: (w @ w).tanh().sum(), torch.tensor(W))
    np.testing.assert_allclose(H.numpy(), Ht.numpy(), rtol=1e-10, atol=1e-14)


def test_hvp_matches_hessian_and_torch():
    x, v = f64(X), f64([0.5, -1.0, 2.0])
    value, hv = dc.hvp(scalar_f, x, v)
    assert value.item() == pytest.approx(scalar_f(x).item())
    H = dc.hessian(scalar_f)(x).numpy()
    np.testing.assert_allclose(hv.numpy(), H @ v.numpy(), rtol=1e-12)
    torch = pytest.importorskip("torch")
    _, thv = torch.autograd.functional.hvp(lambda t: (t.sin() * t * t).sum() + t.sum() ** 3 / 10,
                                           torch.tensor(X), torch.tensor(v.numpy()))
    np.testing.assert_allclose(hv.numpy(), thv.numpy(), rtol=1e-12)


def test_hvp_with_several_arguments():
    def f(w, b):
        return ((w * b).tanh() ** 2).sum() + (w ** 3).sum()

    w, b = f64([0.4, -0.2]), f64([1.5, 0.7])
    vw, vb = f64([1.0, 0.0]), f64([0.0, 2.0])
    _, (hw, hb) = dc.hvp(f, (w, b), (vw, vb))
    # closed form: g(u) = tanh²u at u = w·b, g' = 2 tanh u sech²u, g'' = 2 sech⁴u − 4 tanh²u sech²u
    W, B, VW, VB = w.numpy(), b.numpy(), vw.numpy(), vb.numpy()
    t, s2 = np.tanh(W * B), 1 / np.cosh(W * B) ** 2
    g1, g2 = 2 * t * s2, 2 * s2 ** 2 - 4 * t ** 2 * s2
    np.testing.assert_allclose(hw.numpy(), (g2 * B * B + 6 * W) * VW + (g2 * W * B + g1) * VB, rtol=1e-12)
    np.testing.assert_allclose(hb.numpy(), (g2 * W * B + g1) * VW + g2 * W * W * VB, rtol=1e-12)
    torch = pytest.importorskip("torch")
    tf = lambda w, b: ((w * b).tanh() ** 2).sum() + (w ** 3).sum()  # noqa: E731
    _, (tw, tb) = torch.autograd.functional.hvp(tf, (torch.tensor(w.numpy()), torch.tensor(b.numpy())),
                                                (torch.tensor(vw.numpy()), torch.tensor(vb.numpy())))
    np.testing.assert_allclose(hw.numpy(), tw.numpy(), rtol=1e-12)
    np.testing.assert_allclose(hb.numpy(), tb.numpy(), rtol=1e-12)


def test_grad_of_grad_and_third_derivative():
    x = f64(0.7)
    d1 = dc.grad(lambda t: t.sin() * t)
    d2 = dc.grad(d1)
    d3 = dc.grad(d2)
    assert d1(x).item() == pytest.approx(math.cos(0.7) * 0.7 + math.sin(0.7), rel=1e-12)
    assert d2(x).item() == pytest.approx(-math.sin(0.7) * 0.7 + 2 * math.cos(0.7), rel=1e-12)
    assert d3(x).item() == pytest.approx(-math.cos(0.7) * 0.7 - 3 * math.sin(0.7), rel=1e-12)


def test_jacobian_of_grad_is_hessian():
    x = f64(X)
    np.testing.assert_allclose(dc.jacobian(dc.grad(scalar_f))(x).numpy(), dc.hessian(scalar_f)(x).numpy(), rtol=1e-12)


def test_double_backward_through_backward_create_graph():
    x = f64([1.0, 2.0], requires_grad=True)
    y = (x ** 4).sum()
    (g,) = dc.autograd_grad(y, [x], create_graph=True)
    (h,) = dc.autograd_grad(g.sum(), [x])
    np.testing.assert_allclose(h.numpy(), 12 * np.array([1.0, 4.0]))


# --------------------------------------------------------------------------- custom Functions
class Cube(dc.Function):
    """y = x³ with backward and jvp written in Tensor operations."""

    def forward(self, x):
        return x ** 3

    def backward(self, gy):
        (x,) = self.inputs
        return (gy * 3 * x ** 2,)

    def jvp(self, tx):
        (x,) = self.inputs
        return tx * 3 * x ** 2


class ScaledExp(dc.Function):
    """y = exp(scale · a) · b, reading its output in backward; ``scale`` is a keyword option."""

    saves_output = True

    def forward(self, a, b, scale=1.0):
        self.scale = scale
        return np.exp(scale * a) * b

    def backward(self, gy):
        a, b = self.inputs
        y = self.output()
        return gy * y * self.scale, gy * (a * self.scale).exp()

    def jvp(self, ta, tb):
        a, b = self.inputs
        out = None
        if ta is not None:
            out = ta * self.output() * self.scale
        if tb is not None:
            part = tb * (a * self.scale).exp()
            out = part if out is None else out + part
        return out


class WrongBackward(Cube):
    def backward(self, gy):
        (x,) = self.inputs
        return (gy * 2 * x ** 2,)


class WrongJvp(Cube):
    def jvp(self, tx):
        (x,) = self.inputs
        return tx * x


class NoJvp(dc.Function):
    def forward(self, x):
        return 2 * x

    def backward(self, gy):
        return (gy * 2,)


def test_custom_function_forward_backward_jvp():
    x = f64([1.0, -2.0], requires_grad=True)
    y = Cube.apply(x)
    np.testing.assert_array_equal(y.numpy(), [1.0, -8.0])
    assert isinstance(y.grad_fn, Cube)
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 12.0])
    _, t = dc.jvp(Cube.apply, (f64([2.0]),), (f64([1.0]),))
    assert t.item() == 12.0
    assert dc.gradcheck(Cube.apply, (f64([0.5, -1.5]),))
    assert dc.gradgradcheck(Cube.apply, (f64([0.5, -1.5]),))
    assert dc.hessian(lambda t: Cube.apply(t).sum())(f64([2.0])).item() == pytest.approx(12.0)


def test_custom_function_with_options_and_saved_output():
    a, b = f64([0.1, 0.4]), f64([2.0, -1.0])
    y = ScaledExp.apply(a, b, scale=3.0)
    np.testing.assert_allclose(y.numpy(), np.exp(3 * a.numpy()) * b.numpy())
    f = lambda a, b: ScaledExp.apply(a, b, scale=3.0)  # noqa: E731
    assert dc.gradcheck(f, (a, b))
    assert dc.gradgradcheck(f, (a, b))


def test_custom_function_without_jvp_fails_in_forward_mode_only():
    x = f64([1.0], requires_grad=True)
    NoJvp.apply(x).sum().backward()
    assert x.grad.item() == 2.0
    with pytest.raises(RuntimeError, match="jvp"):
        dc.jvp(NoJvp.apply, (f64([1.0]),), (f64([1.0]),))


def test_custom_function_apply_rejects_non_tensors():
    with pytest.raises(TypeError, match="Tensors"):
        Cube.apply(np.array([1.0]))


# --------------------------------------------------------------------------- gradcheck itself
def test_gradcheck_reports_wrong_backward():
    x = f64([0.5, -1.5])
    with pytest.raises(dc.GradcheckError) as info:
        dc.gradcheck(WrongBackward.apply, (x,))
    msg = str(info.value)
    assert "reverse-mode" in msg and "analytical" in msg and "numerical" in msg and "direction" in msg
    assert "0.5" in msg and "-1.5" in msg  # the input is printed
    assert dc.gradcheck(WrongBackward.apply, (x,), raise_exception=False) is False
    assert dc.gradcheck(WrongBackward.apply, (x,), check_reverse=False)


def test_gradcheck_reports_wrong_jvp():
    x = f64([0.5, -1.5])
    with pytest.raises(dc.GradcheckError, match="forward-mode"):
        dc.gradcheck(WrongJvp.apply, (x,))
    assert dc.gradcheck(WrongJvp.apply, (x,), check_forward=False)


def test_gradgradcheck_reports_wrong_second_derivative():
    class WrongSecond(dc.Function):
        """y = x³ whose backward uses a constant (detached) 3x², so second derivatives are 0."""

        def forward(self, x):
            return x ** 3

        def backward(self, gy):
            return (gy * dc.tensor(3 * self.inputs[0].numpy() ** 2, dtype="float64"),)

        def jvp(self, tx):
            return tx * dc.tensor(3 * self.inputs[0].numpy() ** 2, dtype="float64")

    x = f64([0.5, -1.5])
    assert dc.gradcheck(WrongSecond.apply, (x,))
    with pytest.raises(dc.GradcheckError):
        dc.gradgradcheck(WrongSecond.apply, (x,))


def test_gradcheck_needs_float64_and_random_directions_for_big_inputs():
    with pytest.raises(TypeError, match="float64"):
        dc.gradcheck(Cube.apply, (dc.tensor([1.0]),))
    big = f64(np.random.default_rng(0).uniform(0.5, 1.5, (10, 10)))
    assert dc.gradcheck(lambda t: (t @ t).log(), (big,))
    with pytest.raises(dc.GradcheckError):
        dc.gradcheck(lambda t: WrongBackward.apply(t).sum(), (big,))


# --------------------------------------------------------------------------- detect_anomaly
def test_detect_anomaly_in_forward_names_the_primitive_and_line():
    x = f64([-1.0, 2.0], requires_grad=True)
    with pytest.raises(FloatingPointError, match="Log") as info:
        with dc.detect_anomaly(), np.errstate(invalid="ignore"):
            x.log()
    assert "test_functional.py" in str(info.value)
    with np.errstate(invalid="ignore"):
        y = x.log()  # outside the context: no check
    assert np.isnan(y.numpy()[0])


def test_detect_anomaly_in_backward_names_the_primitive():
    x = f64([0.0, 2.0], requires_grad=True)
    with pytest.raises(FloatingPointError, match=r"Sqrt\.backward"):
        with dc.detect_anomaly(), np.errstate(divide="ignore", invalid="ignore"):
            y = x.sqrt().sum()
            y.backward()


def test_detect_anomaly_passes_clean_computation_and_decorates():
    @dc.detect_anomaly()
    def run(x):
        y = (x.exp() * 2).sum()
        y.backward()
        return y

    x = f64([0.0, 1.0], requires_grad=True)
    assert run(x).item() == pytest.approx(2 * (1 + math.e))
    np.testing.assert_allclose(x.grad.numpy(), 2 * np.exp([0.0, 1.0]))


# --------------------------------------------------------------------------- dtype rules
def test_default_dtype_float32_and_conversions():
    assert dc.get_default_dtype() == dc.float32
    assert dc.tensor([1.0, 2.0]).dtype == np.float32
    assert dc.tensor(np.zeros(3)).dtype == np.float32  # float64 NumPy data takes the default dtype
    assert dc.tensor(np.zeros(3), dtype="float64").dtype == np.float64
    assert dc.tensor(np.zeros(3), dtype=np.float64).dtype == np.float64
    assert dc.tensor(np.zeros(3), dtype=dc.float64).dtype == np.float64
    assert dc.from_numpy(np.zeros(3)).dtype == np.float64  # from_numpy keeps the dtype
    assert dc.tensor([1, 2]).dtype == np.int64
    assert dc.tensor(np.array([1, 2], dtype=np.int32)).dtype == np.int64
    assert dc.tensor([True, False]).dtype == np.bool_
    x = dc.tensor([1.0, 2.0])
    assert (x * 2.5).dtype == np.float32 and (2 * x).dtype == np.float32
    assert (x + np.float64(1.0)).dtype == np.float32
    assert (dc.tensor([1, 2]) * x).dtype == np.float32
    assert (dc.tensor([1, 2]) + 1).dtype == np.int64
    assert (dc.tensor([1, 2]) / 2).dtype == np.float32


def test_mixing_float32_and_float64_raises_naming_both():
    a, b = dc.ones(2), dc.ones(2, dtype="float64")
    for op in (lambda: a + b, lambda: a * b, lambda: b - a, lambda: a / b, lambda: a @ b, lambda: dc.maximum(a, b),
               lambda: dc.where(a > 0, a, b), lambda: dc.cat([a, b])):
        with pytest.raises(TypeError, match=r"float32.*float64|float64.*float32"):
            op()


def test_set_default_dtype():
    try:
        dc.set_default_dtype(dc.float64)
        assert dc.get_default_dtype() == np.float64
        assert dc.tensor([1.0]).dtype == np.float64
        assert dc.randn(2).dtype == np.float64 and dc.zeros(2).dtype == np.float64
        assert dc.arange(0.0, 1.0, 0.5).dtype == np.float64
        dc.set_default_dtype("float32")
        assert dc.tensor([1.0]).dtype == np.float32
        with pytest.raises(TypeError, match="int64"):
            dc.set_default_dtype("int64")
        with pytest.raises(TypeError, match="dtype"):
            dc.set_default_dtype(object())
    finally:
        dc.set_default_dtype(dc.float32)


def test_comparisons_are_bool_without_grad():
    x = dc.tensor([1.0, -1.0], requires_grad=True)
    for r in (x > 0, x < 0, x >= 1, x <= 1, x == 1, x != 1):
        assert r.dtype == np.bool_ and not r.requires_grad
    np.testing.assert_array_equal((x > 0).numpy(), [True, False])


# --------------------------------------------------------------------------- factories
@pytest.mark.parametrize("make,shape,value", [
    (lambda **k: dc.zeros(2, 3, **k), (2, 3), 0.0),
    (lambda **k: dc.zeros((2, 3), **k), (2, 3), 0.0),
    (lambda **k: dc.ones(4, **k), (4,), 1.0),
    (lambda **k: dc.full((2, 2), 7.5, **k), (2, 2), 7.5),
    (lambda **k: dc.eye(3, **k), (3, 3), None),
    (lambda **k: dc.rand(3, 2, **k), (3, 2), None),
    (lambda **k: dc.randn(5, **k), (5,), None),
    (lambda **k: dc.arange(0.0, 2.0, 0.5, **k), (4,), None),
])
@pytest.mark.parametrize("dtype", [None, "float64", dc.float32])
def test_factories(make, shape, value, dtype):
    t = make(dtype=dtype, requires_grad=True)
    assert t.shape == shape and t.requires_grad and t.is_leaf
    assert t.dtype == (np.float32 if dtype is None else np.dtype(dtype))
    if value is not None:
        np.testing.assert_array_equal(t.numpy(), np.full(shape, value))


def test_factory_values():
    np.testing.assert_array_equal(dc.eye(3).numpy(), np.eye(3))
    np.testing.assert_array_equal(dc.eye(2, 3).numpy(), np.eye(2, 3))
    np.testing.assert_array_equal(dc.arange(5).numpy(), np.arange(5))
    assert dc.arange(5).dtype == np.int64 and dc.arange(1, 7, 2).numpy().tolist() == [1, 3, 5]
    np.testing.assert_allclose(dc.arange(0.0, 1.0, 0.25).numpy(), [0.0, 0.25, 0.5, 0.75])
    assert dc.full((2,), 3).dtype == np.int64
    u = dc.rand(1000).numpy()
    assert 0.0 <= u.min() and u.max() < 1.0 and abs(u.mean() - 0.5) < 0.05
    z = dc.randn(4000, dtype="float64").numpy()
    assert abs(z.mean()) < 0.1 and abs(z.std() - 1) < 0.1
    x = dc.tensor([[1.0, 2.0]], dtype="float64")
    assert dc.zeros_like(x).dtype == np.float64 and dc.ones_like(x).numpy().tolist() == [[1.0, 1.0]]
    with pytest.raises(TypeError):
        dc.zeros(2, dtype="int64", requires_grad=True)
    with pytest.raises(ValueError, match="size"):
        dc.zeros(-1)


def test_manual_seed_reproduces_every_random_factory():
    def draw():
        return [dc.rand(3).numpy(), dc.randn(2, 2).numpy(), dc.randint(0, 10, (4,)).numpy(), dc.randperm(5).numpy()]

    dc.manual_seed(1234)
    first = draw()
    dc.manual_seed(1234)
    second = draw()
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a, b)
    dc.manual_seed(1235)
    assert not np.array_equal(dc.rand(3).numpy(), first[0])
    dc.manual_seed(7)
    state = dc.get_rng_state()
    a = dc.randn(3).numpy()
    dc.set_rng_state(state)
    np.testing.assert_array_equal(dc.randn(3).numpy(), a)


# --------------------------------------------------------------------------- error messages
@pytest.mark.parametrize("op,pattern", [
    (lambda: dc.ones(2, 3) @ dc.ones(4, 3), r"matmul.*\(2, 3\).*\(4, 3\)"),
    (lambda: dc.ones(3) @ dc.ones(4), r"matmul.*\(3,\).*\(4,\)"),
    (lambda: dc.ones(2, 3) + dc.ones(2, 4), r"add.*\(2, 3\).*\(2, 4\)"),
    (lambda: dc.ones(2, 3) * dc.ones(3, 2), r"mul.*\(2, 3\).*\(3, 2\)"),
    (lambda: dc.where(dc.ones(3) > 0, dc.ones(3), dc.ones(2)), r"where.*\(3,\).*\(2,\)"),
    (lambda: dc.cat([dc.ones(2, 3), dc.ones(2, 4)], dim=0), r"cat.*\(2, 3\).*\(2, 4\)"),
    (lambda: dc.stack([dc.ones(2), dc.ones(3)]), r"stack.*\(2,\).*\(3,\)"),
    (lambda: dc.ones(2, 3).reshape(4, 2), r"reshape.*\(2, 3\).*\(4, 2\)"),
    (lambda: dc.ones(2, 3).expand(4, 3), r"\(2, 3\).*\(4, 3\)"),
])
def test_shape_mismatch_errors_name_both_shapes_and_the_op(op, pattern):
    with pytest.raises(ValueError, match=pattern):
        op()


def test_item_and_bool_errors():
    with pytest.raises(ValueError, match="one element"):
        dc.ones(2).item()
    with pytest.raises(ValueError, match="ambiguous"):
        bool(dc.ones(2))
    assert dc.ones(1).item() == 1.0


# --------------------------------------------------------------------------- more transform compositions
def test_autograd_grad_several_outputs_and_intermediate_inputs_match_torch():
    x = f64([1.0, 2.0], requires_grad=True)
    h = x.sin()
    y1 = (h * h).sum()
    y2 = h.exp().sum() * y1
    g = dc.autograd_grad([y1, y2], [x, h], [f64(2.0), f64(-1.0)])
    # closed form: ∂(2 y1 − y2)/∂h = 4h − (eʰ y1 + 2h Σ eʰ), and ∂/∂x = that · cos x
    hn = np.sin([1.0, 2.0])
    gh = 4 * hn - (np.exp(hn) * (hn * hn).sum() + 2 * hn * np.exp(hn).sum())
    np.testing.assert_allclose(g[1].numpy(), gh, rtol=1e-12)
    np.testing.assert_allclose(g[0].numpy(), gh * np.cos([1.0, 2.0]), rtol=1e-12)
    torch = pytest.importorskip("torch")
    t = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    th = t.sin()
    ty1 = (th * th).sum()
    ty2 = th.exp().sum() * ty1
    tg = torch.autograd.grad([ty1, ty2], [t, th], [torch.tensor(2.0, dtype=torch.float64),
                                                  torch.tensor(-1.0, dtype=torch.float64)])
    for a, b in zip(g, tg):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)
    assert x.grad is None


def test_gradcheck_passes_integer_inputs_as_constants():
    idx = dc.tensor([0, 0, 1])
    assert dc.gradcheck(lambda a, i: a[i] * a[i], (f64([1.0, 2.0]), idx))
    assert dc.gradgradcheck(lambda a, i: a[i] * a[i], (f64([1.0, 2.0]), idx))


def test_nested_jvp_raises_and_hvp_needs_scalar():
    x = f64([1.0, 2.0])
    with pytest.raises(RuntimeError, match="nested"):
        dc.jvp(lambda a: dc.jvp(lambda b: b * 2, (a,), (a,))[1], (x,), (x,))
    with pytest.raises(ValueError, match="scalar"):
        dc.hvp(lambda a: a * 2, x, x)


def test_hessian_argnums_and_jacobian_of_scalar():
    H = dc.hessian(lambda a, b: (a * b * b).sum(), argnums=1)(f64([1.0, 2.0]), f64([3.0, 4.0]))
    np.testing.assert_array_equal(H.numpy(), [[2.0, 0.0], [0.0, 4.0]])
    J = dc.jacobian(lambda a: (a * a).sum())(f64([1.0, 2.0]))
    assert J.shape == (2,)
    np.testing.assert_array_equal(J.numpy(), [2.0, 4.0])


def test_float32_transforms_keep_float32():
    x = dc.tensor([0.5, -0.25])
    v = dc.tensor([1.0, 2.0])
    assert dc.grad(scalar_f)(x).dtype == np.float32
    assert dc.hessian(scalar_f)(x).dtype == np.float32
    value, hv = dc.hvp(scalar_f, x, v)
    assert value.dtype == np.float32 and hv.dtype == np.float32
    H64 = dc.hessian(scalar_f)(f64([0.5, -0.25])).numpy()
    np.testing.assert_allclose(hv.numpy(), H64 @ np.array([1.0, 2.0]), rtol=1e-5)


def test_graph_is_freed_after_backward_unless_retained():
    import gc
    import weakref

    x = f64(np.ones(1000), requires_grad=True)
    h = x * 2
    y = h.sin()
    z = y.sum()
    ref = weakref.ref(h)
    del h, y
    gc.collect()
    assert ref() is not None  # the graph keeps h (Sin reads it)
    z.backward(retain_graph=True)
    gc.collect()
    assert ref() is not None
    z.backward()
    gc.collect()
    assert ref() is None
    np.testing.assert_allclose(x.grad.numpy(), 2 * 2 * np.cos(2.0) * np.ones(1000))


INT_OPS = {
    "pow_half": lambda x, m: x ** 0.5, "pow_2": lambda x, m: x ** 2, "rpow_float": lambda x, m: 2.0 ** x,
    "rpow_int": lambda x, m: 2 ** x, "div_int": lambda x, m: x / 2, "div_self": lambda x, m: x / x,
    "mul_float": lambda x, m: x * 1.5, "rsub_float": lambda x, m: 1.5 - x, "add_float": lambda x, m: x + 0.5,
    "exp": lambda x, m: x.exp(), "sqrt": lambda x, m: x.sqrt(), "log": lambda x, m: x.log(),
    "tanh": lambda x, m: x.tanh(), "sigmoid": lambda x, m: x.sigmoid(), "relu": lambda x, m: x.relu(),
    "abs": lambda x, m: x.abs(), "neg": lambda x, m: -x, "sum": lambda x, m: x.sum(), "max": lambda x, m: x.max(),
    "amax": lambda x, m: x.amax(), "clamp": lambda x, m: x.clamp(0, 2), "maximum": lambda x, m: m.maximum(x, x),
    "matmul": lambda x, m: x @ x, "where": lambda x, m: m.where(x > 1, x, 0), "lt": lambda x, m: x < 1.5,
    "pow_tensor": lambda x, m: x ** x, "argmax": lambda x, m: x.argmax(),
}


@pytest.mark.parametrize("name", sorted(INT_OPS))
def test_integer_tensor_result_dtypes_match_torch(name):
    torch = pytest.importorskip("torch")
    f = INT_OPS[name]
    d = f(dc.tensor([1, 2, 3]), dc)
    t = f(torch.tensor([1, 2, 3]), torch)
    assert str(d.dtype) == str(t.dtype).replace("torch.", "")
    np.testing.assert_allclose(d.numpy(), t.numpy(), rtol=1e-6)
    assert not d.requires_grad


@pytest.mark.parametrize("op,name", [
    (lambda x: x.squeeze(5), "squeeze"), (lambda x: x.transpose(5, 0), "transpose"),
    (lambda x: dc.cat([x, x], dim=2), "cat"), (lambda x: x.flatten(3), "flatten"),
    (lambda x: x.unsqueeze(4), "unsqueeze"), (lambda x: x.softmax(dim=3), "softmax"), (lambda x: x.sum(dim=2), "sum"),
    (lambda x: x.amax(dim=-3), "amax"), (lambda x: x.max(dim=2), "max"),
    (lambda x: x.logsumexp(dim=(0, 2)), "logsumexp"),
])
def test_dim_out_of_range_names_the_op_and_dim(op, name):
    with pytest.raises(IndexError, match=rf"{name}.*dim=-?\d.*[23] dimensions"):
        op(dc.ones(2, 1))


def test_more_factories():
    np.testing.assert_allclose(dc.linspace(0, 1, 5).numpy(), [0.0, 0.25, 0.5, 0.75, 1.0])
    assert dc.linspace(0, 1, 5).dtype == np.float32
    assert dc.empty(2, 3).shape == (2, 3) and dc.empty(2, dtype="float64").dtype == np.float64
    assert dc.full_like(dc.ones(2), 3.0).numpy().tolist() == [3.0, 3.0]
    assert dc.full(3, 1.5).shape == (3,) and dc.full([2, 1], 1.5).shape == (2, 1)
    assert dc.zeros(()).shape == () and dc.ones([2, 3]).shape == (2, 3)
    r = dc.randint(10, size=(50,))
    assert r.dtype == np.int64 and r.shape == (50,) and 0 <= r.numpy().min() and r.numpy().max() < 10
    assert dc.randint(3, 5, (2, 2)).numpy().min() >= 3 and dc.randint(5).shape == ()
    p = dc.randperm(6)
    assert sorted(p.numpy().tolist()) == list(range(6)) and p.dtype == np.int64
    with pytest.raises(ValueError, match="2.5"):
        dc.randn(2.5)
    with pytest.raises(TypeError, match="dtype"):
        dc.zeros(2, dtype=object())
