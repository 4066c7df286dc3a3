"""nn.MLP builder and nn.MultiTask; a tiny training run shows the pieces work together."""

import numpy as np
import pytest

import descend as dc
import descend.nn as nn
import descend.nn.functional as F


def test_mlp_structure():
    m = nn.MLP([4, 16, 8, 3], activation="tanh", dropout=0.2, batchnorm=True)
    kinds = [type(l).__name__ for l in m]
    assert kinds == ["Linear", "BatchNorm1d", "Tanh", "Dropout", "Linear", "BatchNorm1d", "Tanh", "Dropout", "Linear"]
    assert m(dc.randn(5, 4)).shape == (5, 3)
    assert nn.MLP([3, 2]).__len__() == 1
    with pytest.raises(ValueError, match="activation='swoosh'"):
        nn.MLP([3, 4, 2], activation="swoosh")
    with pytest.raises(ValueError, match="sizes"):
        nn.MLP([3])


def test_mlp_init_option():
    dc.manual_seed(0)
    m = nn.MLP([200, 300, 10], init="kaiming_normal")
    w = m[0].weight.numpy()
    assert abs(w.std() / (np.sqrt(2 / (1 + 0.0)) / np.sqrt(200)) - 1) < 0.01
    m = nn.MLP([200, 300, 10], init=lambda w: nn.init.constant_(w, 0.1))
    assert np.all(m[2].weight.numpy() == np.float32(0.1))


def test_mlp_learns_xor_like_data():
    dc.manual_seed(0)
    rng = np.random.default_rng(0)
    x = rng.uniform(-1, 1, (256, 2)).astype(np.float32)
    y = ((x[:, 0] > 0) ^ (x[:, 1] > 0)).astype(np.int64)
    xd, yd = dc.from_numpy(x), dc.from_numpy(y)
    m = nn.MLP([2, 32, 32, 2])
    for _ in range(300):
        m.zero_grad()
        loss = F.cross_entropy(m(xd), yd)
        loss.backward()
        with dc.no_grad():
            for p in m.parameters():
                p.sub_(0.5 * p.grad.numpy())
    acc = (m(xd).numpy().argmax(1) == y).mean()
    assert acc > 0.93


def test_multitask_shares_trunk():
    dc.manual_seed(0)
    trunk = nn.Sequential(nn.Linear(4, 8), nn.ReLU())
    mt = nn.MultiTask(trunk, {"cls": nn.Linear(8, 3), "reg": nn.Linear(8, 1)})
    out = mt(dc.randn(5, 4))
    assert set(out) == {"cls", "reg"} and out["cls"].shape == (5, 3) and out["reg"].shape == (5, 1)
    assert [n for n, _ in mt.named_parameters()] == ["trunk.0.weight", "trunk.0.bias", "heads.cls.weight",
                                                     "heads.cls.bias", "heads.reg.weight", "heads.reg.bias"]
    loss = F.cross_entropy(out["cls"], dc.tensor([0, 1, 2, 0, 1])) + F.mse_loss(out["reg"], dc.zeros(5, 1))
    loss.backward()
    assert trunk[0].weight.grad is not None and np.abs(trunk[0].weight.grad.numpy()).sum() > 0
