"""Layers against finite differences (gradcheck, gradgradcheck) and closed forms, and against PyTorch
(float64) where installed. (The convolution's and the pools' values against plain NumPy loops are
in the primitive registry, tests/autodiff/registry.py.)"""

import numpy as np
import pytest

import descend as dc
import descend.nn as nn
import descend.nn.functional as F



def t64(a, requires_grad=False):
    torch = pytest.importorskip("torch")
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=requires_grad)


def d64(a, requires_grad=False):
    return dc.tensor(np.asarray(a, dtype=np.float64), dtype=dc.float64, requires_grad=requires_grad)


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


# --------------------------------------------------------------------------- Linear
def test_linear_forward_backward_matches_torch():
    torch = pytest.importorskip("torch")
    x, w, b = rand(5, 4), rand(3, 4, seed=1), rand(3, seed=2)
    g = rand(5, 3, seed=3)
    xd, wd, bd = d64(x, True), d64(w, True), d64(b, True)
    yd = F.linear(xd, wd, bd)
    yd.backward(d64(g))
    xt, wt, bt = t64(x, True), t64(w, True), t64(b, True)
    yt = torch.nn.functional.linear(xt, wt, bt)
    yt.backward(t64(g))
    np.testing.assert_allclose(yd.numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    for a, b_ in ((xd, xt), (wd, wt), (bd, bt)):
        np.testing.assert_allclose(a.grad.numpy(), b_.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("order", ["C", "F"])
def test_linear_input_gradient_has_the_input_s_layout(order):
    """x̄ is stored as x is (column-major for the column-major activations of wide layers), so that
    the activation's backward before it multiplies arrays of one layout; the values are x̄ = ȳ W."""
    rng = np.random.default_rng(0)
    x0 = dc.from_numpy(np.asarray(rng.standard_normal((32, 20)).astype(np.float32), order=order))
    x0.requires_grad_(True)
    x = F.relu(x0)   # an activation: keeps the layout
    seen = []
    x.register_hook(seen.append)
    w = dc.from_numpy(rng.standard_normal((3, 20)).astype(np.float32))
    g = rng.standard_normal((32, 3)).astype(np.float32)
    (F.linear(x, w) * dc.from_numpy(g)).sum().backward()
    gx = seen[0].data
    assert x.data.flags.f_contiguous == (order == "F")
    assert gx.flags.f_contiguous == (order == "F") and gx.flags.c_contiguous == (order == "C")
    np.testing.assert_allclose(gx, g @ w.data, rtol=1e-5, atol=1e-6)


def test_linear_gradcheck_and_second_order():
    x, w, b = d64(rand(4, 3)), d64(rand(2, 3, seed=1)), d64(rand(2, seed=2))
    assert dc.gradcheck(F.linear, (x, w, b))
    assert dc.gradgradcheck(lambda x, w, b: F.linear(x, w, b).tanh(), (x, w, b))
    x3 = d64(rand(2, 3, 3))
    assert dc.gradcheck(lambda x, w: F.linear(x, w), (x3, w))


@pytest.mark.parametrize("batch_shape,bias", [((6,), True), ((2, 3), True), ((5,), False)])
def test_linear_hessian_vector_product_matches_torch_double_backward(batch_shape, bias):
    # dc.hvp is forward-over-reverse: LinearFn's NumPy backward returns the gradients' tangents
    torch = pytest.importorskip("torch")
    x, y = rand(*batch_shape, 4, seed=4), rand(*batch_shape, 2, seed=5)
    shapes = [(3, 4), (3,), (2, 3), (2,)] if bias else [(3, 4), (2, 3)]
    ps = [rand(*s, seed=10 + i) for i, s in enumerate(shapes)]
    vs = [rand(*s, seed=20 + i) for i, s in enumerate(shapes)]

    def net(lib, x, *p):
        if bias:
            h = lib.linear(x, p[0], p[1]).tanh()
            return ((lib.linear(h, p[2], p[3]) - y_of(lib)) ** 2).sum()
        return ((lib.linear(lib.linear(x, p[0]).tanh(), p[1]) - y_of(lib)) ** 2).sum()

    def y_of(lib):
        return d64(y) if lib is F else t64(y)

    xd = d64(x)
    _, hv = dc.hvp(lambda *p: net(F, xd, *p), tuple(d64(p) for p in ps), tuple(d64(v) for v in vs))
    tps = [t64(p, True) for p in ps]
    gs = torch.autograd.grad(net(torch.nn.functional, t64(x), *tps), tps, create_graph=True)
    ths = torch.autograd.grad(sum((g * t64(v)).sum() for g, v in zip(gs, vs)), tps)
    for a, b in zip(hv, ths):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-10, atol=1e-12)


def test_linear_hessian_vector_product_with_a_weight_used_twice_and_through_an_op():
    # hvp skips the value of W̄ for its own leaves; a tied weight (two uses) and a weight reached
    # through another op (2·W) must still give torch's double-backward result
    torch = pytest.importorskip("torch")
    x, w, v = rand(5, 3, seed=6), rand(3, 3, seed=7), rand(3, 3, seed=8)

    def f(lib, x, w):
        h = lib.linear(x, w).tanh()
        return (lib.linear(h, w * 2) ** 2).sum() + (lib.linear(h, w) ** 3).sum()

    _, hv = dc.hvp(lambda w: f(F, d64(x), w), d64(w), d64(v))
    wt = t64(w, True)
    (g,) = torch.autograd.grad(f(torch.nn.functional, t64(x), wt), wt, create_graph=True)
    (th,) = torch.autograd.grad((g * t64(v)).sum(), wt)
    np.testing.assert_allclose(hv.numpy(), th.numpy(), rtol=1e-10, atol=1e-12)
    g_dc = dc.grad(lambda w: f(F, d64(x), w))(d64(w))  # plain gradients keep their values
    np.testing.assert_allclose(g_dc.numpy(), g.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_linear_module_init_and_width_error():
    dc.manual_seed(0)
    lin = nn.Linear(300, 200)
    bound = np.sqrt(6 / 500)
    w = lin.weight.numpy()
    assert w.shape == (200, 300) and lin.bias.shape == (200,)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert abs(w.std() - bound / np.sqrt(3)) < 0.01 * bound
    assert not lin.bias.numpy().any()
    with pytest.raises(ValueError, match="width 5.*in_features=300"):
        lin(dc.zeros(2, 5))
    assert nn.Linear(3, 2, bias=False).bias is None


def test_linear_seeded_init_repeats():
    dc.manual_seed(3)
    a = nn.Linear(4, 4).weight.numpy().copy()
    dc.manual_seed(3)
    np.testing.assert_array_equal(a, nn.Linear(4, 4).weight.numpy())


# --------------------------------------------------------------------------- BatchNorm
BATCHNORMS = [((6, 3), nn.BatchNorm1d), ((4, 3, 5), nn.BatchNorm1d), ((4, 3, 5, 2), nn.BatchNorm2d)]


@pytest.mark.parametrize("shape,cls", BATCHNORMS)
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm_running_stats_follow_the_formula(shape, cls, momentum):
    """r ← (1 − m) r + m·stat with the unbiased batch variance; momentum=None averages all batches."""
    bn = cls(3, momentum=momentum).double()
    axes = (0,) + tuple(range(2, len(shape)))
    mean, var = np.zeros(3), np.ones(3)
    batches = []
    for step in range(4):
        x = rand(*shape, seed=10 + step) * 2 + 1
        y = bn(d64(x)).numpy()
        batches.append(x)
        m = 1 / (step + 1) if momentum is None else momentum
        n = x.size // 3
        mean = (1 - m) * mean + m * x.mean(axis=axes)
        var = (1 - m) * var + m * x.var(axis=axes) * n / (n - 1)
        bshape = (1, 3) + (1,) * (len(shape) - 2)
        xhat = (x - x.mean(axis=axes).reshape(bshape)) / np.sqrt(x.var(axis=axes).reshape(bshape) + 1e-5)
        np.testing.assert_allclose(y, xhat, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(bn.running_mean.numpy(), mean, rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.numpy(), var, rtol=1e-12)
    assert bn.num_batches_tracked.shape == () and bn.num_batches_tracked.item() == 4
    bn.eval()
    x = rand(*shape, seed=99)
    bshape = (1, 3) + (1,) * (len(shape) - 2)
    np.testing.assert_allclose(bn(d64(x)).numpy(), (x - mean.reshape(bshape)) / np.sqrt(var.reshape(bshape) + 1e-5),
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("shape,cls", BATCHNORMS)
@pytest.mark.parametrize("momentum", [0.1, None])
def test_batchnorm_train_eval_running_stats_match_torch(shape, cls, momentum):
    torch = pytest.importorskip("torch")
    tcls = getattr(torch.nn, cls.__name__)
    bn = cls(3, momentum=momentum).double()
    tbn = tcls(3, momentum=momentum).double()
    with torch.no_grad():
        tbn.weight.copy_(t64(rand(3, seed=7)))
        tbn.bias.copy_(t64(rand(3, seed=8)))
    bn.weight.data[...] = rand(3, seed=7)
    bn.bias.data[...] = rand(3, seed=8)
    for step in range(4):
        x = rand(*shape, seed=10 + step) * 2 + 1
        g = rand(*shape, seed=20 + step)
        xd, xt = d64(x, True), t64(x, True)
        yd, yt = bn(xd), tbn(xt)
        yd.backward(d64(g))
        yt.backward(t64(g))
        np.testing.assert_allclose(yd.numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-10)
        np.testing.assert_allclose(xd.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(bn.weight.grad.numpy(), tbn.weight.grad.numpy(), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(bn.bias.grad.numpy(), tbn.bias.grad.numpy(), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(bn.running_mean.numpy(), tbn.running_mean.numpy(), rtol=1e-12)
    np.testing.assert_allclose(bn.running_var.numpy(), tbn.running_var.numpy(), rtol=1e-12)
    assert int(bn.num_batches_tracked.item()) == int(tbn.num_batches_tracked.item()) == 4
    bn.eval(), tbn.eval()
    x = rand(*shape, seed=99)
    np.testing.assert_allclose(bn(d64(x)).numpy(), tbn(t64(x)).detach().numpy(), rtol=1e-10, atol=1e-10)


def test_batchnorm_no_running_stats_and_no_affine():
    bn = nn.BatchNorm1d(3, affine=False, track_running_stats=False).double().eval()
    x = rand(8, 3)
    y = bn(d64(x)).numpy()
    np.testing.assert_allclose(y, (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-5), rtol=1e-10)
    assert list(bn.state_dict()) == []


def test_batchnorm_batch_of_one_raises_with_hint():
    bn = nn.BatchNorm1d(3)
    with pytest.raises(ValueError, match="drop_last"):
        bn(dc.randn(1, 3))
    bn.eval()
    assert bn(dc.randn(1, 3)).shape == (1, 3)


def test_batchnorm_gradcheck():
    x = d64(rand(5, 3, 2))
    w, b = d64(rand(3, seed=1)), d64(rand(3, seed=2))
    assert dc.gradcheck(lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), (x, w, b))
    rm, rv = d64(rand(3, seed=3)), d64(np.abs(rand(3, seed=4)) + 0.5)
    assert dc.gradcheck(lambda x, w, b: F.batch_norm(x, rm, rv, w, b, training=False), (x, w, b))


# --------------------------------------------------------------------------- Conv2d
def _conv2d_against_torch(x, w, b, **kw):
    """Output and the gradients of x, W, b of F.conv2d equal torch's (float64)."""
    torch = pytest.importorskip("torch")
    xd, wd, bd = d64(x, True), d64(w, True), d64(b, True)
    xt, wt, bt = t64(x, True), t64(w, True), t64(b, True)
    yd = F.conv2d(xd, wd, bd, **kw)
    yt = torch.nn.functional.conv2d(xt, wt, bt, **kw)
    assert yd.shape == tuple(yt.shape)
    np.testing.assert_allclose(yd.numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-10)
    g = rand(*yd.shape, seed=5)
    yd.backward(d64(g))
    yt.backward(t64(g))
    for a, c in ((xd, xt), (wd, wt), (bd, bt)):
        np.testing.assert_allclose(a.grad.numpy(), c.grad.numpy(), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("stride,padding,dilation", [(1, 0, 1), (2, 1, 1), ((1, 2), (2, 1), (2, 1)), (3, 2, 2),
                                                     (1, 1, 2), (1, 3, 1), (1, (2, 0), (1, 3))])
def test_conv2d_matches_torch(stride, padding, dilation):
    _conv2d_against_torch(rand(2, 3, 9, 8), rand(4, 3, 3, 2, seed=1), rand(4, seed=2), stride=stride,
                          padding=padding, dilation=dilation)


def test_conv2d_in_several_column_blocks_matches_torch(monkeypatch):
    # the column matrix is built a few images at a time; make every image its own block
    conv_impl = __import__("descend.nn.functional.conv", fromlist=["BLOCK_VALUES"])
    monkeypatch.setattr(conv_impl, "BLOCK_VALUES", 1)
    _conv2d_against_torch(rand(5, 3, 7, 6), rand(4, 3, 3, 3, seed=1), rand(4, seed=2), padding=1)


def test_conv2d_same_padding_and_module():
    torch = pytest.importorskip("torch")
    dc.manual_seed(0)
    conv = nn.Conv2d(2, 3, 3, padding="same").double()
    x = d64(rand(1, 2, 5, 5))
    y = conv(x)
    assert y.shape == (1, 3, 5, 5)
    yt = torch.nn.functional.conv2d(t64(x.numpy()), t64(conv.weight.numpy()), t64(conv.bias.numpy()), padding="same")
    np.testing.assert_allclose(y.numpy(), yt.numpy(), rtol=1e-10, atol=1e-12)
    bound = 1 / np.sqrt(2 * 9)
    assert np.abs(conv.weight.numpy()).max() <= bound and np.abs(conv.bias.numpy()).max() <= bound
    with pytest.raises(ValueError, match="channels"):
        conv(d64(rand(1, 3, 5, 5)))


def test_conv2d_gradcheck_and_gradgradcheck():
    x, w, b = d64(rand(1, 2, 5, 4)), d64(rand(2, 2, 2, 3, seed=1)), d64(rand(2, seed=2))
    f = lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2))
    assert dc.gradcheck(f, (x, w, b))
    assert dc.gradgradcheck(f, (x, w, b))


# --------------------------------------------------------------------------- pools
@pytest.mark.parametrize("k,s,p,d", [(2, None, 0, 1), (3, 2, 1, 1), ((2, 3), (1, 2), (1, 1), 1), (2, 1, 0, 2)])
def test_max_pool2d_matches_torch(k, s, p, d):
    torch = pytest.importorskip("torch")
    x = rand(2, 3, 7, 8)
    xd, xt = d64(x, True), t64(x, True)
    yd = F.max_pool2d(xd, k, s, p, d)
    yt = torch.nn.functional.max_pool2d(xt, k, s, p, d)
    np.testing.assert_allclose(yd.numpy(), yt.detach().numpy())
    g = rand(*yd.shape, seed=4)
    yd.backward(d64(g))
    yt.backward(t64(g))
    np.testing.assert_allclose(xd.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)
    _, idx = F.max_pool2d(d64(x), k, s, p, d, return_indices=True)
    _, tidx = torch.nn.functional.max_pool2d(t64(x), k, s, p, d, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())


@pytest.mark.parametrize("k,s,p,cip", [(2, None, 0, True), (3, 2, 1, True), (3, 2, 1, False),
                                       ((2, 3), (1, 2), (1, 1), False)])
def test_avg_pool2d_matches_torch(k, s, p, cip):
    torch = pytest.importorskip("torch")
    x = rand(2, 3, 7, 8)
    xd, xt = d64(x, True), t64(x, True)
    yd = F.avg_pool2d(xd, k, s, p, count_include_pad=cip)
    yt = torch.nn.functional.avg_pool2d(xt, k, s, p, count_include_pad=cip)
    np.testing.assert_allclose(yd.numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-12)
    g = rand(*yd.shape, seed=4)
    yd.backward(d64(g))
    yt.backward(t64(g))
    np.testing.assert_allclose(xd.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("H,W,k,s,p", [(7, 8, 2, 2, 0), (7, 7, 3, 2, 1), (6, 9, (3, 2), (2, 3), (1, 1)),
                                       (5, 5, 2, 3, 0), (8, 5, 3, 3, 1), (4, 4, 2, 2, 0),
                                       (5, 5, 3, 3, 1)])  # (the last: a window starting in the padding is dropped)
@pytest.mark.parametrize("count_include_pad", [True, False])
def test_pools_ceil_mode_match_torch(H, W, k, s, p, count_include_pad):
    torch = pytest.importorskip("torch")
    x = rand(2, 3, H, W)
    g = None
    for name, kw in (("max_pool2d", {}), ("avg_pool2d", dict(count_include_pad=count_include_pad))):
        xd, xt = d64(x, True), t64(x, True)
        yd = getattr(F, name)(xd, k, s, p, ceil_mode=True, **kw)
        yt = getattr(torch.nn.functional, name)(xt, k, s, p, ceil_mode=True, **kw)
        assert yd.shape == tuple(yt.shape), name
        np.testing.assert_allclose(yd.numpy(), yt.detach().numpy(), rtol=1e-12, atol=1e-12, err_msg=name)
        g = rand(*yd.shape, seed=7)
        yd.backward(d64(g))
        yt.backward(t64(g))
        np.testing.assert_allclose(xd.grad.numpy(), xt.grad.numpy(), rtol=1e-12, atol=1e-12, err_msg=name)
    yd, idx = F.max_pool2d(d64(x), k, s, p, ceil_mode=True, return_indices=True)
    _, tidx = torch.nn.functional.max_pool2d(t64(x), k, s, p, ceil_mode=True, return_indices=True)
    np.testing.assert_array_equal(idx.numpy(), tidx.numpy())
    assert dc.gradcheck(lambda x: F.avg_pool2d(x, k, s, p, ceil_mode=True, count_include_pad=count_include_pad),
                        (d64(x),))


def test_max_pool_ceil_mode_with_dilation_and_modules_match_torch():
    torch = pytest.importorskip("torch")
    x = rand(1, 2, 9, 10)
    yd = nn.MaxPool2d(3, 2, 1, dilation=2, ceil_mode=True)(d64(x))
    yt = torch.nn.MaxPool2d(3, 2, 1, dilation=2, ceil_mode=True)(t64(x))
    np.testing.assert_allclose(yd.numpy(), yt.numpy(), rtol=1e-12)
    yd = nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False)(d64(x))
    yt = torch.nn.AvgPool2d(3, 2, 1, ceil_mode=True, count_include_pad=False)(t64(x))
    np.testing.assert_allclose(yd.numpy(), yt.numpy(), rtol=1e-12)


def test_pools_gradcheck_and_modules():
    x = d64(rand(1, 2, 5, 6))
    assert dc.gradcheck(lambda x: F.max_pool2d(x, 3, 2, 1), (x,))
    assert dc.gradgradcheck(lambda x: F.max_pool2d(x, 2) ** 2, (x,))
    assert dc.gradcheck(lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False), (x,))
    assert dc.gradgradcheck(lambda x: F.avg_pool2d(x, 2) ** 2, (x,))
    assert nn.MaxPool2d(2)(x).shape == (1, 2, 2, 3)
    assert nn.AvgPool2d(3, stride=1, padding=1)(x).shape == (1, 2, 5, 6)


# ------------------------------------------------------------------------- Dropout, Maxout, Residual, Flatten, Identity
def test_dropout_statistics_and_eval_identity():
    dc.manual_seed(0)
    drop = nn.Dropout(0.3)
    x = dc.ones(1000, 1000)
    y = drop(x).numpy()
    kept = (y != 0).mean()
    assert abs(kept - 0.7) < 0.003  # 1e6 Bernoulli draws: sd 4.6e-4
    np.testing.assert_allclose(y[y != 0], 1 / 0.7, rtol=1e-6)
    assert abs(y.mean() - 1.0) < 0.005
    drop.eval()
    assert drop(x) is x
    xg = dc.ones(4, 5, requires_grad=True)
    drop.train()
    out = drop(xg)
    out.sum().backward()
    np.testing.assert_allclose(xg.grad.numpy(), out.numpy())
    assert not nn.Dropout(1.0)(x).numpy().any()
    with pytest.raises(ValueError, match="p=1.5"):
        nn.Dropout(1.5)


def test_dropout_seeded():
    dc.manual_seed(5)
    a = F.dropout(dc.ones(10, 10)).numpy()
    dc.manual_seed(5)
    np.testing.assert_array_equal(a, F.dropout(dc.ones(10, 10)).numpy())


def test_maxout():
    dc.manual_seed(0)
    m = nn.Maxout(3, 2, pieces=4).double()
    x = d64(rand(5, 3))
    y = m(x).numpy()
    z = x.numpy() @ m.linear.weight.numpy().T + m.linear.bias.numpy()
    np.testing.assert_allclose(y, z.reshape(5, 2, 4).max(-1))
    w, b = m.linear.weight.detach(), m.linear.bias.detach()
    assert dc.gradcheck(lambda x, w, b: F.maxout(F.linear(x, w, b), 4), (x, d64(w.numpy()), d64(b.numpy())))


def test_residual_identity_flatten():
    lin = nn.Linear(3, 3).double()
    res = nn.Residual(lin)
    x = d64(rand(2, 3))
    np.testing.assert_allclose(res(x).numpy(), x.numpy() + lin(x).numpy())
    with pytest.raises(ValueError, match="equal shapes"):
        nn.Residual(nn.Linear(3, 2))(dc.zeros(2, 3))
    assert nn.Identity(5, k=1)(x) is x
    assert nn.Flatten()(dc.zeros(2, 3, 4, 5)).shape == (2, 60)


def test_dropout_gradcheck_with_fixed_mask():
    x = d64(rand(4, 5))

    def f(x):
        dc.manual_seed(3)
        return F.dropout(x, 0.4, training=True)

    assert dc.gradcheck(f, (x,))


def test_conv2d_stride_one_gradgradcheck():
    x, w = d64(rand(1, 2, 4, 4)), d64(rand(3, 2, 3, 2, seed=1))
    assert dc.gradgradcheck(lambda x, w: F.conv2d(x, w, padding=1, dilation=(1, 2)), (x, w))


def test_avg_pool2d_divisor_override_matches_torch():
    torch = pytest.importorskip("torch")
    x = rand(1, 2, 6, 6)
    yd = F.avg_pool2d(d64(x), 3, 2, 1, divisor_override=5)
    yt = torch.nn.functional.avg_pool2d(t64(x), 3, 2, 1, divisor_override=5)
    np.testing.assert_allclose(yd.numpy(), yt.numpy(), rtol=1e-12)


def test_cnn_float32_end_to_end_matches_torch():
    torch = pytest.importorskip("torch")
    dc.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Flatten(), nn.Linear(4 * 4 * 4, 3))
    tm = torch.nn.Sequential(torch.nn.Conv2d(1, 4, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                             torch.nn.Flatten(), torch.nn.Linear(4 * 4 * 4, 3))
    tm.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in model.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((5, 1, 8, 8)).astype(np.float32)
    y = np.array([0, 1, 2, 1, 0])
    loss = F.cross_entropy(model(dc.from_numpy(x)), dc.tensor(y))
    loss.backward()
    lt = torch.nn.functional.cross_entropy(tm(torch.from_numpy(x)), torch.from_numpy(y))
    lt.backward()
    assert loss.dtype == np.float32
    np.testing.assert_allclose(loss.item(), lt.item(), rtol=1e-5)
    for (name, p), tp in zip(model.named_parameters(), tm.parameters()):
        assert p.grad.dtype == np.float32
        np.testing.assert_allclose(p.grad.numpy(), tp.grad.numpy(), rtol=1e-4, atol=1e-6, err_msg=name)


def test_max_pool2d_ties_go_to_one_entry_like_torch():
    torch = pytest.importorskip("torch")
    x = np.maximum(rand(2, 3, 6, 6), 0)  # many windows of tied zeros, as after a ReLU
    x[0, 0, :2, :2] = 1.5
    xd, xt = d64(x, True), t64(x, True)
    F.max_pool2d(xd, 2).sum().backward()
    torch.nn.functional.max_pool2d(xt, 2).sum().backward()
    np.testing.assert_array_equal(xd.grad.numpy(), xt.grad.numpy())
    assert xd.grad.numpy().sum() == 2 * 3 * 9
