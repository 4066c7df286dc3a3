"""Lab ``optimizer-race``: first-order, adaptive and second-order methods on Rosenbrock and Beale.

The claim (notes, optimization): on ill-conditioned, curved problems — Rosenbrock's banana valley,
Beale's flat plateaus and narrow arms — gradient descent needs a learning rate small enough for the
steepest direction and then crawls along the valley; momentum and Nesterov momentum carry it along,
adaptive rates (Adagrad, RMSProp, Adam) rescale each coordinate; methods that use curvature (Newton,
conjugate gradients, L-BFGS) need far fewer function evaluations than all of them.

Experiment. ``optim.second_order.problems``: Rosenbrock from (−1.2, 1) and Beale from (1, 1), f* = 0.
A budget of B function-and-gradient evaluations (500 quick, 2000 full). First-order methods
(``optim.SGD`` plain, with ``momentum=0.9``, with ``nesterov=True``; ``Adagrad``, ``RMSprop``,
``Adam``) take one evaluation per step; each is tuned over the same learning-rate grid (7 rates
10⁻⁴ … 1 quick, 13 full), keeping the rate with the lowest final f (all rates of a method run at
once, one parameter group each). ``optim.Newton``, ``optim.ConjugateGradient`` and ``optim.LBFGS``
(strong-Wolfe line search) run with their defaults except the stopping tests (off: like the
first-order methods they run until the budget is spent), one iteration per ``step`` (L-BFGS with
``max_eval=25`` so that its line search can try more than one step); every closure call counts as
one evaluation, including the calls Newton makes for its Hessian-vector products (two per
iteration in 2-D), and their f is the best value found so far.

Criterion: on both problems each of Newton, CG and L-BFGS reaches f ≤ 10⁻¹⁰ within the budget and in
fewer evaluations than any tuned first-order method does (if one does at all), and momentum and
Nesterov both end below plain gradient descent.
"""

import numpy as np

import descend as dc
from descend import optim
from descend.optim.second_order.problems import PROBLEMS

from .base import lab

TOL = 1e-10
FIRST_ORDER = {
    "gradient descent": lambda groups: optim.SGD(groups),
    "momentum": lambda groups: optim.SGD(groups, momentum=0.9),
    "Nesterov": lambda groups: optim.SGD(groups, momentum=0.9, nesterov=True),
    "Adagrad": lambda groups: optim.Adagrad(groups),
    "RMSProp": lambda groups: optim.RMSprop(groups),
    "Adam": lambda groups: optim.Adam(groups),
}
RUN_ON = {"max_iter": 1, "tolerance_grad": 0.0, "tolerance_change": 0.0}   # one iteration per step, no early stop
SECOND_ORDER = {
    "Newton": lambda p: optim.Newton(p, **RUN_ON),
    "CG": lambda p: optim.ConjugateGradient(p, **RUN_ON),
    "L-BFGS": lambda p: optim.LBFGS(p, max_eval=25, line_search_fn="strong_wolfe", **RUN_ON),
}


def rosenbrock_rows(X):
    """Rosenbrock's f for each row (x, y) of X (R, 2): 100 (y − x²)² + (1 − x)²."""
    x, y = X[:, 0], X[:, 1]
    return 100.0 * (y - x * x) ** 2 + (1.0 - x) ** 2


def beale_rows(X):
    """Beale's f for each row (x, y) of X (R, 2)."""
    x, y = X[:, 0], X[:, 1]
    return (1.5 - x + x * y) ** 2 + (2.25 - x + x * y ** 2) ** 2 + (2.625 - x + x * y ** 3) ** 2


ROWS = {"rosenbrock-2": rosenbrock_rows, "beale": beale_rows}


def _first_order(make, f_rows, x0, rates, budget):
    """Run ``make`` at every rate at once (one group each) for ``budget`` steps.
    Returns the best rate, its f after each evaluation (budget + 1,) and its path (budget + 1, 2)."""
    points = [dc.tensor(x0, dtype=dc.float64, requires_grad=True) for _ in rates]
    opt = make([{"params": [p], "lr": lr} for p, lr in zip(points, rates)])
    values = np.empty((budget + 1, len(rates)))
    paths = np.empty((budget + 1, len(rates), 2))
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(budget + 1):
            opt.zero_grad()
            f = f_rows(dc.stack(points))            # each run's f; their sum has each run's gradient
            values[k] = f.numpy()
            paths[k] = [p.numpy() for p in points]
            if k < budget:
                f.sum().backward()
                opt.step()
    final = np.where(np.isfinite(values[-1]), values[-1], np.inf)
    best = int(np.argmin(final))
    return rates[best], values[:, best], paths[:, best]


def _second_order(make, f, x0, budget):
    """Run a closure method from x0 until ``budget`` closure calls or it stops. Returns the best f found
    after each call (line searches and Hessian products evaluate trial points that are not taken) and
    the path of the iterates."""
    x = dc.tensor(x0, dtype=dc.float64, requires_grad=True)
    opt = make([x])
    values, path = [], [x0.copy()]

    def closure():
        opt.zero_grad()
        loss = f(x)
        loss.backward()
        values.append(loss.item())
        return loss

    while len(values) < budget:
        opt.step(closure)
        path.append(x.numpy().copy())
        if opt.report["reason"] not in ("max_iter", "max_eval"):   # converged (g = 0) or no step possible
            break
    return np.minimum.accumulate(values[:budget]), np.array(path)


def _evals_to(values, tol=TOL):
    hit = np.flatnonzero(values <= tol)
    return int(hit[0]) + 1 if hit.size else None


@lab("optimizer-race", order=295,
     claim="On ill-conditioned, curved problems (Rosenbrock, Beale) methods that use curvature — Newton, conjugate "
           "gradients, L-BFGS — need far fewer evaluations than first-order methods with tuned rates; momentum "
           "helps gradient descent along the valley.",
     source="Notes, optimization: comparing first-order, adaptive and second-order methods")
def experiment(ctx):
    """Run the ``optimizer-race`` experiment described in the module docstring (``ctx.quick``: the short run);
    return (confirmed, numbers): the verdict by the stated criterion and the measured values it rests on."""
    budget = 500 if ctx.quick else 2000
    rates = np.logspace(-4, 0, 7 if ctx.quick else 13)
    results, numbers = {}, {}
    for problem in ("rosenbrock-2", "beale"):
        f, x0, _ = PROBLEMS[problem]
        runs = {}
        for name, make in FIRST_ORDER.items():
            lr, values, path = _first_order(make, ROWS[problem], x0, rates, budget)
            runs[name] = (values, path, lr)
        for name, make in SECOND_ORDER.items():
            values, path = _second_order(make, f, x0, budget)
            runs[name] = (values, path, None)
        results[problem] = runs
        key = problem.split("-")[0]
        for name, (values, _, lr) in runs.items():
            k = name.lower().replace(" ", "_").replace("-", "")
            numbers[f"{key}_{k}_final_f"] = float(values[-1])
            numbers[f"{key}_{k}_evals_to_1e-10"] = _evals_to(values)
            if lr is not None:
                numbers[f"{key}_{k}_lr"] = float(lr)

    boxes = {"rosenbrock-2": ((-1.6, 1.6, -0.6, 1.8), (1, 1)), "beale": ((-0.5, 3.6, -1.2, 1.5), (3, 0.5))}
    for problem, (box, minimum) in boxes.items():
        with ctx.figure(f"optimizer_race_{problem.split('-')[0]}.png", 1, 2, size=(10, 4.2)) as (_, (ax1, ax2)):
            gx, gy = np.meshgrid(np.linspace(box[0], box[1], 120), np.linspace(box[2], box[3], 100))
            grid = dc.tensor(np.stack([gx.ravel(), gy.ravel()], 1), dtype=dc.float64)
            z = ROWS[problem](grid).numpy().reshape(gx.shape)
            ax1.contourf(gx, gy, np.log10(z + 1e-3), levels=10, cmap="Greys", alpha=0.3)
            for i, (name, (values, path, lr)) in enumerate(results[problem].items()):
                ax1.plot(path[:, 0], path[:, 1], lw=1, color=f"C{i}", label=name)
                label = name + (f" (ε = {lr:.2g})" if lr is not None else "")
                shown = np.unique(np.geomspace(1, len(values), 300).astype(int)) - 1   # the x axis is logarithmic
                ax2.semilogy(shown + 1, np.maximum(values[shown], 1e-20), lw=1, color=f"C{i}", label=label)
            ax1.plot(*PROBLEMS[problem][1], "ko", ms=4)
            ax1.plot(*minimum, "k*", ms=9)
            ax1.set(title=f"{problem}: paths (• start, ★ minimum)", xlabel="x", ylabel="y", xlim=box[:2],
                    ylim=box[2:])
            ax1.legend(fontsize=6, loc="lower left" if problem == "beale" else "lower right")
            ax2.axhline(TOL, color="k", ls=":", lw=1)
            ax2.set(title=f"{problem}: f against evaluations (budget {budget})",
                    xlabel="function + gradient evaluations", ylabel="f(x)", xscale="log", ylim=(1e-20, 1e3))
            ax2.legend(fontsize=6)

    confirmed = True
    for key in ("rosenbrock", "beale"):
        first = [numbers[f"{key}_{k}_evals_to_1e-10"] for k in
                 ("gradient_descent", "momentum", "nesterov", "adagrad", "rmsprop", "adam")]
        fastest_first = min((e for e in first if e is not None), default=budget + 1)
        for k in ("newton", "cg", "lbfgs"):
            e = numbers[f"{key}_{k}_evals_to_1e-10"]
            confirmed &= e is not None and e < fastest_first
        for k in ("momentum", "nesterov"):
            confirmed &= numbers[f"{key}_{k}_final_f"] < numbers[f"{key}_gradient_descent_final_f"]
    return confirmed, numbers
