"""Trainer(compile=True) changes no number and no behaviour: the same parameters, logs, batch callbacks, early
stop, checkpoints and resume as the eager Trainer; a step it cannot compile runs eagerly after one warning."""

import warnings

import numpy as np
import pytest

import descend as dc
from descend import nn, optim
from descend import train as T
from descend.nn import functional as F


class BatchLog(T.Callback):
    """Records every batch's logs (the loss as a float, the index, the step counter and the size)."""

    def __init__(self):
        self.logs = []

    def on_batch_end(self, trainer, batch, logs):
        self.logs.append(dict(logs))


def _data(n=70, seed=1):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((n, 6)).astype(np.float32), rng.integers(0, 3, n)


def _trainer(compile, dropout=0.0, callbacks=(), seed=0):
    dc.manual_seed(seed)
    layers = [nn.Linear(6, 16), nn.ReLU()] + ([nn.Dropout(dropout)] if dropout else []) + [nn.Linear(16, 3)]
    model = nn.Sequential(*layers)
    return T.Trainer(model, F.cross_entropy, optim.Adam(model.parameters(), lr=1e-2), callbacks=list(callbacks),
                     batch_size=16, seed=3, verbose=0, compile=compile)


def _fit(trainer, epochs, val=True):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a compiled step that falls back would warn
        return trainer.fit(_data(), val=_data(30, seed=2) if val else None, epochs=epochs)


def _assert_same_parameters(a, b):
    for p, q in zip(a.model.parameters(), b.model.parameters()):
        np.testing.assert_array_equal(p.data, q.data)


def test_compiled_fit_logs_every_batch_and_epoch_value_of_the_eager_fit():
    eager, compiled = BatchLog(), BatchLog()
    e, c = _trainer(False, callbacks=[eager]), _trainer(True, callbacks=[compiled])
    he, hc = _fit(e, 4), _fit(c, 4)
    assert c._compiled.replays > 0 and c._compiled.eager_reason is None
    _assert_same_parameters(e, c)
    assert eager.logs == compiled.logs and len(eager.logs) == 4 * 5
    assert {k: v for k, v in he.items() if k != "time"} == {k: v for k, v in hc.items() if k != "time"}
    assert e.last_loss == c.last_loss and e.global_step == c.global_step == 20
    np.testing.assert_array_equal(e.last_output.data, c.last_output.data)


def test_compiled_checkpoint_and_resume_equal_one_long_eager_fit(tmp_path):
    full = _trainer(False)
    _fit(full, 5)
    half = _trainer(True)
    _fit(half, 3)
    half.save_checkpoint(tmp_path / "ck")
    resumed = _trainer(True, seed=9)
    resumed.load_checkpoint(tmp_path / "ck")
    _fit(resumed, 2)
    assert resumed.epoch == 5 and resumed.global_step == full.global_step
    _assert_same_parameters(full, resumed)
    assert full.history.history["val_loss"] == resumed.history.history["val_loss"]


def test_compiled_early_stopping_stops_where_eager_stops():
    def stopped(compile):
        tr = _trainer(compile, callbacks=[T.EarlyStopping("val_loss", mode="min", patience=1, min_delta=0.05)])
        _fit(tr, 30)
        return tr

    e, c = stopped(False), stopped(True)
    assert e.stop_training and c.stop_training and e.epoch == c.epoch < 30
    assert e.stop_reason == c.stop_reason
    _assert_same_parameters(e, c)


def test_a_step_with_dropout_is_compiled_and_gives_the_eager_numbers():
    e = _trainer(False, dropout=0.3)  # built and trained before the other: dropout draws from descend's generator
    _fit(e, 3)
    c = _trainer(True, dropout=0.3)
    _fit(c, 3)
    assert c._compiled.replays > 0 and c.compile_fallback is None
    _assert_same_parameters(e, c)
    assert e.history.history["loss"] == c.history.history["loss"]


def _peeking_loss(out, t):
    """Cross-entropy that reads its value into Python (control flow on data): a step that cannot be compiled."""
    loss = F.cross_entropy(out, t)
    return loss * 1.0 if loss.item() > -1 else loss


@pytest.mark.parametrize("compile", [True, "auto"])
def test_a_step_that_cannot_be_compiled_runs_eagerly_and_gives_the_eager_numbers(compile):
    def trainer(compile):
        tr = _trainer(compile)
        tr.loss = _peeking_loss
        return tr

    e = trainer(False)
    _fit(e, 3)
    c = trainer(compile)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        c.fit(_data(), val=_data(30, seed=2), epochs=3)
    warned = [w for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(warned) == (1 if compile is True else 0)
    assert c.compile_fallback is not None and "Python" in c.compile_fallback
    _assert_same_parameters(e, c)
    assert e.history.history["loss"] == c.history.history["loss"]
