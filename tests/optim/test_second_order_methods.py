"""Properties of the individual methods: the linear-CG n-step property, Newton's quadratic
convergence, damping on indefinite Hessians, BFGS's skipped updates, Hessian-free options."""

import math
import warnings

import numpy as np
import pytest

import descend as dc
from descend import optim
from descend.optim.second_order.line_search import LineSearchResult
from descend.optim.second_order.problems import Quadratic


def _closure(opt, f, *args):
    def closure():
        opt.zero_grad()
        loss = f(*args)
        loss.backward()
        return loss

    return closure


@pytest.mark.parametrize("beta", ["polak-ribiere", "fletcher-reeves", "hestenes-stiefel", "dai-yuan"])
def test_linear_cg_terminates_in_n_iterations_with_exact_line_search(beta):
    # (κ = 10: in floating point CG's n-step termination degrades with κ; at κ = 100, n = 15 even
    # textbook linear CG in float64 is still at a 1e-4 residual after n steps)
    n = 12
    quad = Quadratic(n, cond=10.0, seed=3)
    A = quad.A

    def exact(phi, t, d, f, g, gtd, max_ls):
        step = -gtd / float(d @ A @ d)  # the minimiser of φ(t) = f(θ + t d) on a quadratic
        f_new, g_new = phi(step)
        return LineSearchResult(step, f_new, g_new, 1, "exact", True)

    x = dc.zeros(n, dtype=dc.float64, requires_grad=True)
    g0 = np.abs(quad.b).max()
    opt = optim.ConjugateGradient([x], beta=beta, line_search_fn=exact, max_iter=3 * n, max_eval=10 * n,
                                  tolerance_grad=1e-9 * g0, tolerance_change=0.0)
    opt.step(_closure(opt, quad, x))
    assert opt.report["reason"] == "tolerance_grad"
    assert opt.report["iterations"] <= n
    np.testing.assert_allclose(x.numpy(), quad.x_star, rtol=1e-7, atol=1e-9)
    # and it does need (nearly) all n: CG is not a lucky one-step solve here
    assert opt.report["iterations"] >= n - 2


def _logistic(seed=0, n=200, d=5, lam=0.1):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (X @ rng.normal(size=d) + 0.3 * rng.normal(size=n) > 0).astype(np.float64)
    Xd, yd = dc.tensor(X, dtype=dc.float64), dc.tensor(y, dtype=dc.float64)

    def loss(w, b):
        z = Xd @ w + b
        return (dc.log1p(z.exp()) - yd * z).mean() + 0.5 * lam * (w * w).sum()  # smooth softplus(z) − yz

    return loss, d


def test_newton_converges_quadratically_on_regularised_logistic_regression():
    loss, d = _logistic()
    w = dc.zeros(d, dtype=dc.float64, requires_grad=True)
    b = dc.zeros((), dtype=dc.float64, requires_grad=True)
    opt = optim.Newton([w, b], max_iter=1, tolerance_grad=0.0, tolerance_change=0.0)
    closure = _closure(opt, loss, w, b)
    norms = []
    for _ in range(8):
        opt.step(closure)
        g = dc.grad(lambda ww, bb: loss(ww, bb), argnums=(0, 1))(w.detach(), b.detach())
        norms.append(math.sqrt(sum(float((gi * gi).sum()) for gi in g)))
        if norms[-1] < 1e-10:
            break
    assert norms[-1] < 1e-10 and len(norms) <= 8, norms
    # quadratic convergence: ‖g_{k+1}‖ ≤ C ‖g_k‖² once close (C bounded), i.e. the exponent doubles
    tail = [n for n in norms if n < 1e-2]
    assert len(tail) >= 2
    for a, b_ in zip(tail, tail[1:]):
        if b_ > 1e-14:
            assert b_ <= 10 * a * a, norms
    assert opt.state[w]["damping"] == 0.0


def test_newton_damps_an_indefinite_hessian():
    # f(x, y) = x⁴/4 − x²/2 + y²: at (0.1, 1) ∂²f/∂x² = 3x² − 1 < 0; minima at (±1, 0)
    p = dc.tensor([0.1, 1.0], dtype=dc.float64, requires_grad=True)
    f = lambda v: v[0] ** 4 / 4 - v[0] ** 2 / 2 + v[1] ** 2
    opt = optim.Newton([p], max_iter=50, tolerance_grad=1e-10, tolerance_change=0.0)
    opt.step(_closure(opt, f, p))
    np.testing.assert_allclose(np.abs(p.numpy()), [1.0, 0.0], atol=1e-8)
    assert float(f(p.detach())) == pytest.approx(-0.25, abs=1e-12)


def test_newton_refuses_large_models_with_a_clear_error():
    w = dc.zeros(3000, requires_grad=True)
    with pytest.raises(ValueError, match=r"n=3000.*max_params=2000.*O\(n²\) memory.*O\(n³\)"):
        optim.Newton([w])
    opt = optim.Newton([w], max_params=3000)  # the user may raise it
    assert opt.defaults["max_params"] == 3000


def test_bfgs_skips_update_when_curvature_condition_fails_and_says_so():
    # 1-D f = x⁴/4 − x²: Armijo steps inside the concave region give sᵀy < 0
    x = dc.tensor([0.05], dtype=dc.float64, requires_grad=True)
    f = lambda v: (v ** 4 / 4 - v ** 2).sum()
    opt = optim.BFGS([x], line_search_fn="backtracking", max_iter=100, max_eval=400, tolerance_grad=1e-9)
    with pytest.warns(RuntimeWarning, match="skipped the inverse-Hessian update"):
        opt.step(_closure(opt, f, x))
    assert opt.state[x]["skipped_updates"] >= 1
    assert abs(x.numpy()[0]) == pytest.approx(math.sqrt(2), abs=1e-7)
    with warnings.catch_warnings():  # warned once per optimizer
        warnings.simplefilter("error")
        with dc.no_grad():
            x.fill_(0.05)
        opt.state[x]["H"] = None
        opt.step(_closure(opt, f, x))


def _least_squares_net(seed=0):
    rng = np.random.default_rng(seed)
    X = dc.tensor(rng.normal(size=(40, 2)), dtype=dc.float64)
    Y = dc.tensor(np.sin(2 * X.numpy()[:, :1]) * X.numpy()[:, 1:], dtype=dc.float64)
    ps = [dc.tensor(rng.normal(size=s) * 0.5, dtype=dc.float64, requires_grad=True)
          for s in [(2, 8), (8,), (8, 1), (1,)]]

    def out(X=X):
        return (X @ ps[0] + ps[1]).tanh() @ ps[2] + ps[3]

    def loss_of(z, Y=Y):
        return ((z - Y) ** 2).mean()

    return ps, out, loss_of, X, Y


def test_hessian_free_gauss_newton_fits_a_network():
    ps, out, loss_of, X, Y = _least_squares_net()
    opt = optim.HessianFree(ps, curvature="gauss-newton", max_iter=60, max_eval=200, tolerance_grad=1e-9)
    closure = _closure(opt, lambda: loss_of(out()))
    start = float(closure())
    opt.step(closure, output_fn=out, loss_fn=loss_of)
    rep = opt.report
    assert rep["loss"] < 0.05 * start
    assert rep["hvp_evals"] == rep["cg_iters"] > rep["iterations"]
    assert rep["damping"] >= 0


def test_hessian_free_mini_batch_curvature():
    ps, out, loss_of, X, Y = _least_squares_net(seed=1)
    Xs, Ys = X[:10], Y[:10]  # the curvature batch: a quarter of the gradient batch
    opt = optim.HessianFree(ps, max_iter=1, damping=1.0)
    closure = _closure(opt, lambda: loss_of(out()))
    curvature = _closure(opt, lambda: loss_of(out(Xs), Ys))
    losses = [float(opt.step(closure, curvature_closure=curvature)) for _ in range(15)]
    assert losses[-1] < 0.5 * losses[0]
    assert opt.report["iterations"] == 1
    # the same with Gauss-Newton products on the sub-batch
    opt2 = optim.HessianFree(ps, curvature="gauss-newton", max_iter=1)
    closure2 = _closure(opt2, lambda: loss_of(out()))
    l0 = float(closure2())
    for _ in range(5):
        opt2.step(closure2, output_fn=lambda: out(Xs), loss_fn=lambda z: loss_of(z, Ys))
    assert float(closure2()) < l0


def test_hessian_free_argument_errors():
    ps, out, loss_of, *_ = _least_squares_net()
    opt = optim.HessianFree(ps, curvature="gauss-newton")
    closure = _closure(opt, lambda: loss_of(out()))
    with pytest.raises(ValueError, match="output_fn"):
        opt.step(closure)
    with pytest.raises(ValueError, match="curvature="):
        optim.HessianFree(ps, curvature="fisher")
    with pytest.raises(ValueError, match="max_cg_iters"):
        optim.HessianFree(ps, max_cg_iters=0)
    with pytest.raises(ValueError, match="beta="):
        optim.ConjugateGradient(ps, beta="polak")


_KW = dict(max_iter=200, tolerance_change=0.0)


@pytest.mark.parametrize("make", [
    lambda p: optim.LBFGS(p, line_search_fn="strong_wolfe", **_KW),
    lambda p: optim.BFGS(p, **_KW),
    lambda p: optim.ConjugateGradient(p, **_KW),
    lambda p: optim.Newton(p, **_KW),
    lambda p: optim.HessianFree(p, **_KW),
])
def test_report_records_what_happened(make):
    quad = Quadratic(6, cond=10.0, seed=0)
    x = dc.zeros(6, dtype=dc.float64, requires_grad=True)
    opt = make([x])
    assert opt.report is None
    loss = opt.step(_closure(opt, quad, x))
    rep = opt.report
    assert float(loss) == 0.0  # the loss at the start of the step, as torch.optim.LBFGS returns
    assert set(rep) >= {"iterations", "func_evals", "hvp_evals", "step_size", "reason", "loss"}
    assert rep["iterations"] >= 1 and rep["func_evals"] >= 2 and rep["step_size"] > 0
    assert rep["loss"] == pytest.approx(quad.f_star, abs=1e-8)
    assert opt.state[x]["func_evals"] == rep["func_evals"] and opt.state[x]["n_iter"] == rep["iterations"]
    # a second step at the minimum stops at once on the gradient tolerance
    opt.step(_closure(opt, quad, x))
    assert opt.report["reason"] == "tolerance_grad" and opt.report["iterations"] == 0


@pytest.mark.parametrize("make", [
    lambda p: optim.LBFGS(p, max_iter=4, history_size=3),
    lambda p: optim.BFGS(p, max_iter=3),
    lambda p: optim.ConjugateGradient(p, max_iter=3),
    lambda p: optim.Newton(p, max_iter=1, damping=0.1),
    lambda p: optim.HessianFree(p, max_iter=2),
])
def test_state_dict_resume_is_bit_identical(make):
    from descend.optim.second_order.problems import rosenbrock

    x = dc.tensor([-1.2, 1.0, -1.2, 1.0], dtype=dc.float64, requires_grad=True)
    opt = make([x])
    for _ in range(2):
        opt.step(_closure(opt, rosenbrock, x))
    saved_x, saved = x.numpy().copy(), opt.state_dict()
    for _ in range(2):
        opt.step(_closure(opt, rosenbrock, x))
    expected = x.numpy().copy()
    y = dc.tensor(saved_x, dtype=dc.float64, requires_grad=True)
    opt2 = make([y])
    opt2.load_state_dict(saved)
    for _ in range(2):
        opt2.step(_closure(opt2, rosenbrock, y))
    np.testing.assert_array_equal(y.numpy(), expected)
