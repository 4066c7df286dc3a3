"""Regularizers: penalties and their gradients, the default filter, magnitude pruning that stays pruned."""

import numpy as np
import pytest

import descend as dc
import descend.nn as nn
import descend.nn.functional as F
from descend.nn.regularizers import default_filter, l1_penalty, l2_penalty, prune_by_magnitude


def net():
    dc.manual_seed(0)
    return nn.Sequential(nn.Linear(5, 8), nn.BatchNorm1d(8), nn.ReLU(), nn.Linear(8, 3)).double()


def test_l2_penalty_value_and_gradient_2w_skipping_biases_and_norm():
    m = net()
    omega = l2_penalty(m)
    w1, w2 = m[0].weight.numpy(), m[3].weight.numpy()
    assert omega.item() == pytest.approx((w1 ** 2).sum() + (w2 ** 2).sum(), rel=1e-14)
    omega.backward()
    np.testing.assert_allclose(m[0].weight.grad.numpy(), 2 * w1)
    np.testing.assert_allclose(m[3].weight.grad.numpy(), 2 * w2)
    assert m[0].bias.grad is None and m[1].weight.grad is None and m[1].bias.grad is None


def test_l1_penalty_gradient_sign():
    m = net()
    with dc.no_grad():
        m[0].weight[0, 0] = 0.0
    omega = l1_penalty(m)
    assert omega.item() == pytest.approx(np.abs(m[0].weight.numpy()).sum() + np.abs(m[3].weight.numpy()).sum())
    omega.backward()
    np.testing.assert_array_equal(m[0].weight.grad.numpy(), np.sign(m[0].weight.numpy()))
    assert m[0].weight.grad.numpy()[0, 0] == 0


def test_penalty_filters():
    m = net()
    assert default_filter("0.weight", m[0].weight) and not default_filter("0.bias", m[0].bias)
    assert not default_filter("1.weight", m[1].weight)
    everything = l2_penalty(m, filter=None).item()
    assert everything == pytest.approx(sum((p.numpy() ** 2).sum() for p in m.parameters()))
    only_first = l2_penalty(m.named_parameters(), filter=lambda n, p: n == "0.weight").item()
    assert only_first == pytest.approx((m[0].weight.numpy() ** 2).sum())
    assert l2_penalty([m[3].weight]).item() == pytest.approx((m[3].weight.numpy() ** 2).sum())
    with pytest.raises(ValueError, match="no parameter"):
        l2_penalty(nn.BatchNorm1d(3))


def test_prune_by_amount_zeroes_smallest_and_keeps_them_zero_during_sgd():
    m = net()
    all_w = np.concatenate([m[0].weight.numpy().ravel(), m[3].weight.numpy().ravel()])
    cut = np.sort(np.abs(all_w))[int(round(0.5 * all_w.size)) - 1]
    pr = prune_by_magnitude(m, amount=0.5)
    assert pr.sparsity() == pytest.approx(0.5, abs=1 / all_w.size)
    for name in ("0.weight", "3.weight"):
        w = dict(m.named_parameters())[name].numpy()
        mask = pr.masks[name]
        assert np.all(w[mask == 0] == 0)
        assert np.all(np.abs(w[mask == 1]) >= cut)
    pruned = {n: pr.masks[n] == 0 for n in pr.masks}
    x = dc.randn(16, 5, dtype=dc.float64)
    y = dc.randint(0, 3, (16,))
    for _ in range(5):  # plain SGD by hand
        m.zero_grad()
        F.cross_entropy(m(x), y).backward()
        with dc.no_grad():
            for p in m.parameters():
                p.sub_(0.5 * p.grad.numpy())
    for name, p in m.named_parameters():
        if name in pruned:
            assert np.all(p.numpy()[pruned[name]] == 0)
            assert np.abs(p.numpy()[~pruned[name]]).min() > 0


def test_pruning_survives_momentum_through_forward_pre_hook():
    m = net()
    pr = prune_by_magnitude(m, threshold=0.3)
    mask = pr.masks["0.weight"]
    assert np.all(np.abs(m[0].weight.numpy()[mask == 1]) >= 0.3)
    with dc.no_grad():  # an optimizer step that moves every weight (e.g. momentum from before pruning)
        for p in m.parameters():
            p.add_(0.1)
    m(dc.randn(4, 5, dtype=dc.float64))  # the pre-hook re-applies the masks
    assert np.all(m[0].weight.numpy()[mask == 0] == 0)
    pr.remove()
    with dc.no_grad():
        m[0].weight.add_(0.1)
    m(dc.randn(4, 5, dtype=dc.float64))
    assert np.all(m[0].weight.numpy()[mask == 0] == pytest.approx(0.1))


def test_prune_layer_scope_and_errors():
    m = net()
    pr = prune_by_magnitude(m, amount=0.25, scope="layer")
    for name, mask in pr.masks.items():
        assert (mask == 0).sum() == round(0.25 * mask.size)
    with pytest.raises(ValueError, match="exactly one"):
        prune_by_magnitude(m)
    with pytest.raises(ValueError, match="amount=1.5"):
        prune_by_magnitude(m, amount=1.5)
