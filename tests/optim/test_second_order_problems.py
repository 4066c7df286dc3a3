"""Every second-order method reaches the minimum of the classic problems (f − f* < 1e-7) with at
most twice the function evaluations scipy.optimize.minimize needs with the matching method.

Problems (descend.optim.second_order.problems): chained Rosenbrock 2-D from (−1.2, 1) and 10-D
from (−1.2, ..., −1.2), Beale from (1, 1), a 20-D quadratic with condition number 100 from 0.
Both sides stop on the same gradient tolerance (SciPy's gtol = 1e-5 on ‖g‖_∞). A closure call
gives f and g together, so it is compared with SciPy's nfev (= njev for these methods).
"""

import warnings

import pytest

import descend as dc
from descend import optim
from descend.optim.second_order.problems import PROBLEMS

scipy_optimize = pytest.importorskip("scipy.optimize")

GTOL = 1e-5


def _scipy_evals(name, method):
    f, x0, _ = PROBLEMS[name]

    def fun(z):
        return float(f(dc.tensor(z, dtype=dc.float64)))

    def jac(z):
        return dc.grad(f)(dc.tensor(z, dtype=dc.float64)).numpy().copy()

    def hessp(z, p):
        return dc.hvp(f, dc.tensor(z, dtype=dc.float64), dc.tensor(p, dtype=dc.float64))[1].numpy().copy()

    kw = {"hessp": hessp} if method == "Newton-CG" else {}
    res = scipy_optimize.minimize(fun, x0, jac=jac, method=method, **kw)
    return max(res.nfev, res.njev)


_SCIPY = {}


def scipy_evals(name, method):
    if (name, method) not in _SCIPY:
        _SCIPY[name, method] = _scipy_evals(name, method)
    return _SCIPY[name, method]


def run(make, name):
    f, x0, f_star = PROBLEMS[name]
    x = dc.tensor(x0, dtype=dc.float64, requires_grad=True)
    opt = make([x])

    def closure():
        opt.zero_grad()
        loss = f(x)
        loss.backward()
        return loss

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        opt.step(closure)
    return float(f(x.detach())) - f_star, opt.report


COMMON = dict(max_iter=5000, max_eval=20000, tolerance_grad=GTOL)
METHODS = {
    "LBFGS": ("L-BFGS-B", lambda p: optim.LBFGS(p, history_size=10, line_search_fn="strong_wolfe", **COMMON)),
    "BFGS": ("BFGS", lambda p: optim.BFGS(p, **COMMON)),
    "CG-PR": ("CG", lambda p: optim.ConjugateGradient(p, **COMMON)),
    "CG-FR": ("CG", lambda p: optim.ConjugateGradient(p, beta="fletcher-reeves", **COMMON)),
    "CG-HS": ("CG", lambda p: optim.ConjugateGradient(p, beta="hestenes-stiefel", **COMMON)),
    "CG-DY": ("CG", lambda p: optim.ConjugateGradient(p, beta="dai-yuan", tolerance_change=1e-12, **COMMON)),
    "Newton": ("Newton-CG", lambda p: optim.Newton(p, **COMMON)),
    "HessianFree": ("Newton-CG", lambda p: optim.HessianFree(p, **COMMON)),
}


@pytest.mark.parametrize("name", list(PROBLEMS))
@pytest.mark.parametrize("method", list(METHODS))
def test_reaches_minimum_within_twice_scipy_evaluations(method, name):
    scipy_method, make = METHODS[method]
    gap, report = run(make, name)
    assert gap < 1e-7, (method, name, gap, report)
    assert abs(gap) < 1e-7
    budget = 2 * scipy_evals(name, scipy_method)
    assert report["func_evals"] <= budget, (method, name, report["func_evals"], budget)
    assert report["reason"] in ("tolerance_grad", "tolerance_change")

