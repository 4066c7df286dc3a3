"""Checkpoints: exact round trips (shapes, dtypes, non-finite floats), one atomic file, and every kind of damage
detected as the same "corrupted" error before anything large is allocated."""

import hashlib
import json
import os
import tracemalloc
import zipfile

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import descend as dc
from descend import data as D
from descend import nn
from descend import train as T
from descend.train.checkpoint import CheckpointError, checkpoint_exists, checkpoint_path, load_checkpoint, \
    save_checkpoint
from descend.train.config import load_config
from descend.train.registry import ACTIVATIONS
from descend.train.run import fit_to
from descend.train.spec import resolve
from descend.train.state import load_model_state
from standins import TinyMLP, TinySGD, cross_entropy


def test_roundtrip_of_nested_state_without_pickle(tmp_path):
    rng = np.random.default_rng(0)
    state = {"a": dc.tensor([[1.0, 2.0]]), "b": np.arange(3), "c": (1, 2.5, "x"), "d": {0: {"m": np.ones(2)}},
             "e": [None, True, float("inf"), float("-inf"), float("nan"), -0.0, 5e-324, 2**100],
             "f": rng.bit_generator.state, "g": np.random.get_state(),
             "zero_d": np.array(7, dtype=np.int64), "zero_d_tensor": dc.tensor(np.float32(2.5)),
             "empty": np.zeros((0, 3), np.float32), "strided": np.arange(12.0).reshape(3, 4)[:, ::2],
             "big_endian": np.arange(4, dtype=">i4"), "dict_keys": {(1, 2): "t", 3.5: "f", "__x": 1},
             "dtypes": [np.zeros(2, t) for t in (np.bool_, np.int8, np.uint8, np.int16, np.uint16, np.int32,
                                                  np.uint32, np.int64, np.uint64, np.float16, np.float32, np.float64)],
             "np_scalars": [np.float32(1.5), np.int64(3), np.bool_(True)]}
    base = T.save_checkpoint(tmp_path / "ck", state)
    assert base == str(tmp_path / "ck") and os.listdir(tmp_path) == ["ck.safetensors"]
    back = T.load_checkpoint(tmp_path / "ck.safetensors")
    assert isinstance(back["a"], dc.Tensor) and back["a"].dtype == np.float32
    np.testing.assert_array_equal(back["a"].numpy(), [[1, 2]])
    np.testing.assert_array_equal(back["b"], [0, 1, 2])
    assert back["c"] == (1, 2.5, "x") and back["f"] == state["f"]
    e = back["e"]
    assert e[:4] == [None, True, float("inf"), float("-inf")] and np.isnan(e[4]) and e[6:] == [5e-324, 2**100]
    assert np.signbit(e[5])
    np.testing.assert_array_equal(back["d"][0]["m"], [1, 1])
    np.testing.assert_array_equal(back["g"][1], state["g"][1])
    assert back["zero_d"].shape == () and back["zero_d"].dtype == np.int64 and back["zero_d"] == 7
    assert back["zero_d_tensor"].shape == () and back["zero_d_tensor"].dtype == np.float32
    assert back["empty"].shape == (0, 3)
    np.testing.assert_array_equal(back["strided"], state["strided"])
    np.testing.assert_array_equal(back["big_endian"], [0, 1, 2, 3])
    assert back["dict_keys"] == {(1, 2): "t", 3.5: "f", "__x": 1}
    assert [a.dtype for a in back["dtypes"]] == [a.dtype for a in state["dtypes"]]
    assert back["np_scalars"] == [1.5, 3, True]
    assert all(a.flags.writeable for a in back["dtypes"])
    with pytest.raises(TypeError, match="never pickle"):
        T.save_checkpoint(tmp_path / "bad", {"x": object()})
    with pytest.raises(TypeError, match="complex128"):
        T.save_checkpoint(tmp_path / "bad", {"x": np.zeros(2, complex)})
    assert sorted(os.listdir(tmp_path)) == ["ck.safetensors"]


def test_the_file_is_safetensors_and_strict_json():
    safetensors = pytest.importorskip("safetensors.numpy")
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        w = np.arange(6, dtype=np.float32).reshape(2, 3)
        save_checkpoint(os.path.join(d, "ck"), {"w": w, "n": np.zeros((), np.int64), "best": float("inf")})
        arrays = safetensors.load_file(os.path.join(d, "ck.safetensors"))
        np.testing.assert_array_equal(arrays["s.w"], w)
        assert arrays["s.n"].shape == ()
        with open(os.path.join(d, "ck.safetensors"), "rb") as f:
            raw = f.read()
        header = json.loads(raw[8:8 + int.from_bytes(raw[:8], "little")], parse_constant=_reject)
        json.loads(header["__metadata__"]["state"], parse_constant=_reject)


def _reject(name):
    raise ValueError(f"{name} is not strict JSON")


def test_every_model_the_command_line_builds_round_trips(tmp_path):
    """Every activation, with and without BatchNorm and dropout: exact shapes, dtypes and values (a trained
    BatchNorm's 0-d num_batches_tracked included), through save_checkpoint and Trainer.load_checkpoint."""
    for batchnorm in (False, True):
        for activation in ACTIVATIONS:
            spec = resolve(load_config(None, [f"model.activation={activation}", "model.hidden=[5, 4]",
                                              f"model.batchnorm={str(batchnorm).lower()}", "model.dropout=0.2"]))
            dc.manual_seed(0)
            model = spec.model.build(3, 2)
            model.train()
            model(dc.randn(6, 3))   # moves the BatchNorm statistics and counter
            tr = T.Trainer(model, cross_entropy, spec.optimizer.build(model.parameters()))
            tr.save_checkpoint(tmp_path / "ck")
            dc.manual_seed(1)
            other = spec.model.build(3, 2)
            T.Trainer(other, cross_entropy, spec.optimizer.build(other.parameters())).load_checkpoint(tmp_path / "ck")
            a, b = model.state_dict(), other.state_dict()
            assert a.keys() == b.keys()
            for k in a:
                assert (b[k].shape, b[k].dtype) == (a[k].shape, a[k].dtype), (activation, batchnorm, k)
                np.testing.assert_array_equal(b[k].numpy(), a[k].numpy())
            if batchnorm:
                assert b["1.num_batches_tracked"].shape == () and int(b["1.num_batches_tracked"].numpy()) == 1


def test_other_layer_types_round_trip(tmp_path):
    dc.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(2, 4), nn.Maxout(4, 3, 2), nn.Linear(3, 2))
    model.train()
    model(dc.randn(2, 1, 4, 4))
    save_checkpoint(tmp_path / "m", {"model": T.Trainer(model, cross_entropy, None).state_dict()["model"]})
    dc.manual_seed(5)
    other = nn.Sequential(nn.Conv2d(1, 2, 3), nn.BatchNorm2d(2), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(2, 4), nn.Maxout(4, 3, 2), nn.Linear(3, 2))
    load_model_state(other, load_checkpoint(tmp_path / "m")["model"])
    for k, v in model.state_dict().items():
        w = other.state_dict()[k]
        assert (w.shape, w.dtype) == (v.shape, v.dtype)
        np.testing.assert_array_equal(w.numpy(), v.numpy())


def test_other_architecture_lists_mismatches_and_changes_nothing(tmp_path):
    m = TinyMLP(h=8)
    tr = T.Trainer(m, cross_entropy, TinySGD(m.parameters()))
    tr.save_checkpoint(tmp_path / "ck")
    m2 = TinyMLP(h=5)
    before = {k: v.numpy().copy() for k, v in m2.state_dict().items()}
    tr2 = T.Trainer(m2, cross_entropy, TinySGD(m2.parameters()))
    with pytest.raises(ValueError, match=r"architecture.*w1: checkpoint has shape \(2, 8\), model has \(2, 5\)"):
        tr2.load_checkpoint(tmp_path / "ck")
    for k, v in m2.state_dict().items():
        np.testing.assert_array_equal(v.numpy(), before[k])
    state = load_checkpoint(tmp_path / "ck")["model"]
    m3 = TinyMLP(h=8)
    state = {k: v.astype(np.float64) if k == "w2" else v for k, v in state.items()}
    with pytest.raises(ValueError, match="w2: checkpoint has dtype float64, model has float32"):
        load_model_state(m3, state)


# ---------------------------------------------------------------------------- damage
def _saved(tmp_path):
    save_checkpoint(tmp_path / "ck", {"epoch": 30, "lr": 0.001, "w": np.arange(100.0), "b": np.ones(3, np.float32)})
    return tmp_path / "ck.safetensors"


def _expect_corrupted(path):
    with pytest.raises(CheckpointError, match=rf"checkpoint .*{path.name} is corrupted"):
        load_checkpoint(path)


def _forge(path, header, data, state):
    """Write a file in the checkpoint layout with a valid checksum, as someone editing it by hand could."""
    header = dict(header, __metadata__={"format": "descend-checkpoint-2", "state": state, "sha256": "0" * 64})
    text = json.dumps(header, separators=(",", ":")).encode()
    body = bytearray(len(text).to_bytes(8, "little") + text + data)
    at = body.find(b'"sha256":"' + b"0" * 64) + len(b'"sha256":"')
    body[at:at + 64] = hashlib.sha256(bytes(body)).hexdigest().encode()
    path.write_bytes(bytes(body))


def test_truncated_files_say_corrupted_with_the_name(tmp_path):
    path = _saved(tmp_path)
    raw = path.read_bytes()
    for cut in sorted({0, 1, 7, 8, 9, 20, len(raw) // 2, len(raw) - 801, len(raw) - 1}):
        path.write_bytes(raw[:cut])
        _expect_corrupted(path)
    path.write_bytes(raw + b"\0")
    _expect_corrupted(path)
    with pytest.raises(FileNotFoundError):
        load_checkpoint(tmp_path / "nothing")


def test_every_byte_is_covered_by_the_checksum(tmp_path):
    path = _saved(tmp_path)
    raw = path.read_bytes()
    for i in range(len(raw)):
        flipped = bytearray(raw)
        flipped[i] ^= 0x10
        path.write_bytes(bytes(flipped))
        _expect_corrupted(path)


def test_hand_edited_state_is_detected(tmp_path):
    path = _saved(tmp_path)
    raw = path.read_bytes()
    for old, new in ((b'\\"epoch\\":30', b'\\"epoch\\":31'), (b'\\"lr\\":0.001', b'\\"lr\\":1000.')):
        assert old in raw
        path.write_bytes(raw.replace(old, new))
        _expect_corrupted(path)


@pytest.mark.parametrize("case", ["4TB", "huge_shape", "gap", "overlap", "short", "negative", "dtype", "object",
                                  "deep_state", "deep_header", "missing_array", "nan_literal", "bad_tag", "format",
                                  "not_utf8", "header_length", "broken_state", "state_not_text", "bad_float"])
def test_absurd_files_are_refused_before_allocating(tmp_path, case):
    path = tmp_path / "ck.safetensors"
    data = np.arange(4, dtype=np.float32).tobytes()
    entry = {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}
    state = json.dumps({"w": {"__ndarray__": "s.w"}})
    header = {"s.w": entry}
    if case == "4TB":
        header = {"s.w": dict(entry, shape=[2**40], data_offsets=[0, 2**42])}
    elif case == "huge_shape":
        header = {"s.w": dict(entry, shape=[2**31, 2**31, 2**31])}
    elif case == "gap":
        header = {"s.w": dict(entry, shape=[3], data_offsets=[4, 16])}
    elif case == "overlap":
        header = {"s.w": entry, "s.v": dict(entry, shape=[1], data_offsets=[0, 4])}
    elif case == "short":
        header = {"s.w": dict(entry, shape=[3], data_offsets=[0, 12])}
    elif case == "negative":
        header = {"s.w": dict(entry, shape=[-4])}
    elif case == "dtype":
        header = {"s.w": dict(entry, dtype="O")}
    elif case == "object":
        header = {"s.w": [1, 2]}
    elif case == "deep_state":
        state = "[" * 100_000 + "]" * 100_000
    elif case == "deep_header":
        header = {"s.w": entry, "x": json.loads("[" * 200 + "]" * 200)}
    elif case == "missing_array":
        state = json.dumps({"w": {"__ndarray__": "s.nothing"}})
    elif case == "nan_literal":
        state = '{"w": NaN}'
    elif case == "bad_tag":
        state = json.dumps({"w": {"__ndarray__": "s.w", "other": 1}})
    elif case == "broken_state":
        state = '{"w": {"__ndarray__": "s.w"}'
    elif case == "state_not_text":
        state = "\ud800"
    elif case == "bad_float":
        state = json.dumps({"w": {"__ndarray__": "s.w"}, "x": {"__float__": "1e999"}})
    if case == "format":
        path.write_bytes(b"PK\x03\x04" + b"\0" * 100)
    elif case == "not_utf8":
        text = b'{"\xff":1}'
        path.write_bytes(len(text).to_bytes(8, "little") + text)
    elif case == "header_length":
        path.write_bytes((2**62).to_bytes(8, "little") + b"{}")
    else:
        _forge(path, header, data, state)
    tracemalloc.start()
    try:
        _expect_corrupted(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 * path.stat().st_size + 2**20


JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) |
                    st.text(max_size=5), lambda inner: st.lists(inner, max_size=3) |
                    st.dictionaries(st.sampled_from(["dtype", "shape", "data_offsets", "__ndarray__", "__tensor__",
                                                     "__tuple__", "__dict__", "__float__", "s.w", "x"]), inner,
                                    max_size=4), max_leaves=12)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(entry=JSON, state=JSON)
def test_any_forged_header_or_state_loads_or_says_corrupted(tmp_path, entry, state):
    path = tmp_path / "ck.safetensors"
    _forge(path, {"s.w": entry}, np.arange(4, dtype=np.float32).tobytes(), json.dumps(state))
    try:
        load_checkpoint(path)
    except CheckpointError as e:
        assert "ck.safetensors is corrupted" in str(e)
    _forge(path, {"s.w": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}},
           np.arange(4, dtype=np.float32).tobytes(), json.dumps(state))
    try:
        load_checkpoint(path)
    except CheckpointError as e:
        assert "ck.safetensors is corrupted" in str(e)


def test_a_zip_bomb_is_not_opened(tmp_path):
    bomb = tmp_path / "ck.safetensors"
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("w.npy", b"\0" * 50_000_000)
    assert bomb.stat().st_size < 100_000
    tracemalloc.start()
    try:
        _expect_corrupted(bomb)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20


def test_old_two_file_checkpoints_are_refused_clearly(tmp_path):
    np.savez(tmp_path / "last.npz", w=np.ones(2))
    (tmp_path / "last.json").write_text('{"format": "descend-checkpoint-1"}')
    assert checkpoint_exists(tmp_path / "last")
    with pytest.raises(CheckpointError, match=r"last.npz \+ .*last.json is in descend 0.1's two-file format"):
        load_checkpoint(tmp_path / "last")


def test_a_write_removes_what_killed_writers_left(tmp_path):
    import subprocess
    import sys
    dead = int(subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True).stdout)
    orphan, live = tmp_path / f".ck.safetensors.{dead}.tmp", tmp_path / f".ck.safetensors.{os.getppid()}.tmp"
    orphan.write_bytes(b"half")
    live.write_bytes(b"being written")
    save_checkpoint(tmp_path / "ck", {"epoch": 1})
    assert not orphan.exists() and live.exists()


def test_a_failed_write_keeps_the_previous_checkpoint(tmp_path, monkeypatch):
    save_checkpoint(tmp_path / "ck", {"epoch": 1})

    def broken(src, dst):
        raise OSError("disk full")
    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(tmp_path / "ck", {"epoch": 2})
    monkeypatch.undo()
    assert load_checkpoint(tmp_path / "ck")["epoch"] == 1
    assert os.listdir(tmp_path) == ["ck.safetensors"]
    assert checkpoint_path(tmp_path / "ck.npz") == str(tmp_path / "ck.safetensors")


# ---------------------------------------------------------------------------- resume in process
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
    fit_to(resumed, loader, val, 6)
    for a, b in zip(full.model.parameters(), resumed.model.parameters()):
        np.testing.assert_array_equal(a.data, b.data)
    assert full.history.history["val_loss"] == resumed.history.history["val_loss"]
    assert load_checkpoint(tmp_path / "a" / "last")["epoch"] == 6
