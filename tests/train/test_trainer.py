import numpy as np
import pytest

import descend as dc
from descend import data as D
from descend import train as T
from standins import TinyMLP, TinySGD, cross_entropy


def _data():
    return D.two_moons(120, noise=0.1, seed=0)


def test_fit_equals_hand_written_loop_bit_for_bit():
    ds = _data()
    m1, m2 = TinyMLP(seed=1), TinyMLP(seed=1)
    o1, o2 = TinySGD(m1.parameters(), 0.3, 0.9), TinySGD(m2.parameters(), 0.3, 0.9)
    T.Trainer(m1, cross_entropy, o1).fit(D.DataLoader(ds, batch_size=16, shuffle=True, seed=4), epochs=3)
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
    tr = T.Trainer(m, cross_entropy, TinySGD(m.parameters(), 0.0))  # lr 0: the model never changes
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
    assert tr.epoch == 2 and tr.step == 6 and m.training


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
    h = T.Trainer(m, cross_entropy, opt).fit(D.DataLoader(ds, mode="batch"), epochs=3)
    assert LBFGS.calls == 6 and len(h["loss"]) == 3

    class Flagged(TinySGD):
        needs_closure = True

    class NamedLikeOne(TinySGD):  # the class name says nothing; only the attribute counts
        pass

    NamedLikeOne.__name__ = "LBFGS"
    assert T.needs_closure(Flagged([], 0.1)) and not T.needs_closure(TinySGD([], 0.1))
    assert not T.needs_closure(NamedLikeOne([], 0.1))


def test_multitask_weighted_losses():
    class TwoHeads(TinyMLP):
        def __call__(self, x):
            y = super().__call__(x)
            return {"cls": y, "reg": y[:, :1]}

    def mse(y, t):
        return ((y - t) ** 2).mean()

    rng = np.random.default_rng(0)
    x = rng.normal(size=(40, 2)).astype(np.float32)
    tc = (x[:, 0] > 0).astype(np.int64)
    tr_ = x[:, 1:2].copy()
    m = TwoHeads(seed=5)
    trainer = T.Trainer(m, {"cls": cross_entropy, "reg": mse}, TinySGD(m.parameters(), 0.0), metrics=["accuracy"],
                        loss_weights={"reg": 0.5})
    h = trainer.fit(D.DataLoader(D.TensorDataset(x, tc, tr_), batch_size=40), epochs=1)
    out = m(dc.tensor(x))
    lc, lr = float(cross_entropy(out["cls"], dc.tensor(tc)).data), float(mse(out["reg"], dc.tensor(tr_)).data)
    assert h["loss_cls"][0] == pytest.approx(lc, rel=1e-6) and h["loss_reg"][0] == pytest.approx(lr, rel=1e-6)
    assert h["loss"][0] == pytest.approx(lc + 0.5 * lr, rel=1e-6)
    assert "cls_accuracy" in h
    with pytest.raises(ValueError, match="loss_weights name tasks"):
        T.Trainer(m, {"cls": cross_entropy}, TinySGD(m.parameters()), loss_weights={"typo": 1.0})


def test_bad_arguments():
    m = TinyMLP()
    with pytest.raises(TypeError, match="loss must be callable"):
        T.Trainer(m, "mse", TinySGD(m.parameters()))
    with pytest.raises(ValueError, match="unknown metric 'acc'"):
        T.Trainer(m, cross_entropy, TinySGD(m.parameters()), metrics=["acc"])
    with pytest.raises(ValueError, match="epochs=-1"):
        T.Trainer(m, cross_entropy, TinySGD(m.parameters())).fit(_data(), epochs=-1)
