import json

import numpy as np
import pytest

import descend as dc
from descend import data as D
from descend import train as T
from standins import TinyMLP, TinySGD, cross_entropy


def test_roundtrip_of_nested_state_without_pickle(tmp_path):
    state = {"a": dc.tensor([[1.0, 2.0]]), "b": np.arange(3), "c": (1, 2.5, "x"), "d": {0: {"m": np.ones(2)}},
             "e": [None, True, float("inf")], "f": np.random.default_rng(0).bit_generator.state,
             "g": np.random.get_state()}
    T.save_checkpoint(tmp_path / "ck", state)
    back = T.load_checkpoint(tmp_path / "ck.npz")
    np.testing.assert_array_equal(back["a"].numpy(), [[1, 2]])
    assert isinstance(back["a"], dc.Tensor) and back["a"].dtype == np.float32
    np.testing.assert_array_equal(back["b"], [0, 1, 2])
    assert back["c"] == (1, 2.5, "x") and back["e"] == [None, True, float("inf")]
    np.testing.assert_array_equal(back["d"][0]["m"], [1, 1])
    assert back["f"] == state["f"]
    np.testing.assert_array_equal(back["g"][1], state["g"][1])
    with np.load(tmp_path / "ck.npz", allow_pickle=False) as z:
        assert all(z[k].dtype != object for k in z.files)
    assert not list(tmp_path.glob("*.tmp*"))
    with pytest.raises(TypeError, match="never pickle"):
        T.save_checkpoint(tmp_path / "bad", {"x": object()})


def test_truncated_or_corrupted_files_say_corrupted_with_name(tmp_path):
    T.save_checkpoint(tmp_path / "ck", {"w": np.arange(100.0)})
    npz = tmp_path / "ck.npz"
    raw = npz.read_bytes()
    npz.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match=r"ck\.npz is corrupted"):
        T.load_checkpoint(tmp_path / "ck")
    npz.write_bytes(raw)
    js = tmp_path / "ck.json"
    js.write_text(js.read_text()[:-5])
    with pytest.raises(ValueError, match=r"ck\.json is corrupted"):
        T.load_checkpoint(tmp_path / "ck")
    with pytest.raises(FileNotFoundError):
        T.load_checkpoint(tmp_path / "nothing")


def test_other_architecture_lists_mismatches(tmp_path):
    m = TinyMLP(h=8)
    tr = T.Trainer(m, cross_entropy, TinySGD(m.parameters()))
    tr.save_checkpoint(tmp_path / "ck")
    m2 = TinyMLP(h=5)
    tr2 = T.Trainer(m2, cross_entropy, TinySGD(m2.parameters()))
    with pytest.raises(ValueError, match=r"another architecture.*w1: checkpoint has shape \(2, 8\), model has \(2, 5\)"):
        tr2.load_checkpoint(tmp_path / "ck")


def _trainer(tmp_path, seed=0):
    dc.manual_seed(seed)
    m = TinyMLP(seed=seed)
    opt = TinySGD(m.parameters(), 0.2, momentum=0.9)
    cbs = [T.EarlyStopping(mode="min", patience=50), T.PolyakAveraging(apply_at_end=False),
           T.ModelCheckpoint(tmp_path, every=1)]
    loader = D.DataLoader(D.two_moons(60, seed=1), batch_size=8, shuffle=True, seed=3,
                          transform=lambda x, rng: x + rng.normal(0, 0.01, x.shape))
    return T.Trainer(m, cross_entropy, opt, callbacks=cbs), loader


def test_resume_in_process_is_bit_identical(tmp_path):
    val = D.two_moons(30, seed=2)
    full, loader = _trainer(tmp_path / "a")
    full.fit(loader, val=val, epochs=6)
    half, loader = _trainer(tmp_path / "b")
    half.fit(loader, val=val, epochs=3)
    resumed, loader = _trainer(tmp_path / "c", seed=9)
    resumed.load_checkpoint(tmp_path / "b" / "last")
    assert resumed.epoch == 3
    resumed.fit(loader, val=val, epochs=3)  # 3 more epochs
    for a, b in zip(full.model.parameters(), resumed.model.parameters()):
        np.testing.assert_array_equal(a.data, b.data)
    assert full.history.history["val_loss"] == resumed.history.history["val_loss"]
    meta = json.loads((tmp_path / "a" / "last.json").read_text())
    assert meta["state"]["epoch"] == 6
