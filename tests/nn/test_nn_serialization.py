"""Saving and loading state: load_state_dict checks everything first (issue 10), and dc.save/dc.load
write safetensors that round-trip every layer's exact shapes and dtypes, load into PyTorch and
back, and refuse a damaged file with one "corrupted" error naming it."""

import json
import os
import struct
import tracemalloc

import numpy as np
import pytest

import descend as dc
from descend import nn
from descend.nn import logic


def every_layer(dtype=None):
    """One model holding every layer type of descend.nn that has parameters or buffers."""
    dc.manual_seed(0)
    trunk = nn.Sequential(
        nn.Conv2d(1, 2, 3, padding=1, dtype=dtype), nn.BatchNorm2d(2, dtype=dtype), nn.ReLU(), nn.MaxPool2d(2),
        nn.AvgPool2d(1), nn.Flatten(), nn.Linear(8, 6, dtype=dtype), nn.BatchNorm1d(6, dtype=dtype), nn.Tanh(),
        nn.Dropout(0.0), nn.Residual(nn.Sequential(nn.Linear(6, 6, bias=False, dtype=dtype), nn.Sigmoid())),
        nn.Identity(), nn.Softmax(dim=1))
    heads = {"maxout": nn.Sequential(nn.Maxout(6, 3, pieces=2)), "mlp": nn.MLP([6, 5, 2], batchnorm=True, dropout=0.0)}
    if dtype is not None:
        for h in heads.values():
            h.to(dtype)
    return nn.ModuleDict({"net": nn.MultiTask(trunk, heads), "logic": logic.XOR(),
                          "list": nn.ModuleList([nn.Linear(2, 2, dtype=dtype)])})


def run(model, x):
    out = model["net"](x)
    return out["maxout"], out["mlp"]


def states(model):
    return {k: v.numpy().copy() for k, v in model.state_dict().items()}


def assert_same_state(a, b):
    assert list(a) == list(b)
    for k in a:
        assert a[k].shape == b[k].shape and a[k].dtype == b[k].dtype, k
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


# --------------------------------------------------------------------------- load_state_dict
def test_a_bad_value_in_a_later_key_changes_nothing():
    model = every_layer()
    before = states(model)
    sd = {k: v + 1 for k, v in before.items()}
    last = list(sd)[-1]
    sd[last] = np.zeros((7, 7), dtype=np.float32)
    with pytest.raises(ValueError, match=f"{last}: shape \\(7, 7\\) in the state dict"):
        model.load_state_dict(sd)
    assert_same_state(states(model), before)


@pytest.mark.parametrize("bad,phrase", [
    (np.array(2.5), "dtype float64 in the state dict cannot be loaded into int64"),
    (np.array("3"), "is not numeric"),
    (np.array([3]), r"shape \(1,\) in the state dict, \(\) in the model"),
])
def test_a_bad_zero_d_buffer_is_reported_and_nothing_is_loaded(bad, phrase):
    model = nn.Sequential(nn.Linear(2, 3), nn.BatchNorm1d(3))
    before = states(model)
    sd = {k: v * 0 for k, v in before.items()}
    sd["1.num_batches_tracked"] = bad
    with pytest.raises(ValueError, match=phrase):
        model.load_state_dict(sd)
    assert_same_state(states(model), before)


def test_a_failed_write_is_rolled_back():
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    before = states(model)
    frozen = np.ones((1, 3), dtype=np.float32)
    frozen.setflags(write=False)
    model[1].weight.data = frozen  # a read-only array the load cannot write
    before["1.weight"] = frozen.copy()
    with pytest.raises(ValueError, match="read-only"):
        model.load_state_dict({k: v + 1 for k, v in before.items()})
    assert_same_state(states(model), before)


def test_loading_into_a_parameter_a_live_graph_holds_moves_its_version():
    lin = nn.Linear(2, 1)
    y = lin(dc.ones(1, 2)).sum()
    lin.load_state_dict({"weight": np.zeros((1, 2), np.float32), "bias": np.zeros(1, np.float32)})
    assert lin.weight.numpy().tolist() == [[0.0, 0.0]]
    with pytest.raises(RuntimeError, match="modified by an in-place operation"):
        y.backward()


# --------------------------------------------------------------------------- dc.save / dc.load
@pytest.mark.parametrize("dtype", [None, dc.float64])
def test_every_layer_round_trips_exact_shapes_and_dtypes(tmp_path, dtype):
    model = every_layer(dtype)
    x = dc.randn(4, 1, 4, 4, dtype=dtype)
    model.train()
    for _ in range(2):
        run(model, x)  # moves the running statistics and num_batches_tracked
    path = tmp_path / "model.safetensors"
    dc.save(model.state_dict(), path)
    loaded = dc.load(path)
    assert ({k: (v.shape, v.dtype) for k, v in loaded.items()}
            == {k: (v.shape, v.dtype) for k, v in model.state_dict().items()})
    assert (loaded["net.trunk.1.num_batches_tracked"].shape == ()
            and loaded["net.trunk.1.num_batches_tracked"].item() == 2)
    other = every_layer(dtype)
    for p in other.parameters():
        p.data[...] = 0
    other.load_state_dict(loaded)
    assert_same_state(states(other), states(model))
    model.eval(), other.eval()
    for a, b in zip(run(model, x), run(other, x)):
        np.testing.assert_array_equal(a.numpy(), b.numpy())


def test_save_refuses_what_safetensors_cannot_hold(tmp_path):
    with pytest.raises(TypeError, match="dict of name -> Tensor"):
        dc.save([np.zeros(2)], tmp_path / "a")
    with pytest.raises(TypeError, match="'x' is a list"):
        dc.save({"x": [1.0]}, tmp_path / "a")
    with pytest.raises(TypeError, match="complex"):
        dc.save({"x": np.zeros(2, np.complex64)}, tmp_path / "a")
    assert not os.listdir(tmp_path)


def test_save_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "m.safetensors"
    dc.save({"w": np.ones(3)}, path)
    original = path.read_bytes()

    def crash(*args):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk full"):
        dc.save({"w": np.zeros(3)}, path)
    assert path.read_bytes() == original
    assert os.listdir(tmp_path) == ["m.safetensors"]  # no temporary file left behind


def test_non_contiguous_and_big_endian_arrays_are_saved_by_value(tmp_path):
    a = np.arange(12.0).reshape(3, 4).T
    b = np.arange(3, dtype=">i4")
    dc.save({"a": a, "b": b, "s": np.float32(2.5) * np.ones(())}, tmp_path / "f")
    out = dc.load(tmp_path / "f")
    np.testing.assert_array_equal(out["a"].numpy(), a)
    np.testing.assert_array_equal(out["b"].numpy(), [0, 1, 2])
    assert out["s"].shape == () and out["s"].item() == 2.5


# --------------------------------------------------------------------------- damaged files
def saved_file(tmp_path):
    path = tmp_path / "good.safetensors"
    dc.save({"w": np.arange(6, dtype=np.float32).reshape(2, 3), "n": np.array(4)}, path)
    return path, path.read_bytes()


def header_of(raw):
    (n,) = struct.unpack("<Q", raw[:8])
    return n, json.loads(raw[8:8 + n])


def with_header(raw, header):
    n, _ = header_of(raw)
    body = json.dumps(header).encode()
    return struct.pack("<Q", len(body)) + body + raw[8 + n:]


def damaged(raw, how):
    n, header = header_of(raw)
    if how == "empty":
        return b""
    if how.startswith("truncated"):
        return raw[:int(how.split("-")[1])]
    if how == "data bit flipped":
        out = bytearray(raw)
        out[-3] ^= 0x04
        return bytes(out)
    if how == "header bit flipped":
        out = bytearray(raw)
        out[12] ^= 0x01
        return bytes(out)
    if how == "shape changed":
        header["w"]["shape"] = [3, 2]
        return with_header(raw, header)
    if how == "absurd header length":
        return struct.pack("<Q", 2**62) + raw[8:]
    if how == "absurd shape":
        header["w"]["shape"] = [2**40, 2**40]
        return with_header(raw, header)
    if how == "deeply nested":
        body = b"[" * 50000 + b"]" * 50000
        return struct.pack("<Q", len(body)) + body
    if how == "not json":
        return struct.pack("<Q", 4) + b"\xff\xfe\x00{"
    if how == "random bytes":
        return np.random.default_rng(0).bytes(300)
    raise ValueError(how)


@pytest.mark.parametrize("how", ["empty", "truncated-5", "truncated-40", "truncated-100", "data bit flipped",
                                 "header bit flipped", "shape changed", "absurd header length", "absurd shape",
                                 "deeply nested", "not json", "random bytes"])
def test_a_damaged_file_is_one_clear_corrupted_error(tmp_path, how):
    _, raw = saved_file(tmp_path)
    path = tmp_path / "bad.safetensors"
    path.write_bytes(damaged(raw, how))
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=f"{path} is corrupted"):
            dc.load(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 1024 + 4 * os.path.getsize(path)  # nothing like the size the file claims


def test_a_missing_file_is_not_called_corrupted(tmp_path):
    with pytest.raises(FileNotFoundError):
        dc.load(tmp_path / "nothing.safetensors")


# --------------------------------------------------------------------------- against PyTorch
SIZES = (5, 7, 3)


def descend_mlp():
    dc.manual_seed(1)
    return nn.Sequential(nn.Linear(5, 7), nn.BatchNorm1d(7), nn.ReLU(), nn.Linear(7, 3))


def torch_mlp(torch):
    torch.manual_seed(2)
    return torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.BatchNorm1d(7), torch.nn.ReLU(), torch.nn.Linear(7, 3))


X = np.random.default_rng(3).standard_normal((4, 5)).astype(np.float32)


def test_a_descend_file_loads_into_pytorch(tmp_path):
    model = descend_mlp()
    model(dc.tensor(X))  # move the running statistics
    model.eval()
    path = tmp_path / "mlp.safetensors"
    dc.save(model.state_dict(), path)
    torch = pytest.importorskip("torch")
    from safetensors.torch import load_file

    theirs = torch_mlp(torch)
    theirs.load_state_dict(load_file(str(path)))
    theirs.eval()
    assert theirs[1].num_batches_tracked.item() == 1 and theirs[1].num_batches_tracked.dim() == 0
    with torch.no_grad():
        expected = theirs(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(model(dc.tensor(X)).numpy(), expected, rtol=1e-6, atol=1e-6)


def test_a_pytorch_file_loads_into_descend(tmp_path):
    torch = pytest.importorskip("torch")
    from safetensors.torch import save_file

    theirs = torch_mlp(torch)
    theirs(torch.from_numpy(X))
    theirs.eval()
    path = tmp_path / "mlp.safetensors"
    save_file(theirs.state_dict(), str(path))
    model = descend_mlp()
    model.load_state_dict(dc.load(path))
    model.eval()
    assert model[1].num_batches_tracked.shape == () and model[1].num_batches_tracked.dtype == np.int64
    with torch.no_grad():
        expected = theirs(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(model(dc.tensor(X)).numpy(), expected, rtol=1e-6, atol=1e-6)
