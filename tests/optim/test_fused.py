"""The fused (Numba) Adam update is bit-identical to the NumPy one it replaces."""

import numpy as np
import pytest

import descend as dc
from descend import optim
from descend.optim import adagrad, adam, fused, rmsprop, sgd

pytestmark = pytest.mark.skipif(not fused.available(), reason="numba is not installed")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", [{}, {"weight_decay": 0.1}, {"maximize": True},
                                     {"weight_decay": 0.05, "decoupled_weight_decay": True}])
@pytest.mark.parametrize("n", [1, 13, 4099])
def test_fused_adam_is_bit_identical_to_numpy(dtype, options, n, monkeypatch):
    rng = np.random.default_rng(n)
    start = [rng.standard_normal(n).astype(dtype), rng.standard_normal(n).astype(dtype),
             (0.1 * rng.standard_normal(n)).astype(dtype), (0.01 * rng.random(n)).astype(dtype)]
    runs = []
    for use in (False, True):
        p, g, m, v = (a.copy() for a in start)
        with monkeypatch.context() as mp:
            if not use:
                mp.setitem(fused._STATE, "numba", None)
            for step in range(1, 8):
                adam.adam_update(p, g, m, v, step, lr=1e-2, beta1=0.8, beta2=0.99, eps=1e-6, **options)
        runs.append((p, m, v))
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(runs[1][0], start[0])


def test_not_taken_for_strided_arrays():
    p = np.zeros((4, 4), np.float32)[:, ::2]
    assert fused.adam(p, p.copy(), p.copy(), p.copy(), 0.9, 0.999, 1e-8, 1e-3) is False


def _steps_both_ways(monkeypatch, start, grads, make, before_step):
    """[(θ values, state values) with the NumPy updates, the same with the fused kernels] after one
    ``opt.step()`` per entry of ``grads``; ``before_step(k, ps, opt, gs)`` sets the gradients."""
    results = []
    for use in (False, True):
        with monkeypatch.context() as mp:
            if not use:
                mp.setitem(fused._STATE, "numba", None)
            ps = [dc.tensor(a.copy(), requires_grad=True) for a in start]
            opt = make(ps)
            for k, gs in enumerate(grads):
                before_step(k, ps, opt, gs)
                opt.step()
            results.append(([p.data.copy() for p in ps], [a for st in opt.state.values() for a in st.values()]))
    return results


@pytest.mark.parametrize("make", [lambda ps: optim.Adam(ps, lr=1e-2), lambda ps: optim.AdamW(ps, lr=1e-2),
                                  lambda ps: optim.Adam(ps, lr=1e-2, amsgrad=True)])
def test_multi_tensor_step_is_bit_identical_to_one_tensor_at_a_time(make, monkeypatch):
    """The whole-model fused call gives what the NumPy update per tensor gives, also when one
    parameter skips steps (no gradient: it falls behind, and the group is updated one by one)."""
    rng = np.random.default_rng(0)
    shapes = [(5, 3), (3,), (7,), (2, 2, 2)]
    start = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(12)]

    def set_grads(k, ps, opt, gs):
        for i, (p, g) in enumerate(zip(ps, gs)):
            p.grad = None if (i == 2 and 4 <= k < 6) else dc.tensor(g)

    results = [params + state for params, state in _steps_both_ways(monkeypatch, start, grads, make, set_grads)]
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_multi_tensor_step_follows_arrays_replaced_between_steps(monkeypatch):
    """The fused path keeps flat views of θ, s and r between steps; a parameter array or a state
    array replaced in between (``p.data = ...``, ``load_state_dict``) is the one updated next."""
    rng = np.random.default_rng(1)
    shapes = [(4, 3), (3,)]
    start = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(6)]

    def replace_then_set_grads(k, ps, opt, gs):
        if k == 2:
            ps[0].data = ps[0].data * 2
        if k == 4:
            opt.load_state_dict(opt.state_dict())   # new state arrays, same values
        for p, g in zip(ps, gs):
            p.grad = dc.tensor(g)

    results = [params for params, _ in _steps_both_ways(monkeypatch, start, grads, lambda ps: optim.Adam(ps, lr=1e-2),
                                                        replace_then_set_grads)]
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


_REPLACING_MAKES = [pytest.param(lambda ps: optim.Adam(ps, lr=1e-2), id="Adam"),
                    pytest.param(lambda ps: optim.AdamW(ps, lr=1e-2), id="AdamW"),
                    pytest.param(lambda ps: optim.SGD(ps, lr=1e-2, momentum=0.9), id="SGD"),
                    pytest.param(lambda ps: optim.RMSprop(ps, lr=1e-2, momentum=0.5, centered=True), id="RMSprop"),
                    pytest.param(lambda ps: optim.Adagrad(ps, lr=1e-2, lr_decay=0.1), id="Adagrad")]


@pytest.mark.parametrize("make", _REPLACING_MAKES)
def test_kept_plan_follows_every_replacement_between_fused_steps(make, monkeypatch):
    """The fused step keeps the group's plan (θ and state addresses) between steps; whatever is
    replaced in between (``p.data = ...``, ``load_state_dict``, a state dict or one state array
    assigned by hand, a tensor without a gradient for a step) is what the next step updates: θ and
    the state match the NumPy path bit for bit after each of 12 steps."""
    rng = np.random.default_rng(2)
    shapes = [(4, 3), (3,), (2, 5), (1,)]
    start = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(12)]
    seen = [[], []]

    def replace_then_set_grads(k, ps, opt, gs):
        if k > 0:   # the numbers after step k - 1
            seen[fused._STATE["numba"] is not None].append(
                [p.data.copy() for p in ps] + [a.copy() for st in opt.state.values() for a in st.values()
                                               if isinstance(a, np.ndarray)])
        if k == 3:
            ps[0].data = ps[0].data * 2
        if k == 5:
            opt.load_state_dict(opt.state_dict())   # new state dicts and arrays, the same values
        if k == 7:
            st = opt.state[ps[1]]
            name = next(n for n, v in st.items() if isinstance(v, np.ndarray))
            st[name] = st[name] * 0.5                # one state array replaced by hand
        if k == 8:
            opt.state[ps[2]] = dict(opt.state[ps[2]])   # a new dict holding the same arrays
        if k == 9:
            ps[3].data = ps[3].data.astype(np.float32)  # a new array, the same values
        for i, (p, g) in enumerate(zip(ps, gs)):
            p.grad = None if (i == 2 and k == 10) else dc.tensor(g)

    results = _steps_both_ways(monkeypatch, start, grads, make, replace_then_set_grads)
    for numpy_run, fused_run in zip(*seen, strict=True):
        for a, b in zip(numpy_run, fused_run, strict=True):
            np.testing.assert_array_equal(a, b)
    for a, b in zip(results[0][0], results[1][0], strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name, before, after", [("SGD", {}, {"momentum": 0.9}),
                                                 ("SGD", {"momentum": 0.9}, {"momentum": 0.0}),
                                                 ("RMSprop", {}, {"centered": True}),
                                                 ("RMSprop", {}, {"momentum": 0.5}),
                                                 ("RMSprop", {"momentum": 0.5}, {"centered": True})])
def test_an_option_changed_between_fused_steps_changes_the_plan(name, before, after, monkeypatch):
    """A hyperparameter that adds or drops a state buffer (SGD's momentum, RMSprop's momentum or
    centered) changed between steps: the next fused step uses a plan with that buffer's column, and
    the numbers are the NumPy path's."""
    rng = np.random.default_rng(4)
    shapes = [(4, 3), (3,), (5,)]
    start = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(6)]

    def change_then_set_grads(k, ps, opt, gs):
        if k == 3:
            opt.param_groups[0].update(after)
        for p, g in zip(ps, gs):
            p.grad = dc.tensor(g)

    results = _steps_both_ways(monkeypatch, start, grads, lambda ps: getattr(optim, name)(ps, lr=1e-2, **before),
                               change_then_set_grads)
    for a, b in zip(results[0][0] + results[0][1], results[1][0] + results[1][1], strict=True):
        np.testing.assert_array_equal(a, b)


def test_plan_is_kept_while_the_arrays_stay_and_made_anew_when_one_changes():
    ps = [dc.tensor(np.ones((2, 3), np.float32), requires_grad=True), dc.tensor(np.ones(3, np.float32),
                                                                                 requires_grad=True)]
    opt = optim.Adam(ps, lr=1e-2)
    for p in ps:
        p.grad = dc.tensor(np.full(p.shape, 0.5, np.float32))
    opt.step()
    opt.step()
    plan = opt._plans[id(opt.param_groups[0])]
    opt.step()
    assert opt._plans[id(opt.param_groups[0])] is plan
    ps[1].data = ps[1].data.copy()
    opt.step()
    assert opt._plans[id(opt.param_groups[0])] is not plan
    opt.load_state_dict(opt.state_dict())
    opt.step()
    assert list(opt._plans) == [id(opt.param_groups[0])]   # the old group's plan is dropped


def test_read_only_and_strided_gradients_are_read_through_copies(monkeypatch):
    """A gradient array that is read-only (a broadcast, a user's array) or not contiguous: the
    multi-tensor step reads a contiguous copy (Numba types a read-only array apart from the
    others), and the numbers are the NumPy path's."""
    rng = np.random.default_rng(3)
    shapes = [(4, 3), (3,), (5,)]
    start = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(4)]

    def odd_grads(k, ps, opt, gs):
        g0 = np.asfortranarray(gs[0])                      # not C-contiguous
        g1 = gs[1].copy()
        g1.flags.writeable = False                         # read-only
        g2 = np.broadcast_to(gs[2][:1], gs[2].shape)       # read-only, stride 0
        for p, g in zip(ps, (g0, g1, g2)):
            p.grad = dc.from_numpy(g)
        assert not ps[1].grad.data.flags.writeable

    results = _steps_both_ways(monkeypatch, start, grads, lambda ps: optim.Adam(ps, lr=1e-2), odd_grads)
    for a, b in zip(results[0][0] + results[0][1], results[1][0] + results[1][1], strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("n", [7, 8, 9, 64, 65, 131])
def test_groups_of_any_size_take_calls_of_at_most_max_width(n, monkeypatch):
    """The multi-tensor calls take a multiple of CHUNK tensors up to MAX_WIDTH; a longer group takes
    several calls; the numbers are the NumPy path's."""
    rng = np.random.default_rng(n)
    start = [rng.standard_normal(1 + k % 5).astype(np.float32) for k in range(n)]
    grads = [[rng.standard_normal(a.shape).astype(np.float32) for a in start] for _ in range(3)]

    def set_grads(k, ps, opt, gs):
        for p, g in zip(ps, gs):
            p.grad = dc.tensor(g)

    results = _steps_both_ways(monkeypatch, start, grads, lambda ps: optim.Adam(ps, lr=1e-2), set_grads)
    for a, b in zip(results[0][0] + results[0][1], results[1][0] + results[1][1], strict=True):
        np.testing.assert_array_equal(a, b)
    plan = fused.Plan([{}] * n, ("exp_avg", "exp_avg_sq"), [(a, a, a) for a in start])
    widths = [len(pad) + hi - lo for lo, hi, _, pad in plan.runs[0][3]]
    assert sum(hi - lo for lo, hi, _, _ in plan.runs[0][3]) == n
    assert all(w % fused.CHUNK == 0 and w <= fused.MAX_WIDTH for w in widths)


def test_kernel_refuses_a_gradient_of_another_size():
    """The kernels write θ and the state through addresses, as many values as the gradient has:
    each row of the table carries θ's size, and a gradient of another size raises before any
    write (Optimizer._grads refuses it first; this guards callers that skip it)."""
    p = dc.tensor(np.ones(5, np.float32), requires_grad=True)
    opt = optim.Adam([p], lr=1e-2)
    p.grad = dc.tensor(np.ones(5, np.float32))
    opt.step()
    opt.step()
    plan = opt._plans[id(opt.param_groups[0])]
    before = p.data.copy()
    with pytest.raises(ValueError, match="size"):
        fused.adam_many(plan, [(p, np.ones(6, np.float32))], 0.9, 0.999, 1e-8, 1e-3)
    np.testing.assert_array_equal(p.data, before)


# ---------------------------------------------------------------- SGD, RMSprop, Adagrad

SGD_OPTIONS = [{}, {"weight_decay": 0.1}, {"momentum": 0.9}, {"momentum": 0.9, "dampening": 0.3},
               {"momentum": 0.9, "nesterov": True}, {"momentum": 0.8, "weight_decay": 0.1, "nesterov": True},
               {"momentum": 0.7, "dampening": 0.2, "weight_decay": 0.05}]
RMSPROP_OPTIONS = [{}, {"weight_decay": 0.1}, {"centered": True}, {"momentum": 0.9},
                   {"momentum": 0.9, "nesterov": True}, {"momentum": 0.8, "centered": True, "weight_decay": 0.1},
                   {"momentum": 0.9, "centered": True, "nesterov": True}]
ADAGRAD_OPTIONS = [{}, {"lr_decay": 0.1}, {"weight_decay": 0.1},
                   {"lr_decay": 0.05, "weight_decay": 0.02, "initial_accumulator_value": 0.1}]


def _counting(monkeypatch, name):
    """Count the calls of fused.<name> (to check that the fused path ran)."""
    calls = []
    real = getattr(fused, name)

    def counted(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(fused, name, counted)
    return calls


def _sgd_steps(p, g, state, options):
    for step in range(1, 8):
        state[0] = sgd.sgd_update(p, g * step, state[0], lr=1e-2, **options)
    return [state[0]] if state[0] is not None else []


def _rmsprop_steps(p, g, state, options):
    r, b, a = state
    for step in range(1, 8):
        rmsprop.rmsprop_update(p, g * step, r, lr=1e-2, alpha=0.9, eps=1e-6, momentum_buffer=b, grad_avg=a, **options)
    return [r, b, a]


def _adagrad_steps(p, g, state, options):
    options = {k: v for k, v in options.items() if k != "initial_accumulator_value"}
    for step in range(1, 8):
        adagrad.adagrad_update(p, g * step, state[0], step, lr=1e-2, eps=1e-6, **options)
    return [state[0]]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("n", [1, 13, 4099])
@pytest.mark.parametrize("steps, options", [(_sgd_steps, o) for o in SGD_OPTIONS]
                         + [(_rmsprop_steps, o) for o in RMSPROP_OPTIONS]
                         + [(_adagrad_steps, o) for o in ADAGRAD_OPTIONS])
def test_fused_update_functions_are_bit_identical_to_numpy(steps, options, dtype, n, monkeypatch):
    """sgd_update, rmsprop_update and adagrad_update over 7 steps: the fused kernel (one tensor per
    call) gives the NumPy path's θ and state bit for bit."""
    rng = np.random.default_rng(n)
    start = [rng.standard_normal(n).astype(dtype), rng.standard_normal(n).astype(dtype)]
    state0 = [(0.01 + 0.01 * rng.random(n)).astype(dtype), (0.1 * rng.standard_normal(n)).astype(dtype),
              (0.01 * rng.standard_normal(n)).astype(dtype)]
    runs = []
    for use in (False, True):
        p, g = (a.copy() for a in start)
        state = [None] if steps is _sgd_steps else [a.copy() for a in state0]
        with monkeypatch.context() as mp:
            calls = _counting(mp, "_run_one")
            if not use:
                mp.setitem(fused._STATE, "numba", None)
            runs.append([p] + steps(p, g, state, options))
        assert len(calls) >= (6 if use else 0)
    for a, b in zip(*runs, strict=True):
        assert a.dtype == dtype and np.isfinite(a).all()
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(runs[1][0], start[0])


def _multi_tensor_run(make, dtypes, monkeypatch, use, skip=True):
    rng = np.random.default_rng(0)
    shapes = [(5, 3), (3,), (7,), (2, 2, 2), (1,), (11,), (4, 5), (6,), (9,), (2, 3)]
    start = [rng.standard_normal(s).astype(dtypes[i % len(dtypes)]) for i, s in enumerate(shapes)]
    grads = [[rng.standard_normal(s).astype(a.dtype) for s, a in zip(shapes, start)] for _ in range(10)]
    with monkeypatch.context() as mp:
        calls = _counting(mp, "_run_many")
        if not use:
            mp.setitem(fused._STATE, "numba", None)
        ps = [dc.tensor(a, dtype=a.dtype, requires_grad=True) for a in start]
        opt = make(ps)
        for k, gs in enumerate(grads):
            for i, (p, g) in enumerate(zip(ps, gs)):
                p.grad = None if (skip and i == 2 and 3 <= k < 5) else dc.tensor(g, dtype=g.dtype)
            opt.step()
    state = [(name, v) for st in opt.state.values() for name, v in st.items()]
    return [p.data.copy() for p in ps], state, calls


def _makes(name, options):
    return [pytest.param(lambda ps, o=o: getattr(optim, name)(ps, lr=1e-2, **o), id=f"{name}{o}")
            for o in options + [{"maximize": True}]]


MAKES = (_makes("SGD", SGD_OPTIONS) + _makes("RMSprop", RMSPROP_OPTIONS) + _makes("Adagrad", ADAGRAD_OPTIONS)
         + _makes("Adam", [{}, {"weight_decay": 0.1, "decoupled_weight_decay": True}]))


@pytest.mark.parametrize("dtypes", [(np.float32,), (np.float64,), (np.float32, np.float64)])
@pytest.mark.parametrize("make", MAKES)
def test_multi_tensor_steps_are_bit_identical_to_numpy(make, dtypes, monkeypatch):
    """SGD, RMSprop and Adagrad (and Adam) over 10 steps with 10 tensors (two chunks), one of them
    skipping two steps: the multi-tensor fused step gives the NumPy path's θ and state (same keys
    in the same order, same values) bit for bit; float32, float64 and both in one group."""
    p0, s0, _ = _multi_tensor_run(make, dtypes, monkeypatch, use=False)
    p1, s1, calls = _multi_tensor_run(make, dtypes, monkeypatch, use=True)
    assert [a.dtype for a in p0] == [a.dtype for a in p1] == [dtypes[i % len(dtypes)] for i in range(len(p0))]
    for a, b in zip(p0, p1, strict=True):
        np.testing.assert_array_equal(a, b)
    assert [name for name, _ in s0] == [name for name, _ in s1]
    for (_, a), (_, b) in zip(s0, s1):
        np.testing.assert_array_equal(a, b)
    maximize = make([dc.tensor(np.zeros(1), requires_grad=True)]).param_groups[0]["maximize"]
    assert (len(calls) > 0) != maximize


def test_first_sgd_step_makes_the_buffer_with_numpy_then_fuses(monkeypatch):
    """SGD's momentum buffer is a copy of g at the first step (NumPy path); later steps are fused
    and update that same buffer array."""
    p = dc.tensor(np.ones(4, np.float32), requires_grad=True)
    opt = optim.SGD([p], lr=0.1, momentum=0.9)
    calls = _counting(monkeypatch, "_run_many")
    p.grad = dc.tensor(np.full(4, 2.0, np.float32))
    opt.step()
    assert calls == []
    buf = opt.state[p]["momentum_buffer"]
    np.testing.assert_array_equal(buf, np.full(4, 2.0, np.float32))
    opt.step()
    assert len(calls) == 1
    assert opt.state[p]["momentum_buffer"] is buf
    np.testing.assert_array_equal(buf, np.full(4, np.float32(2.0) * np.float32(0.9) + np.float32(2.0)))


def test_not_taken_for_strided_or_half_arrays():
    p = np.zeros((4, 4), np.float32)[:, ::2]
    assert fused.sgd(p, p.copy(), p.copy(), 0.1, 0.9, 0.0, 0.0, False) is False
    h = np.zeros(4, np.float16)
    assert fused.rmsprop(h, h, h, 0.1, 0.9, 1e-8, 0.0, 0.0, False, None, None, False) is False
    assert fused.adagrad(h, h, h, 0.1, 1e-10, 0.0) is False


@pytest.mark.parametrize("name, options", [("SGD", {"momentum": 0.9}), ("SGD", {}), ("RMSprop", {"centered": True}),
                                           ("Adagrad", {"lr_decay": 0.1}), ("Adam", {}),
                                           ("Adam", {"weight_decay": 0.1})])
def test_numpy_scalar_hyperparameters_give_numpy_numbers(name, options, monkeypatch):
    """A np.float64 learning rate with float32 parameters makes NumPy compute those products in
    float64 (NumPy 2's promotion of a NumPy scalar); the kernels round scalars to float32 first,
    so such steps run the NumPy updates, and the numbers are the same either way."""
    lr = np.float64(0.0123)
    runs = []
    for use in (False, True):
        with monkeypatch.context() as mp:
            if not use:
                mp.setitem(fused._STATE, "numba", None)
            p0, _, _ = _multi_tensor_run(lambda ps: getattr(optim, name)(ps, lr=lr, **options), (np.float32,), mp,
                                         use=use)
        runs.append(p0)
    for a, b in zip(*runs, strict=True):
        np.testing.assert_array_equal(a, b)
    assert not fused.numbers(lr) and fused.numbers(0.1, 1)
