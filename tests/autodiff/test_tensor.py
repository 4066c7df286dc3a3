"""The Tensor object itself: attributes, conversions, memory sharing, Python protocols, repr."""

import numpy as np
import pytest

import descend as dc


def test_attributes():
    x = dc.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert x.shape == (2, 2) and x.ndim == 2 and x.dim() == 2 and x.numel() == 4
    assert x.size() == (2, 2) and x.size(1) == 2
    assert x.dtype == dc.float32 == np.float32
    assert x.is_leaf and x.grad is None and x.grad_fn is None
    y = x * 2
    assert not y.is_leaf and y.requires_grad and type(y.grad_fn).__name__ == "MulScalar"
    assert x.T.shape == (2, 2) and dc.tensor([1.0, 2.0]).T.shape == (2,)
    assert dc.ones(3, 4, 5).mT.shape == (3, 5, 4)


def test_conversions():
    x = dc.tensor([[1.5, -2.0]])
    assert x.tolist() == [[1.5, -2.0]]
    assert x.numpy() is x.data
    assert np.asarray(x).dtype == np.float32
    assert np.asarray(x, dtype=np.float64).dtype == np.float64
    assert dc.tensor(3).item() == 3 and int(dc.tensor(3)) == 3 and float(dc.tensor([2.5])) == 2.5
    assert x.double().dtype == np.float64 and x.double().float().dtype == np.float32 and x.long().dtype == np.int64
    with pytest.raises(TypeError):
        [0, 1][dc.tensor(1.0)]
    assert [0, 1][dc.tensor(1)] == 1


def test_memory_sharing():
    a = np.zeros(3)
    shared = dc.from_numpy(a)
    copied = dc.tensor(a, dtype="float64")
    a[0] = 5.0
    assert shared.numpy()[0] == 5.0 and copied.numpy()[0] == 0.0
    assert shared.dtype == np.float64
    x = dc.tensor([1.0, 2.0], requires_grad=True)
    d = x.detach()
    assert d.data is x.data and not d.requires_grad
    t = dc.tensor(x)
    assert t.data is not x.data and not t.requires_grad
    with pytest.raises(TypeError, match="numpy"):
        dc.from_numpy([1.0, 2.0])
    with pytest.raises(TypeError):
        dc.tensor(["a", object()])


def test_python_protocols():
    x = dc.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    assert len(x) == 2
    rows = list(x)
    assert [r.tolist() for r in rows] == [[1.0, 2.0], [3.0, 4.0]]
    s = sum(rows)
    s.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((2, 2)))
    with pytest.raises(TypeError):
        len(dc.tensor(1.0))
    assert bool(dc.tensor([1.0])) and not bool(dc.tensor(0.0))
    assert {x: 1}[x] == 1  # hashable by identity
    assert (+x) is x


def test_repr():
    assert repr(dc.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(dc.tensor([1.0], dtype="float64")) == "tensor([1.], dtype=float64)"
    assert repr(dc.tensor([1, 2])) == "tensor([1, 2])"
    assert repr(dc.tensor([1.0], requires_grad=True)) == "tensor([1.], requires_grad=True)"
    assert repr(dc.tensor([1.0], requires_grad=True) * 2) == "tensor([2.], grad_fn=<MulScalar>)"


def test_requires_grad_toggles():
    x = dc.tensor([1.0])
    assert x.requires_grad_() is x and x.requires_grad
    x.requires_grad_(False)
    assert not x.requires_grad
    y = dc.tensor([1.0], requires_grad=True) * 2
    with pytest.raises(RuntimeError, match="detach"):
        y.requires_grad_(False)


def test_inplace_methods_values_and_versions():
    x = dc.tensor([1.0, -2.0, 3.0])
    v0 = x._version
    x.add_(1).mul_(2).sub_(1).div_(2)
    np.testing.assert_allclose(x.numpy(), [1.5, -1.5, 3.5])
    x.add_(dc.tensor([1.0, 1.0, 1.0]), alpha=2)
    np.testing.assert_allclose(x.numpy(), [3.5, 0.5, 5.5])
    x.clamp_(0.0, 4.0)
    np.testing.assert_allclose(x.numpy(), [3.5, 0.5, 4.0])
    x[1] = 9.0
    x.copy_(dc.tensor([7.0, 8.0, 9.0]))
    np.testing.assert_allclose(x.numpy(), [7.0, 8.0, 9.0])
    x.fill_(2.0)
    x.zero_()
    assert x.numpy().tolist() == [0.0, 0.0, 0.0]
    assert x._version == v0 + 10  # one bump per in-place call
    with pytest.raises(ValueError, match=r"\(2,\).*\(3,\)"):
        x.copy_(dc.tensor([1.0, 2.0]))
    i = dc.tensor([1, 2])
    with pytest.raises(TypeError, match="int64"):
        i.add_(0.5)
