"""Update functions against the equations written out in NumPy; each small convention pinned."""

import math

import numpy as np
import pytest

import descend as dc
from descend import optim
from descend.optim import functional as Fn
from descend.optim.adam import adam_update
from descend.optim.adadelta import adadelta_update
from descend.optim.rmsprop import rmsprop_update
from descend.optim.rprop import rprop_update
from descend.optim.sgd import sgd_update

RNG = np.random.default_rng(0)


def grads(n_steps, shape=(5,), seed=0):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=shape) for _ in range(n_steps)]


def run_class(make, gs, theta0):
    p = dc.tensor(theta0.copy(), dtype=dc.float64, requires_grad=True)
    opt = make([p])
    for g in gs:
        p.grad = dc.tensor(g, dtype=dc.float64)
        opt.step()
    return p.data, opt, p


# ----------------------------------------------------------------- conventions
def test_sgd_first_momentum_buffer_is_the_gradient():
    theta, g = np.ones(3), np.array([1.0, -2.0, 3.0])
    buf = sgd_update(theta, g, None, lr=0.1, momentum=0.9, dampening=0.5)
    np.testing.assert_array_equal(buf, g)            # no dampening on the first step, not zero-init
    np.testing.assert_allclose(theta, 1 - 0.1 * g)
    g2 = np.array([0.5, 0.5, 0.5])
    sgd_update(theta, g2, buf, lr=0.1, momentum=0.9, dampening=0.5)
    np.testing.assert_allclose(buf, 0.9 * g + 0.5 * g2)


def test_sgd_nesterov_is_g_plus_mu_b():
    theta, g = np.zeros(2), np.array([1.0, 2.0])
    sgd_update(theta, g, None, lr=1.0, momentum=0.5, nesterov=True)
    np.testing.assert_allclose(theta, -(g + 0.5 * g))


def test_adam_eps_after_bias_corrected_sqrt():
    theta, g = np.zeros(1), np.array([1e-6])
    m, v = np.zeros(1), np.zeros(1)
    adam_update(theta, g, m, v, 1, lr=1.0, eps=1e-6)
    # m̂ = g, √v̂ = |g|: step = g / (|g| + eps) = 0.5, not g / (√v + eps) with uncorrected v
    np.testing.assert_allclose(theta, [-0.5], rtol=1e-12)


def test_rmsprop_eps_outside_the_root():
    theta, g, sq = np.zeros(1), np.array([1e-4]), np.zeros(1)
    rmsprop_update(theta, g, sq, lr=1.0, alpha=0.0, eps=1e-4)
    np.testing.assert_allclose(theta, [-1e-4 / (1e-4 + 1e-4)], rtol=1e-12)   # √(g²) + ε = 2e-4


def test_adadelta_eps_inside_both_roots():
    theta, g = np.zeros(1), np.array([2.0])
    sq, acc = np.zeros(1), np.zeros(1)
    adadelta_update(theta, g, sq, acc, lr=1.0, rho=0.5, eps=1e-2)
    delta = math.sqrt(0 + 1e-2) / math.sqrt(0.5 * 4 + 1e-2) * 2.0
    np.testing.assert_allclose(theta, [-delta], rtol=1e-12)
    np.testing.assert_allclose(acc, [0.5 * delta ** 2], rtol=1e-12)


def test_adagrad_lr_decay_uses_t_minus_one_and_state_is_eager():
    p = dc.tensor(np.zeros(2), dtype=dc.float64, requires_grad=True)
    opt = optim.Adagrad([p], lr=1.0, lr_decay=0.5, initial_accumulator_value=0.25)
    assert opt.state[p]["step"] == 0                   # created in __init__
    np.testing.assert_array_equal(opt.state[p]["sum"], [0.25, 0.25])
    theta, S = np.zeros(2), np.full(2, 0.25)
    for t in range(1, 6):
        g = np.array([1.0, -0.5]) * t
        p.grad = dc.tensor(g, dtype=dc.float64)
        opt.step()
        S += g * g
        theta -= 1.0 / (1 + (t - 1) * 0.5) * g / (np.sqrt(S) + 1e-10)
        np.testing.assert_allclose(p.data, theta, rtol=1e-13)


def test_rprop_default_is_irprop_minus():
    theta, prev, step = np.zeros(2), np.zeros(2), np.full(2, 0.1)
    rprop_update(theta, np.array([1.0, 1.0]), prev, step)          # s = 0: step unchanged
    np.testing.assert_allclose(theta, [-0.1, -0.1])
    rprop_update(theta, np.array([1.0, -1.0]), prev, step)         # + and − sign change
    np.testing.assert_allclose(step, [0.12, 0.05])
    np.testing.assert_allclose(theta, [-0.22, -0.1])               # no move (and no backtracking) where s < 0
    np.testing.assert_array_equal(prev, [1.0, 0.0])                # g_prev zeroed where s < 0


# ----------------------------------------------------------------- classes vs written-out equations
def test_rmsprop_nesterov_against_numpy_equation():
    gs, th0 = grads(40), RNG.normal(size=5)
    lr, a, eps, mu = 0.01, 0.9, 1e-8, 0.8
    ours, _, _ = run_class(lambda p: optim.RMSprop(p, lr=lr, alpha=a, eps=eps, momentum=mu, nesterov=True), gs, th0)
    theta, r, b = th0.copy(), np.zeros(5), np.zeros(5)
    for g in gs:
        r = a * r + (1 - a) * g * g
        d = np.sqrt(r) + eps
        b = mu * b + g / d
        theta = theta - lr * (g / d + mu * b)
    np.testing.assert_allclose(ours, theta, rtol=1e-12)


def test_rmsprop_nesterov_centered_weight_decay_against_numpy():
    gs, th0 = grads(40, seed=2), RNG.normal(size=5)
    lr, a, eps, mu, wd = 0.01, 0.95, 1e-6, 0.5, 0.1
    ours, _, _ = run_class(lambda p: optim.RMSprop(p, lr=lr, alpha=a, eps=eps, momentum=mu, nesterov=True,
                                                   centered=True, weight_decay=wd), gs, th0)
    theta, r, ga, b = th0.copy(), np.zeros(5), np.zeros(5), np.zeros(5)
    for g in gs:
        g = g + wd * theta
        r = a * r + (1 - a) * g * g
        ga = ga + (1 - a) * (g - ga)
        d = np.sqrt(r - ga * ga) + eps
        b = mu * b + g / d
        theta = theta - lr * (g / d + mu * b)
    np.testing.assert_allclose(ours, theta, rtol=1e-12)


def rprop_plus_reference(gs, th0, losses, lr, etas, sizes, variant):
    theta, prev, step, upd = th0.copy(), np.zeros_like(th0), np.full_like(th0, lr), np.zeros_like(th0)
    prev_loss = None
    for g, loss in zip(gs, losses):
        new_upd = np.zeros_like(th0)
        for i in range(len(theta)):
            s = g[i] * prev[i]
            if s > 0:
                step[i] = min(step[i] * etas[1], sizes[1])
                new_upd[i] = -np.sign(g[i]) * step[i]
                prev[i] = g[i]
            elif s < 0:
                step[i] = max(step[i] * etas[0], sizes[0])
                backtrack = variant == "rprop+" or (prev_loss is not None and loss > prev_loss)
                new_upd[i] = -upd[i] if backtrack else 0.0
                prev[i] = 0.0
            else:
                new_upd[i] = -np.sign(g[i]) * step[i]
                prev[i] = g[i]
        theta += new_upd
        upd = new_upd
        prev_loss = loss
    return theta


@pytest.mark.parametrize("variant", ["rprop+", "irprop+"])
def test_rprop_plus_variants_against_numpy(variant):
    gs = grads(40, seed=4)
    losses = list(np.random.default_rng(5).uniform(size=40))
    th0 = RNG.normal(size=5)
    p = dc.tensor(th0.copy(), dtype=dc.float64, requires_grad=True)
    opt = optim.Rprop([p], lr=0.05, etas=(0.4, 1.3), step_sizes=(1e-3, 1.0), variant=variant)
    for g, loss in zip(gs, losses):
        def closure(g=g, loss=loss):
            p.grad = dc.tensor(g, dtype=dc.float64)
            return dc.tensor(loss, dtype=dc.float64)
        opt.step(closure)
    ref = rprop_plus_reference(gs, th0, losses, 0.05, (0.4, 1.3), (1e-3, 1.0), variant)
    np.testing.assert_allclose(p.data, ref, rtol=1e-12)


def test_rprop_plus_backtracks_where_irprop_minus_does_not():
    gs = [np.array([1.0]), np.array([-1.0])]
    plus, _, _ = run_class(lambda p: optim.Rprop(p, lr=0.1, variant="rprop+"), gs, np.zeros(1))
    minus, _, _ = run_class(lambda p: optim.Rprop(p, lr=0.1), gs, np.zeros(1))
    np.testing.assert_allclose(plus, [0.0])      # the first move is undone
    np.testing.assert_allclose(minus, [-0.1])    # the first move stays


def test_irprop_plus_needs_the_loss():
    p = dc.tensor(np.zeros(2), dtype=dc.float64, requires_grad=True)
    p.grad = dc.ones(2, dtype=dc.float64)
    with pytest.raises(ValueError, match="closure"):
        optim.Rprop([p], variant="irprop+").step()


# ----------------------------------------------------------------- the notes' forms (functional)
def test_velocity_momentum_equals_torch_scaling_for_constant_lr():
    gs, th0 = grads(40, seed=6), RNG.normal(size=5)
    ours, _, _ = run_class(lambda p: optim.SGD(p, lr=0.05, momentum=0.9), gs, th0)
    theta, v = th0.copy(), np.zeros(5)
    for g in gs:
        Fn.momentum_step(theta, v, g, 0.05, 0.9)
    np.testing.assert_allclose(ours, theta, rtol=1e-12)


def test_ema_momentum_is_dampening_equal_to_momentum_after_first_step():
    gs, th0 = grads(40, seed=7), RNG.normal(size=5)
    rho, lr = 0.9, 0.05
    # the notes start from m = 0, so m₁ = (1 − ρ) g₁; PyTorch's first buffer is g₁ itself.
    ours, _, _ = run_class(lambda p: optim.SGD(p, lr=lr, momentum=rho, dampening=rho), gs, th0)
    theta_ref = th0.copy()
    m_t = None
    for g in gs:
        m_t = g.copy() if m_t is None else rho * m_t + (1 - rho) * g
        theta_ref = theta_ref - lr * m_t
    np.testing.assert_allclose(ours, theta_ref, rtol=1e-12)
    theta, m = th0.copy(), np.zeros(5)
    for g in gs:
        Fn.ema_momentum_step(theta, m, g, lr, rho)
    mm = np.zeros(5)
    for g in gs:
        mm = rho * mm + (1 - rho) * g
    np.testing.assert_allclose(m, mm, rtol=1e-12)


def test_nesterov_look_ahead_on_a_quadratic():
    A = np.diag([1.0, 10.0])
    grad = lambda th: A @ th  # noqa: E731
    theta, v = np.array([1.0, 1.0]), np.zeros(2)
    ref_t, ref_v = theta.copy(), v.copy()
    for _ in range(50):
        Fn.nesterov_step(theta, v, grad, 0.05, 0.9)
        g = grad(ref_t + 0.9 * ref_v)
        ref_v = 0.9 * ref_v - 0.05 * g
        ref_t = ref_t + ref_v
    np.testing.assert_allclose(theta, ref_t, rtol=1e-14)
    assert np.linalg.norm(theta) < 1e-2


@pytest.mark.parametrize("kw", [dict(lr=0.01), dict(lr=0.05, betas=(0.8, 0.99), eps=1e-6)])
def test_adam_class_equals_the_notes_adam_step(kw):
    # optim.Adam (PyTorch's arithmetic, one pass fewer) follows the notes' form in optim.functional
    gs, th0 = grads(40, seed=8), RNG.normal(size=5)
    ours, _, _ = run_class(lambda p: optim.Adam(p, **kw), gs, th0)
    rho1, rho2 = kw.get("betas", (0.9, 0.999))
    theta, s, r = th0.copy(), np.zeros(5), np.zeros(5)
    for t, g in enumerate(gs, 1):
        Fn.adam_step(theta, s, r, g, t, lr=kw["lr"], rho1=rho1, rho2=rho2, delta=kw.get("eps", 1e-8))
    np.testing.assert_allclose(ours, theta, rtol=1e-12)


def test_notes_adagrad_and_adadelta_equal_the_classes():
    gs, th0 = grads(40, seed=8), RNG.normal(size=5)
    ours, _, _ = run_class(lambda p: optim.Adagrad(p, lr=0.1, eps=1e-7), gs, th0)
    theta, r = th0.copy(), np.zeros(5)
    for g in gs:
        Fn.adagrad_step(theta, r, g, 0.1, delta=1e-7)
    np.testing.assert_allclose(ours, theta, rtol=1e-12)

    ours, _, _ = run_class(lambda p: optim.Adadelta(p, lr=1.0, rho=0.95), gs, th0)
    theta, e1, e2 = th0.copy(), np.zeros(5), np.zeros(5)
    for g in gs:
        Fn.adadelta_step(theta, e1, e2, g, rho=0.95)
    np.testing.assert_allclose(ours, theta, rtol=1e-12)


def test_notes_rmsprop_puts_delta_inside_the_root():
    gs, th0 = grads(20, seed=9), RNG.normal(size=5)
    theta, r = th0.copy(), np.zeros(5)
    ref, rr = th0.copy(), np.zeros(5)
    for g in gs:
        Fn.rmsprop_step(theta, r, g, 0.01, rho=0.9, delta=1e-6)
        rr = 0.9 * rr + 0.1 * g * g
        ref = ref - 0.01 * g / np.sqrt(1e-6 + rr)
    np.testing.assert_allclose(theta, ref, rtol=1e-13)
    torch_form, _, _ = run_class(lambda p: optim.RMSprop(p, lr=0.01, alpha=0.9, eps=1e-6), gs, th0)
    assert not np.allclose(torch_form, theta, rtol=1e-9, atol=0)


def test_notes_rmsprop_nesterov_on_a_quadratic():
    A = np.diag([1.0, 4.0])
    grad = lambda th: A @ th  # noqa: E731
    theta, r, v = np.array([1.0, -1.0]), np.zeros(2), np.zeros(2)
    rt, rr, rv = theta.copy(), r.copy(), v.copy()
    for _ in range(30):
        Fn.rmsprop_nesterov_step(theta, r, v, grad, 0.01, rho=0.9, alpha=0.5)
        g = grad(rt + 0.5 * rv)
        rr = 0.9 * rr + 0.1 * g * g
        rv = 0.5 * rv - 0.01 * g / np.sqrt(1e-6 + rr)
        rt = rt + rv
    np.testing.assert_allclose(theta, rt, rtol=1e-14)


def test_perceptron_update_separates_linearly_separable_data():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(60, 2))
    y = (x @ np.array([2.0, -1.0]) + 0.3 > 0).astype(float)
    X = np.hstack([x, np.ones((60, 1))])
    theta = np.zeros(3)
    first = theta.copy()
    n_wrong = Fn.perceptron_update(first, X[:1], y[:1], lr=0.5)
    # o = 1[0 > 0] = 0: a misclassified positive moves θ by +α x, a correct negative does not move it
    np.testing.assert_allclose(first, 0.5 * y[0] * X[0])
    assert n_wrong == int(y[0] == 1)
    for epoch in range(200):
        wrong = sum(Fn.perceptron_update(theta, X[i], y[i]) for i in range(60))
        if wrong == 0:
            break
    assert wrong == 0
    assert np.all(((X @ theta) > 0) == (y == 1))


def test_perceptron_update_rejects_bad_labels_and_shapes():
    with pytest.raises(ValueError, match="labels"):
        Fn.perceptron_update(np.zeros(2), np.ones((3, 2)), np.array([0, 2, 1]))
    with pytest.raises(ValueError, match="shape"):
        Fn.perceptron_update(np.zeros(3), np.ones((3, 2)), np.array([0, 1, 1]))


def test_update_functions_work_in_float32_without_promotion():
    p = dc.randn(100, dtype=dc.float32, requires_grad=True)
    for cls in (optim.SGD, optim.Adam, optim.AdamW, optim.RMSprop, optim.Adagrad, optim.Adadelta, optim.Rprop,
                optim.ASGD):
        p.grad = dc.randn(100, dtype=dc.float32)
        opt = cls([p], lr=0.01) if cls is not optim.SGD else cls([p], lr=0.01, momentum=0.9)
        before = p.data.copy()
        opt.step()
        opt.step()
        assert p.data.dtype == np.float32
        assert not np.array_equal(before, p.data)
        for val in opt.state[p].values():
            if isinstance(val, np.ndarray):
                assert val.dtype == np.float32


@pytest.mark.parametrize("cls,kw", [(optim.SGD, dict(lr=0.01, momentum=0.9, nesterov=True, weight_decay=0.1)),
                                    (optim.Adam, dict(amsgrad=True, weight_decay=0.1)), (optim.AdamW, {}),
                                    (optim.RMSprop, dict(momentum=0.5, centered=True)),
                                    (optim.Adagrad, dict(lr_decay=0.1)), (optim.Adadelta, {})])
def test_updates_split_among_threads_equal_whole_array_updates(cls, kw, monkeypatch):
    import descend.optim.parallel as base

    def run(parallel_min):
        monkeypatch.setattr(base, "NUM_THREADS", 3)
        monkeypatch.setattr(base, "PARALLEL_MIN", parallel_min)
        p = dc.tensor(np.linspace(-1, 1, 1000).reshape(40, 25), dtype=dc.float64, requires_grad=True)
        opt = cls([p], **kw)
        for i in range(5):
            p.grad = dc.tensor(np.sin(np.arange(1000) * 0.37 + i).reshape(40, 25), dtype=dc.float64)
            opt.step()
        return p.data.copy()
    np.testing.assert_array_equal(run(64), run(10 ** 9))


@pytest.mark.parametrize("cls,kw", [(optim.SGD, dict(lr=0.01, momentum=0.9)), (optim.Adam, dict(amsgrad=True)),
                                    (optim.RMSprop, dict(centered=True)), (optim.Adagrad, {})])
def test_threaded_updates_equal_serial_updates(cls, kw, monkeypatch):
    import descend.optim.parallel as base

    def run(threads):
        monkeypatch.setattr(base, "NUM_THREADS", threads)
        rng = np.random.default_rng(0)
        ps = [dc.tensor(rng.normal(size=n), dtype=dc.float64, requires_grad=True) for n in [30000] * 10 + [300000]]
        opt = cls(ps, **kw)
        for i in range(3):
            for p in ps:
                p.grad = dc.tensor(np.cos(p.data * (i + 1)), dtype=dc.float64)
            opt.step()
        return [p.data.copy() for p in ps]
    for a, b in zip(run(3), run(1)):
        np.testing.assert_array_equal(a, b)
