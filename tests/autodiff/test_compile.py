"""dc.compile: a compiled step gives the eager step's parameters, retraces on a new signature, and
falls back to eager (one warning) on what it cannot replay.

Compiled and eager runs use the same kernels in the same order, so parameters are compared for
exact equality; a compiled step that silently ran eagerly is caught by counting replays."""

import warnings

import numpy as np
import pytest

import descend as dc
from descend import nn, optim
from descend.nn import functional as F
from descend.optim import clip_grad_norm_
from descend.autodiff.extend import array_op, host_op, in_parts, inplace
from descend.autodiff.compile.step import CACHE_LIMIT
from descend.autodiff.tensor import Tensor
from descend.autodiff.function import Function
from descend.optim.lr_scheduler import StepLR

N_IN, N_OUT = 12, 4
_SLOT = Tensor.__dict__["data"]   # Tensor's array slot, as outside a trace


def _batches(n=100, batch=8, seed=1):
    rng = np.random.default_rng(seed)
    return [(dc.from_numpy(rng.standard_normal((batch, N_IN)).astype(np.float32)),
             dc.from_numpy(rng.integers(0, N_OUT, batch))) for _ in range(n)]


def _model(extra=()):
    dc.manual_seed(0)
    return nn.Sequential(nn.Linear(N_IN, 16), nn.ReLU(), *extra, nn.Linear(16, 16), nn.Tanh(), nn.Linear(16, N_OUT))


def _run(make_opt, batches, compiled, extra=(), clip=None, schedule=False, strict=False):
    """Train a fresh model on ``batches``; returns (model, optimizer, compiled step or None, losses)."""
    model = _model(extra)
    opt = make_opt(model.parameters())
    sched = StepLR(opt, step_size=10, gamma=0.5) if schedule else None

    def step(x, t):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), t)
        loss.backward()
        if clip is not None:
            clip_grad_norm_(model.parameters(), clip)
        opt.step()
        if sched is not None:
            sched.step()
        return loss

    fn = dc.compile(step, strict=strict) if compiled else step
    losses = [fn(x, t).data.copy() for x, t in batches]
    return model, opt, (fn if compiled else None), losses


def _step_of(model, opt, loss=F.cross_entropy):
    """The training step on ``model``: zero_grad, forward, loss, backward, ``opt.step()``; returns the loss."""
    def step(x, t):
        opt.zero_grad()
        value = loss(model(x), t)
        value.backward()
        opt.step()
        return value
    return step


def _assert_same(m1, m2, l1, l2):
    for (name, p), q in zip(m1.named_parameters(), m2.parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)
    np.testing.assert_array_equal(np.array(l1), np.array(l2))


OPTIMIZERS = {
    "sgd": lambda p: optim.SGD(p, lr=0.05),
    "sgd-momentum": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, dampening=0.1, weight_decay=1e-3),
    "sgd-nesterov": lambda p: optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True),
    "adam": lambda p: optim.Adam(p, lr=1e-2),
    "adam-amsgrad": lambda p: optim.Adam(p, lr=1e-2, amsgrad=True, weight_decay=1e-3),
    "adamw": lambda p: optim.AdamW(p, lr=1e-2),
    "rmsprop": lambda p: optim.RMSprop(p, lr=1e-3),
    "rmsprop-centered": lambda p: optim.RMSprop(p, lr=1e-3, centered=True, momentum=0.5),
    "adagrad": lambda p: optim.Adagrad(p, lr=0.05, lr_decay=1e-3),
    "adadelta": lambda p: optim.Adadelta(p),
    "asgd": lambda p: optim.ASGD(p, lr=0.05, t0=20),
    "rprop": lambda p: optim.Rprop(p, lr=0.01),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_compiled_equals_eager_after_100_steps(name):
    batches = _batches()
    m1, _, _, l1 = _run(OPTIMIZERS[name], batches, compiled=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m2, _, fn, l2 = _run(OPTIMIZERS[name], batches, compiled=True)
    assert (fn.traces, fn.replays) == (2, 98)
    _assert_same(m1, m2, l1, l2)


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_with_dropout_and_batchnorm_compiled_equals_eager_after_100_steps(name):
    """Every optimizer again, with dropout and batch normalization in training mode in the model: the
    parameters, losses, running statistics and the generator's state are eager's."""
    batches = _batches()
    extra = lambda: (nn.BatchNorm1d(16), nn.Dropout(0.25))  # noqa: E731
    m1, _, _, l1 = _run(OPTIMIZERS[name], batches, compiled=False, extra=extra())
    state1 = dc.get_rng_state()
    m2, _, fn, l2 = _no_warnings_run(OPTIMIZERS[name], batches, compiled=True, extra=extra())
    assert (fn.traces, fn.replays) == (2, 98) and dc.get_rng_state() == state1
    _assert_same(m1, m2, l1, l2)
    np.testing.assert_array_equal(m1[2].running_var.data, m2[2].running_var.data)


def test_every_first_order_optimizer_is_covered():
    """Each optimizer of descend.optim that needs no closure is in OPTIMIZERS (the closure ones fall back)."""
    names = {n for n in dir(optim) if isinstance(getattr(optim, n), type) and issubclass(getattr(optim, n),
                                                                                         optim.Optimizer)}
    first_order = {n.lower() for n in names if n != "Optimizer" and not getattr(optim, n).needs_closure}
    assert first_order <= {k.split("-")[0] for k in OPTIMIZERS}


def test_clipping_and_schedule_inside_the_step():
    batches = _batches(40)
    make = OPTIMIZERS["sgd-momentum"]
    m1, o1, _, l1 = _run(make, batches, compiled=False, clip=0.5, schedule=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m2, o2, fn, l2 = _run(make, batches, compiled=True, clip=0.5, schedule=True)
    assert fn.replays == 38
    _assert_same(m1, m2, l1, l2)
    assert o1.param_groups[0]["lr"] == o2.param_groups[0]["lr"] == pytest.approx(0.05 * 0.5 ** 4)


def test_retraces_on_a_new_batch_shape():
    batches = [b for pair in zip(_batches(30, batch=8, seed=1), _batches(30, batch=5, seed=2)) for b in pair]
    m1, _, _, l1 = _run(OPTIMIZERS["adam"], batches, compiled=False)
    m2, _, fn, l2 = _run(OPTIMIZERS["adam"], batches, compiled=True)
    assert (fn.traces, fn.replays) == (4, 56)
    assert len(fn.cache) == 2
    _assert_same(m1, m2, l1, l2)


def test_same_batch_then_new_batches():
    """Two traces on equal arguments cannot tell constants from data: a new batch is traced once more."""
    b = _batches(1)[0]
    batches = [b] * 5 + _batches(20, seed=3)
    m1, _, _, l1 = _run(OPTIMIZERS["adam"], batches, compiled=False)
    m2, _, fn, l2 = _run(OPTIMIZERS["adam"], batches, compiled=True)
    assert (fn.traces, fn.replays) == (3, 22)
    _assert_same(m1, m2, l1, l2)


def _no_warnings_run(*args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return _run(*args, **kwargs)


@pytest.mark.parametrize("p", [0.3, 1.0])
def test_dropout_is_replayed_and_draws_as_eager_does(p):
    """Each replay draws a new mask from descend's generator: after 100 steps the parameters, the
    losses and the generator's state are those of the eager run."""
    batches = _batches()
    m1, _, _, l1 = _run(OPTIMIZERS["adam"], batches, compiled=False, extra=(nn.Dropout(p),))
    state1 = dc.get_rng_state()
    m2, _, fn, l2 = _no_warnings_run(OPTIMIZERS["adam"], batches, compiled=True, extra=(nn.Dropout(p),))
    assert (fn.traces, fn.replays) == (2, 98)
    assert dc.get_rng_state() == state1
    _assert_same(m1, m2, l1, l2)


def test_noise_drawn_with_randn_inside_the_step_is_replayed():
    batches = _batches(30)

    def run(compiled):
        model = _model()
        opt = optim.SGD(model.parameters(), lr=0.1)

        def step(x, t):
            opt.zero_grad()
            loss = F.cross_entropy(model(x + 0.1 * dc.randn(*x.shape)), t)
            loss.backward()
            opt.step()
            return loss

        fn = dc.compile(step, strict=True) if compiled else step
        return model, [fn(x, t).data.copy() for x, t in batches], fn

    m1, l1, _ = run(False)
    state1 = dc.get_rng_state()
    m2, l2, fn = run(True)
    assert fn.replays == 28 and dc.get_rng_state() == state1
    _assert_same(m1, m2, l1, l2)


def test_strict_raises_naming_the_cause():
    model = _model()

    def step(x, t):
        loss = F.cross_entropy(model(x), t)
        if loss.item() > 0:
            loss.backward()
        return loss

    with pytest.raises(dc.CompileError, match=r"\.item\(\)"):
        b = _batches(1)[0]
        dc.compile(step, strict=True)(*b)


@pytest.mark.parametrize("layer", [lambda: nn.BatchNorm1d(16), lambda: nn.BatchNorm1d(16, affine=False)])
def test_batchnorm_in_training_mode_is_replayed(layer):
    """The running statistics and the batch count move at each replay as in eager."""
    batches = _batches()
    m1, _, _, l1 = _run(OPTIMIZERS["adam"], batches, compiled=False, extra=(layer(),))
    m2, _, fn, l2 = _no_warnings_run(OPTIMIZERS["adam"], batches, compiled=True, extra=(layer(),))
    assert (fn.traces, fn.replays) == (2, 98)
    _assert_same(m1, m2, l1, l2)
    bn1, bn2 = m1[2], m2[2]
    np.testing.assert_array_equal(bn1.running_mean.data, bn2.running_mean.data)
    np.testing.assert_array_equal(bn1.running_var.data, bn2.running_var.data)
    assert int(bn1.num_batches_tracked.data) == int(bn2.num_batches_tracked.data) == 100


def test_batchnorm_with_dropout_in_eval_mode_reads_statistics_loaded_later():
    """Frozen batch normalization (eval mode inside a training step) reads the running statistics
    at each replay: statistics loaded between calls are used, not those seen while tracing."""
    batches = _batches(20)
    results = []
    for compiled in (False, True):
        model = _model(extra=(nn.BatchNorm1d(16), nn.Dropout(0.2)))
        model[2].eval()
        opt = optim.SGD(model.parameters(), lr=0.1)

        step = _step_of(model, opt)

        fn = dc.compile(step, strict=True) if compiled else step
        losses = []
        for k, (x, t) in enumerate(batches):
            if k == 10:
                sd = model[2].state_dict()
                sd["running_mean"] = dc.from_numpy(np.full(16, 0.5, np.float32))
                sd["running_var"] = dc.from_numpy(np.full(16, 2.0, np.float32))
                model[2].load_state_dict(sd)
            losses.append(fn(x, t).data.copy())
        results.append((model, losses))
    assert fn.replays == 18
    _assert_same(results[0][0], results[1][0], results[0][1], results[1][1])


def test_batchnorm_cumulative_average_falls_back_with_one_warning():
    """momentum=None averages with 1/num_batches_tracked, a number read into Python each step: the
    step runs eagerly after one warning and gives the eager numbers."""
    batches = _batches(10)
    m1, _, _, l1 = _run(OPTIMIZERS["adam"], batches, compiled=False, extra=(nn.BatchNorm1d(16, momentum=None),))
    with pytest.warns(RuntimeWarning, match="dc.compile") as record:
        m2, _, fn, l2 = _run(OPTIMIZERS["adam"], batches, compiled=True, extra=(nn.BatchNorm1d(16, momentum=None),))
    assert len(record) == 1 and fn.eager_reason is not None and fn.replays == 0
    _assert_same(m1, m2, l1, l2)
    np.testing.assert_array_equal(m1[2].running_mean.data, m2[2].running_mean.data)


def test_item_inside_the_step_falls_back():
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    seen = []

    def step(x, t):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), t)
        seen.append(loss.item())
        loss.backward()
        opt.step()
        return loss

    fn = dc.compile(step)
    with pytest.warns(RuntimeWarning, match=r"\.item\(\)"):
        for x, t in _batches(5):
            fn(x, t)
    assert len(seen) == 5 and fn.replays == 0


def _reads_branch(model, opt, x, t):
    """Steps that read a tensor's array into Python; each would replay the traced call's values."""
    opt.zero_grad()
    loss = F.cross_entropy(model(x), t)
    loss.backward()
    if loss.data > 1.4:   # a branch on the array
        opt.step()
    return loss


def _reads_scale(model, opt, x, t):
    opt.zero_grad()
    loss = F.cross_entropy(model(x), t)
    loss.backward()
    scale = float(np.asarray(loss)) / 2          # a value computed from it
    for p in model.parameters():
        p.grad.numpy()[...] *= scale
    opt.step()
    return loss


def _updates_by_hand(model, opt, x, t):
    """(An optimizer subclass's own step() is a host operation, made again at each replay; a loop in
    the step is not.)"""
    model.zero_grad()
    F.cross_entropy(model(x), t).backward()
    for p in model.parameters():
        p.data -= 0.1 * p.grad.data


@pytest.mark.parametrize("case", ["branch", "scale", "update"])
def test_a_step_reading_arrays_into_python_runs_eagerly_and_says_where(case):
    """Code outside descend that reads a tensor's array (.data, .numpy(), np.asarray) inside a step
    gets this call's values, which a replay would reuse: the step runs eagerly (it used to replay
    the traced branch, scale or update: silently wrong numbers), naming the function and line."""
    batches = [(x * (1 + 3 * (i % 2)), t) for i, (x, t) in enumerate(_batches(8))]
    params = []
    for compiled in (False, True):
        model = _model()
        opt = optim.SGD(model.parameters(), lr=0.1)
        body = {"branch": _reads_branch, "scale": _reads_scale, "update": _updates_by_hand}[case]

        def step(x, t):
            return body(model, opt, x, t)

        fn = dc.compile(step) if compiled else step
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for x, t in batches:
                fn(x, t)
        params.append([p.data.copy() for p in model.parameters()])
    assert fn.replays == 0
    assert [str(w.message) for w in caught if "reads a tensor's array" in str(w.message)]
    assert "test_compile.py:" in fn.eager_reason and "extend.array_op" in fn.eager_reason
    for a, b in zip(*params):
        np.testing.assert_array_equal(a, b)
    assert Tensor.__dict__["data"] is _SLOT   # the plain slot again after the trace


def test_arrays_read_for_array_op_or_inside_a_host_op_still_compile():
    """An array read out of a tensor and handed to array_op is replayed with the replay's array, and
    a host operation's reads are made again at each replay: both steps compile."""
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1)

    @host_op
    def scale_gradients(params, factor):
        for p in params:
            with inplace(p.grad) as (g,):
                g *= factor

    def step(x, t):
        opt.zero_grad()
        h = model(x)
        mask = array_op(lambda a: (a > 0).astype(a.dtype), h.data)
        loss = F.cross_entropy(h * dc.from_numpy(mask), t)
        loss.backward()
        scale_gradients(list(model.parameters()), 0.5)
        opt.step()
        return loss

    fn = dc.compile(step, strict=True)
    for x, t in _batches(5):
        fn(x, t)
    assert fn.replays == 3


@pytest.mark.parametrize("change", ["freeze", "unfreeze"])
def test_freezing_a_layer_between_calls_is_seen(change):
    """Whether a parameter gets a gradient (requires_grad) is part of the key: a layer frozen (or
    unfrozen) between calls is traced anew, as eager sees it (a replay used to write its gradient
    and update it anyway)."""
    batches = _batches(12)
    params = []
    for compiled in (False, True):
        model = _model()
        opt = optim.Adam(model.parameters(), lr=1e-2)
        first = model[0]
        if change == "unfreeze":
            first.requires_grad_(False)
        fn = dc.compile(_step_of(model, opt), strict=True) if compiled else _step_of(model, opt)
        for i, (x, t) in enumerate(batches):
            if i == 6:
                first.requires_grad_(change == "unfreeze")
            fn(x, t)
        params.append([p.data.copy() for p in model.parameters()])
    assert (fn.traces, fn.replays) == (4, 8)
    for a, b in zip(*params):
        np.testing.assert_array_equal(a, b)


class _Net(nn.Module):
    """A network whose forward reads a plain attribute (a slope) as well as its layers."""

    def __init__(self):
        super().__init__()
        self.a, self.drop, self.b, self.slope = nn.Linear(N_IN, 16), nn.Dropout(0.0), nn.Linear(16, N_OUT), 0.1

    def forward(self, x):
        return self.b(self.drop(F.leaky_relu(self.a(x), self.slope)))


def _new_weight(net, opt):
    net.a.weight = nn.Parameter(dc.zeros(16, N_IN))
    opt.param_groups[0]["params"][0] = net.a.weight


def _new_layer(net, opt):
    net.b = nn.Linear(16, N_OUT)
    opt.add_param_group({"params": list(net.b.parameters())})


CHANGES = {"dropout p": lambda net, opt: setattr(net.drop, "p", 0.5),
           "attribute": lambda net, opt: setattr(net, "slope", 0.3),
           "parameter replaced": _new_weight,
           "layer replaced": _new_layer}


@pytest.mark.parametrize("change", CHANGES)
def test_a_module_changed_between_calls_is_traced_anew(change):
    """A module's attributes, parameters and sub-modules set between calls (a new Dropout.p, a plain
    attribute its forward reads, a replaced Parameter or layer) change its version, which is part
    of the key: the step is traced anew as eager sees it (a replay used to run the old values)."""
    batches = _batches(10)
    params = []
    for compiled in (False, True):
        dc.manual_seed(0)
        net = _Net()
        opt = optim.SGD(net.parameters(), lr=0.1)
        fn = dc.compile(_step_of(net, opt), strict=True) if compiled else _step_of(net, opt)
        for i, (x, t) in enumerate(batches):
            if i == 4:
                CHANGES[change](net, opt)
            fn(x, t)
        params.append([p.data.copy() for p in net.parameters()])
    assert (fn.traces, fn.replays) == (4, 6)
    for a, b in zip(*params):
        np.testing.assert_array_equal(a, b)


def test_a_hook_registered_after_recording_runs_and_the_step_runs_eagerly():
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    fn = dc.compile(_step_of(model, opt))
    calls = []
    for i, (x, t) in enumerate(_batches(6)):
        if i == 3:
            model[0].register_forward_hook(lambda m, args, out: calls.append(i))
        if i < 3:
            fn(x, t)
        else:
            with pytest.warns(RuntimeWarning, match="hooks") if i == 3 else warnings.catch_warnings():
                fn(x, t)
    assert (fn.replays, calls) == (1, [3, 4, 5])


def test_recordings_beyond_the_limit_drop_the_oldest():
    model = _model()
    fn = dc.compile(lambda x: model(x).sum().detach(), strict=True)
    rng = np.random.default_rng(0)
    with pytest.warns(RuntimeWarning, match="recordings"):
        for batch in range(1, CACHE_LIMIT + 3):
            for _ in range(3):
                fn(dc.from_numpy(rng.standard_normal((batch, N_IN)).astype(np.float32)))
    assert len(fn.cache) == CACHE_LIMIT and (fn.traces, fn.replays) == (2 * (CACHE_LIMIT + 2), CACHE_LIMIT + 2)
    assert fn.evictions == 2


def test_a_value_that_changes_at_every_call_warns_once_that_recordings_are_dropped():
    model = _model()
    fn = dc.compile(lambda x, i: (model(x) * i).sum().detach())
    x = _batches(1)[0][0]
    with pytest.warns(RuntimeWarning, match="step counter") as caught:
        for i in range(CACHE_LIMIT + 5):
            fn(x, i)
    assert len([w for w in caught if "recordings" in str(w.message)]) == 1 and fn.replays == 0


def test_closure_optimizer_falls_back_and_matches_eager():
    batches = _batches(4)

    def run(compiled):
        model = _model()
        opt = optim.LBFGS(model.parameters(), max_iter=3)

        def step(x, t):
            def closure():
                opt.zero_grad()
                loss = F.cross_entropy(model(x), t)
                loss.backward()
                return loss
            return opt.step(closure)

        fn = dc.compile(step) if compiled else step
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            losses = [fn(x, t).data.copy() for x, t in batches]
        return model, losses

    m1, l1 = run(False)
    m2, l2 = run(True)
    _assert_same(m1, m2, l1, l2)


def test_parameters_loaded_between_steps_are_read():
    """A checkpoint loaded into the model (new values, possibly new arrays) is what the replay reads."""
    batches = _batches(30)
    make = OPTIMIZERS["adam"]
    m1, o1, _, _ = _run(make, batches[:10], compiled=False)
    sd_model = {k: v.data.copy() for k, v in m1.state_dict().items()}
    sd_opt = o1.state_dict()
    # eager: resume from the checkpoint
    m_e = _model()
    o_e = make(m_e.parameters())
    m_e.load_state_dict({k: dc.from_numpy(v.copy()) for k, v in sd_model.items()})
    o_e.load_state_dict(sd_opt)
    # compiled: a model trained compiled on other data, then the checkpoint loaded into it
    m_c, o_c, fn, _ = _run(make, _batches(5, seed=7), compiled=True)
    m_c.load_state_dict({k: dc.from_numpy(v.copy()) for k, v in sd_model.items()})
    o_c.load_state_dict(sd_opt)
    l_e, l_c = [], []
    for x, t in batches[10:]:
        o_e.zero_grad()
        loss = F.cross_entropy(m_e(x), t)
        loss.backward()
        o_e.step()
        l_e.append(loss.data.copy())
        l_c.append(fn(x, t).data.copy())
    assert fn.replays == 3 + 20
    _assert_same(m_e, m_c, l_e, l_c)


def test_returns_tuples_and_rejects_other_values():
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1)

    @dc.compile
    def step(x, t):
        opt.zero_grad()
        out = model(x)
        loss = F.cross_entropy(out, t)
        loss.backward()
        opt.step()
        return loss, out

    for x, t in _batches(4):
        loss, out = step(x, t)
        assert isinstance(loss, dc.Tensor) and out.shape == (8, N_OUT)
    assert step.replays == 2
    with pytest.raises(TypeError, match="expected a function"):
        dc.compile(3)


def test_trainer_compile_gives_the_eager_parameters():
    from descend.train import Trainer
    rng = np.random.default_rng(5)
    x = rng.standard_normal((70, N_IN)).astype(np.float32)
    t = rng.integers(0, N_OUT, 70)

    def fit(compile):
        model = _model()
        trainer = Trainer(model, F.cross_entropy, optim.Adam(model.parameters(), lr=1e-2), batch_size=16,
                          seed=3, verbose=0, compile=compile)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            history = trainer.fit((dc.from_numpy(x), dc.from_numpy(t)), epochs=4)
        return model, history, trainer

    m1, h1, _ = fit(False)
    m2, h2, tr = fit(True)
    assert tr._compiled.replays > 0
    for p, q in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    assert h1["loss"] == h2["loss"] and h1["accuracy"] == h2["accuracy"]


def test_trainer_compile_with_a_layer_monitor_records_what_eager_records():
    """LayerMonitor's steps run eagerly (its hooks are attached only then); the others are replayed."""
    from descend.train import LayerMonitor, Trainer
    rng = np.random.default_rng(6)
    x = rng.standard_normal((64, N_IN)).astype(np.float32)
    t = rng.integers(0, N_OUT, 64)

    def fit(compile):
        model = _model()
        monitor = LayerMonitor(every=3)
        trainer = Trainer(model, F.cross_entropy, optim.Adam(model.parameters(), lr=1e-2), batch_size=8, seed=3,
                          verbose=0, compile=compile, callbacks=[monitor])
        trainer.fit((dc.from_numpy(x), dc.from_numpy(t)), epochs=3)
        return model, monitor, trainer

    m1, mon1, _ = fit(False)
    m2, mon2, tr = fit(True)
    assert tr._compiled.replays > 0 and tr._compiled.eager_reason is None
    for p, q in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    assert mon1.records == mon2.records and len(mon1.records) > 0


def test_a_module_hook_inside_the_step_falls_back():
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1)
    calls = []
    model[0].register_forward_hook(lambda m, a, out: calls.append(1))

    step = _step_of(model, opt)

    fn = dc.compile(step)
    with pytest.warns(RuntimeWarning, match="Linear has hooks"):
        for x, t in _batches(4):
            fn(x, t)
    assert len(calls) == 4


def test_array_op_outside_a_trace_is_a_plain_call_and_inside_checks_its_result():
    from descend.autodiff.extend import array_op
    assert array_op(np.add, np.ones(2), 1.0).tolist() == [2.0, 2.0]
    model = _model()

    def step(x, t):
        loss = F.cross_entropy(model(x), t)
        array_op(lambda a: float(a.sum()), loss.data)   # returns a number: not a value a replay can use
        return loss

    with pytest.raises(dc.CompileError, match="returned a float; expected an array or None"):
        dc.compile(step, strict=True)(*_batches(1)[0])

    def step2(x, t):
        loss = F.cross_entropy(model(x), t)
        array_op(lambda t: None, loss)   # a Tensor of the step: the replay would pass the traced one
        return loss

    with pytest.raises(dc.CompileError, match="given a Tensor computed in the step"):
        dc.compile(step2, strict=True)(*_batches(1)[0])


class _ReadsAValue(nn.Module):
    """A layer that branches on data (cannot be compiled)."""

    def forward(self, x):
        return x * 2.0 if float(x.sum().item()) > 0 else x


def _fit_reading_model(compile, **kwargs):
    from descend.train import Trainer
    rng = np.random.default_rng(6)
    x, t = rng.standard_normal((40, N_IN)).astype(np.float32), rng.integers(0, N_OUT, 40)
    model = _model(extra=(_ReadsAValue(),))
    trainer = Trainer(model, F.cross_entropy, optim.SGD(model.parameters(), lr=0.1), batch_size=8, seed=1,
                      verbose=0, **({} if compile is None else {"compile": compile}))
    trainer.fit((dc.from_numpy(x), dc.from_numpy(t)), epochs=2)
    return model, trainer


def test_trainer_compiles_by_default_and_falls_back_silently():
    """compile="auto" (the default, as Keras' jit_compile="auto"): a step that cannot be compiled runs
    eagerly with no warning; the cause is in ``compile_fallback`` and the numbers are eager's."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        m1, tr1 = _fit_reading_model(None)
    assert tr1.compile == "auto" and ".item()" in tr1.compile_fallback
    m2, tr2 = _fit_reading_model(False)
    assert tr2.compile_fallback is None
    for p, q in zip(m1.parameters(), m2.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
    with pytest.warns(RuntimeWarning, match=r"\.item\(\)"):
        _fit_reading_model(True)


def test_trainer_rejects_an_unknown_compile_value():
    with pytest.raises(ValueError, match=r"compile='yes'; expected True, False or \"auto\""):
        _fit_reading_model("yes")


def test_switching_train_and_eval_between_calls_keeps_one_recording_per_mode():
    """A module's ``training`` flag is part of the key: after ``model.eval()`` the step is traced in
    eval mode (no dropout, running statistics), and back in training mode the first recording is
    replayed again; the numbers are eager's throughout."""
    batches = _batches(40)
    results = []
    for compiled in (False, True):
        model = _model(extra=(nn.BatchNorm1d(16), nn.Dropout(0.3)))
        opt = optim.SGD(model.parameters(), lr=0.05)

        step = _step_of(model, opt)

        fn = dc.compile(step, strict=True) if compiled else step
        losses = []
        for k, (x, t) in enumerate(batches):
            model.train(k // 10 % 2 == 0)   # 10 steps in training mode, 10 in eval mode, ...
            losses.append(fn(x, t).data.copy())
        results.append((model, losses))
    assert (fn.traces, fn.replays) == (4, 36) and len(fn.cache) == 2
    _assert_same(results[0][0], results[1][0], results[0][1], results[1][1])


def test_profile_times_each_recorded_operation_of_a_replay():
    batches = _batches(4)
    model = _model()
    opt = optim.Adam(model.parameters(), lr=1e-2)

    step = _step_of(model, opt)

    fn = dc.compile(step, strict=True)
    with pytest.raises(dc.CompileError, match="no recording that replays these arguments yet"):
        fn.profile(*batches[0])
    fn(*batches[0])
    fn(*batches[1])
    before = [p.data.copy() for p in model.parameters()]
    times = fn.profile(*batches[2])
    names = [n for n, _ in times]
    assert names[0] == "Adam.zero_grad()" and names[-1] == "Adam.step()"
    assert names.count("LinearFn") == 3 and names.count("LinearGradWeight") == 3
    assert names.count("gradient into .grad") == 6 and all(t >= 0 for _, t in times)
    assert fn.replays == 1 and not np.array_equal(before[0], model[0].weight.data)   # it was a real step


def test_a_lambda_made_at_each_call_is_the_same_operation_unless_what_it_closes_over_changes():
    x = dc.ones(3)
    scale = [2.0]

    def step(x):
        k = scale[0]
        return (x * dc.from_numpy(array_op(lambda n: np.full(n, k, np.float32), 3))).sum()

    from descend.autodiff.extend import array_op
    fn = dc.compile(step, strict=True)
    assert [fn(x).item() for _ in range(4)] == [6.0] * 4 and fn.replays == 2
    scale[0] = 3.0   # frozen into the recording (a Python value read while tracing)...
    assert fn(x).item() == 6.0
    fn2 = dc.compile(step)
    fn2(x)
    scale[0] = 4.0   # ... but a value that differs between the two traced calls is caught
    with pytest.warns(RuntimeWarning, match="with arguments that change between calls"):
        fn2(x)
    assert fn2.eager_reason is not None and fn2(x).item() == 12.0


@pytest.mark.parametrize("pool", [lambda: nn.MaxPool2d(2), lambda: nn.MaxPool2d(3, stride=2, padding=1),
                                  lambda: nn.AvgPool2d(2)])
def test_a_convolutional_step_is_replayed(pool):
    """Convolutions, 2-d batch normalization, pooling (max pooling's backward reads the argmax
    positions its forward kept: read from that box at each replay) and dropout."""
    rng = np.random.default_rng(4)
    batches = [(dc.from_numpy(rng.standard_normal((6, 2, 8, 8)).astype(np.float32)),
                dc.from_numpy(rng.integers(0, 3, 6))) for _ in range(30)]
    results = []
    for compiled in (False, True):
        dc.manual_seed(0)
        model = nn.Sequential(nn.Conv2d(2, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(), pool(), nn.Dropout(0.2),
                              nn.Flatten(), nn.Linear(4 * 4 * 4, 3))   # every pool here gives 4 x 4
        opt = optim.Adam(model.parameters(), lr=1e-2)

        step = _step_of(model, opt)

        fn = dc.compile(step, strict=True) if compiled else step
        results.append((model, [fn(x, t).data.copy() for x, t in batches]))
    assert (fn.traces, fn.replays) == (2, 28)
    _assert_same(results[0][0], results[1][0], results[0][1], results[1][1])


def _cases():
    """(name, model, loss, targets kind): layers and losses whose backward reads data-dependent masks,
    weights or indices (now array_ops or arrays their forward keeps)."""
    lin = lambda: nn.Linear(8, 4)   # noqa: E731
    return [
        ("ELU", lambda: nn.Sequential(nn.Linear(8, 16), nn.ELU(), nn.Linear(16, 4)), F.cross_entropy, "labels"),
        ("LeakyReLU", lambda: nn.Sequential(nn.Linear(8, 16), nn.LeakyReLU(), nn.Linear(16, 4)), F.cross_entropy,
         "labels"),
        ("Maxout", lambda: nn.Sequential(nn.Maxout(8, 16, 3), nn.Linear(16, 4)), F.cross_entropy, "labels"),
        ("l1_loss", lin, F.l1_loss, "values"),
        ("huber_loss", lin, F.huber_loss, "values"),
        ("smooth_l1_loss", lin, F.smooth_l1_loss, "values"),
        ("nll_loss", lambda: nn.Sequential(nn.Linear(8, 4), nn.LogSoftmax(dim=1)), F.nll_loss, "labels"),
        ("multi_margin_loss", lin, F.multi_margin_loss, "labels"),
        ("std, clamp, abs, pow, max", lin,
         lambda z, t: F.cross_entropy(z.clamp(-2, 2), t) + 0.01 * (z.std() + z.abs().pow(1.5).mean()
                                                                    + z.max(1)[0].mean() + z.amax(1).mean()), "labels"),
    ]


@pytest.mark.parametrize("name, make, loss, kind", _cases(), ids=[c[0] for c in _cases()])
def test_layers_and_losses_with_data_dependent_backward_are_replayed(name, make, loss, kind):
    rng = np.random.default_rng(7)
    xs = [dc.from_numpy(rng.standard_normal((6, 8)).astype(np.float32)) for _ in range(3)]
    ts = [dc.from_numpy(rng.integers(0, 4, 6) if kind == "labels" else rng.standard_normal((6, 4)).astype(np.float32))
          for _ in range(3)]
    results = []
    for compiled in (False, True):
        dc.manual_seed(0)
        model = make()
        opt = optim.SGD(model.parameters(), lr=0.05)

        step = _step_of(model, opt, loss)

        fn = dc.compile(step, strict=True) if compiled else step
        results.append((model, [fn(xs[i % 3], ts[i % 3]).data.copy() for i in range(12)]))
    assert fn.replays == 10
    _assert_same(results[0][0], results[1][0], results[0][1], results[1][1])


@pytest.mark.parametrize("loss", [F.cross_entropy, lambda z, t: F.nll_loss(z.log_softmax(dim=1), t)])
def test_a_replayed_step_checks_each_batch_of_labels(loss):
    """A label out of range in a later batch raises the eager error at the replayed call (it is not
    read as a negative index), and nothing is updated."""
    batches = _batches(4)
    model = _model()
    opt = optim.SGD(model.parameters(), lr=0.1)

    step = _step_of(model, opt, loss)

    fn = dc.compile(step, strict=True)
    for x, t in batches[:3]:
        fn(x, t)
    before = [p.data.copy() for p in model.parameters()]
    x, t = batches[3]
    bad = t.data.copy()
    bad[2] = -1
    with pytest.raises(ValueError, match=r"label -1 is out of range for 4 classes"):
        fn(x, dc.from_numpy(bad))
    assert fn.replays == 2
    for p, b in zip(model.parameters(), before):
        np.testing.assert_array_equal(p.data, b)


# ---------------------------------------------------------------------------- threads
def _blas_counts():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    return [p["num_threads"] for p in threadpoolctl.threadpool_info() if p["user_api"] == "blas"]


class _SplitCopy(Function):
    """y = x, its kernel split among two of descend's threads (as a convolution's)."""

    def forward(self, x):
        return np.concatenate(in_parts(len(x), 1, lambda a, z: x[a:z].copy(), 1, threads=2))

    def backward(self, gy):
        return (gy,)


def test_a_step_whose_layers_split_their_work_replays_with_one_blas_thread():
    """OpenBLAS's threads spin after each product and would take the cores from work split among
    descend's threads: a recording in which a box's kernel split its work replays with one BLAS
    thread from its second replay on, restored after each step; work split by a host operation (an
    optimizer's) does not count, and other recordings leave BLAS as it is."""
    seen = []

    @host_op
    def look(split):
        if split:
            in_parts(2, 1, lambda a, z: None, 1, threads=2)
        seen.append(_blas_counts())

    before = _blas_counts()
    for box, host, limited in ((True, False, True), (False, True, False), (False, False, False)):
        model = _model()

        def step(x, t):
            h = model(x)
            loss = F.cross_entropy(_SplitCopy.apply(h) if box else h, t)
            loss.backward()
            look(host)
            return loss

        fn = dc.compile(step, strict=True)
        for x, t in _batches(5):
            fn(x, t)
        assert fn.replays == 3
        assert seen[-3] == before          # the first replay, which looks: BLAS as it was
        if limited:
            assert all(set(s) <= {1} for s in seen[-2:])
        else:
            assert seen[-2:] == [before] * 2
        assert _blas_counts() == before


def test_an_ema_updated_in_the_step_is_replayed():
    """AveragedModel.update_parameters is a host operation: an EMA updated every step compiles, and
    the averages equal eager's."""
    from descend.optim import swa_utils
    batches = _batches(12)
    out = []
    for compiled in (False, True):
        model = _model()
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        ema = swa_utils.AveragedModel(model, multi_avg_fn=swa_utils.get_ema_multi_avg_fn(0.9))
        train = _step_of(model, opt)

        def step(x, t):
            loss = train(x, t)
            ema.update_parameters(model)
            return loss

        fn = dc.compile(step, strict=True) if compiled else step
        for x, t in batches:
            fn(x, t)
        out.append([p.data.copy() for p in list(model.parameters()) + list(ema.parameters())])
    assert fn.replays == 10
    for a, b in zip(*out):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("every", [4, None])
def test_gradients_accumulated_over_calls_are_replayed(every):
    """Gradient accumulation: backward on each call, the update and zero_grad every ``every`` calls
    (a flag argument, so two recordings), or never (the gradients keep adding up). Whether .grad
    was empty differs between the traced calls; a replay adds to .grad when it holds a gradient,
    as eager does (this used to run eagerly: 'the gradients reach different leaves')."""
    batches = _batches(24)
    out = []
    for compiled in (False, True):
        model = _model()
        opt = optim.Adam(model.parameters(), lr=1e-2)

        def step(x, t, last):
            loss = F.cross_entropy(model(x), t) / 4
            loss.backward()
            if last:
                opt.step()
                opt.zero_grad()
            return loss

        fn = dc.compile(step, strict=True) if compiled else step
        for i, (x, t) in enumerate(batches):
            fn(x, t, every is not None and i % every == every - 1)
        out.append([p.data.copy() for p in model.parameters()] + [p.grad.data.copy() for p in model.parameters()
                                                                    if p.grad is not None])
    assert (fn.traces, fn.replays) == ((4, 20) if every else (2, 22))
    assert len(out[0]) == len(out[1])
    for a, b in zip(*out):
        np.testing.assert_array_equal(a, b)


def test_a_function_whose_output_is_differentiated_after_the_call_runs_eagerly():
    """A compiled forward whose result the caller differentiates: a replay would return it without
    a graph (and the second traced call's graph used to be cleared: backward raised IndexError).
    It runs eagerly, saying why; under no_grad the same function is recorded and replayed."""
    model = _model()
    fn = dc.compile(lambda x: model(x).sum())
    grads = []
    with pytest.warns(RuntimeWarning, match="no backward"):
        for x, _ in _batches(4):
            model.zero_grad()
            fn(x).backward()
            grads.append(model[0].weight.grad.data.copy())
    for (x, _), g in zip(_batches(4), grads):
        model.zero_grad()
        model(x).sum().backward()
        np.testing.assert_array_equal(model[0].weight.grad.data, g)
    assert fn.replays == 0

    predict = dc.compile(lambda x: model(x).sum(), warn=False)
    with dc.no_grad():
        values = [predict(x).item() for x, _ in _batches(4)]
    assert predict.replays == 2 and values == [model(x).sum().item() for x, _ in _batches(4)]
    out = predict(_batches(1)[0][0])   # with gradients on: the grad mode is in the key, traced anew
    assert out.requires_grad and predict.traces == 3 and "no backward" in predict.eager_reason
