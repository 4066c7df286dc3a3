"""Lab ``momentum``: on an ill-conditioned quadratic, gradient descent zig-zags; momentum and Nesterov do not.

The claim (notes, momentum): a poorly conditioned quadratic is a long narrow valley. Gradient
descent wastes its steps moving back and forth across the valley's narrow axis; momentum, which
keeps a velocity v ← α v − ε g (θ ← θ + v), averages the alternating cross-valley gradients away
and traverses the valley lengthwise. Where the gradient is constant, the velocity reaches the
terminal speed ‖v‖ = ε ‖g‖ / (1 − α).

Experiment.

1. f(θ) = ½ θᵀAθ with A = R diag(1, κ) Rᵀ (κ = 100, R a 30° rotation), start u₀ = (−2, 1) in
   A's eigenbasis (along, across the valley). Each method is tuned by the same grid: ε λ_max in
   32 log-spaced values on [0.02, 2) (for momentum and Nesterov also α ∈ {0.5, 0.7, 0.8, 0.9,
   0.95, 0.98}); the score is the number of iterations to reach f ≤ 10⁻⁸ f(θ₀). The sweep runs the
   notes' forms of :mod:`descend.optim.functional` vectorized over the grid; the winners are then
   run with ``optim.SGD`` (``momentum=α``, ``nesterov=True``), whose counts are reported.
2. The zig-zag is measured as the share of the path travelled back and forth: the summed length of
   the steps that reverse the previous step (Δθₖ·Δθₖ₋₁ < 0) over the path's total length, up to
   the tolerance (steps weighted by length, so that rounding-level steps near the end count for
   nothing). Reported too, not used for the verdict: the cross-valley travel
   Σₖ |Δu_across,k| / |u_across,0| (1 = straight down the wall). For gradient descent it is
   ελ/(2 − ελ), so it depends mostly on how close the grid gets to ε = 2/λ_max.
3. Terminal velocity: on f(θ) = gᵀθ (constant gradient), ``SGD(lr=ε, momentum=α)`` for α ∈ {0.5,
   0.9, 0.99}, 1000 steps; the last step's length against ε ‖g‖ / (1 − α) (also with Nesterov,
   whose step ε(g + α b) has the same limit).

Criterion: the claim is confirmed if momentum and Nesterov each need at most a third of gradient
descent's iterations, each has a smaller share of back-and-forth travel than gradient descent, and every
terminal velocity is within 1% of ε‖g‖/(1 − α). The full run adds the iteration counts for
κ = 10 … 1000 (gradient descent ∝ κ, momentum ∝ √κ).
"""

import numpy as np

import descend as dc
from descend import optim
from descend.optim import functional as OF

from .base import lab

ALPHAS = (0.5, 0.7, 0.8, 0.9, 0.95, 0.98)
METHODS = ("gradient descent", "momentum", "Nesterov")
TOL = 1e-8


def _valley(kappa):
    """(A, R, θ₀): the quadratic's matrix, its eigenvectors (columns: along, across), the start."""
    c, s = np.cos(np.pi / 6), np.sin(np.pi / 6)
    R = np.array([[c, -s], [s, c]])
    return R @ np.diag([1.0, kappa]) @ R.T, R, R @ np.array([-2.0, 1.0])


def _sweep(method, A, x0, lrs, alphas, steps):
    """Iterations to reach f ≤ TOL·f(θ₀) for every (ε, α) of the grid, all runs at once (the notes' forms)."""
    lr, alpha = (lrs, np.zeros_like(lrs)) if method == "gradient descent" else \
        [a.ravel() for a in np.meshgrid(lrs, alphas)]
    theta = np.tile(x0, (len(lr), 1))
    v = np.zeros_like(theta)
    f0 = 0.5 * x0 @ A @ x0
    first = np.full(len(lr), steps + 1)
    with np.errstate(over="ignore", invalid="ignore"):
        for k in range(1, steps + 1):
            if method == "gradient descent":
                OF.sgd_step(theta, theta @ A, lr[:, None])
            elif method == "momentum":
                OF.momentum_step(theta, v, theta @ A, lr[:, None], alpha[:, None])
            else:
                OF.nesterov_step(theta, v, lambda t: t @ A, lr[:, None], alpha[:, None])
            f = 0.5 * np.einsum("ri,ij,rj->r", theta, A, theta)
            first = np.where((first > steps) & (f <= TOL * f0), k, first)
    best = int(np.argmin(first))
    return float(lr[best]), float(alpha[best])


def _descend(A, x0, lr, alpha, nesterov, steps):
    """The path of ``optim.SGD`` on ½θᵀAθ until f ≤ TOL·f(θ₀) (or ``steps``): array (k + 1, 2)."""
    theta = dc.tensor(x0, dtype=dc.float64, requires_grad=True)
    At = dc.tensor(A, dtype=dc.float64)
    opt = optim.SGD([theta], lr=lr, momentum=alpha, nesterov=nesterov)
    f0 = 0.5 * x0 @ A @ x0
    path = [x0.copy()]
    for _ in range(steps):
        opt.zero_grad()
        loss = 0.5 * (theta * (At @ theta)).sum()
        loss.backward()
        opt.step()
        path.append(theta.numpy().copy())
        if 0.5 * path[-1] @ A @ path[-1] <= TOL * f0:
            break
    return np.array(path)


def zigzag(path):
    """The share of the path's length travelled in steps that reverse the previous step (Δθₖ·Δθₖ₋₁ < 0)."""
    d = np.diff(path, axis=0)
    length = np.linalg.norm(d, axis=1)
    reverses = (d[1:] * d[:-1]).sum(1) < 0
    return float((length[1:] * reverses).sum() / length.sum())


def _race(kappa, steps, grid):
    """Tune each method on the valley with condition number κ; return {method: (ε, α, path)}."""
    A, R, x0 = _valley(kappa)
    lrs = 2.0 / kappa * np.logspace(np.log10(0.01), 0, grid + 1)[:-1]
    out = {}
    for m in METHODS:
        lr, alpha = _sweep(m, A, x0, lrs, ALPHAS, steps)
        out[m] = (lr, alpha, _descend(A, x0, lr, alpha, m == "Nesterov", steps))
    return A, R, x0, out


def _terminal_velocity(alpha, nesterov, lr=0.01, steps=1000):
    """Step lengths ‖θₖ₊₁ − θₖ‖ of SGD(lr, momentum=α) on f(θ) = gᵀθ, g = (3, 4), and ε‖g‖/(1 − α)."""
    g = dc.tensor([3.0, 4.0], dtype=dc.float64)
    theta = dc.zeros(2, dtype=dc.float64, requires_grad=True)
    opt = optim.SGD([theta], lr=lr, momentum=alpha, nesterov=nesterov)
    lengths = []
    for _ in range(steps):
        before = theta.numpy().copy()
        opt.zero_grad()
        (g * theta).sum().backward()
        opt.step()
        lengths.append(np.linalg.norm(theta.numpy() - before))
    return np.array(lengths), lr * 5.0 / (1.0 - alpha)


@lab("momentum", order=210,
     claim="On a poorly conditioned quadratic, gradient descent wastes time moving back and forth across the narrow "
           "valley while momentum traverses it lengthwise; with a constant gradient the velocity reaches the "
           "terminal speed ε‖g‖/(1 − α).",
     source="Notes, optimization: momentum (and Nesterov momentum)")
def experiment(ctx):
    """Run the ``momentum`` experiment described in the module docstring (``ctx.quick``: the short run);
    return (confirmed, numbers): the verdict by the stated criterion and the measured values it rests on."""
    kappa, steps = 100.0, 2000
    A, R, x0, runs = _race(kappa, steps, 32 if ctx.quick else 64)
    numbers = {"condition_number": kappa}
    back_and_forth = {}
    for m, (lr, alpha, path) in runs.items():
        u = path @ R
        back_and_forth[m] = zigzag(path)
        key = m.replace(" ", "_").lower()
        numbers[f"{key}_iterations"] = len(path) - 1
        numbers[f"{key}_lr_times_lambda_max"] = lr * kappa
        if m != "gradient descent":
            numbers[f"{key}_alpha"] = alpha
        numbers[f"{key}_back_and_forth_share"] = back_and_forth[m]
        numbers[f"{key}_cross_valley_travel"] = float(np.abs(np.diff(u[:, 1])).sum() / abs(u[0, 1]))

    velocity = {}
    for alpha in (0.5, 0.9, 0.99):
        for nesterov in (False, True):
            lengths, predicted = _terminal_velocity(alpha, nesterov)
            velocity[(alpha, nesterov)] = lengths, predicted
            numbers[f"terminal_velocity_rel_error_{'nesterov' if nesterov else 'momentum'}_{alpha}"] = \
                abs(lengths[-1] - predicted) / predicted

    scaling = {}
    if not ctx.quick:
        for k in (10.0, 30.0, 100.0, 300.0, 1000.0):
            scaling[k] = {m: len(r[2]) - 1 for m, r in _race(k, 20000, 48)[3].items()}
        logk = np.log([*scaling])
        for m in METHODS:
            slope = np.polyfit(logk, np.log([scaling[k][m] for k in scaling]), 1)[0]
            numbers[f"{m.replace(' ', '_').lower()}_iterations_slope_in_kappa"] = float(slope)

    with ctx.figure("momentum.png", 2 if scaling else 1, 2 if scaling else 3) as (_, axes):
        ax = axes[0]
        g = np.linspace(-2.6, 2.6, 200)
        X, Y = np.meshgrid(g, np.linspace(-1.6, 1.6, 140))
        P = np.stack([X, Y], -1)
        ax.contour(X, Y, 0.5 * np.einsum("...i,ij,...j->...", P, A, P), levels=np.geomspace(0.01, 60, 14),
                   colors="0.75", linewidths=0.7)
        for m, (lr, alpha, path) in runs.items():
            ax.plot(path[:40, 0], path[:40, 1], ".-", ms=3, lw=1, label=f"{m} ({back_and_forth[m]:.0%})")
        ax.set(title=f"first 40 steps, κ = {kappa:.0f}\n(share of path travelled back and forth)",
               xlabel="θ₁", ylabel="θ₂", aspect="equal")
        ax.legend(fontsize=7)
        ax = axes[1]
        for m, (lr, alpha, path) in runs.items():
            f = 0.5 * np.einsum("ki,ij,kj->k", path, A, path) / (0.5 * x0 @ A @ x0)
            ax.semilogy(f, label=f"{m}: {len(path) - 1} it.")
        ax.set(title="tuned ε (and α): f/f(θ₀)", xlabel="iteration", ylabel="f(θ) / f(θ₀)")
        ax.legend(fontsize=7)
        ax = axes[2]
        for i, alpha in enumerate((0.5, 0.9, 0.99)):
            lengths, predicted = velocity[(alpha, False)]
            ax.semilogy(np.arange(1, len(lengths) + 1), lengths, color=f"C{i}", label=f"α = {alpha}")
            ax.axhline(predicted, color=f"C{i}", ls=":", lw=1)
        ax.set(title="constant gradient: step length\n(dotted: ε‖g‖/(1 − α))", xlabel="step", ylabel="‖θₖ₊₁ − θₖ‖",
               xscale="log")
        ax.legend(fontsize=7)
        if scaling:
            ax = axes[3]
            for m in METHODS:
                ax.loglog([*scaling], [scaling[k][m] for k in scaling], "o-", label=m)
            ax.set(title=f"iterations to f ≤ {TOL:g}·f(θ₀)", xlabel="condition number κ", ylabel="iterations")
            ax.legend(fontsize=7)

    gd = numbers["gradient_descent_iterations"]
    confirmed = (all(numbers[f"{k}_iterations"] * 3 <= gd for k in ("momentum", "nesterov"))
                 and all(back_and_forth[m] < back_and_forth["gradient descent"] for m in ("momentum", "Nesterov"))
                 and all(abs(a[-1] - b) / b < 0.01 for a, b in velocity.values()))
    return confirmed, numbers
