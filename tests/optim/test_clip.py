"""clip_grad_norm_ / clip_grad_value_: against the formulas written out (no torch needed) and against
torch.nn.utils."""

import math

import numpy as np
import pytest

import descend as dc
from descend.optim import clip_grad_norm_, clip_grad_value_

def arrays(scale=1.0, seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=s) * scale for s in [(3, 4), (4,), (2, 2, 2)]]


def ours_of(arrs):
    out = []
    for a in arrs:
        p = dc.zeros(*a.shape, dtype=dc.float64, requires_grad=True)
        p.grad = dc.tensor(a.copy(), dtype=dc.float64)
        out.append(p)
    return out


def make(scale=1.0, seed=0):
    torch = pytest.importorskip("torch")
    arrs = arrays(scale, seed)
    theirs = []
    for a in arrs:
        t = torch.zeros(a.shape, dtype=torch.float64, requires_grad=True)
        t.grad = torch.tensor(a.copy())
        theirs.append(t)
    return ours_of(arrs), theirs, torch


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_formula(norm_type, max_norm):
    arrs = arrays(scale=2.0)
    ours = ours_of(arrs)
    flat = np.concatenate([a.ravel() for a in arrs])
    norm = np.abs(flat).max() if norm_type == math.inf else (np.abs(flat) ** norm_type).sum() ** (1 / norm_type)
    total = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    assert total.item() == pytest.approx(norm, rel=1e-13)
    coef = min(1.0, max_norm / (norm + 1e-6))
    for p, a in zip(ours, arrs):
        np.testing.assert_allclose(p.grad.numpy(), a * coef, rtol=1e-13)


@pytest.mark.parametrize("clip", [0.0, 0.3, 10.0])
def test_clip_grad_value_formula(clip):
    arrs = arrays(scale=1.5)
    ours = ours_of(arrs)
    clip_grad_value_(ours, clip)
    for p, a in zip(ours, arrs):
        np.testing.assert_array_equal(p.grad.numpy(), np.clip(a, -clip, clip))


def test_clip_grad_norm_nonfinite_raises_only_when_asked():
    ours = ours_of(arrays())
    ours[1].grad.data[0] = np.inf
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    assert math.isinf(clip_grad_norm_(ours, 1.0).item())


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    ours, theirs, torch = make(scale=2.0)
    n1 = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    n2 = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert n1.item() == pytest.approx(n2.item(), rel=1e-12)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=1e-12)
    total = clip_grad_norm_(ours, 1e9, norm_type=norm_type).item()
    assert total <= max_norm * (1 + 1e-9)


def test_clip_grad_norm_nonfinite_matches_torch():
    ours, theirs, torch = make()
    ours[1].grad.data[0] = np.inf
    theirs[1].grad[0] = np.inf
    with pytest.raises(RuntimeError, match="non-finite"):
        clip_grad_norm_(ours, 1.0, error_if_nonfinite=True)
    with pytest.raises(RuntimeError, match="non-finite"):
        torch.nn.utils.clip_grad_norm_(theirs, 1.0, error_if_nonfinite=True)
    n1 = clip_grad_norm_(ours, 1.0)
    n2 = torch.nn.utils.clip_grad_norm_(theirs, 1.0)
    assert math.isinf(n1.item()) and math.isinf(n2.item())
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a.grad.data, b.grad.numpy())


def test_clip_grad_norm_single_tensor_and_no_grads():
    ours, theirs, torch = make()
    n1 = clip_grad_norm_(ours[0], 0.1)
    n2 = torch.nn.utils.clip_grad_norm_(theirs[0], 0.1)
    assert n1.item() == pytest.approx(n2.item(), rel=1e-12)
    np.testing.assert_allclose(ours[0].grad.data, theirs[0].grad.numpy(), rtol=1e-12)
    p = dc.zeros(3, requires_grad=True)
    assert clip_grad_norm_([p], 1.0).item() == 0.0


@pytest.mark.parametrize("clip", [0.0, 0.3, 10.0])
def test_clip_grad_value_matches_torch(clip):
    ours, theirs, torch = make(scale=1.5)
    clip_grad_value_(ours, clip)
    torch.nn.utils.clip_grad_value_(theirs, clip)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a.grad.data, b.grad.numpy())


def test_bad_clip_arguments():
    ours = ours_of(arrays())
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm_(ours, -1.0)
    with pytest.raises(ValueError, match="norm_type"):
        clip_grad_norm_(ours, 1.0, norm_type=0)
    with pytest.raises(ValueError, match="clip_value"):
        clip_grad_value_(ours, float("nan"))
