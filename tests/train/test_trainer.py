import re

import numpy as np
import pytest
from standins import TinyMLP, TinySGD, cross_entropy

import descend as dc
from descend import data as D
from descend import nn, optim
from descend import train as T
from descend.nn import functional as F


def _data():
    return D.two_moons(120, noise=0.1, seed=0)


def _params(model):
    return [np.array(p.data) for p in model.parameters()]


def test_fit_equals_hand_written_loop_bit_for_bit():
    ds = _data()
    m1, m2 = TinyMLP(seed=1), TinyMLP(seed=1)
    o1, o2 = TinySGD(m1.parameters(), 0.3, 0.9), TinySGD(m2.parameters(), 0.3, 0.9)
    T.Trainer(m1, cross_entropy, o1, verbose=0).fit(D.DataLoader(ds, batch_size=16, shuffle=True, seed=4), epochs=3)
    loader = D.DataLoader(ds, batch_size=16, shuffle=True, seed=4)
    for _ in range(3):
        for x, t in loader:
            o2.zero_grad()
            cross_entropy(m2(x), t).backward()
            o2.step()
    for a, b in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_array_equal(a.data, b.data)


def test_epoch_logs_are_exact_averages_and_evaluate_predict():
    ds = _data()
    m = TinyMLP(seed=2)
    tr = T.Trainer(m, cross_entropy, TinySGD(m.parameters(), 0.0), verbose=0)  # lr 0: the model never changes
    h = tr.fit(D.DataLoader(ds, batch_size=50), val=ds, epochs=2)
    x, t = ds.tensors
    full = float(cross_entropy(m(x), t).data)
    acc = float((m(x).data.argmax(1) == t.data).mean())
    assert h["loss"][0] == pytest.approx(full, rel=1e-6)
    assert h["accuracy"][1] == pytest.approx(acc) and h["val_accuracy"][1] == pytest.approx(acc)
    assert h["val_loss"][0] == pytest.approx(full, rel=1e-6) and h["lr"] == [0.0, 0.0]
    ev = tr.evaluate((x, t))
    assert ev["loss"] == pytest.approx(full, rel=1e-6)
    np.testing.assert_allclose(tr.predict(x).numpy(), m(x).data, rtol=1e-6)
    assert tr.epoch == 2 and tr.global_step == 6 and m.training


def test_step_counter_is_global_step_not_a_method_lookalike():
    m = TinyMLP()
    tr = T.Trainer(m, cross_entropy, TinySGD(m.parameters()), verbose=0)
    tr.fit(D.DataLoader(_data(), batch_size=40), epochs=2)
    assert tr.global_step == 6 and not hasattr(tr, "step")
    assert tr.state_dict()["global_step"] == 6 and "step" not in tr.state_dict()


def test_second_fit_trains_more_epochs_and_equals_one_long_fit():
    ds = _data()
    m1, m2 = TinyMLP(seed=1), TinyMLP(seed=1)
    loader1 = D.DataLoader(ds, batch_size=16, shuffle=True, seed=4)
    loader2 = D.DataLoader(ds, batch_size=16, shuffle=True, seed=4)
    t1 = T.Trainer(m1, cross_entropy, TinySGD(m1.parameters(), 0.3, 0.9), verbose=0)
    t2 = T.Trainer(m2, cross_entropy, TinySGD(m2.parameters(), 0.3, 0.9), verbose=0)
    t1.fit(loader1, val=ds, epochs=3)
    before = _params(m1)
    h = t1.fit(loader1, val=ds, epochs=3)  # Keras: 3 more epochs, the counter continues
    assert t1.epoch == 6 and t1.global_step == 6 * 8 and h["epoch"] == [1, 2, 3, 4, 5, 6]
    assert any((a != b).any() for a, b in zip(before, _params(m1)))
    t2.fit(loader2, val=ds, epochs=6)
    for a, b in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_array_equal(a.data, b.data)
    assert t1.history.history == {k: v if k != "time" else t1.history.history["time"]
                                  for k, v in t2.history.history.items()}
    t1.fit(loader1, epochs=0)
    assert t1.epoch == 6
    with pytest.raises(ValueError, match="epochs=True; expected a non-negative integer"):
        t1.fit(loader1, epochs=True)


def test_fit_after_an_early_stop_trains_again():
    ds = _data()
    m = TinyMLP()
    es = T.EarlyStopping("loss", mode="min", patience=1, min_delta=10.0)  # no epoch ever improves by 10
    tr = T.Trainer(m, cross_entropy, TinySGD(m.parameters(), 0.1), callbacks=[es], verbose=0)
    tr.fit(D.DataLoader(ds, batch_size=40), epochs=5)
    assert tr.epoch == 2 and tr.stop_training and "did not improve for 1 epoch" in tr.stop_reason
    tr.fit(D.DataLoader(ds, batch_size=40), epochs=5)
    assert tr.epoch == 3 and es.wait == 1 and es.best_epoch == 1


def _print_run(capsys, **kw):
    m = TinyMLP()
    tr = T.Trainer(m, cross_entropy, TinySGD(m.parameters(), 0.1), **kw)
    tr.fit(D.DataLoader(_data(), batch_size=40), val=_data(), epochs=2)
    return capsys.readouterr()


def test_verbose_default_prints_a_bar_and_one_line_per_epoch(capsys):
    out = _print_run(capsys)
    lines = out.out.splitlines()
    assert len(lines) == 2 and lines[1].startswith("Epoch 2/2 - loss: ")
    assert " - accuracy: " in lines[0] and " - val_loss: " in lines[0] and " - val_accuracy: " in lines[0]
    assert re.search(r" - lr: 0\.1000 - \d+(ms|\.\ds)$", lines[0])
    assert "Epoch 1/2" in out.err and "step/s" in out.err  # the bar: steps, rate and time left
    assert "<" in out.err  # tqdm's elapsed<remaining


def test_verbose_0_is_silent_and_2_prints_lines_without_bar(capsys):
    out = _print_run(capsys, verbose=0)
    assert out.out == "" and out.err == ""
    out = _print_run(capsys, verbose=2)
    assert len(out.out.splitlines()) == 2 and out.err == ""
    out = _print_run(capsys, verbose=0, progress=True)  # the bar alone (a runner printing its own lines)
    assert out.out == "" and "step/s" in out.err
    out = _print_run(capsys, verbose=1, progress=False)
    assert len(out.out.splitlines()) == 2 and out.err == ""
    m = TinyMLP()
    with pytest.raises(ValueError, match="verbose=3; expected 0"):
        T.Trainer(m, cross_entropy, TinySGD(m.parameters()), verbose=3)
    with pytest.raises(TypeError, match="progress=1; expected True, False or None"):
        T.Trainer(m, cross_entropy, TinySGD(m.parameters()), progress=1)


def test_verbose_prints_the_stop_reason(capsys):
    m = TinyMLP()
    es = T.EarlyStopping("loss", mode="min", patience=0, min_delta=10.0)
    T.Trainer(m, cross_entropy, TinySGD(m.parameters(), 0.1), callbacks=[es], verbose=2).fit(
        D.DataLoader(_data(), batch_size=40), epochs=5)
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("Epoch 1/5") and lines[1].startswith("Epoch 2/5")
    assert lines[2].startswith("early stopping: loss did not improve for 1 epoch (best ")


def test_epoch_line_format():
    from descend.train.callbacks.progress import epoch_line
    line = epoch_line(3, 10, {"epoch": 3, "loss": 0.30124, "accuracy": 0.912, "val_loss": 0.00012, "lr": 1e-3,
                              "time": 2.84})
    assert line == "Epoch 3/10 - loss: 0.3012 - accuracy: 0.9120 - val_loss: 1.2000e-04 - lr: 0.0010 - 2.8s"
    assert epoch_line(1, 1, {"loss": 0.5, "time": 0.0424}) == "Epoch 1/1 - loss: 0.5000 - 42ms"


def _regression():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2)).astype(np.float32)
    return x, (x[:, :1] * 0.5 + 0.1).astype(np.float32)


def _mse(y, t):
    return ((y - t) ** 2).mean()


def test_accuracy_is_not_logged_for_a_regression():
    x, t = _regression()
    dc.manual_seed(0)
    model = nn.Linear(2, 1)
    tr = T.Trainer(model, _mse, optim.SGD(model.parameters(), lr=0.1), verbose=0)
    h = tr.fit((x, t), val=(x, t), epochs=2)
    assert sorted(h) == ["epoch", "loss", "lr", "time", "val_loss"]
    assert sorted(tr.evaluate((x, t))) == ["loss"]
    h = T.Trainer(model, _mse, optim.SGD(model.parameters(), lr=0.1), metrics=["mse"], verbose=0).fit((x, t), epochs=1)
    assert "mse" in h and "accuracy" not in h


def test_explicit_accuracy_on_a_regression_raises_before_any_step():
    x, t = _regression()
    dc.manual_seed(0)
    model = nn.Linear(2, 1)
    before = _params(model)
    opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    tr = T.Trainer(model, _mse, opt, metrics=["accuracy"], verbose=0)
    with pytest.raises(ValueError, match=r"metric 'accuracy' does not apply: targets are not 0/1 labels for one "
                                         r"output per example \(found -?0\.\d+\): a regression target"):
        tr.fit((x, t), epochs=1)
    for a, b in zip(before, _params(model)):
        np.testing.assert_array_equal(a, b)
    assert tr.global_step == 0 and tr.epoch == 0 and not opt.state
    lbfgs = optim.LBFGS(model.parameters())
    with pytest.raises(ValueError, match="metric 'accuracy' does not apply"):
        T.Trainer(model, _mse, lbfgs, metrics=["accuracy"], verbose=0).fit(D.DataLoader(D.TensorDataset(x, t),
                                                                                         mode="batch"))
    for a, b in zip(before, _params(model)):
        np.testing.assert_array_equal(a, b)


def test_accuracy_applies_to_labels_of_every_form():
    dc.manual_seed(0)
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    binary = np.array([[0.0], [1.0], [1.0], [0.0]], dtype=np.float32)  # XOR's 0/1 targets, one sigmoid output
    model = nn.Sequential(nn.Linear(2, 1), nn.Sigmoid())
    h = T.Trainer(model, F.mse_loss, optim.SGD(model.parameters(), lr=0.0), metrics=["accuracy"],
                  verbose=0).fit((x, binary), epochs=1)
    y = model(dc.tensor(x)).numpy()
    assert h["accuracy"] == [float(((y > 0.5) == binary).mean())]
    onehot = np.eye(3, dtype=np.float32)[[0, 2, 1, 2]]
    model = nn.Linear(2, 3)
    h = T.Trainer(model, lambda y, t: -(y.log_softmax(1) * t).sum(1).mean(), optim.SGD(model.parameters(), lr=0.0),
                  verbose=0).fit((x, onehot), epochs=1)
    assert h["accuracy"] == [float((model(dc.tensor(x)).numpy().argmax(1) == [0, 2, 1, 2]).mean())]
    labels = np.array([0.0, 2.0, 1.0, 2.0], dtype=np.float32)  # class indices stored as floats
    h = T.Trainer(model, lambda y, t: F.cross_entropy(y, dc.tensor(t.numpy().astype(np.int64))),
                  optim.SGD(model.parameters(), lr=0.0), verbose=0).fit((x, labels), epochs=1)
    assert "accuracy" in h


def test_mse_on_class_indices_names_the_shapes():
    m = TinyMLP()
    tr = T.Trainer(m, cross_entropy, TinySGD(m.parameters()), metrics=["accuracy", "mse"], verbose=0)
    with pytest.raises(ValueError, match=r"metric 'mse' does not apply: outputs of shape \(40, 2\) and targets of "
                                         r"shape \(40,\) differ in size"):
        tr.fit(D.DataLoader(_data(), batch_size=40))


def test_metric_arguments_are_checked_at_construction():
    m = TinyMLP()
    with pytest.raises(ValueError, match="unknown metric 'acc'"):
        T.Trainer(m, cross_entropy, TinySGD(m.parameters()), metrics=["acc"])
    with pytest.raises(TypeError, match="expected 'auto', None, or a list"):
        T.Trainer(m, cross_entropy, TinySGD(m.parameters()), metrics=3)

    def loss(y, t):
        return 0.0, 1
    with pytest.raises(ValueError, match="metric name 'loss' clashes with a logged value"):
        T.Trainer(m, cross_entropy, TinySGD(m.parameters()), metrics=[loss])
    with pytest.raises(ValueError, match=r"\['accuracy'\] named twice"):
        T.Trainer(m, cross_entropy, TinySGD(m.parameters()), metrics=["accuracy", "accuracy"])
    with pytest.raises(TypeError, match="a dict {task: metrics} needs a dict of losses"):
        T.Trainer(m, cross_entropy, TinySGD(m.parameters()), metrics={"a": ["accuracy"]})
    tr = T.Trainer(m, cross_entropy, TinySGD(m.parameters()), metrics=None, verbose=0)
    assert sorted(tr.fit(D.DataLoader(_data(), batch_size=40))) == ["epoch", "loss", "lr", "time"]


def test_closure_optimizer_gets_a_closure():
    class LBFGS(TinySGD):
        needs_closure = True
        calls = 0

        def step(self, closure=None):
            assert closure is not None
            first = closure()
            for _ in range(2):  # a line search evaluates again
                closure()
                LBFGS.calls += 1
            return first

    ds = _data()
    m = TinyMLP(seed=3)
    opt = LBFGS(m.parameters(), 0.1)
    assert T.needs_closure(opt)
    h = T.Trainer(m, cross_entropy, opt, verbose=0).fit(D.DataLoader(ds, mode="batch"), epochs=3)
    assert LBFGS.calls == 6 and len(h["loss"]) == 3

    class Flagged(TinySGD):
        needs_closure = True

    class NamedLikeOne(TinySGD):  # the class name says nothing; only the attribute counts
        pass

    NamedLikeOne.__name__ = "LBFGS"
    assert T.needs_closure(Flagged([], 0.1)) and not T.needs_closure(TinySGD([], 0.1))
    assert not T.needs_closure(NamedLikeOne([], 0.1))


class TwoHeads(TinyMLP):
    def __call__(self, x):
        y = super().__call__(x)
        return {"cls": y, "reg": y[:, :1]}


def _two_task_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2)).astype(np.float32)
    return x, (x[:, 0] > 0).astype(np.int64), x[:, 1:2].copy()


def test_multitask_weighted_losses_and_metrics_per_task():
    x, tc, tr_ = _two_task_data()
    m = TwoHeads(seed=5)
    trainer = T.Trainer(m, {"cls": cross_entropy, "reg": _mse}, TinySGD(m.parameters(), 0.0),
                        loss_weights={"reg": 0.5}, verbose=0)
    h = trainer.fit(D.DataLoader(D.TensorDataset(x, tc, tr_), batch_size=40), epochs=1)
    out = m(dc.tensor(x))
    lc, lr = float(cross_entropy(out["cls"], dc.tensor(tc)).data), float(_mse(out["reg"], dc.tensor(tr_)).data)
    assert h["loss_cls"][0] == pytest.approx(lc, rel=1e-6) and h["loss_reg"][0] == pytest.approx(lr, rel=1e-6)
    assert h["loss"][0] == pytest.approx(lc + 0.5 * lr, rel=1e-6)
    assert "cls_accuracy" in h and "reg_accuracy" not in h  # "auto": accuracy only where the targets are labels
    trainer = T.Trainer(m, {"cls": cross_entropy, "reg": _mse}, TinySGD(m.parameters(), 0.0),
                        metrics={"cls": ["accuracy"], "reg": ["mse"]}, verbose=0)
    h = trainer.fit(D.DataLoader(D.TensorDataset(x, tc, tr_), batch_size=40), epochs=1)
    assert h["reg_mse"][0] == pytest.approx(lr, rel=1e-6)
    assert h["cls_accuracy"][0] == float((out["cls"].numpy().argmax(1) == tc).mean())
    trainer = T.Trainer(m, {"cls": cross_entropy, "reg": _mse}, TinySGD(m.parameters(), 0.0), metrics=["accuracy"],
                        verbose=0)
    with pytest.raises(ValueError, match="metric 'reg_accuracy' does not apply"):
        trainer.fit(D.DataLoader(D.TensorDataset(x, tc, tr_), batch_size=40), epochs=1)
    with pytest.raises(ValueError, match="loss_weights name tasks"):
        T.Trainer(m, {"cls": cross_entropy}, TinySGD(m.parameters()), loss_weights={"typo": 1.0})
    with pytest.raises(ValueError, match=r"metrics name tasks \['typo'\] that have no loss"):
        T.Trainer(m, {"cls": cross_entropy}, TinySGD(m.parameters()), metrics={"typo": ["mse"]})


def test_validation_monitor_without_validation_data_fails_before_training():
    m = TinyMLP()
    before = _params(m)
    for cb in (T.EarlyStopping(mode="min"), T.ModelCheckpoint("unused", save_best=True, monitor="val_accuracy",
                                                              mode="max")):
        tr = T.Trainer(m, cross_entropy, TinySGD(m.parameters(), 0.1), callbacks=[cb], verbose=0)
        with pytest.raises(ValueError, match=f"{type(cb).__name__} monitors 'val_.*', but fit\\(\\) got no "
                                             "validation data"):
            tr.fit(D.DataLoader(_data(), batch_size=40), epochs=3)
        assert tr.epoch == 0
    for a, b in zip(before, _params(m)):
        np.testing.assert_array_equal(a, b)
    tr = T.Trainer(m, cross_entropy, TinySGD(m.parameters(), 0.1), callbacks=[T.ModelCheckpoint("unused-dir")],
                   verbose=0)  # no save_best: the default monitor name is not used
    assert tr.callbacks[-1].monitor is None


def test_evaluating_restores_the_model_mode_also_on_error():
    model = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    tr = T.Trainer(model, F.cross_entropy, optim.SGD(model.parameters(), lr=0.1), verbose=0)
    with tr.evaluating():
        assert not model.training and not dc.is_grad_enabled()
    assert model.training and dc.is_grad_enabled()
    with pytest.raises(RuntimeError), tr.evaluating():
        raise RuntimeError
    assert model.training
    model.eval()
    tr.evaluate((np.zeros((3, 2), np.float32), np.zeros(3, np.int64)))
    assert not model.training


def test_bad_arguments():
    m = TinyMLP()
    with pytest.raises(TypeError, match="loss must be callable"):
        T.Trainer(m, "mse", TinySGD(m.parameters()))
    with pytest.raises(ValueError, match="epochs=-1"):
        T.Trainer(m, cross_entropy, TinySGD(m.parameters())).fit(_data(), epochs=-1)
    with pytest.raises(TypeError, match="callbacks must be train.Callback objects, got int"):
        T.Trainer(m, cross_entropy, TinySGD(m.parameters()), callbacks=[3])
