import numpy as np
import pytest

import descend as dc
from descend import data as D


def _ds(n=10):
    return D.TensorDataset(np.arange(n, dtype=np.float32)[:, None], np.arange(n))


def _epoch(loader):
    return [b[1].numpy().tolist() for b in loader]


def test_default_is_torch_like_batch_one_in_order():
    assert _epoch(D.DataLoader(_ds(3))) == [[0], [1], [2]]


def test_minibatch_shuffle_covers_every_example_once():
    ld = D.DataLoader(_ds(10), batch_size=4, shuffle=True, seed=0)
    batches = _epoch(ld)
    assert [len(b) for b in batches] == [4, 4, 2] and len(ld) == 3
    assert sorted(sum(batches, [])) == list(range(10))
    assert _epoch(ld) != batches  # new permutation every epoch
    ld2 = D.DataLoader(_ds(10), batch_size=4, shuffle=True, seed=0)
    assert _epoch(ld2) == batches  # seeded


def test_drop_last():
    ld = D.DataLoader(_ds(10), batch_size=4, drop_last=True)
    assert len(ld) == 2 and _epoch(ld) == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_modes():
    assert _epoch(D.DataLoader(_ds(5), mode="batch")) == [[0, 1, 2, 3, 4]]
    assert _epoch(D.DataLoader(_ds(4), mode="online")) == [[0], [1], [2], [3]]
    st = _epoch(D.DataLoader(_ds(50), mode="stochastic", seed=1))
    assert len(st) == 50 and all(len(b) == 1 for b in st)
    assert len(set(sum(st, []))) < 50  # drawn with replacement
    mb = D.DataLoader(_ds(10), batch_size=5, mode="minibatch", seed=0)
    assert mb.shuffle and sorted(sum(_epoch(mb), [])) == list(range(10))
    with pytest.raises(ValueError, match="mode='sgd'"):
        D.DataLoader(_ds(), mode="sgd")


def test_fixed_batches_reused_every_epoch():
    ld = D.DataLoader(_ds(12), batch_size=4, shuffle=True, fixed_batches=True, seed=5)
    first = _epoch(ld)
    assert _epoch(ld) == first and sorted(sum(first, [])) == list(range(12))


def test_seed_none_follows_descend_manual_seed():
    dc.manual_seed(7)
    a = _epoch(D.DataLoader(_ds(20), batch_size=5, shuffle=True))
    dc.manual_seed(7)
    assert _epoch(D.DataLoader(_ds(20), batch_size=5, shuffle=True)) == a


def test_state_dict_resumes_mid_epoch():
    ld = D.DataLoader(_ds(20), batch_size=3, shuffle=True, seed=2)
    _epoch(ld)
    it = iter(ld)
    head = [next(it)[1].numpy().tolist() for _ in range(3)]
    state = ld.state_dict()
    rest = [b[1].numpy().tolist() for b in it] + _epoch(ld)
    ld2 = D.DataLoader(_ds(20), batch_size=3, shuffle=True, seed=99)
    ld2.load_state_dict(state)
    assert _epoch(ld2) + _epoch(ld2) == rest
    assert len(head) == 3


def test_subset_and_generic_dataset():
    ds = _ds(10)
    sub = D.Subset(ds, [8, 6, 4])
    assert _epoch(D.DataLoader(sub, batch_size=2)) == [[8, 6], [4]]

    class Squares(D.Dataset):
        def __len__(self):
            return 4

        def __getitem__(self, i):
            return np.array([float(i)]), i * i

    xb, tb = next(iter(D.DataLoader(Squares(), batch_size=4)))
    np.testing.assert_array_equal(tb.numpy(), [0, 1, 4, 9])
    assert xb.shape == (4, 1)


def test_bad_arguments():
    with pytest.raises(ValueError, match="batch_size=0"):
        D.DataLoader(_ds(), batch_size=0)


def test_transform_applied_with_loader_rng():
    ds = D.TensorDataset(np.zeros((8, 4), np.float32), np.arange(8))
    noise = D.transforms.GaussianNoise(1.0)
    a = [b[0].numpy() for b in D.DataLoader(ds, batch_size=4, transform=noise, seed=3)]
    b = [b[0].numpy() for b in D.DataLoader(ds, batch_size=4, transform=noise, seed=3)]
    np.testing.assert_array_equal(a[0], b[0])
    assert a[0].std() > 0.5 and a[0].dtype == np.float32
