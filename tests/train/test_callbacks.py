import numpy as np
import pytest

import descend as dc
from descend import data as D
from descend import train as T
from standins import TinyMLP, TinySGD, cross_entropy


class FakeTrainer:
    def __init__(self):
        self.model = TinyMLP()
        self.stop_training = False
        self.stop_reason = None


def _run_es(values, **kw):
    es = T.EarlyStopping(monitor="val_loss", mode="min", **kw)
    tr = FakeTrainer()
    for epoch, v in enumerate(values, 1):
        with dc.no_grad():
            tr.model._p["b2"].data[...] = epoch  # weights remember the epoch
        es.on_epoch_end(tr, epoch, {"val_loss": v, "loss": 0.0})
        if tr.stop_training:
            break
    es.on_fit_end(tr)
    return es, tr


def test_early_stopping_keras_patience_and_restores_best():
    es, tr = _run_es([1.0, 0.8, 0.9, 0.85, 0.81, 0.7], patience=3)
    assert es.stopped_epoch == 5 and es.best_epoch == 2 and tr.stop_training
    assert tr.model._p["b2"].data[0] == 2  # best weights restored
    assert "did not improve for 3 epochs" in tr.stop_reason


def test_early_stopping_restores_best_also_without_trigger_and_min_delta():
    es, tr = _run_es([1.0, 0.5, 0.6], patience=5)
    assert es.stopped_epoch is None and tr.model._p["b2"].data[0] == 2
    es, tr = _run_es([1.0, 0.95, 0.92, 0.91], patience=2, min_delta=0.1)
    assert es.best_epoch == 1 and es.stopped_epoch == 3


def test_notes_patience_rule_grows_patience():
    vals = [1.0 - 0.01 * i for i in range(10)] + [2.0] * 30
    es, _ = _run_es(vals, patience=2, notes_patience=True)
    assert es.best_epoch == 10 and es.patience == 20 and es.stopped_epoch == 30
    es2, _ = _run_es(vals, patience=2)
    assert es2.stopped_epoch == 12


def test_mode_is_required_and_monitor_validated():
    with pytest.raises(ValueError, match="never guesses"):
        T.EarlyStopping(monitor="val_accuracy")
    es = T.EarlyStopping(monitor="val_acc", mode="max")
    with pytest.raises(ValueError, match="'val_acc' is not logged; available: loss, val_accuracy"):
        es.on_epoch_end(FakeTrainer(), 1, {"epoch": 1, "loss": 1.0, "val_accuracy": 0.5})


def test_lr_scheduler_per_batch_and_per_epoch():
    class Counter:
        def __init__(self):
            self.n, self.values = 0, []

        def step(self, value=None):
            self.n += 1
            self.values.append(value)

        def state_dict(self):
            return {"n": self.n}

        def load_state_dict(self, s):
            self.n = s["n"]

    ds = D.two_moons(40, seed=0)
    m = TinyMLP()
    per_batch, per_epoch = Counter(), Counter()
    T.Trainer(m, cross_entropy, TinySGD(m.parameters(), 0.01),
              callbacks=[T.LRScheduler(per_batch, "batch"), T.LRScheduler(per_epoch, monitor="val_loss")]).fit(
        D.DataLoader(ds, batch_size=10), val=ds, epochs=3)
    assert per_batch.n == 12 and per_epoch.n == 3 and all(v > 0 for v in per_epoch.values)
    with pytest.raises(ValueError, match="interval"):
        T.LRScheduler(per_batch, "step")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_terminate_on_nan_names_step_and_keeps_last_good_checkpoint(tmp_path):
    ds = D.two_moons(40, seed=0)
    m = TinyMLP()
    opt = TinySGD(m.parameters(), 0.1)

    class Explode(T.Callback):
        def on_batch_start(self, trainer, batch):
            if trainer.step == 9:
                opt.param_groups[0]["lr"] = float("inf")

    ck = T.ModelCheckpoint(tmp_path, every=1)
    tr = T.Trainer(m, cross_entropy, opt, callbacks=[T.TerminateOnNaN(), Explode(), ck])
    tr.fit(D.DataLoader(ds, batch_size=10), epochs=5)
    assert tr.nan_step == 11 and "at step 11 (epoch 3, batch 3)" in tr.stop_reason
    state = T.load_checkpoint(tmp_path / "last")
    assert state["epoch"] == 2 and all(np.isfinite(v).all() for v in state["model"].values())
    assert len(tr.history.history["loss"]) == 2


def test_polyak_averaging_is_the_mean_of_the_iterates():
    ds = D.two_moons(40, seed=0)
    m = TinyMLP()
    iterates = []

    class Rec(T.Callback):
        def on_batch_end(self, trainer, batch, logs):
            iterates.append(np.array(m._p["w1"].data, dtype=np.float64))

    pa = T.PolyakAveraging()
    T.Trainer(m, cross_entropy, TinySGD(m.parameters(), 0.2), callbacks=[Rec(), pa]).fit(
        D.DataLoader(ds, batch_size=10), epochs=2)
    np.testing.assert_allclose(m._p["w1"].data, np.mean(iterates, 0), rtol=1e-5)
    last = iterates[-1]
    pa.swap(m)
    np.testing.assert_allclose(m._p["w1"].data, last, rtol=1e-6)


def test_snapshot_ensemble_cosine_cycles_and_prediction():
    ds = D.two_moons(40, seed=0)
    m = TinyMLP()
    opt = TinySGD(m.parameters(), 0.4)
    lrs = []

    class Rec(T.Callback):
        def on_batch_end(self, trainer, batch, logs):
            lrs.append(opt.param_groups[0]["lr"])

    se = T.SnapshotEnsemble(cycles=2, epochs_per_cycle=2)
    tr = T.Trainer(m, cross_entropy, opt, callbacks=[se, Rec()])
    tr.fit(D.DataLoader(ds, batch_size=10), epochs=4)
    steps = np.arange(16) % 8
    np.testing.assert_allclose(lrs, 0.2 * (np.cos(np.pi * steps / 8) + 1))
    assert len(se.snapshots) == 2
    p = se.predict(tr, ds.tensors[0]).numpy()
    x = ds.tensors[0]
    probs = []
    for snap in se.snapshots:
        m.load_state_dict({k: dc.tensor(v) for k, v in snap.items()})
        probs.append(m(x).softmax(1).numpy())
    np.testing.assert_allclose(p, np.mean(probs, 0), rtol=1e-5)
    np.testing.assert_allclose(p.sum(1), 1, rtol=1e-6)
    assert p.shape == (40, 2)


def test_layer_monitor_gradient_and_update_ratio():
    ds = D.two_moons(40, seed=0)
    m = TinyMLP(seed=3)
    lm = T.LayerMonitor(every=2)
    grads = {}

    class Grab(T.Callback):
        def on_after_backward(self, trainer):
            if trainer.step == 1:  # the second step (0-based step 1)
                grads.update({k: np.array(p.grad.data) for k, p in m._p.items()})
                grads["w"] = np.array(m._p["w1"].data)

    T.Trainer(m, cross_entropy, TinySGD(m.parameters(), 0.1), callbacks=[Grab(), lm]).fit(
        D.DataLoader(ds, batch_size=10), epochs=1)
    recs = [r for r in lm.records if r["step"] == 2 and r["layer"] == "w1"]
    assert len(recs) == 1
    g = grads["w1"].astype(np.float64)
    assert recs[0]["grad_norm"] == pytest.approx(np.linalg.norm(g), rel=1e-5)
    assert recs[0]["grad_mean"] == pytest.approx(g.mean(), rel=1e-4, abs=1e-9)
    assert recs[0]["update_ratio"] == pytest.approx(0.1 * np.linalg.norm(g) / np.linalg.norm(grads["w"]), rel=1e-4)
    assert sorted({r["step"] for r in lm.records}) == [2, 4]


def test_layer_monitor_flags_vanishing_gradients():
    ds = D.two_moons(40, seed=0)
    m = TinyMLP(seed=3)
    with dc.no_grad():
        m._p["w2"].data[...] = 0.0  # no gradient reaches w1
    lm = T.LayerMonitor()
    T.Trainer(m, cross_entropy, TinySGD(m.parameters(), 0.0), callbacks=[lm]).fit(D.DataLoader(ds, batch_size=40),
                                                                                  epochs=1)
    assert any("vanishing gradient in w1" in w for w in lm.warnings)
