"""Lab ``universal-approximation``: one hidden layer approximates a continuous function, better with width.

Claim. A network with one hidden layer of n units, f_n(x) = c + Σₖ vₖ g(wₖ x + bₖ), with a
sigmoid-like (or ReLU) g, can approximate any continuous function on a compact set to any
accuracy ε, if n is large enough; the error falls as n grows.

The proof is a construction, and the lab builds it as a descend network (weights set by hand) on
[a, b] = [−1, 1] with knots xₖ = a + k h, h = (b − a)/n:
- staircase of steep sigmoids: f_n(x) = f(x₀) + Σₖ (f(xₖ) − f(xₖ₋₁)) σ(s (x − (xₖ₋₁ + xₖ)/2)),
  s h/2 = 12; its sup error is about the largest jump |f(xₖ) − f(xₖ₋₁)| ≤ L h, so ∝ 1/n;
- ReLU interpolant: f_n(x) = f(x₀) + Σₖ (mₖ − mₖ₋₁) relu(x − xₖ) (slopes mₖ of the chords,
  m₋₁ = 0): the piecewise-linear interpolant, sup error ≤ h² max|f″|/8 ∝ 1/n² where f is smooth
  and ∝ 1/n near a kink.
Then it trains tanh networks of each width (float64, L-BFGS on the mean squared error at 200
points, best of a few initializations) to see how close gradient training comes.

Two targets: a smooth one, sin(3πx)·exp(−x²) + x/2, and a continuous one with two kinks,
|x − 0.1| − 2 relu(x − 0.55) (kinks off the knots for every width used). Errors are sup norms on
2001 points of [−1, 1].

Criterion (the theorem is about n large enough, so the tail decides): for both targets the
constructions' sup errors at the largest width (1024) are below 1% of the target's range, and
their rate (the log-log slope of error against n, over n ≥ 16) is at most −0.8, i.e. about the
proof's 1/n or faster. Training is judged only for its direction: the best trained network of
width ≥ 16 is at most half as far from f as the best of width 1 (the claim is about what a
network can represent, not about what an optimizer finds).
"""

import numpy as np

import descend as dc
from descend import nn, optim
from descend.nn import functional as F

from .base import lab

TARGETS = {
    "smooth: sin(3πx)·exp(−x²) + x/2": lambda x: np.sin(3 * np.pi * x) * np.exp(-x ** 2) + 0.5 * x,
    "two kinks: |x − 0.1| − 2 relu(x − 0.55)": lambda x: np.abs(x - 0.1) - 2 * np.maximum(x - 0.55, 0),
}


def _set(layer, weight, bias):
    """Write a Linear layer's weight and bias (NumPy arrays) in place."""
    with dc.no_grad():
        layer.weight.copy_(dc.tensor(np.reshape(weight, layer.weight.shape), dtype=dc.float64))
        layer.bias.copy_(dc.tensor(np.reshape(bias, layer.bias.shape), dtype=dc.float64))


def staircase(f, n, a=-1.0, b=1.0, sharpness=12.0):
    """The n-unit sigmoid staircase through f(x₀), ..., f(xₙ) as Sequential(Linear(1, n), Sigmoid, Linear(n, 1))."""
    knots = np.linspace(a, b, n + 1)
    h = (b - a) / n
    s = 2 * sharpness / h
    net = nn.Sequential(nn.Linear(1, n, dtype=dc.float64), nn.Sigmoid(), nn.Linear(n, 1, dtype=dc.float64))
    _set(net[0], np.full(n, s), -s * (knots[:-1] + knots[1:]) / 2)
    _set(net[2], np.diff(f(knots)), [f(knots[0])])
    return net


def relu_interpolant(f, n, a=-1.0, b=1.0):
    """The piecewise-linear interpolant of f at n + 1 knots as Sequential(Linear(1, n), ReLU, Linear(n, 1))."""
    knots = np.linspace(a, b, n + 1)
    slopes = np.diff(f(knots)) / np.diff(knots)
    net = nn.Sequential(nn.Linear(1, n, dtype=dc.float64), nn.ReLU(), nn.Linear(n, 1, dtype=dc.float64))
    _set(net[0], np.ones(n), -knots[:-1])
    _set(net[2], np.diff(slopes, prepend=0.0), [f(knots[0])])
    return net


def _trained(x, y, n, seed, max_iter):
    """A tanh network of width n fitted by L-BFGS to (x, y)."""
    dc.manual_seed(seed)
    net = nn.Sequential(nn.Linear(1, n), nn.Tanh(), nn.Linear(n, 1)).double()
    opt = optim.LBFGS(net.parameters(), max_iter=max_iter, history_size=20, tolerance_grad=1e-10,
                      tolerance_change=0, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.mse_loss(net(x), y)
        loss.backward()
        return loss

    opt.step(closure)
    return net


def _sup_error(net, f, grid):
    with dc.no_grad():
        return float(np.max(np.abs(net(dc.tensor(grid, dtype=dc.float64)).numpy() - f(grid))))


def _slope(widths, errors):
    """The least-squares slope of log(error) against log(n)."""
    return float(np.polyfit(np.log(widths), np.log(errors), 1)[0])


@lab("universal-approximation", order=40,
     claim="A network with a single hidden layer can approximate any continuous function on a compact set "
           "to any accuracy, given enough hidden units: the error falls as the width grows.",
     source="Notes, feed-forward networks: universal approximation with one hidden layer")
def experiment(ctx):
    """Run the ``universal-approximation`` experiment described in the module docstring (``ctx.quick``: the short run);
    return (confirmed, numbers): the verdict by the stated criterion and the measured values it rests on."""
    grid = np.linspace(-1, 1, 2001)[:, None]
    widths = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
    trained_widths = [1, 2, 4, 8, 16, 32, 64] if not ctx.quick else [1, 4, 16, 64]
    restarts = 3 if not ctx.quick else 1
    max_iter = 1000 if not ctx.quick else 400
    xs = np.linspace(-1, 1, 200)[:, None]
    numbers, errors, fits = {}, {}, {}
    confirmed = True
    for key, (name, f) in zip(("smooth", "kinks"), TARGETS.items()):
        span = float(np.ptp(f(grid)))
        stair = [_sup_error(staircase(f, n), f, grid) for n in widths]
        relu = [_sup_error(relu_interpolant(f, n), f, grid) for n in widths]
        x, y = dc.tensor(xs, dtype=dc.float64), dc.tensor(f(xs), dtype=dc.float64)
        trained, nets = [], {}
        for n in trained_widths:
            cands = [_trained(x, y, n, ctx.seed * 100 + r, max_iter) for r in range(restarts)]
            errs = [_sup_error(net, f, grid) for net in cands]
            trained.append(min(errs))
            nets[n] = cands[int(np.argmin(errs))]
        errors[name] = (stair, relu, trained)
        fits[name] = nets
        numbers[f"{key}_range"] = span
        numbers[f"{key}_staircase_sup_error"] = stair
        numbers[f"{key}_relu_interpolant_sup_error"] = relu
        numbers[f"{key}_trained_tanh_sup_error"] = trained
        tail = [i for i, n in enumerate(widths) if n >= 16]
        numbers[f"{key}_staircase_slope"] = _slope(np.take(widths, tail), np.take(stair, tail))
        numbers[f"{key}_relu_interpolant_slope"] = _slope(np.take(widths, tail), np.take(relu, tail))
        wide = min(e for n, e in zip(trained_widths, trained) if n >= 16)
        confirmed &= (max(stair[-1], relu[-1]) < 0.01 * span
                      and max(numbers[f"{key}_staircase_slope"], numbers[f"{key}_relu_interpolant_slope"]) <= -0.8
                      and wide <= trained[0] / 2)
    numbers["widths"] = widths
    numbers["trained_widths"] = trained_widths

    with ctx.figure("approximation.png", 1, 3, size=(15, 4.2)) as (fig, axes):
        for ax, (name, f) in zip(axes[:2], TARGETS.items()):
            ax.plot(grid, f(grid), "k", lw=2.5, label="target f")
            for n in trained_widths[1::2] if len(trained_widths) > 4 else trained_widths[1:]:
                with dc.no_grad():
                    ax.plot(grid, fits[name][n](dc.tensor(grid, dtype=dc.float64)).numpy(), lw=1,
                            label=f"trained, {n} tanh units")
            ax.set(title=name, xlabel="x", ylabel="f(x)")
            ax.legend(fontsize=8)
        ax = axes[2]
        for (name, (stair, relu, trained)), ls in zip(errors.items(), ("-", "--")):
            short = name.split(":")[0]
            ax.loglog(widths, stair, "C0" + ls, marker="o", ms=3, label=f"sigmoid staircase ({short})")
            ax.loglog(widths, relu, "C1" + ls, marker="o", ms=3, label=f"ReLU interpolant ({short})")
            ax.loglog(trained_widths, trained, "C2" + ls, marker="o", ms=3, label=f"trained tanh ({short})")
        ax.set(title="Sup error against the number of hidden units", xlabel="hidden units n",
               ylabel="max |f_n(x) − f(x)|")
        ax.legend(fontsize=7)
    return confirmed, numbers
