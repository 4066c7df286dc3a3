import os

import numpy as np
import pytest

from descend import data as D
from descend.data import vision as M


def test_logic_gates_truth_tables():
    x, t = D.xor().arrays
    np.testing.assert_array_equal(x, [[0, 0], [0, 1], [1, 0], [1, 1]])
    np.testing.assert_array_equal(t[:, 0], [0, 1, 1, 0])
    np.testing.assert_array_equal(D.logic_gate("AND").arrays[1][:, 0], [0, 0, 0, 1])
    with pytest.raises(ValueError, match="unknown gate 'nxor'"):
        D.logic_gate("nxor")


def test_generators_shapes_balance_and_geometry():
    x, t = D.two_moons(100, noise=0.0, seed=0).arrays
    assert x.shape == (100, 2) and np.bincount(t).tolist() == [50, 50]
    np.testing.assert_allclose(np.hypot(*x[t == 0].T), 1, atol=1e-6)
    x, t = D.circles(200, noise=0.0, factor=0.3, seed=0).arrays
    np.testing.assert_allclose(np.hypot(*x[t == 1].T), 0.3, atol=1e-6)
    x, t = D.spirals(300, classes=3, seed=1).arrays
    assert np.bincount(t).tolist() == [100, 100, 100]
    np.testing.assert_array_equal(D.two_moons(50, seed=3).arrays[0], D.two_moons(50, seed=3).arrays[0])
    with pytest.raises(ValueError, match="factor"):
        D.circles(10, factor=1.5)


def test_digits_embedded():
    x, t = D.digits().arrays
    assert x.shape == (1797, 64) and x.dtype == np.float32 and 0 <= x.min() and x.max() == 1.0
    assert np.bincount(t).min() >= 170 and t.max() == 9
    assert D.digits(flatten=False).arrays[0].shape == (1797, 8, 8)


def _write_fake(directory, gz, n=5):
    rng = np.random.default_rng(0)
    imgs = rng.integers(0, 256, size=(n, 28, 28)).astype(np.uint8)
    labels = rng.integers(0, 10, size=n).astype(np.uint8)
    suffix = ".gz" if gz else ""
    D.write_idx(os.path.join(directory, "train-images-idx3-ubyte" + suffix), imgs)
    D.write_idx(os.path.join(directory, "train-labels-idx1-ubyte" + suffix), labels)
    return imgs, labels


@pytest.mark.parametrize("gz", [True, False])
def test_idx_roundtrip_and_mnist_reads_local_files(tmp_path, gz, monkeypatch):
    monkeypatch.setattr(M, "fetch", _no_network)
    imgs, labels = _write_fake(tmp_path, gz)
    np.testing.assert_array_equal(D.read_idx(tmp_path / ("train-images-idx3-ubyte" + (".gz" if gz else ""))), imgs)
    ds = D.mnist(root=tmp_path)
    x, t = ds.arrays
    assert x.shape == (5, 784) and x.dtype == np.float32
    np.testing.assert_allclose(x, imgs.reshape(5, -1) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(t, labels)
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    D.write_idx(tmp_path / "f.idx", a)
    np.testing.assert_array_equal(D.read_idx(tmp_path / "f.idx"), a)


def _no_network(url, path):
    raise AssertionError("tests must not touch the network")


def test_truncated_idx_is_reported_corrupted(tmp_path):
    D.write_idx(tmp_path / "a", np.zeros((3, 4), np.uint8))
    raw = (tmp_path / "a").read_bytes()
    (tmp_path / "a").write_bytes(raw[:-2])
    with pytest.raises(ValueError, match="corrupted"):
        D.read_idx(tmp_path / "a")
    (tmp_path / "b").write_bytes(b"hello world")
    with pytest.raises(ValueError, match="corrupted"):
        D.read_idx(tmp_path / "b")


def test_download_verifies_sha256_and_uses_cache_env(tmp_path, monkeypatch):
    imgs = np.zeros((2, 28, 28), np.uint8)
    labels = np.array([3, 4], np.uint8)
    payload = {}
    for name, arr in (("t10k-images-idx3-ubyte.gz", imgs), ("t10k-labels-idx1-ubyte.gz", labels)):
        D.write_idx(tmp_path / name, arr)
        payload[name] = (tmp_path / name).read_bytes()
        (tmp_path / name).unlink()
    calls = []

    def fake_fetch(url, path):
        calls.append(url)
        with open(path, "wb") as f:
            f.write(payload[url.rsplit("/", 1)[1]])

    monkeypatch.setattr(M, "fetch", fake_fetch)
    sums = {k: _sha(v) for k, v in payload.items()}
    monkeypatch.setitem(M.SOURCES["mnist"], "sha256", sums)
    cache = tmp_path / "cache"
    monkeypatch.setenv("DESCEND_CACHE", str(cache))
    ds = D.mnist(train=False)
    np.testing.assert_array_equal(ds.arrays[1], [3, 4])
    assert (cache / "mnist" / "t10k-images-idx3-ubyte.gz").exists() and len(calls) == 2
    D.mnist(train=False)
    assert len(calls) == 2  # cached now

    monkeypatch.setitem(M.SOURCES["fashion_mnist"], "sha256", {k: "0" * 64 for k in sums})
    with pytest.raises(RuntimeError, match="does not match"):
        D.fashion_mnist(train=False)
    assert not list((cache / "fashion_mnist").glob("*.gz"))


def _sha(b):
    import hashlib
    return hashlib.sha256(b).hexdigest()


def test_offline_error_is_clear(tmp_path, monkeypatch):
    def offline(url, path):
        raise OSError("Name or service not known")

    monkeypatch.setattr(M, "fetch", offline)
    with pytest.raises(RuntimeError, match="(?s)offline.*put them"):
        D.mnist(root=tmp_path)
    with pytest.raises(FileNotFoundError, match="download=True"):
        D.mnist(root=tmp_path, download=False)


def test_cache_dir_default(monkeypatch):
    monkeypatch.delenv("DESCEND_CACHE", raising=False)
    assert D.cache_dir().endswith(os.path.join(".cache", "descend"))
    assert D.cache_dir("/x") == "/x"
