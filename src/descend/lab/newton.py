"""Lab ``newton``: Newton's method solves a quadratic in one step; damping turns it into gradient
descent with rate 1/α; undamped, it heads for saddle points.

The claim (notes, second-order methods): the Newton step θ* = θ − H⁻¹g jumps to the minimum of
the local quadratic model, so on a quadratic it lands on the minimum in one step, whatever the
conditioning. With Levenberg–Marquardt damping the step is −(H + αI)⁻¹g: as α grows it becomes
−g/α, gradient descent with learning rate 1/α. Near a saddle point, where H has negative
eigenvalues, the undamped step still jumps to the critical point of the quadratic model, so
Newton's method is attracted by saddles, which gradient descent is not.

Experiment.

1. ``optim.second_order.problems.Quadratic`` (n = 20, κ = 100), started from a random point:
   one iteration of ``optim.Newton`` (no damping, no line search); the relative error to x* = A⁻¹b.
   For comparison, gradient descent at ε = 2/(λ_min + λ_max) from the same start.
2. On the same quadratic, one iteration of ``optim.Newton(damping=α, adaptive_damping=False,
   line_search_fn=None)`` for α from 10⁻² to 10⁶: the step's relative distance from the gradient
   step −g/α, against the eigen-decomposition's prediction
   ‖(λᵢ/(λᵢ + α)) gᵢ‖ / ‖g‖ (which is ≤ λ_max/(λ_max + α)).
3. f(x, y) = (x² − 1)² + y², minima at (±1, 0), a saddle at the origin (H = diag(−4, 2)): from a
   grid of starts (never on x = 0), 50 iterations of the undamped Newton step θ ← θ − H⁻¹g
   (``dc.grad`` and ``dc.hvp``), 400 of gradient descent (ε = 0.05), and — from the starts with
   |x| < 1/√5 — ``optim.Newton`` (damped, its defaults); where each ends (within 10⁻³ of a critical
   point). Theory for the undamped step: x ← 2x³/(3x² − 1), which converges to the saddle from every
   |x| < 1/√5.

Criterion: one Newton step leaves a relative error below 10⁻¹⁰; every damped step is within 10⁻⁸ of
the predicted distance from −g/α, which falls below 10⁻³ for α ≥ 10⁵; undamped Newton ends at the
saddle from every start with |x| < 1/√5 − 0.02 and from none with |x| > 1/√5 + 0.02, while gradient
descent ends at a minimum from every start and damped Newton from every start with |x| < 1/√5.
"""

import numpy as np

import descend as dc
from descend import optim
from descend.optim.second_order.problems import Quadratic

from .base import lab


def _closure(opt, f, x):
    def closure():
        opt.zero_grad()
        loss = f(x)
        loss.backward()
        return loss
    return closure


def _newton_step(quad, x0, **options):
    """θ₁ − θ₀ after one iteration of ``optim.Newton`` on the quadratic from x0."""
    x = dc.tensor(x0, dtype=dc.float64, requires_grad=True)
    opt = optim.Newton([x], max_iter=1, **options)
    opt.step(_closure(opt, quad, x))
    return x.numpy() - x0


def double_well(p):
    """f(x, y) = (x² − 1)² + y² for p (..., 2), summed over the leading axes: minima (±1, 0), saddle (0, 0)."""
    return ((p[..., 0] ** 2 - 1) ** 2 + p[..., 1] ** 2).sum()


def _undamped_newton(starts, iterations):
    """θ ← θ − H⁻¹g from every start (K, 2) at once. f sums independent terms, so its Hessian is
    block-diagonal and two Hessian-vector products (with all-x and all-y directions) give every 2×2 block."""
    p = starts.copy()
    e = [np.zeros_like(p), np.zeros_like(p)]
    e[0][:, 0] = e[1][:, 1] = 1.0
    with np.errstate(all="ignore"):
        for _ in range(iterations):
            t = dc.tensor(p, dtype=dc.float64)
            g = dc.grad(double_well)(t).numpy()
            H = np.stack([dc.hvp(double_well, t, dc.tensor(v, dtype=dc.float64))[1].numpy() for v in e], -1)
            p = p - np.linalg.solve(H, g[..., None])[..., 0]
    return p


def _gradient_descent(starts, iterations, lr=0.05):
    p = starts.copy()
    for _ in range(iterations):
        p = p - lr * dc.grad(double_well)(dc.tensor(p, dtype=dc.float64)).numpy()
    return p


def _damped_newton(start, iterations):
    p = dc.tensor(start, dtype=dc.float64, requires_grad=True)
    opt = optim.Newton([p], max_iter=iterations)
    opt.step(_closure(opt, double_well, p))
    return p.numpy().copy()


def _destination(points):
    """For each point (K, 2): 0 near the saddle, −1/+1 near the minima (∓1, 0) (within 10⁻³), nan otherwise."""
    out = np.full(len(points), np.nan)
    for value, where in ((0.0, (0.0, 0.0)), (-1.0, (-1.0, 0.0)), (1.0, (1.0, 0.0))):
        with np.errstate(invalid="ignore"):
            out[np.linalg.norm(points - where, axis=1) < 1e-3] = value
    return out


@lab("newton", order=280,
     claim="Newton's method reaches the minimum of a quadratic in one step; damping (H + αI) turns its step into "
           "gradient descent with learning rate 1/α; undamped, it is attracted by saddle points.",
     source="Notes, optimization: Newton's method (and Levenberg–Marquardt damping)")
def experiment(ctx):
    """Run the ``newton`` experiment described in the module docstring (``ctx.quick``: the short run);
    return (confirmed, numbers): the verdict by the stated criterion and the measured values it rests on."""
    rng = np.random.default_rng(ctx.seed)
    quad = Quadratic(20, 100.0, seed=ctx.seed)
    x0 = rng.normal(size=20) * 3
    step = _newton_step(quad, x0, line_search_fn=None, adaptive_damping=False)
    newton_error = float(np.linalg.norm(x0 + step - quad.x_star) / np.linalg.norm(quad.x_star))
    lam, Q = np.linalg.eigh(quad.A)
    x = dc.tensor(x0, dtype=dc.float64, requires_grad=True)
    sgd = optim.SGD([x], lr=2 / (lam[0] + lam[-1]))
    start_error = float(np.linalg.norm(x0 - quad.x_star) / np.linalg.norm(quad.x_star))
    gd_errors = [start_error]
    for _ in range(200):
        _closure(sgd, quad, x)()
        sgd.step()
        gd_errors.append(float(np.linalg.norm(x.numpy() - quad.x_star) / np.linalg.norm(quad.x_star)))
    numbers = {"start_rel_error": start_error, "newton_one_step_rel_error": newton_error,
               "gradient_descent_rel_error_after_1": gd_errors[1],
               "gradient_descent_rel_error_after_200": gd_errors[-1]}

    g = quad.A @ x0 - quad.b
    gq = Q.T @ g
    alphas = np.logspace(-2, 6, 17)
    measured, predicted, from_newton = [], [], []
    for alpha in alphas:
        p = _newton_step(quad, x0, damping=float(alpha), adaptive_damping=False, line_search_fn=None)
        measured.append(np.linalg.norm(p + g / alpha) / np.linalg.norm(g / alpha))
        predicted.append(np.linalg.norm(lam / (lam + alpha) * gq) / np.linalg.norm(gq))
        from_newton.append(np.linalg.norm(p - step) / np.linalg.norm(step))
    measured, predicted = np.array(measured), np.array(predicted)
    numbers["damped_step_max_abs_error_vs_prediction"] = float(np.abs(measured - predicted).max())
    numbers["damped_distance_from_gd_at_alpha_1e5"] = float(measured[alphas == 1e5][0])
    numbers["damped_distance_from_newton_at_alpha_0.01"] = float(from_newton[0])

    n = 24 if ctx.quick else 60
    xs, ys = np.linspace(-1.5, 1.5, n), np.linspace(-1.0, 1.0, n - 1)   # an even count: x is never 0
    X, Y = np.meshgrid(xs, ys)
    starts = np.stack([X.ravel(), Y.ravel()], 1)
    band = 1 / np.sqrt(5)
    undamped = _destination(_undamped_newton(starts, 50)).reshape(X.shape)
    descent = _destination(_gradient_descent(starts, 400))
    near = np.abs(starts[:, 0]) < band                  # where undamped Newton is drawn to the saddle
    damped = _destination(np.array([_damped_newton(p, 50) for p in starts[near]]))
    inside, outside = np.abs(xs) < band - 0.02, np.abs(xs) > band + 0.02
    numbers["saddle_share_undamped_newton"] = float(np.mean(undamped == 0))
    numbers["saddle_share_gradient_descent"] = float(np.mean(descent == 0))
    numbers["minimum_share_gradient_descent"] = float(np.mean(np.abs(descent) == 1))
    numbers["saddle_share_damped_newton_for_abs_x_below_1_over_sqrt5"] = float(np.mean(damped == 0))
    numbers["minimum_share_damped_newton_for_abs_x_below_1_over_sqrt5"] = float(np.mean(np.abs(damped) == 1))
    numbers["undamped_saddle_share_for_abs_x_below_1_over_sqrt5"] = float(np.mean(undamped[:, inside] == 0))
    numbers["undamped_saddle_share_for_abs_x_above_1_over_sqrt5"] = float(np.mean(undamped[:, outside] == 0))
    numbers["saddle_hessian_eigenvalues"] = np.linalg.eigvalsh(
        dc.hessian(double_well)(dc.zeros(2, dtype=dc.float64)).numpy())

    with ctx.figure("newton.png", 1, 3) as (_, (ax1, ax2, ax3)):
        ax1.semilogy(np.arange(0, 201), gd_errors, label="optim.SGD, ε = 2/(λ_min + λ_max)")
        ax1.semilogy([0, 1], [start_error, max(newton_error, 1e-17)], "o-", label="optim.Newton")
        ax1.set(title="quadratic, n = 20, κ = 100", xlabel="iteration", ylabel="‖x − x*‖ / ‖x*‖")
        ax1.legend(fontsize=7)
        ax2.loglog(alphas, measured, "o", label="optim.Newton(damping=α): measured")
        ax2.loglog(alphas, predicted, "k-", lw=1, label="‖λᵢ/(λᵢ + α) gᵢ‖ / ‖g‖")
        ax2.loglog(alphas, from_newton, "s", ms=4, label="distance from the Newton step")
        ax2.axvline(lam[-1], color="0.6", ls=":", lw=1)
        ax2.set(title="damped step −(H + αI)⁻¹g vs −g/α\n(dotted: λ_max)", xlabel="damping α",
                ylabel="relative distance from −g/α")
        ax2.legend(fontsize=7)
        gx, gy = np.meshgrid(np.linspace(-1.6, 1.6, 161), np.linspace(-1.1, 1.1, 111))
        ax3.contour(gx, gy, (gx ** 2 - 1) ** 2 + gy ** 2, levels=np.linspace(0.05, 2.5, 12), colors="0.75",
                    linewidths=0.7)
        for value, color, label in ((0.0, "C3", "→ saddle"), (-1.0, "C0", "→ (−1, 0)"), (1.0, "C2", "→ (1, 0)")):
            mask = undamped == value
            ax3.scatter(X[mask], Y[mask], s=6, color=color, label=label)
        ax3.axvline(band, color="k", ls=":", lw=1)
        ax3.axvline(-band, color="k", ls=":", lw=1)
        ax3.set(title="undamped Newton on (x² − 1)² + y²\n(dotted: |x| = 1/√5)", xlabel="x", ylabel="y")
        ax3.legend(fontsize=7, loc="lower right")

    confirmed = (newton_error < 1e-10 and numbers["damped_step_max_abs_error_vs_prediction"] < 1e-8
                 and numbers["damped_distance_from_gd_at_alpha_1e5"] < 1e-3
                 and numbers["undamped_saddle_share_for_abs_x_below_1_over_sqrt5"] == 1.0
                 and numbers["undamped_saddle_share_for_abs_x_above_1_over_sqrt5"] == 0.0
                 and numbers["minimum_share_gradient_descent"] == 1.0
                 and numbers["minimum_share_damped_newton_for_abs_x_below_1_over_sqrt5"] == 1.0)
    return confirmed, numbers
