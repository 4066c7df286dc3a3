import warnings

import numpy as np
import pytest

import descend as dc
from descend import data as D


def test_tensor_dataset_indexing_and_length():
    x = np.arange(12, dtype=np.float32).reshape(6, 2)
    t = np.arange(6)
    ds = D.TensorDataset(dc.tensor(x), t)
    assert len(ds) == 6
    xi, ti = ds[3]
    np.testing.assert_array_equal(xi.numpy(), [6, 7])
    assert ti.item() == 3
    np.testing.assert_array_equal(ds.tensors[0].numpy(), x)


def test_empty_and_mismatched_lengths_raise():
    with pytest.raises(ValueError, match="empty"):
        D.TensorDataset(np.zeros((0, 3)), np.zeros(0))
    with pytest.raises(ValueError, match=r"same length.*\[5, 4\]"):
        D.TensorDataset(np.zeros((5, 3)), np.zeros(4))
    with pytest.raises(ValueError, match="at least one"):
        D.TensorDataset()


def test_nan_inputs_warn_once_with_first_bad_row_or_raise_when_strict():
    x = np.ones((10, 3), dtype=np.float32)
    x[4, 1] = np.nan
    x[7, 0] = np.inf
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        D.TensorDataset(x, np.zeros(10))
    assert len(w) == 1
    assert "2 of 10 rows" in str(w[0].message) and "index 4" in str(w[0].message)
    with pytest.raises(ValueError, match="first bad row is index 4"):
        D.TensorDataset(x, np.zeros(10), strict=True)


def test_subset_and_as_arrays():
    ds = D.TensorDataset(np.arange(10.0).reshape(10, 1), np.arange(10))
    sub = D.Subset(D.Subset(ds, [9, 7, 5, 3]), [1, 3])
    x, t = D.as_arrays(sub)
    np.testing.assert_array_equal(t, [7, 3])
    assert sub[0][1].item() == 7
    with pytest.raises(ValueError, match="indices must lie"):
        D.Subset(ds, [10])


def test_random_split_is_a_disjoint_partition_and_seeded():
    ds = D.TensorDataset(np.arange(100.0)[:, None], np.arange(100))
    a, b, c = D.random_split(ds, [0.5, 0.3, 0.2], seed=3)
    assert (len(a), len(b), len(c)) == (50, 30, 20)
    allidx = np.concatenate([a.indices, b.indices, c.indices])
    np.testing.assert_array_equal(np.sort(allidx), np.arange(100))
    a2, _, _ = D.random_split(ds, [50, 30, 20], seed=3)
    np.testing.assert_array_equal(a.indices, a2.indices)
    with pytest.raises(ValueError, match="summing"):
        D.random_split(ds, [50, 30])


def test_stratified_split_keeps_class_proportions():
    t = np.repeat([0, 1, 2], [100, 60, 40])
    ds = D.TensorDataset(np.random.default_rng(0).normal(size=(200, 2)), t)
    tr, va, te = D.train_val_test_split(ds, val=0.2, test=0.1, stratify=True, seed=0)
    assert len(tr) + len(va) + len(te) == 200
    assert set(tr.indices) | set(va.indices) | set(te.indices) == set(range(200))
    np.testing.assert_array_equal(np.bincount(t[va.indices]), [20, 12, 8])
    np.testing.assert_array_equal(np.bincount(t[te.indices]), [10, 6, 4])
    with pytest.raises(ValueError, match="val \\+ test"):
        D.train_val_test_split(ds, val=0.6, test=0.5)


def test_standardize_uses_training_statistics_only():
    rng = np.random.default_rng(1)
    train = rng.normal(3.0, 2.0, size=(500, 4)).astype(np.float32)
    train[:, 3] = 5.0  # constant feature keeps sigma = 1
    test = rng.normal(0.0, 1.0, size=(50, 4)).astype(np.float32)
    s = D.Standardize().fit(D.TensorDataset(train, np.zeros(500)))
    z = s(train)
    np.testing.assert_allclose(z[:, :3].mean(0), 0, atol=1e-5)
    np.testing.assert_allclose(z[:, :3].std(0), 1, atol=1e-4)
    np.testing.assert_allclose(z[:, 3], 0)
    np.testing.assert_allclose(
        s(test),
        (test - train.mean(0, dtype=np.float64)) / np.where(train.std(0) < 1e-8, 1, train.std(0, dtype=np.float64)),
        rtol=1e-4,
        atol=1e-5,
    )
    zt = s(dc.tensor(test))
    assert isinstance(zt, dc.Tensor) and zt.dtype == np.float32
    ds2 = s(D.TensorDataset(test, np.arange(50)))
    np.testing.assert_allclose(ds2.arrays[0], s(test))


def test_non_numeric_fields_are_refused_at_construction():
    """A string label column used to pass until the first batch; now the data set says what is wrong."""
    x = np.zeros((3, 2), dtype=np.float32)
    with pytest.raises(TypeError, match=r"argument 1 has dtype <U1.*integers"):
        D.TensorDataset(x, np.array(["a", "b", "a"]))
    with pytest.raises(TypeError, match="complex"):
        D.TensorDataset(x.astype(np.complex64), np.arange(3))
