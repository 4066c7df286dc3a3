"""The fast convolution paths: Winograd F(2×2, 3×3) (Numba, optional) against the column-matrix
product, PyTorch (float64) and finite differences; float32 within the rounding bound of a sum of
products; the column-matrix path when Numba is off; the one-channel column matrix, the bias gradient and
the max-pool gradient when windows tile the input."""

import numpy as np
import pytest

import descend as dc
import descend.nn.functional as F
from descend.nn.functional import _winograd
from descend.nn.functional.conv import Geometry, conv_forward, conv_grad_weight

needs_numba = pytest.mark.skipif(_winograd._compile() is None, reason="numba is not installed (or DESCEND_FUSED=0)")


def rand(*shape, seed=0):
    return np.random.default_rng(seed).standard_normal(shape)


def d64(a, requires_grad=False):
    return dc.tensor(np.asarray(a, dtype=np.float64), dtype=dc.float64, requires_grad=requires_grad)


def im2col(x, w, padding, b=None, monkeypatch=None):
    """The column-matrix result (Winograd switched off)."""
    with monkeypatch.context() as mp:
        mp.setattr(_winograd, "ENABLED", False)
        return conv_forward(x, w, Geometry((1, 1), padding, (1, 1)), b)


def im2col_grad_weight(x, gy, padding, monkeypatch):
    with monkeypatch.context() as mp:
        mp.setattr(_winograd, "ENABLED", False)
        return conv_grad_weight(x, gy, (gy.shape[1], x.shape[1], 3, 3), Geometry((1, 1), padding, (1, 1)))


# sizes: even and odd outputs (a last half tile), padding 0, 1, 2 and unequal, one or several blocks
CASES = [((2, 8, 6, 6), 8, (1, 1)), ((3, 8, 7, 5), 9, (1, 1)), ((2, 9, 5, 8), 8, (0, 0)),
         ((1, 8, 4, 7), 12, (2, 1)), ((5, 16, 9, 9), 8, (1, 0))]


@needs_numba
@pytest.mark.parametrize("x_shape,O,padding", CASES)
@pytest.mark.parametrize("bias", [False, True])
def test_winograd_equals_column_matrix_in_float64(x_shape, O, padding, bias, monkeypatch):
    x, w = rand(*x_shape), rand(O, x_shape[1], 3, 3, seed=1)
    b = rand(O, seed=2) if bias else None
    geo = Geometry((1, 1), padding, (1, 1))
    assert _winograd.applies(x, w.shape, geo)
    y = conv_forward(x, w, geo, b)
    ref = im2col(x, w, padding, b, monkeypatch)
    assert y.shape == ref.shape
    # both are exact up to rounding: |error| ≤ a few ε · Σ|w||x| (at most 9·C terms of size ~1)
    np.testing.assert_allclose(y, ref, rtol=0, atol=1e-12)


@needs_numba
@pytest.mark.parametrize("x_shape,O,padding", CASES)
@pytest.mark.parametrize("gy_layout", ["nchw", "channels_last"])
def test_winograd_weight_gradient_equals_column_matrix_in_float64(x_shape, O, padding, gy_layout, monkeypatch):
    x = rand(*x_shape)
    geo = Geometry((1, 1), padding, (1, 1))
    Ho, Wo = geo.out_size(*x_shape[2:], 3, 3)
    gy = rand(x_shape[0], O, Ho, Wo, seed=3)
    if gy_layout == "channels_last":
        gy = np.ascontiguousarray(gy.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    gw = conv_grad_weight(x, gy, (O, x_shape[1], 3, 3), geo)
    assert gw.shape == (O, x_shape[1], 3, 3)
    # Σ over N·Hₒ·Wₒ positions of products of size ~1: rounding ~ 1e-14 relative to √(N·Hₒ·Wₒ)
    np.testing.assert_allclose(gw, im2col_grad_weight(x, gy, padding, monkeypatch), rtol=0, atol=1e-11)


@needs_numba
@pytest.mark.parametrize("threads", [1, 2, 3])
def test_winograd_in_several_blocks_and_threads(threads, monkeypatch):
    monkeypatch.setattr(_winograd, "BLOCK_VALUES", 1)  # every image its own block
    monkeypatch.setattr(_winograd, "NUM_THREADS", threads)  # the images split among 1, 2, 3 threads
    x, w, b = rand(3, 8, 7, 6), rand(8, 8, 3, 3, seed=1), rand(8, seed=2)
    geo = Geometry((1, 1), (1, 1), (1, 1))
    np.testing.assert_allclose(conv_forward(x, w, geo, b), im2col(x, w, (1, 1), b, monkeypatch), rtol=0, atol=1e-12)
    gy = rand(3, 8, 7, 6, seed=3)
    np.testing.assert_allclose(conv_grad_weight(x, gy, w.shape, geo), im2col_grad_weight(x, gy, (1, 1), monkeypatch),
                               rtol=0, atol=1e-11)


@needs_numba
def test_winograd_float32_within_rounding_of_exact(monkeypatch):
    # float32 against the float64 result: the error of a sum of 9·C products is bounded by
    # ~ n·ε·Σ|w·x| (worst case); typical errors are √n·ε. Winograd's transforms add two more
    # roundings of sums of 4 terms; both paths stay well inside 32 ε · Σ|w||x|.
    x, w, b = rand(4, 32, 12, 12), rand(32, 32, 3, 3, seed=1) * 0.1, rand(32, seed=2)
    geo = Geometry((1, 1), (1, 1), (1, 1))
    exact = im2col(x, w, (1, 1), b, monkeypatch)
    scale = im2col(np.abs(x), np.abs(w), (1, 1), np.abs(b), monkeypatch)
    eps = np.finfo(np.float32).eps
    f32 = [a.astype(np.float32) for a in (x, w, b)]
    fast = conv_forward(*f32[:2], geo, f32[2])
    slow = im2col(f32[0], f32[1], (1, 1), f32[2], monkeypatch)
    assert fast.dtype == np.float32
    for y in (fast, slow):
        assert np.all(np.abs(y - exact) <= 32 * eps * scale)
    # and the typical error is of the same size as the column matrix's
    assert np.abs(fast - exact).mean() <= 2 * np.abs(slow - exact).mean()
    # the weight gradient: a sum of N·Hₒ·Wₒ = 576 products per entry, bounded the same way
    gy = rand(4, 32, 12, 12, seed=3)
    exact = im2col_grad_weight(x, gy, (1, 1), monkeypatch)
    scale = im2col_grad_weight(np.abs(x), np.abs(gy), (1, 1), monkeypatch)
    fast = conv_grad_weight(f32[0], gy.astype(np.float32), (32, 32, 3, 3), geo)
    slow = im2col_grad_weight(f32[0], gy.astype(np.float32), (1, 1), monkeypatch)
    assert fast.dtype == np.float32
    for gw in (fast, slow):
        assert np.all(np.abs(gw - exact) <= 32 * eps * scale)
    assert np.abs(fast - exact).mean() <= 2 * np.abs(slow - exact).mean()


def _assert_conv2d_matches_torch(torch, x, w, b, **kw):
    """conv2d's output and its three gradients equal PyTorch's in float64."""
    xd, wd, bd = d64(x, True), d64(w, True), d64(b, True)
    xt, wt, bt = (torch.tensor(a, requires_grad=True) for a in (x, w, b))
    yd, yt = F.conv2d(xd, wd, bd, **kw), torch.nn.functional.conv2d(xt, wt, bt, **kw)
    np.testing.assert_allclose(yd.numpy(), yt.detach().numpy(), rtol=1e-10, atol=1e-10)
    g = rand(*yd.shape, seed=5)
    yd.backward(d64(g))
    yt.backward(torch.tensor(g))
    for a, c in ((xd, xt), (wd, wt), (bd, bt)):
        np.testing.assert_allclose(a.grad.numpy(), c.grad.numpy(), rtol=1e-10, atol=1e-10)


@needs_numba
def test_conv2d_through_winograd_matches_torch():
    # forward and both gradients (x̄ is a stride-1 3×3 convolution too: it also runs Winograd)
    torch = pytest.importorskip("torch")
    x, w, b = rand(2, 8, 7, 6), rand(10, 8, 3, 3, seed=1), rand(10, seed=2)
    _assert_conv2d_matches_torch(torch, x, w, b, padding=1)


@needs_numba
def test_conv2d_through_winograd_gradcheck_and_gradgradcheck():
    x, w, b = d64(rand(1, 8, 4, 3)), d64(rand(8, 8, 3, 3, seed=1)), d64(rand(8, seed=2))
    f = lambda x, w, b: F.conv2d(x, w, b, padding=1)
    assert dc.gradcheck(f, (x, w, b))
    assert dc.gradgradcheck(f, (x, w, b))


def test_without_numba_the_column_matrix_runs(monkeypatch):
    # DESCEND_FUSED=0 or no Numba: applies() is False and conv2d still gives torch's numbers
    monkeypatch.setitem(_winograd._STATE, "tried", True)
    monkeypatch.setitem(_winograd._STATE, "kernels", None)
    x, w = rand(2, 8, 6, 5), rand(8, 8, 3, 3, seed=1)
    geo = Geometry((1, 1), (1, 1), (1, 1))
    assert not _winograd.applies(x, w.shape, geo)
    y = conv_forward(x, w, geo)
    # direct sum over the kernel offsets
    xp = np.pad(x, ((0, 0), (0, 0), (1, 1), (1, 1)))
    ref = sum(np.einsum("nchw,oc->nohw", xp[:, :, p:p + 6, q:q + 5], w[:, :, p, q]) for p in range(3) for q in range(3))
    np.testing.assert_allclose(y, ref, rtol=0, atol=1e-12)


def test_winograd_applies_only_to_3x3_stride_1_with_channels():
    x = np.zeros((1, 8, 6, 6))
    one = Geometry((1, 1), (1, 1), (1, 1))
    assert not _winograd.applies(x, (8, 8, 5, 5), one)
    assert not _winograd.applies(x, (8, 8, 3, 3), Geometry((2, 2), (1, 1), (1, 1)))
    assert not _winograd.applies(x, (8, 8, 3, 3), Geometry((1, 1), (1, 1), (2, 2)))
    assert not _winograd.applies(x[:, :1], (8, 1, 3, 3), one)  # C_in = 1: one product with K = 9
    assert not _winograd.applies(x.astype(np.float16), (8, 8, 3, 3), one)


@pytest.mark.parametrize("stride,padding,dilation", [(1, 1, 1), (2, 0, 1), ((1, 2), (2, 1), (2, 1))])
def test_one_input_channel_matches_torch(stride, padding, dilation, monkeypatch):
    # C_in = 1 builds the transposed column matrix (shifted whole images); several blocks too
    torch = pytest.importorskip("torch")
    conv_impl = __import__("descend.nn.functional.conv", fromlist=["BLOCK_VALUES"])
    monkeypatch.setattr(conv_impl, "BLOCK_VALUES", 40)
    x, w, b = rand(3, 1, 9, 8), rand(5, 1, 3, 2, seed=1), rand(5, seed=2)
    kw = dict(stride=stride, padding=padding, dilation=dilation)
    _assert_conv2d_matches_torch(torch, x, w, b, **kw)


@pytest.mark.parametrize("channels_last", [False, True])
def test_bias_gradient_sums_over_batch_and_positions(channels_last):
    # b̄ = Σ_{n,i,j} ȳ, as 1ᵀ·rows on a channels-last ȳ and as a sum otherwise; differentiable twice
    from descend.nn.functional.conv import ChannelSum
    g = rand(3, 4, 5, 6)
    if channels_last:
        g = np.ascontiguousarray(g.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    np.testing.assert_allclose(ChannelSum.apply(d64(g)).numpy(), g.sum(axis=(0, 2, 3)), rtol=1e-13)
    assert dc.gradcheck(lambda t: ChannelSum.apply(t) ** 2, (d64(g[:1, :, :2, :3], True),))
    assert dc.gradgradcheck(lambda t: ChannelSum.apply(t) ** 2, (d64(g[:1, :, :2, :3], True),))


@pytest.mark.parametrize("shape", [(2, 3, 6, 8), (2, 3, 7, 5)])
@pytest.mark.parametrize("channels_last", [False, True])
def test_max_pool_gradient_when_windows_tile_the_input(shape, channels_last):
    # kernel = stride on an even size: every entry of x̄ is written by the scatter (no zeros first);
    # an odd size leaves a last row/column that no window reads (zeros)
    torch = pytest.importorskip("torch")
    x = rand(*shape)
    if channels_last:
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)
    xd, xt = d64(x, True), torch.tensor(np.ascontiguousarray(x), requires_grad=True)
    yd, yt = F.max_pool2d(xd, 2), torch.nn.functional.max_pool2d(xt, 2)
    np.testing.assert_array_equal(yd.numpy(), yt.detach().numpy())
    g = rand(*yd.shape, seed=4)
    yd.backward(d64(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_array_equal(xd.grad.numpy(), xt.grad.numpy())


@pytest.mark.parametrize("threads", [1, 2, 3])
@pytest.mark.parametrize("k,s", [(2, None), (3, 2)])
def test_max_pool_split_among_threads_matches_torch(threads, k, s, monkeypatch):
    # forward (running maximum, first offset) and scatter run on parts of the batch, one per thread
    torch = pytest.importorskip("torch")
    from descend.autodiff import threads as split
    from descend.nn.functional import pooling
    monkeypatch.setattr(pooling, "PARALLEL_MIN", 1)
    monkeypatch.setattr(split, "NUM_THREADS", threads)
    x = np.round(rand(5, 3, 8, 7), 1)  # ties: the first maximum gets the gradient, as in torch
    xd, xt = d64(x, True), torch.tensor(x, requires_grad=True)
    yd, yt = F.max_pool2d(xd, k, s), torch.nn.functional.max_pool2d(xt, k, s)
    np.testing.assert_array_equal(yd.numpy(), yt.detach().numpy())
    g = rand(*yd.shape, seed=4)
    yd.backward(d64(g))
    yt.backward(torch.tensor(g))
    np.testing.assert_allclose(xd.grad.numpy(), xt.grad.numpy(), rtol=1e-15, atol=1e-15)
