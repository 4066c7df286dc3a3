"""Trainer checkpoints: a failed load changes nothing; a loaded Trainer trains n more epochs bit for bit."""

import copy

import numpy as np
import pytest

import descend as dc
from descend import data as D
from descend import nn, optim
from descend import train as T
from descend.nn import functional as F
from descend.optim import lr_scheduler


class Fragile(T.Callback):
    """A callback whose own load check fails only after it has begun changing itself."""

    def __init__(self, value=0):
        self.value = value

    def state_dict(self):
        return {"value": self.value}

    def load_state_dict(self, state):
        self.value = state["value"]
        if self.value < 0:
            raise ValueError("Fragile refuses a negative value")


def _data():
    return D.two_moons(60, noise=0.1, seed=1)


def _trainer(seed=0, hidden=8, extra=(), opt=optim.Adam):
    """EarlyStopping plus ``extra`` (a list, or a function of the optimizer giving one)."""
    dc.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, hidden), nn.Tanh(), nn.Linear(hidden, 2))
    o = opt(model.parameters(), lr=0.05)
    callbacks = [T.EarlyStopping(mode="min", patience=50), *(extra(o) if callable(extra) else extra)]
    return T.Trainer(model, F.cross_entropy, o, callbacks=callbacks, verbose=0)


def _fit(trainer, epochs=2, seed=3):
    loader = D.DataLoader(_data(), batch_size=16, shuffle=True, seed=seed)
    trainer.fit(loader, val=_data(), epochs=epochs)
    return loader


def _everything(tr):
    """Every piece of state a load could touch, as plain copies."""
    return copy.deepcopy({
        "model": {k: v.numpy() for k, v in tr.model.state_dict().items()},
        "optimizer": tr.optimizer.state_dict(), "groups": [{k: v for k, v in g.items() if k != "params"}
                                                           for g in tr.optimizer.param_groups],
        "callbacks": [c.state_dict() for c in tr.callbacks],
        "counters": (tr.epoch, tr.global_step, tr.stop_training, tr.stop_reason),
        "rng": (dc.get_rng_state(), np.random.get_state()[1].tolist(), np.random.get_state()[2]),
        "loader": None if tr.train_loader is None else tr.train_loader.state_dict(),
        "pending": tr._pending_loader_state})


def _assert_same(a, b, path="state"):
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _assert_same(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b)):
            _assert_same(x, y, f"{path}[{i}]")
    elif isinstance(a, (np.ndarray, dc.Tensor)):
        x, y = (v.numpy() if isinstance(v, dc.Tensor) else v for v in (a, b))
        assert x.dtype == y.dtype and x.shape == y.shape, path
        np.testing.assert_array_equal(x, y, err_msg=path)
    else:
        assert a == b, path


def _saved(tmp_path, **kw):
    src = _trainer(seed=1, **kw)
    _fit(src, epochs=3)
    src.save_checkpoint(tmp_path / "ck")
    return tmp_path / "ck"


def _loaded_target():
    tr = _trainer(seed=2)
    _fit(tr, epochs=2, seed=5)
    np.random.seed(11)
    dc.manual_seed(12)
    return tr


@pytest.mark.parametrize("kind, message", [
    ("callbacks", (r"checkpoint callbacks \['History', 'EarlyStopping', 'Fragile'\] differ from this Trainer's "
                  r"\['History', 'EarlyStopping'\]")),
    ("shape", r"another architecture.*0.weight: checkpoint has shape \(5, 2\), model has \(8, 2\)"),
    ("optimizer", r"the checkpoint's optimizer is SGD, this Trainer's is Adam"),
])
def test_a_failed_load_changes_nothing(tmp_path, kind, message):
    path = {"callbacks": lambda: _saved(tmp_path, extra=[Fragile(3)]),
            "shape": lambda: _saved(tmp_path, hidden=5),
            "optimizer": lambda: _saved(tmp_path, opt=optim.SGD)}[kind]()
    tr = _loaded_target()
    before = _everything(tr)
    with pytest.raises(ValueError, match=message):
        tr.load_checkpoint(path)
    _assert_same(before, _everything(tr))


def test_state_errors_are_listed_together_and_change_nothing(tmp_path):
    tr = _loaded_target()
    state = tr.state_dict()
    state["model"] = {k: v.astype(np.float64) for k, v in state["model"].items()}
    state["optimizer"]["param_groups"].append(dict(state["optimizer"]["param_groups"][0]))
    state["epoch"] = -1
    state["rng"]["descend"] = {"bit_generator": "seed", "state": {}}  # np.random.seed must never be called
    numpy_state = np.random.get_state()
    before = _everything(tr)
    with pytest.raises(ValueError) as info:
        tr.load_state_dict(state)
    msg = str(info.value)
    assert "epoch=-1 is not a non-negative integer" in msg
    assert "0.weight: checkpoint has dtype float64, model has float32" in msg
    assert "optimizer: the checkpoint has 2 parameter groups, this optimizer 1" in msg
    assert "descend's generator state does not name a NumPy bit generator" in msg
    _assert_same(before, _everything(tr))
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state[1])
    with pytest.raises(ValueError, match=r"missing entries \['global_step'"):
        tr.load_state_dict({"epoch": 1})


def test_rng_of_another_kind_is_refused_before_anything_changes():
    tr = _loaded_target()
    state = tr.state_dict()
    state["rng"]["descend"] = np.random.MT19937(0).state
    state["rng"]["loader"]["rng"] = {"bit_generator": "PCG64", "state": "garbage"}
    before = _everything(tr)
    with pytest.raises(ValueError, match=r"descend's generator is a PCG64, the checkpoint's state is for a MT19937.*"
                                         r"the loader's generator state cannot be restored"):
        tr.load_state_dict(state)
    _assert_same(before, _everything(tr))


def test_a_callback_refusing_its_state_midway_rolls_everything_back(tmp_path):
    path = _saved(tmp_path, extra=[Fragile(-1)])  # passes every check, fails inside Fragile.load_state_dict
    tr = _trainer(seed=2, extra=[Fragile(7)])
    _fit(tr, epochs=2, seed=5)
    before = _everything(tr)
    with pytest.raises(ValueError, match="Fragile refuses a negative value"):
        tr.load_checkpoint(path)
    _assert_same(before, _everything(tr))
    assert tr.callbacks[-1].value == 7


def test_scheduler_state_of_another_class_is_refused_and_rolled_back(tmp_path):
    path = _saved(tmp_path, extra=lambda opt: [T.LRScheduler(lr_scheduler.StepLR(opt, 2))])
    tr = _trainer(seed=2, extra=lambda opt: [T.LRScheduler(lr_scheduler.ExponentialLR(opt, 0.9))])
    _fit(tr, epochs=2, seed=5)
    before = _everything(tr)
    with pytest.raises(ValueError, match="the checkpoint holds the state of a StepLR, this callback steps a "
                                         "ExponentialLR"):
        tr.load_checkpoint(path)
    _assert_same(before, _everything(tr))


def _with_wrappers(seed):
    """A Trainer with every callback that wraps an optim object, on plain SGD with momentum."""
    dc.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 2))
    opt = optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
    callbacks = [T.SnapshotEnsemble(cycles=2, epochs_per_cycle=2), T.PolyakAveraging(apply_at_end=False),
                 T.ReduceLROnPlateau("val_loss", "min", factor=0.5, patience=0)]
    return T.Trainer(model, F.cross_entropy, opt, callbacks=callbacks, verbose=0)


def _loader():
    return D.DataLoader(_data(), batch_size=16, shuffle=True, seed=3)


def test_load_then_fit_n_trains_n_more_epochs_bit_for_bit(tmp_path):
    full = _with_wrappers(0)
    full.fit(_loader(), val=_data(), epochs=5)
    half = _with_wrappers(0)
    half.fit(_loader(), val=_data(), epochs=3)  # stops in the middle of the second cosine cycle
    half.save_checkpoint(tmp_path / "ck")
    resumed = _with_wrappers(9)
    resumed.load_checkpoint(tmp_path / "ck")
    assert resumed.epoch == 3 and resumed.global_step == 12
    resumed.fit(_loader(), val=_data(), epochs=2)  # the runner passes total - done
    assert resumed.epoch == 5 and resumed.global_step == full.global_step == 20
    for a, b in zip(full.model.parameters(), resumed.model.parameters()):
        np.testing.assert_array_equal(a.data, b.data)
    assert full.history.history["val_loss"] == resumed.history.history["val_loss"]
    assert full.history.history["lr"] == resumed.history.history["lr"]
    se_full, se_res = full.callbacks[1], resumed.callbacks[1]
    assert len(se_full.snapshots) == len(se_res.snapshots) == 2
    for s1, s2 in zip(se_full.snapshots, se_res.snapshots):
        _assert_same(s1, s2)
    for a, b in zip(full.callbacks[2].averaged.parameters(), resumed.callbacks[2].averaged.parameters()):
        np.testing.assert_array_equal(a.data, b.data)
