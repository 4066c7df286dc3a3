"""optim.LBFGS is step for step equal to torch.optim.LBFGS (float64), with and without strong Wolfe;
its report, state and safety checks (these without torch)."""

import numpy as np
import pytest

import descend as dc
from descend import optim

def _data(seed=0, n=40, d=3):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d))
    y = (X @ rng.normal(size=d) + 0.5 * rng.normal(size=n) > 0).astype(np.float64)
    return X, y


def _logreg(seed=0):
    """L2-regularised logistic regression in descend: (params, loss function)."""
    X, y = _data(seed)
    w = dc.tensor(np.zeros(X.shape[1]), dtype=dc.float64, requires_grad=True)
    b = dc.tensor(0.0, dtype=dc.float64, requires_grad=True)
    Xd, yd = dc.tensor(X, dtype=dc.float64), dc.tensor(y, dtype=dc.float64)

    def loss_d():
        z = Xd @ w + b
        return (dc.log1p((-z).exp()) + (1 - yd) * z).mean() + 0.05 * (w * w).sum()

    return [w, b], loss_d


def _logreg_pair(seed=0):
    """The same objective in descend and torch."""
    torch = pytest.importorskip("torch")
    X, y = _data(seed)
    (w, b), loss_d = _logreg(seed)
    wt = torch.tensor(np.zeros(X.shape[1]), dtype=torch.float64, requires_grad=True)
    bt = torch.tensor(0.0, dtype=torch.float64, requires_grad=True)
    Xt, yt = torch.tensor(X), torch.tensor(y)

    def loss_t():
        z = Xt @ wt + bt
        return (torch.log1p((-z).exp()) + (1 - yt) * z).mean() + 0.05 * (wt * wt).sum()

    return [w, b], loss_d, [wt, bt], loss_t, torch


def _mlp_pair(seed=1, hidden=5):
    """A 2-hidden-tanh-1 regression MLP from plain tensors, same initial weights in both."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(30, 2))
    y = np.sin(X[:, :1] * 2) * np.cos(X[:, 1:])
    init = [rng.normal(size=(2, hidden)) * 0.7, np.zeros(hidden), rng.normal(size=(hidden, 1)) * 0.7, np.zeros(1)]
    ps = [dc.tensor(a, dtype=dc.float64, requires_grad=True) for a in init]
    pt = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in init]
    Xd, yd = dc.tensor(X, dtype=dc.float64), dc.tensor(y, dtype=dc.float64)
    Xt, yt = torch.tensor(X), torch.tensor(y)

    def loss_d():
        out = (Xd @ ps[0] + ps[1]).tanh() @ ps[2] + ps[3]
        return ((out - yd) ** 2).mean()

    def loss_t():
        out = torch.tanh(Xt @ pt[0] + pt[1]) @ pt[2] + pt[3]
        return ((out - yt) ** 2).mean()

    return ps, loss_d, pt, loss_t, torch


def _run(ps, loss_d, steps, **kw):
    """Our L-BFGS for ``steps`` steps: the parameters after each step, as one array (steps, n)."""
    opt = optim.LBFGS(ps, **kw)

    def closure():
        opt.zero_grad()
        loss = loss_d()
        loss.backward()
        return loss

    out = []
    for _ in range(steps):
        opt.step(closure)
        out.append(np.concatenate([p.numpy().ravel() for p in ps]))
    return np.array(out)


def rounding_spread(make_pair, steps, **kw):
    """How far the iterates move when the start moves by one ulp: the problem's own amplification
    of rounding, which bounds what a different (but equally exact) arithmetic, torch's, may change."""
    runs = []
    for eps in (0.0, 2.0 ** -52, -2.0 ** -52):
        ps, loss_d = make_pair()
        for p in ps:
            p.data[...] = p.data * (1 + eps) if p.data.any() else eps
        runs.append(_run(ps, loss_d, steps, **kw))
    return max(float(np.abs(runs[0] - r).max()) for r in runs[1:])


def _compare(make_pair, steps, **kw):
    ps, loss_d, pt, loss_t, torch = make_pair()
    # torch's matmuls round differently in the last bit; L-BFGS amplifies that as it amplifies a
    # one-ulp change of the start (up to ~1e-11 on the MLP with strong Wolfe): allow 1000 times that
    tol = max(1e-12, 1e3 * rounding_spread(lambda: make_pair()[:2], steps, **kw))
    opt = optim.LBFGS(ps, **kw)
    opt_t = torch.optim.LBFGS(pt, **kw)

    def closure():
        opt.zero_grad()
        loss = loss_d()
        loss.backward()
        return loss

    def closure_t():
        opt_t.zero_grad()
        loss = loss_t()
        loss.backward()
        return loss

    losses, losses_t = [], []
    for _ in range(steps):
        losses.append(float(opt.step(closure)))
        losses_t.append(float(opt_t.step(closure_t).detach()))
        for p, q in zip(ps, pt):
            np.testing.assert_allclose(p.numpy(), q.detach().numpy(), rtol=0, atol=tol)
    np.testing.assert_allclose(losses, losses_t, rtol=0, atol=tol)
    st, st_t = opt.state[ps[0]], opt_t.state[pt[0]]
    assert st["func_evals"] == st_t["func_evals"]
    assert st["n_iter"] == st_t["n_iter"]
    assert len(st["old_dirs"]) == len(st_t["old_dirs"])
    assert float(st["t"]) == pytest.approx(float(st_t["t"]), abs=tol)
    return losses, opt


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_logistic_regression_matches_torch(line_search_fn):
    kw = dict(lr=1 if line_search_fn else 0.5, max_iter=6, history_size=4, line_search_fn=line_search_fn)
    losses, opt = _compare(_logreg_pair, steps=5, **kw)
    assert losses[-1] < losses[0]


@pytest.mark.parametrize("line_search_fn", [None, "strong_wolfe"])
def test_mlp_matches_torch(line_search_fn):
    kw = dict(lr=1 if line_search_fn else 0.2, max_iter=5, history_size=3, line_search_fn=line_search_fn)
    losses, opt = _compare(_mlp_pair, steps=6, **kw)
    assert losses[-1] < 0.7 * losses[0]


def test_defaults_and_tolerance_stop_match_torch():
    # defaults (max_iter 20, max_eval 25, history 100) until both stop on a tolerance
    losses, opt = _compare(lambda: _logreg_pair(seed=3), steps=4, line_search_fn="strong_wolfe")
    assert opt.report["reason"] in ("tolerance_grad", "tolerance_change")
    assert opt.defaults["max_eval"] == 25 and opt.defaults["history_size"] == 100


def test_report_and_state_keys():
    ps, loss_d = _logreg()
    opt = optim.LBFGS(ps, max_iter=3, max_eval=10)

    def closure():
        opt.zero_grad()
        loss = loss_d()
        loss.backward()
        return loss

    opt.step(closure)
    rep = opt.report
    assert rep["iterations"] == 3 and rep["reason"] == "max_iter"
    assert rep["func_evals"] == 3  # the last fixed step is not re-evaluated (PyTorch's rule)
    assert rep["loss"] is None and rep["step_size"] == 1
    for key in ("d", "t", "old_dirs", "old_stps", "ro", "H_diag", "prev_flat_grad", "prev_loss", "func_evals",
                "n_iter"):
        assert key in opt.state[ps[0]]


def test_bad_hyperparameters_raise():
    w = dc.zeros(3, requires_grad=True)
    with pytest.raises(ValueError, match="line_search_fn"):
        optim.LBFGS([w], line_search_fn="wolfe")
    with pytest.raises(ValueError, match="history_size"):
        optim.LBFGS([w], history_size=0)
    with pytest.raises(ValueError, match="parameter groups"):
        optim.LBFGS([{"params": [w]}, {"params": [dc.zeros(2, requires_grad=True)]}])


def test_unevaluated_last_step_into_nan_is_backed_off_at_the_next_step():
    # PyTorch's LBFGS does not evaluate the last fixed step of a step() call. If it landed where the
    # loss is NaN, descend halves it at the start of the next call instead of propagating NaN.
    x = dc.tensor([1.0], dtype=dc.float64, requires_grad=True)
    f = lambda v: (v * v).sum() * (float("nan") if np.abs(v.numpy()).max() > 3 else 1.0)
    opt = optim.LBFGS([x], lr=5, max_iter=1)

    def closure():
        opt.zero_grad()
        loss = f(x)
        loss.backward()
        return loss

    opt.step(closure)  # t = min(1, 1/|g|)·lr = 2.5: x = 1 − 2.5·2 = −4, not evaluated
    assert x.numpy()[0] == pytest.approx(-4.0)
    loss = opt.step(closure)  # f(−4) is NaN: back to the half step, x = −1.5
    assert float(loss) == pytest.approx(2.25)
    assert np.isfinite(x.numpy()).all()
