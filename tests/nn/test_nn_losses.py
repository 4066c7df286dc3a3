"""Losses for every reduction against their formulas in NumPy and finite differences (always) and
against PyTorch (values and gradients, float64, where installed), and bad input."""

import numpy as np
import pytest

import descend as dc
import descend.nn as nn
import descend.nn.functional as F

REDS = ["mean", "sum", "none"]
rng = np.random.default_rng(0)


def d64(a, rg=False):
    return dc.tensor(np.asarray(a, dtype=np.float64), dtype=dc.float64, requires_grad=rg)


def t64(a, rg=False):
    torch = pytest.importorskip("torch")
    return torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=rg)


def reduce(loss, red, denominator=None):
    if red == "none":
        return loss
    return loss.sum() if red == "sum" else loss.sum() / (loss.size if denominator is None else denominator)


def check(fn, ref, float_args, red, **kw):
    """The loss's value equals the NumPy formula and its gradients pass finite differences."""
    args = [d64(a) for a in float_args]
    np.testing.assert_allclose(fn(*args, reduction=red, **kw).numpy(), ref, rtol=1e-12, atol=1e-14)
    assert dc.gradcheck(lambda *xs: fn(*xs, reduction=red, **kw), tuple(args))


def log_softmax(a, axis=1):
    m = a.max(axis=axis, keepdims=True)
    return a - m - np.log(np.exp(a - m).sum(axis=axis, keepdims=True))


@pytest.mark.parametrize("red", REDS)
def test_regression_losses_match_their_formulas(red):
    g = np.random.default_rng(10)
    x, y = g.standard_normal((4, 3)), g.standard_normal((4, 3))
    d = x - y
    check(F.mse_loss, reduce(d * d, red), (x, y), red)
    check(F.l1_loss, reduce(np.abs(d), red), (x, y), red)
    check(F.huber_loss, reduce(np.where(np.abs(2 * d) < 0.7, 0.5 * (2 * d) ** 2, 0.7 * (np.abs(2 * d) - 0.35)), red),
          (2 * x, 2 * y), red, delta=0.7)
    check(F.smooth_l1_loss, reduce(np.where(np.abs(d) < 0.5, 0.5 * d * d / 0.5, np.abs(d) - 0.25), red), (x, y), red,
          beta=0.5)
    for var_shape in ((4, 3), (4, 1), (4,)):
        var = np.abs(g.standard_normal(var_shape)) + 0.1
        v = var.reshape(4, -1)
        for full in (False, True):
            ref = 0.5 * (np.log(v) + d * d / v) + (0.5 * np.log(2 * np.pi) if full else 0)
            check(F.gaussian_nll_loss, reduce(ref, red), (x, y, var), red, full=full)


@pytest.mark.parametrize("red", REDS)
def test_classification_losses_match_their_formulas(red):
    g = np.random.default_rng(11)
    a = g.standard_normal((6, 5)) * 3
    y = g.integers(0, 5, 6)
    y[1] = -100
    w = np.abs(g.standard_normal(5)) + 0.5
    logp = log_softmax(a)
    for eps in (0.0, 0.2):
        per = np.zeros(6)
        for n in range(6):
            if y[n] != -100:
                target = (1 - eps) * np.eye(5)[y[n]] + eps / 5
                per[n] = -(w * target * logp[n]).sum()
        denominator = w[y[y != -100]].sum()
        check(lambda x, **kw: F.cross_entropy(x, dc.tensor(y), weight=d64(w), label_smoothing=eps, **kw),
              reduce(per, red, denominator), (a,), red)
    probs = np.exp(log_softmax(g.standard_normal((6, 5))))
    check(F.cross_entropy, reduce(-(probs * logp).sum(1), red, 6), (a, probs), red)
    a4, y4 = g.standard_normal((2, 3, 4, 5)), g.integers(0, 3, (2, 4, 5))
    picked = np.take_along_axis(log_softmax(a4), y4[:, None], axis=1)[:, 0]
    check(lambda x, **kw: F.cross_entropy(x, dc.tensor(y4), **kw), reduce(-picked, red), (a4,), red)
    yi = np.where(y == -100, 1, y)
    picked = logp[np.arange(6), yi] * w[yi] * (yi != 1)
    check(lambda x, **kw: F.nll_loss(x, dc.tensor(yi), weight=d64(w), ignore_index=1, **kw),
          reduce(-picked, red, (w[yi] * (yi != 1)).sum()), (logp,), red)
    for p in (1, 2):
        margins = np.maximum(0, 0.8 - a[np.arange(6), yi][:, None] + a) ** p * w[yi][:, None]
        margins[np.arange(6), yi] = 0
        check(lambda x, **kw: F.multi_margin_loss(x, dc.tensor(yi), p=p, margin=0.8, weight=d64(w), **kw),
              reduce(margins.sum(1) / 5, red), (a,), red)


@pytest.mark.parametrize("red", REDS)
def test_binary_and_divergence_losses_match_their_formulas(red):
    g = np.random.default_rng(12)
    p, t, w = g.random((4, 3)) * 0.98 + 0.01, g.random((4, 3)), g.random((4, 3))
    check(lambda a, b, **kw: F.binary_cross_entropy(a, b, weight=d64(w), **kw),
          reduce(-w * (t * np.log(p) + (1 - t) * np.log(1 - p)), red), (p, t), red)
    x, pw = g.standard_normal((4, 3)) * 5, np.array([0.5, 2.0, 3.0])
    log_sig, log_one_minus = -np.logaddexp(0, -x), -np.logaddexp(0, x)
    check(lambda a, b, **kw: F.binary_cross_entropy_with_logits(a, b, weight=d64(w), pos_weight=d64(pw), **kw),
          reduce(-w * (pw * t * log_sig + (1 - t) * log_one_minus), red), (x, t), red)
    q = np.exp(log_softmax(g.standard_normal((4, 3))))
    target = np.exp(log_softmax(g.standard_normal((4, 3))))
    target[0, 0] = 0.0
    pointwise = np.where(target > 0, target * (np.log(np.where(target > 0, target, 1)) - np.log(q)), 0.0)
    check(lambda a, **kw: F.kl_div(a, d64(target), **kw), reduce(pointwise, red), (np.log(q),), red)
    lt = np.log(target + 0.1)
    check(lambda a, **kw: F.kl_div(a, d64(lt), log_target=True, **kw), reduce(np.exp(lt) * (lt - np.log(q)), red),
          (np.log(q),), red)
    if red == "mean":
        check(lambda a, **kw: F.kl_div(a, d64(target), reduction="batchmean"), pointwise.sum() / 4, (np.log(q),), red)


def compare(fn_dc, fn_t, float_args, other_dc=(), other_t=(), kw_dc=None, kw_t=None, rtol=1e-10, atol=1e-12):
    """Evaluate both losses, compare values and gradients w.r.t. every float argument."""
    kw_dc, kw_t = kw_dc or {}, kw_t or kw_dc or {}
    dcs = [d64(a, True) for a in float_args]
    ts = [t64(a, True) for a in float_args]
    yd = fn_dc(*dcs, *other_dc, **kw_dc)
    yt = fn_t(*ts, *other_t, **kw_t)
    np.testing.assert_allclose(yd.numpy(), yt.detach().numpy(), rtol=rtol, atol=atol)
    g = rng.standard_normal(yd.shape)
    yd.backward(d64(g))
    yt.backward(t64(g))
    for a, b in zip(dcs, ts):
        if b.grad is None:
            continue
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=rtol, atol=atol)


@pytest.mark.parametrize("red", REDS)
def test_regression_losses(red):
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    y[0, 0] = x[0, 0]  # a tie for l1 and huber
    compare(F.mse_loss, tF.mse_loss, (x, y), kw_dc={"reduction": red})
    compare(F.l1_loss, tF.l1_loss, (x, y), kw_dc={"reduction": red})
    compare(F.huber_loss, tF.huber_loss, (x * 2, y), kw_dc={"reduction": red, "delta": 0.7})
    compare(F.smooth_l1_loss, tF.smooth_l1_loss, (x * 2, y), kw_dc={"reduction": red, "beta": 0.5})


@pytest.mark.parametrize("red", REDS)
@pytest.mark.parametrize("full", [False, True])
@pytest.mark.parametrize("var_shape", [(4, 3), (4, 1), (4,)])
def test_gaussian_nll(red, full, var_shape):
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    var = np.abs(rng.standard_normal(var_shape)) + 0.1
    var.reshape(-1)[0] = 1e-9  # clamped at eps, gradient still passes
    compare(F.gaussian_nll_loss, tF.gaussian_nll_loss, (x, y, var), kw_dc={"reduction": red, "full": full})


@pytest.mark.parametrize("red", REDS)
@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
@pytest.mark.parametrize("ignore", [False, True])
def test_cross_entropy_labels(red, weighted, smoothing, ignore):
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    x = rng.standard_normal((6, 5)) * 3
    y = rng.integers(0, 5, 6)
    if ignore:
        y[1] = -100
    w = np.abs(rng.standard_normal(5)) + 0.5 if weighted else None
    kw_dc = {"reduction": red, "label_smoothing": smoothing, "weight": None if w is None else d64(w)}
    kw_t = {"reduction": red, "label_smoothing": smoothing, "weight": None if w is None else t64(w)}
    compare(F.cross_entropy, tF.cross_entropy, (x,), (dc.tensor(y),), (torch.tensor(y),), kw_dc, kw_t)


@pytest.mark.parametrize("red", REDS)
def test_cross_entropy_probabilities_and_spatial(red):
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    x = rng.standard_normal((4, 3))
    p = rng.random((4, 3))
    p /= p.sum(1, keepdims=True)
    w = np.array([0.5, 1.0, 2.0])
    compare(F.cross_entropy, tF.cross_entropy, (x, p), kw_dc={"reduction": red, "label_smoothing": 0.1})
    compare(lambda a, b: F.cross_entropy(a, b, weight=d64(w), reduction=red),
            lambda a, b: tF.cross_entropy(a, b, weight=t64(w), reduction=red), (x, p))
    x4 = rng.standard_normal((2, 3, 4, 5))
    y4 = rng.integers(0, 3, (2, 4, 5))
    compare(F.cross_entropy, tF.cross_entropy, (x4,), (dc.tensor(y4),), (torch.tensor(y4),), {"reduction": red})
    compare(F.cross_entropy, tF.cross_entropy, (x[0],), (dc.tensor(np.int64(2)),), (torch.tensor(2),),
            {"reduction": red})


@pytest.mark.parametrize("red", REDS)
def test_nll_loss(red):
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    x = np.log(rng.random((5, 4)))
    y = rng.integers(0, 4, 5)
    y[2] = 1
    w = np.abs(rng.standard_normal(4)) + 0.1
    compare(F.nll_loss, tF.nll_loss, (x,), (dc.tensor(y),), (torch.tensor(y),), {"reduction": red})
    compare(F.nll_loss, tF.nll_loss, (x,), (dc.tensor(y),), (torch.tensor(y),), {"reduction": red, "weight": d64(w),
                                                                                    "ignore_index": 1},
            {"reduction": red, "weight": t64(w), "ignore_index": 1})


@pytest.mark.parametrize("red", REDS)
def test_binary_losses(red):
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    p = rng.random((4, 3)) * 0.98 + 0.01
    t = rng.random((4, 3))
    w = rng.random((4, 3))
    compare(F.binary_cross_entropy, tF.binary_cross_entropy, (p, t), kw_dc={"reduction": red})
    compare(lambda a, b: F.binary_cross_entropy(a, b, weight=d64(w), reduction=red),
            lambda a, b: tF.binary_cross_entropy(a, b, weight=t64(w), reduction=red), (p, t))
    x = rng.standard_normal((4, 3)) * 5
    x[0, 0] = 0.0
    x[0, 1] = 60.0
    x[0, 2] = -60.0
    pw = np.array([0.5, 2.0, 3.0])
    compare(F.binary_cross_entropy_with_logits, tF.binary_cross_entropy_with_logits, (x, t), kw_dc={"reduction": red})
    compare(lambda a, b: F.binary_cross_entropy_with_logits(a, b, weight=d64(w), reduction=red, pos_weight=d64(pw)),
            lambda a, b: tF.binary_cross_entropy_with_logits(a, b, weight=t64(w), reduction=red, pos_weight=t64(pw)),
            (x, t))


def test_bce_clamps_log_like_torch():
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    p = np.array([0.0, 1.0, 0.5])
    t = np.array([1.0, 0.0, 1.0])
    np.testing.assert_allclose(F.binary_cross_entropy(d64(p), d64(t), reduction="none").numpy(),
                               tF.binary_cross_entropy(t64(p), t64(t), reduction="none").numpy())


@pytest.mark.parametrize("red", REDS)
@pytest.mark.parametrize("p", [1, 2])
def test_multi_margin_loss(red, p):
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    x = rng.standard_normal((5, 4))
    y = rng.integers(0, 4, 5)
    w = np.abs(rng.standard_normal(4))
    compare(F.multi_margin_loss, tF.multi_margin_loss, (x,), (dc.tensor(y),), (torch.tensor(y),),
            {"reduction": red, "p": p, "margin": 0.8})
    compare(F.multi_margin_loss, tF.multi_margin_loss, (x,), (dc.tensor(y),), (torch.tensor(y),),
            {"reduction": red, "p": p, "weight": d64(w)}, {"reduction": red, "p": p, "weight": t64(w)})


@pytest.mark.filterwarnings("ignore:reduction")  # torch warns that "mean" is not the mathematical KL
@pytest.mark.parametrize("red", REDS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(red, log_target):
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    q = rng.random((4, 3))
    q /= q.sum(1, keepdims=True)
    pt = rng.random((4, 3))
    pt /= pt.sum(1, keepdims=True)
    if not log_target:
        pt[0, 0] = 0.0
    target = np.log(pt) if log_target else pt
    compare(F.kl_div, tF.kl_div, (np.log(q),), (d64(target),), (t64(target),),
            {"reduction": red, "log_target": log_target})


@pytest.mark.parametrize("red", REDS)
def test_hinge_loss_notes_formula(red):
    y = rng.standard_normal((6, 2))
    t = np.where(rng.random((6, 2)) > 0.5, 1.0, -1.0)
    y[0, 0] = t[0, 0]  # exactly at the margin: gradient 0
    yd = d64(y, True)
    out = F.hinge_loss(yd, dc.tensor(t, dtype=dc.float64), reduction=red)
    ref = np.maximum(0, 1 - t * y)
    expect = {"mean": ref.mean(), "sum": ref.sum(), "none": ref}[red]
    np.testing.assert_allclose(out.numpy(), expect, rtol=1e-14)
    out.sum().backward()
    scale = 1 / y.size if red == "mean" else 1
    np.testing.assert_allclose(yd.grad.numpy(), np.where(1 - t * y > 0, -t, 0) * scale, rtol=1e-14)
    with pytest.raises(ValueError, match="target value 0"):
        F.hinge_loss(yd, dc.zeros(6, 2, dtype=dc.float64))


def test_loss_modules_match_functions():
    x, y = d64(rng.standard_normal((4, 3))), d64(rng.standard_normal((4, 3)))
    assert nn.MSELoss()(x, y).item() == F.mse_loss(x, y).item()
    assert nn.L1Loss(reduction="sum")(x, y).item() == F.l1_loss(x, y, reduction="sum").item()
    labels = dc.tensor([0, 2, 1, 1])
    assert nn.CrossEntropyLoss(label_smoothing=0.1)(x, labels).item() == pytest.approx(
        F.cross_entropy(x, labels, label_smoothing=0.1).item(), rel=1e-15
    )
    assert nn.NLLLoss()(x.log_softmax(1), labels).item() == pytest.approx(F.cross_entropy(x, labels).item(), rel=1e-12)
    assert nn.HuberLoss(delta=0.5)(x, y).item() == F.huber_loss(x, y, delta=0.5).item()
    assert nn.KLDivLoss(reduction="batchmean")(x.log_softmax(1), y.softmax(1)).item() == pytest.approx(
        F.kl_div(x.log_softmax(1), y.softmax(1), reduction="batchmean").item()
    )


def test_loss_gradchecks():
    x = d64(rng.standard_normal((4, 3)))
    y = dc.tensor([0, 2, 1, 0])
    w = d64(np.array([0.3, 1.0, 2.0]))
    assert dc.gradcheck(lambda x: F.cross_entropy(x, y, weight=w, label_smoothing=0.1), (x,))
    assert dc.gradgradcheck(lambda x: F.cross_entropy(x, y, weight=w, label_smoothing=0.1), (x,))
    assert dc.gradcheck(lambda x: F.cross_entropy(x, y, reduction="none"), (x,))
    assert dc.gradgradcheck(lambda x: F.cross_entropy(x, y, reduction="none"), (x,))
    t = d64(rng.random((4, 3)))
    assert dc.gradcheck(F.binary_cross_entropy_with_logits, (x, t))
    assert dc.gradgradcheck(F.binary_cross_entropy_with_logits, (x, t))
    p = d64(rng.random((4, 3)) * 0.8 + 0.1)
    assert dc.gradcheck(F.binary_cross_entropy, (p, t))
    assert dc.gradgradcheck(F.binary_cross_entropy, (p, t))
    assert dc.gradcheck(lambda x: F.multi_margin_loss(x, y, p=2), (x,))
    assert dc.gradcheck(lambda x, t: F.gaussian_nll_loss(x, t, d64(np.ones((4, 3)) * 0.5)), (x, t))
    assert dc.gradcheck(lambda x: F.nll_loss(x, y), (x,))


def test_cross_entropy_bad_input():
    x = dc.randn(4, 3)
    with pytest.raises(ValueError, match="label 3 is out of range for 3 classes"):
        F.cross_entropy(x, dc.tensor([0, 1, 3, 0]))
    with pytest.raises(ValueError, match="label -2 is out of range for 3 classes"):
        F.cross_entropy(x, dc.tensor([0, 1, -2, 0]))
    with pytest.raises(TypeError, match="floating dtype"):
        F.cross_entropy(x, dc.tensor([0.0, 1.0, 2.0, 0.0]))
    with pytest.raises(ValueError, match=r"target shape \(4, 1\)"):
        F.cross_entropy(x, dc.tensor([[0], [1], [2], [0]]))
    with pytest.raises(ValueError, match="reduction='avg'"):
        F.cross_entropy(x, dc.tensor([0, 1, 2, 0]), reduction="avg")
    with pytest.raises(ValueError, match=r"weight has shape \(2,\)"):
        F.cross_entropy(x, dc.tensor([0, 1, 2, 0]), weight=dc.ones(2))
    with pytest.raises(ValueError, match="label 5 is out of range for 3 classes"):
        F.nll_loss(x, dc.tensor([0, 1, 5, 0]))
    with pytest.raises(TypeError, match="floating dtype"):
        F.multi_margin_loss(x, dc.tensor([0.0, 1.0, 2.0, 0.0]))


@pytest.mark.parametrize("fn", [F.mse_loss, F.l1_loss, F.huber_loss, F.binary_cross_entropy_with_logits, F.kl_div])
def test_shape_mismatch_raises_instead_of_broadcasting(fn):
    with pytest.raises(ValueError, match=r"target shape \(4, 1\) differs from input shape \(4,\)"):
        fn(dc.zeros(4), dc.zeros(4, 1))


def test_bce_rejects_out_of_range_probabilities():
    with pytest.raises(ValueError, match="probabilities"):
        F.binary_cross_entropy(dc.tensor([0.5, 1.5]), dc.tensor([1.0, 0.0]))


def test_cross_entropy_float32_matches_torch():
    torch = pytest.importorskip("torch")
    tF = torch.nn.functional
    x = rng.standard_normal((64, 10)).astype(np.float32) * 5
    y = rng.integers(0, 10, 64)
    xd = dc.from_numpy(x.copy()).requires_grad_()
    loss = F.cross_entropy(xd, dc.tensor(y))
    loss.backward()
    assert loss.dtype == np.float32 and xd.grad.dtype == np.float32
    xt = torch.from_numpy(x.copy()).requires_grad_()
    lt = tF.cross_entropy(xt, torch.from_numpy(y))
    lt.backward()
    np.testing.assert_allclose(loss.item(), lt.item(), rtol=1e-6)
    np.testing.assert_allclose(xd.grad.numpy(), xt.grad.numpy(), rtol=1e-5, atol=1e-7)
