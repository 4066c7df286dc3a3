"""clip_grad_norm_ / clip_grad_value_ against torch.nn.utils."""

import math

import numpy as np
import pytest

import descend as dc
from descend.optim import clip_grad_norm_, clip_grad_value_

torch = pytest.importorskip("torch")


def make(scale=1.0, seed=0):
    rng = np.random.default_rng(seed)
    arrays = [rng.normal(size=s) * scale for s in [(3, 4), (4,), (2, 2, 2)]]
    ours = []
    theirs = []
    for a in arrays:
        p = dc.zeros(*a.shape, dtype=dc.float64, requires_grad=True)
        p.grad = dc.tensor(a.copy(), dtype=dc.float64)
        ours.append(p)
        t = torch.zeros(a.shape, dtype=torch.float64, requires_grad=True)
        t.grad = torch.tensor(a.copy())
        theirs.append(t)
    return ours, theirs


@pytest.mark.parametrize("norm_type", [2.0, 1.0, 3.0, math.inf, "inf"])
@pytest.mark.parametrize("max_norm", [0.5, 100.0])
def test_clip_grad_norm_matches_torch(norm_type, max_norm):
    ours, theirs = make(scale=2.0)
    n1 = clip_grad_norm_(ours, max_norm, norm_type=norm_type)
    n2 = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type=norm_type)
    assert n1.item() == pytest.approx(n2.item(), rel=1e-12)
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=1e-12)
    total = clip_grad_norm_(ours, 1e9, norm_type=norm_type).item()
    assert total <= max_norm * (1 + 1e-9)


def test_clip_grad_norm_nonfinite():
    ours, theirs = make()
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
    ours, theirs = make()
    n1 = clip_grad_norm_(ours[0], 0.1)
    n2 = torch.nn.utils.clip_grad_norm_(theirs[0], 0.1)
    assert n1.item() == pytest.approx(n2.item(), rel=1e-12)
    np.testing.assert_allclose(ours[0].grad.data, theirs[0].grad.numpy(), rtol=1e-12)
    p = dc.zeros(3, requires_grad=True)
    assert clip_grad_norm_([p], 1.0).item() == 0.0


@pytest.mark.parametrize("clip", [0.0, 0.3, 10.0])
def test_clip_grad_value_matches_torch(clip):
    ours, theirs = make(scale=1.5)
    clip_grad_value_(ours, clip)
    torch.nn.utils.clip_grad_value_(theirs, clip)
    for a, b in zip(ours, theirs):
        np.testing.assert_array_equal(a.grad.data, b.grad.numpy())


def test_bad_clip_arguments():
    ours, _ = make()
    with pytest.raises(ValueError, match="max_norm"):
        clip_grad_norm_(ours, -1.0)
    with pytest.raises(ValueError, match="norm_type"):
        clip_grad_norm_(ours, 1.0, norm_type=0)
    with pytest.raises(ValueError, match="clip_value"):
        clip_grad_value_(ours, float("nan"))
