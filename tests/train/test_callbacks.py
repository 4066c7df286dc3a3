import numpy as np
import pytest
from standins import TinyMLP, TinySGD, cross_entropy

import descend as dc
from descend import data as D
from descend import optim
from descend import train as T
from descend.optim import lr_scheduler


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


@pytest.mark.parametrize("patience", [0, 1])
def test_early_stopping_patience_0_waits_for_the_first_epoch_without_improvement(patience):
    falling = [1.0, 0.9, 0.8, 0.7, 0.6]
    es, tr = _run_es(falling, patience=patience)
    assert es.stopped_epoch is None and not tr.stop_training and es.best_epoch == 5
    es, tr = _run_es(falling[:3] + [0.85, 0.5], patience=patience)  # the notes' rule: stop when it increases
    assert es.stopped_epoch == 4 and es.best_epoch == 3 and tr.model._p["b2"].data[0] == 3
    assert "did not improve for 1 epoch (best 0.8 at epoch 3, whose weights are restored)" in tr.stop_reason


def test_early_stopping_patience_0_through_the_trainer_trains_while_the_loss_falls():
    ds = D.two_moons(80, noise=0.1, seed=0)
    m = TinyMLP(seed=1)
    es = T.EarlyStopping("val_loss", mode="min", patience=0)
    tr = T.Trainer(m, cross_entropy, TinySGD(m.parameters(), 0.05), callbacks=[es], verbose=0)
    h = tr.fit(D.DataLoader(ds, batch_size=80), val=ds, epochs=5)
    assert np.all(np.diff(h["val_loss"]) < 0) and tr.epoch == 5 and not tr.stop_training


def test_early_stopping_restores_best_also_without_trigger_and_min_delta():
    es, tr = _run_es([1.0, 0.5, 0.6], patience=5)
    assert es.stopped_epoch is None and tr.model._p["b2"].data[0] == 2
    es, tr = _run_es([1.0, 0.95, 0.92, 0.91], patience=2, min_delta=0.1)
    assert es.best_epoch == 1 and es.stopped_epoch == 3


def test_early_stopping_counts_non_finite_values_as_bad_epochs():
    es, tr = _run_es([float("nan"), float("nan")], patience=2)
    assert es.stopped_epoch == 2 and es.best is None and "did not improve for 2 epochs (never finite)" in tr.stop_reason
    es, tr = _run_es([1.0, float("inf"), 0.5], patience=2)
    assert es.stopped_epoch is None and es.best == 0.5


def test_notes_patience_rule_grows_patience():
    vals = [1.0 - 0.01 * i for i in range(10)] + [2.0] * 30
    es, _ = _run_es(vals, patience=2, notes_patience=True)
    assert es.best_epoch == 10 and es.patience == 20 and es.stopped_epoch == 30
    es2, _ = _run_es(vals, patience=2)
    assert es2.stopped_epoch == 12


def test_mode_is_required_and_monitor_validated():
    with pytest.raises(ValueError, match="never guesses"):
        T.EarlyStopping(monitor="val_accuracy")
    with pytest.raises(ValueError, match="patience=True; expected a non-negative integer"):
        T.EarlyStopping(mode="min", patience=True)
    with pytest.raises(ValueError, match="min_delta=nan; expected a finite number >= 0"):
        T.EarlyStopping(mode="min", min_delta=float("nan"))
    es = T.EarlyStopping(monitor="val_acc", mode="max")
    with pytest.raises(ValueError, match="'val_acc' is not logged; available: loss, val_accuracy"):
        es.on_epoch_end(FakeTrainer(), 1, {"epoch": 1, "loss": 1.0, "val_accuracy": 0.5})


# ---------------------------------------------------------------------------- learning-rate schedules
def _sgd_trainer(callbacks, lr=0.1, seed=0, **kw):
    m = TinyMLP(seed=seed)
    opt = optim.SGD(m.parameters(), lr=lr)
    cbs = callbacks(opt) if callable(callbacks) else callbacks
    return T.Trainer(m, cross_entropy, opt, callbacks=cbs, verbose=0, **kw), opt


def test_step_scheduler_decays_the_rate_through_the_trainer():
    ds = D.two_moons(40, seed=0)
    tr, opt = _sgd_trainer(lambda opt: [T.LRScheduler(lr_scheduler.StepLR(opt, 2, 0.5))])
    h = tr.fit(D.DataLoader(ds, batch_size=10, shuffle=True, seed=1), epochs=5)
    assert h["lr"] == [0.1, 0.1, 0.05, 0.05, 0.025] and opt.param_groups[0]["lr"] == 0.025
    # the parameters are those of a hand-written loop with that schedule
    m = TinyMLP(seed=0)
    hand = optim.SGD(m.parameters(), lr=0.1)
    sched = lr_scheduler.StepLR(hand, 2, 0.5)
    loader = D.DataLoader(ds, batch_size=10, shuffle=True, seed=1)
    for _ in range(5):
        for x, t in loader:
            hand.zero_grad()
            cross_entropy(m(x), t).backward()
            hand.step()
        sched.step()
    for a, b in zip(tr.model.parameters(), m.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_step_scheduler_per_batch():
    ds = D.two_moons(40, seed=0)
    lrs = []

    class Rec(T.Callback):
        def on_batch_start(self, trainer, batch):
            lrs.append(trainer.optimizer.param_groups[0]["lr"])

    tr, _ = _sgd_trainer(lambda opt: [Rec(), T.LRScheduler(lr_scheduler.ExponentialLR(opt, 0.9), "batch")])
    tr.fit(D.DataLoader(ds, batch_size=10), epochs=2)
    np.testing.assert_allclose(lrs, 0.1 * 0.9 ** np.arange(8), rtol=1e-12)


def test_metric_scheduler_is_stepped_with_the_monitored_value():
    ds = D.two_moons(40, seed=0)
    values = iter([1.0, 1.0, 1.0, 1.0, 0.5, 0.5])

    class Feed(T.Callback):
        def on_epoch_end(self, trainer, epoch, logs):
            logs["val_metric"] = next(values)

    tr, opt = _sgd_trainer(lambda opt: [Feed(), T.LRScheduler(lr_scheduler.ReduceLROnPlateau(opt, factor=0.5,
                                                                                               patience=1),
                                                              monitor="val_metric")])
    h = tr.fit(D.DataLoader(ds, batch_size=40), epochs=6)
    # bad epochs 2, 3 (> patience 1 at epoch 3: halve), epoch 4 bad again (count restarts: 1), 5 improves
    assert h["lr"] == [0.1, 0.1, 0.1, 0.05, 0.05, 0.05] and opt.param_groups[0]["lr"] == 0.05


def test_scheduler_misuse_raises_at_construction():
    m = TinyMLP()
    opt = optim.SGD(m.parameters(), lr=0.1)
    with pytest.raises(ValueError, match=r"StepLR.step\(\) counts steps and takes no metric, so monitor='val_loss' "
                                         r"would be ignored"):
        T.LRScheduler(lr_scheduler.StepLR(opt, 2, 0.5), monitor="val_loss")
    with pytest.raises(ValueError, match=r"ReduceLROnPlateau is stepped with a measured value \(step\(metric\)\); "
                                         r"give monitor="):
        T.LRScheduler(lr_scheduler.ReduceLROnPlateau(opt))
    with pytest.raises(ValueError, match="interval='batch' is not possible, use interval='epoch'"):
        T.LRScheduler(lr_scheduler.ReduceLROnPlateau(opt), "batch", monitor="val_loss")
    with pytest.raises(ValueError, match="interval='step'; expected 'batch' or 'epoch'"):
        T.LRScheduler(lr_scheduler.StepLR(opt, 2), "step")
    with pytest.raises(TypeError, match="expected an optim.lr_scheduler.LRScheduler .*, got SGD"):
        T.LRScheduler(opt)
    other = optim.SGD(TinyMLP().parameters(), lr=0.1)
    with pytest.raises(ValueError, match="the StepLR drives another optimizer than the Trainer's"):
        T.Trainer(m, cross_entropy, opt, callbacks=[T.LRScheduler(lr_scheduler.StepLR(other, 2))])


def test_the_scheduler_kind_is_read_from_its_type_not_its_name():
    m = TinyMLP()
    opt = optim.SGD(m.parameters(), lr=0.1)

    class ReduceLROnPlateau(lr_scheduler.StepLR):  # a step scheduler whatever its name says
        pass

    with pytest.raises(ValueError, match="takes no metric"):
        T.LRScheduler(ReduceLROnPlateau(opt, 2), monitor="val_loss")

    class Plateau(lr_scheduler.MetricScheduler):
        def __init__(self, optimizer):
            self.optimizer, self.seen = optimizer, []

        def step(self, metric):
            self.seen.append(metric)

    sched = Plateau(opt)
    tr = T.Trainer(m, cross_entropy, opt, callbacks=[T.LRScheduler(sched, monitor="loss")], verbose=0)
    h = tr.fit(D.DataLoader(D.two_moons(40, seed=0), batch_size=20), epochs=2)
    assert sched.seen == h["loss"]


def test_reduce_lr_on_plateau_callback_wraps_the_optim_scheduler():
    tr, opt = _sgd_trainer([T.ReduceLROnPlateau("loss", "min", factor=0.5, patience=0)])
    cb = tr.callbacks[-1]
    assert isinstance(cb, T.LRScheduler) and type(cb.scheduler) is lr_scheduler.ReduceLROnPlateau
    assert cb.scheduler.optimizer is opt and cb.scheduler.factor == 0.5
    with pytest.raises(ValueError, match="Invalid factor=2"):
        _sgd_trainer([T.ReduceLROnPlateau("loss", "min", factor=2)])
    with pytest.raises(ValueError, match="never guesses"):
        T.ReduceLROnPlateau("loss")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_terminate_on_nan_names_step_and_keeps_last_good_checkpoint(tmp_path):
    ds = D.two_moons(40, seed=0)
    m = TinyMLP()
    opt = TinySGD(m.parameters(), 0.1)

    class Explode(T.Callback):
        def on_batch_start(self, trainer, batch):
            if trainer.global_step == 9:
                opt.param_groups[0]["lr"] = float("inf")

    ck = T.ModelCheckpoint(tmp_path, every=1)
    tr = T.Trainer(m, cross_entropy, opt, callbacks=[T.TerminateOnNaN(), Explode(), ck], verbose=0)
    tr.fit(D.DataLoader(ds, batch_size=10), epochs=5)
    assert tr.nan_step == 11 and "at step 11 (epoch 3, batch 3)" in tr.stop_reason
    assert "training stopped in the middle of epoch 3, which is not logged" in tr.stop_reason
    assert "checkpoint" not in tr.stop_reason  # whether one exists is the caller's to say
    state = T.load_checkpoint(tmp_path / "last")
    assert state["epoch"] == 2 and all(np.isfinite(v).all() for v in state["model"].values())
    assert len(tr.history.history["loss"]) == 2


# ---------------------------------------------------------------------------- averaging
def test_polyak_averaging_is_the_mean_of_the_iterates():
    ds = D.two_moons(40, seed=0)
    m = TinyMLP()
    iterates = []

    class Rec(T.Callback):
        def on_batch_end(self, trainer, batch, logs):
            iterates.append(np.array(m._p["w1"].data, dtype=np.float64))

    pa = T.PolyakAveraging()
    T.Trainer(m, cross_entropy, TinySGD(m.parameters(), 0.2), callbacks=[Rec(), pa], verbose=0).fit(
        D.DataLoader(ds, batch_size=10), epochs=2)
    assert isinstance(pa.averaged, optim.swa_utils.AveragedModel) and pa.count == 8
    np.testing.assert_allclose(m._p["w1"].data, np.mean(iterates, 0), rtol=1e-5)
    last = iterates[-1]
    pa.swap(m)
    np.testing.assert_allclose(m._p["w1"].data, last, rtol=1e-6)


def test_polyak_averaging_over_two_fits_equals_one_fit():
    ds = D.two_moons(40, seed=0)
    runs = []
    for split in ([2], [1, 1]):
        m = TinyMLP()
        pa = T.PolyakAveraging(start=1)
        tr = T.Trainer(m, cross_entropy, TinySGD(m.parameters(), 0.2), callbacks=[pa], verbose=0)
        loader = D.DataLoader(ds, batch_size=10, shuffle=True, seed=2)
        for epochs in split:
            tr.fit(loader, epochs=epochs)
        runs.append((m, pa))
    (m1, pa1), (m2, pa2) = runs
    for a, b in zip(m1.parameters(), m2.parameters()):  # the averages
        np.testing.assert_array_equal(a.data, b.data)
    for a, b in zip(pa1.averaged.parameters(), pa2.averaged.parameters()):  # the raw iterates
        np.testing.assert_array_equal(a.data, b.data)
    assert pa1.count == pa2.count == 8


def test_polyak_averaging_exponential_and_start_epoch():
    ds = D.two_moons(40, seed=0)
    m = TinyMLP()
    iterates = []

    class Rec(T.Callback):
        def on_batch_end(self, trainer, batch, logs):
            if trainer.epoch + 1 >= 2:
                iterates.append(np.array(m._p["b1"].data, dtype=np.float64))

    pa = T.PolyakAveraging(start=2, decay=0.5)
    T.Trainer(m, cross_entropy, TinySGD(m.parameters(), 0.2), callbacks=[Rec(), pa], verbose=0).fit(
        D.DataLoader(ds, batch_size=10), epochs=2)
    expected = iterates[0]
    for it in iterates[1:]:
        expected = 0.5 * expected + 0.5 * it
    np.testing.assert_allclose(m._p["b1"].data, expected, rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="start=0; expected a positive integer"):
        T.PolyakAveraging(start=0)
    with pytest.raises(ValueError, match="decay"):
        T.PolyakAveraging(decay=1.5)


def test_snapshot_ensemble_cosine_cycles_and_prediction():
    ds = D.two_moons(40, seed=0)
    m = TinyMLP()
    opt = optim.SGD(m.parameters(), lr=0.4)
    lrs = []

    class Rec(T.Callback):
        def on_batch_start(self, trainer, batch):
            lrs.append(opt.param_groups[0]["lr"])

    se = T.SnapshotEnsemble(cycles=2, epochs_per_cycle=2)
    tr = T.Trainer(m, cross_entropy, opt, callbacks=[se, Rec()], verbose=0)
    tr.fit(D.DataLoader(ds, batch_size=10), epochs=4)
    assert type(se.scheduler) is lr_scheduler.CosineAnnealingWarmRestarts and se.scheduler.T_0 == 8
    assert isinstance(se.ensemble, optim.SnapshotEnsemble)
    steps = np.arange(16) % 8
    np.testing.assert_allclose(lrs, 0.2 * (np.cos(np.pi * steps / 8) + 1), rtol=1e-12)
    assert len(se.snapshots) == 2
    p = se.predict(tr, ds.tensors[0]).numpy()
    x = ds.tensors[0]
    probs = []
    for snap in se.snapshots:
        m.load_state_dict({k: dc.tensor(v) for k, v in snap.items()})
        probs.append(m(x).softmax(1).numpy())
    np.testing.assert_allclose(p, np.mean(probs, 0), rtol=1e-5)
    np.testing.assert_allclose(p.sum(1), 1, rtol=1e-6)
    assert p.shape == (40, 2) and m.training
    with pytest.raises(ValueError, match="cycles=0; expected a positive integer"):
        T.SnapshotEnsemble(0, 2)
    with pytest.raises(TypeError, match="its cosine schedule needs an optim.Optimizer, got TinySGD"):
        T.Trainer(m, cross_entropy, TinySGD(m.parameters()), callbacks=[T.SnapshotEnsemble(2, 2)])


# ---------------------------------------------------------------------------- layer monitor
def test_layer_monitor_gradient_and_update_ratio():
    ds = D.two_moons(40, seed=0)
    m = TinyMLP(seed=3)
    lm = T.LayerMonitor(every=2)
    grads = {}

    class Grab(T.Callback):
        def on_after_backward(self, trainer):
            if trainer.global_step == 1:  # the second step (0-based step 1)
                grads.update({k: np.array(p.grad.data) for k, p in m._p.items()})
                grads["w"] = np.array(m._p["w1"].data)

    T.Trainer(m, cross_entropy, TinySGD(m.parameters(), 0.1), callbacks=[Grab(), lm], verbose=0).fit(
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
    T.Trainer(m, cross_entropy, TinySGD(m.parameters(), 0.0), callbacks=[lm], verbose=0).fit(
        D.DataLoader(ds, batch_size=40), epochs=1)
    assert any("vanishing gradient in w1" in w for w in lm.warnings)


def test_polyak_state_dict_is_a_snapshot_that_later_steps_do_not_change():
    ds = D.two_moons(40, seed=0)
    m = TinyMLP()
    pa = T.PolyakAveraging(apply_at_end=False)
    tr = T.Trainer(m, cross_entropy, TinySGD(m.parameters(), 0.2), callbacks=[pa], verbose=0)
    tr.fit(D.DataLoader(ds, batch_size=10), epochs=1)
    state = pa.state_dict()
    kept = {k: v.copy() for k, v in state["averaged"].items()}
    tr.fit(D.DataLoader(ds, batch_size=10), epochs=1)
    for k, v in kept.items():
        np.testing.assert_array_equal(state["averaged"][k], v)
    assert state["count"] == 4 and pa.count == 8
    pa.load_state_dict(state)
    assert pa.count == 4
    np.testing.assert_array_equal(pa.averaged.module._p["w1"].data, kept["w1"])
