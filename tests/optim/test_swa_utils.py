"""AveragedModel (SWA and EMA), update_bn and SWALR: against the formulas written out (no torch needed)
and against torch.optim.swa_utils."""

import numpy as np
import pytest

import descend as dc
from descend import optim
from descend.optim.swa_utils import SWALR, AveragedModel, get_ema_avg_fn, get_swa_avg_fn, update_bn

class Tiny:
    """A duck-typed model: parameters W, b and one buffer."""

    def __init__(self, rng):
        self.W = dc.tensor(rng.normal(size=(3, 2)), dtype=dc.float64, requires_grad=True)
        self.b = dc.tensor(rng.normal(size=2), dtype=dc.float64, requires_grad=True)
        self.stat = dc.tensor(rng.normal(size=2), dtype=dc.float64)

    def parameters(self):
        return [self.W, self.b]

    def buffers(self):
        return [self.stat]

    def __call__(self, x):
        return x @ self.W + self.b

    def state_dict(self):
        return {"W": self.W, "b": self.b, "stat": self.stat}

    def load_state_dict(self, sd):
        for k, t in self.state_dict().items():
            t.data[...] = sd[k].data if hasattr(sd[k], "data") and not isinstance(sd[k], np.ndarray) else sd[k]


def torch_tiny(torch, m):
    """The same model in torch (parameters W, b and the buffer stat)."""
    tm = torch.nn.Module()
    tm.W = torch.nn.Parameter(torch.tensor(m.W.data.copy()))
    tm.b = torch.nn.Parameter(torch.tensor(m.b.data.copy()))
    tm.register_buffer("stat", torch.tensor(m.stat.data.copy()))
    return tm


def set_values(torch, m, tm, rng):
    for name in ("W", "b", "stat"):
        arr = rng.normal(size=getattr(m, name).shape)
        getattr(m, name).data[...] = arr
        with torch.no_grad():
            getattr(tm, name).copy_(torch.tensor(arr))


@pytest.mark.parametrize("kind", ["swa", "ema", "ema_buffers", "swa_buffers", "avg_fn_ema", "avg_fn_swa"])
def test_averaged_model_matches_torch(kind):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    m = Tiny(rng)
    tm = torch_tiny(torch, m)
    use_buffers = kind.endswith("buffers")
    su = torch.optim.swa_utils
    if kind.startswith("swa"):
        avg, tavg = AveragedModel(m, use_buffers=use_buffers), su.AveragedModel(tm, use_buffers=use_buffers)
    elif kind.startswith("ema"):
        avg = AveragedModel(m, decay=0.995 if not use_buffers else 0.9, use_buffers=use_buffers)
        tavg = su.AveragedModel(tm, multi_avg_fn=su.get_ema_multi_avg_fn(0.995 if not use_buffers else 0.9),
                                use_buffers=use_buffers)
    elif kind == "avg_fn_ema":
        avg, tavg = AveragedModel(m, avg_fn=get_ema_avg_fn(0.8)), su.AveragedModel(tm, avg_fn=su.get_ema_avg_fn(0.8))
    else:
        avg, tavg = AveragedModel(m, avg_fn=get_swa_avg_fn()), su.AveragedModel(tm, avg_fn=su.get_swa_avg_fn())
    for _ in range(12):
        set_values(torch, m, tm, rng)
        avg.update_parameters(m)
        tavg.update_parameters(tm)
    for a, b in zip(avg.parameters(), tavg.parameters()):
        np.testing.assert_allclose(a.data, b.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(avg.module.stat.data, tavg.module.stat.numpy(), rtol=1e-12)
    assert avg.n_averaged == int(tavg.n_averaged) == 12
    assert avg.module.W is not m.W   # a copy


def test_swa_is_the_plain_mean_and_ema_the_recursive_average():
    rng = np.random.default_rng(1)
    m = Tiny(rng)
    swa, ema = AveragedModel(m), AveragedModel(m, decay=0.995)
    seen = []
    e = None
    for _ in range(7):
        m.W.data[...] = rng.normal(size=(3, 2))
        seen.append(m.W.data.copy())
        e = m.W.data.copy() if e is None else 0.995 * e + 0.005 * m.W.data
        swa.update_parameters(m)
        ema.update_parameters(m)
    np.testing.assert_allclose(swa.module.W.data, np.mean(seen, axis=0), rtol=1e-12)
    np.testing.assert_allclose(ema.module.W.data, e, rtol=1e-12)
    x = dc.tensor(rng.normal(size=(4, 3)), dtype=dc.float64)
    np.testing.assert_allclose(swa(x).data, x.data @ swa.module.W.data + swa.module.b.data)


def test_averaged_model_rejects_both_decay_and_avg_fn():
    with pytest.raises(ValueError, match="decay"):
        AveragedModel(Tiny(np.random.default_rng(0)), decay=0.9, avg_fn=get_swa_avg_fn())
    with pytest.raises(ValueError, match="decay"):
        AveragedModel(Tiny(np.random.default_rng(0)), decay=1.5)


class DuckBN:
    """A BatchNorm-like layer: running_mean, running_var, momentum (None = cumulative average),
    num_batches_tracked; training mode updates the statistics (unbiased variance, as torch)."""

    def __init__(self, n):
        self.running_mean = dc.zeros(n, dtype=dc.float64)
        self.running_var = dc.ones(n, dtype=dc.float64)
        self.momentum = 0.1
        self.num_batches_tracked = 0
        self.training = True

    def __call__(self, x):
        if self.training:
            self.num_batches_tracked += 1
            m = 1.0 / self.num_batches_tracked if self.momentum is None else self.momentum
            self.running_mean.data[...] = (1 - m) * self.running_mean.data + m * x.data.mean(0)
            self.running_var.data[...] = (1 - m) * self.running_var.data + m * x.data.var(0, ddof=1)
        return x


class Net:
    def __init__(self):
        self.W = dc.tensor(np.array([[1.0, 2.0], [0.5, -1.0]]), dtype=dc.float64)
        self.bn = DuckBN(2)
        self.training = False

    def modules(self):
        return [self, self.bn]

    def train(self, mode=True):
        self.training = mode
        self.bn.training = mode

    def __call__(self, x):
        return self.bn(x @ self.W)


def test_update_bn_recomputes_cumulative_statistics():
    rng = np.random.default_rng(2)
    net = Net()
    net.bn.running_mean.data[...] = 7.0        # stale statistics
    batches = [dc.tensor(rng.normal(size=(16, 2)) + 3, dtype=dc.float64) for _ in range(5)]
    loader = [(b, None) for b in batches]     # (input, target) pairs: the first element is used
    update_bn(loader, net)
    hs = [b.data @ net.W.data for b in batches]
    np.testing.assert_allclose(net.bn.running_mean.data, np.mean([h.mean(0) for h in hs], axis=0), rtol=1e-12)
    np.testing.assert_allclose(net.bn.running_var.data, np.mean([h.var(0, ddof=1) for h in hs], axis=0), rtol=1e-12)
    assert net.bn.momentum == 0.1 and net.bn.num_batches_tracked == 5
    assert net.training is False               # the mode is restored


def test_update_bn_matches_torch_on_descend_batchnorm():
    torch = pytest.importorskip("torch")
    from descend import nn
    rng = np.random.default_rng(3)
    bn = nn.BatchNorm1d(3, dtype=dc.float64)
    tbn = torch.nn.BatchNorm1d(3).double()
    data = [rng.normal(size=(8, 3)) * 2 + 1 for _ in range(4)]
    update_bn([dc.tensor(d, dtype=dc.float64) for d in data], bn)
    torch.optim.swa_utils.update_bn([torch.tensor(d) for d in data], tbn)
    np.testing.assert_allclose(bn.running_mean.data, tbn.running_mean.numpy(), rtol=1e-10)
    np.testing.assert_allclose(bn.running_var.data, tbn.running_var.numpy(), rtol=1e-10)


@pytest.mark.parametrize("kw", [dict(swa_lr=0.01),
                                dict(swa_lr=[0.02, 0.005], anneal_epochs=5, anneal_strategy="linear"),
                                dict(swa_lr=0.03, anneal_epochs=0)])
def test_swalr_matches_torch(kw):
    torch = pytest.importorskip("torch")
    a, b = dc.zeros(2, requires_grad=True), dc.zeros(2, requires_grad=True)
    opt = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.2}], lr=0.1)
    ta, tb = torch.zeros(2, requires_grad=True), torch.zeros(2, requires_grad=True)
    topt = torch.optim.SGD([{"params": [ta]}, {"params": [tb], "lr": 0.2}], lr=0.1)
    s, ts = SWALR(opt, **kw), torch.optim.swa_utils.SWALR(topt, **kw)
    seq, tseq = [], []
    for i in range(20):
        if i == 7:
            sd = s.state_dict()
            s = SWALR(opt, **kw)
            s.load_state_dict(sd)
        opt.step(), topt.step()
        s.step(), ts.step()
        seq.append(s.get_last_lr())
        tseq.append(ts.get_last_lr())
    np.testing.assert_allclose(seq, tseq, rtol=1e-12)


def test_swalr_anneals_to_swa_lr_then_holds():
    # from lr₀ to swa_lr along the cosine over anneal_epochs steps, then constant
    a = dc.zeros(2, requires_grad=True)
    opt = optim.SGD([a], lr=0.1)
    s = SWALR(opt, swa_lr=0.01, anneal_epochs=4)
    rates = []
    for _ in range(7):
        opt.step()
        s.step()
        rates.append(s.get_last_lr()[0])
    alpha = [(1 - np.cos(np.pi * min(1.0, e / 4))) / 2 for e in range(1, 8)]
    np.testing.assert_allclose(rates, [0.01 * a_ + 0.1 * (1 - a_) for a_ in alpha], rtol=1e-12)
