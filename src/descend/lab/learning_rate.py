"""Lab ``learning-rate``: too large a learning rate diverges, too small a one crawls.

The claim (notes, the learning rate): the learning rate is the most important hyperparameter. On a
quadratic f(θ) = ½θᵀAθ, gradient descent multiplies the component along each eigenvector of A by
1 − ελᵢ per step, so it converges exactly when ε < 2/λ_max and diverges above; far below, the
components with small λᵢ hardly move. A network's training curves per learning rate show the same
picture (the notes' sketch): a very high rate blows the loss up, a high one stalls at a poor value,
a good one falls fast, a low one crawls.

Experiment.

1. ``problems.Quadratic(n=20, cond=100)`` (λ_max = 100): 500 steps of ``optim.SGD`` at
   ε = r · 2/λ_max for r ∈ {0.1, 0.5, 0.9, 0.99, 1.01, 1.1, 2}: the final f − f* against f(θ₀) − f*.
2. A 64-64-10 ReLU network on 1000 standardized digits, ``optim.SGD`` on mini-batches of 32, one run
   per rate of a log grid from 10⁻⁴ to 10 (6 rates quick, 11 full) for 3 epochs (10 full); the
   training loss after every epoch. (A loop of ``train.Trainer`` runs: the ``descend.search`` floor was
   not merged when this lab was written.)

Criterion: on the quadratic every r < 1 ends below its start and every r > 1 above it, and the
smallest rate (r = 0.1) is still more than 100 times further from f* than r = 0.9 (an overflow to
inf or nan counts as diverged); on the network the largest rate ends above the initial
loss (or at inf/nan), the smallest rate has made less than a tenth of the best rate's progress, and
the best rate lies strictly inside the grid.
"""

import numpy as np

import descend as dc
from descend import data as D
from descend import nn, optim
from descend import train as T
from descend.nn import functional as F
from descend.optim.second_order.problems import Quadratic

from .base import lab

RATIOS = (0.1, 0.5, 0.9, 0.99, 1.01, 1.1, 2.0)


def _quadratic_runs(seed, steps=500):
    """{r: (f − f*) / (f₀ − f*) after each step} for ε = r·2/λ_max."""
    quad = Quadratic(20, 100.0, seed=seed)
    lam_max = float(np.linalg.eigvalsh(quad.A)[-1])
    out = {}
    with np.errstate(over="ignore", invalid="ignore"):
        for r in RATIOS:
            x = dc.zeros(20, dtype=dc.float64, requires_grad=True)
            opt = optim.SGD([x], lr=r * 2 / lam_max)
            gaps = [1.0]
            for _ in range(steps):
                opt.zero_grad()
                loss = quad(x)
                loss.backward()
                opt.step()
                gaps.append((quad(x).item() - quad.f_star) / -quad.f_star)
            out[r] = np.array(gaps)
    return out


def _network_curve(lr, data, epochs, seed):
    dc.manual_seed(seed)
    model = nn.MLP([64, 64, 10], activation="relu")
    trainer = T.Trainer(model, F.cross_entropy, optim.SGD(model.parameters(), lr=lr), batch_size=32, seed=seed,
                        metrics=[], verbose=0)
    losses = [trainer.evaluate(data)["loss"]]
    with np.errstate(over="ignore", invalid="ignore"):
        for epoch in range(1, epochs + 1):
            trainer.fit(data, epochs=1)
            losses.append(trainer.evaluate(data)["loss"])
    return np.array(losses)


@lab("learning-rate", order=200,
     claim="Too large a learning rate makes the loss diverge, too small a one makes it crawl: gradient descent on a "
           "quadratic converges exactly when ε < 2/λ_max, and a network's loss curves order themselves by ε.",
     source="Notes, optimization: the learning rate (loss curves for low, good, high and very high rates)")
def experiment(ctx):
    quad = _quadratic_runs(ctx.seed)
    numbers = {f"quadratic_gap_after_500_r{r:g}": float(g[-1]) for r, g in quad.items()}

    x, t = D.as_arrays(D.digits())
    x = ((x - x.mean(0)) / (x.std(0) + 1e-6)).astype(np.float32)
    idx = np.random.default_rng(ctx.seed).permutation(len(x))[:1000]
    data = D.TensorDataset(x[idx], t[idx])
    epochs = 3 if ctx.quick else 10
    rates = np.logspace(-4, 1, 6 if ctx.quick else 11)
    curves = {float(lr): _network_curve(float(lr), data, epochs, ctx.seed) for lr in rates}
    final = {lr: (c[-1] if np.isfinite(c[-1]) else np.inf) for lr, c in curves.items()}
    best = min(final, key=final.get)
    start = curves[best][0]
    lowest, highest = min(curves), max(curves)
    numbers.update({
        "network_initial_loss": float(start),
        "network_best_lr": best,
        "network_best_final_loss": float(final[best]),
        "network_largest_lr_final_loss": float(final[highest]),
        "network_smallest_lr_progress_over_best": float((start - final[lowest]) / (start - final[best])),
        "network_final_loss_per_lr": [float(final[lr]) for lr in sorted(curves)],
    })

    with ctx.figure("learning_rate.png", 1, 2) as (_, (ax1, ax2)):
        for i, (r, g) in enumerate(quad.items()):
            shown = np.where(np.isfinite(g), np.clip(g, 1e-30, 1e30), 1e30)     # overflow drawn at the top edge
            ax1.semilogy(shown, color=f"C{i}", label=f"ε = {r:g} · 2/λ_max")
        ax1.set(title="quadratic, κ = 100", xlabel="step", ylabel="(f − f*) / (f₀ − f*)", ylim=(1e-30, 1e30))
        ax1.legend(fontsize=7)
        import matplotlib
        colors = matplotlib.colormaps["viridis"](np.linspace(0, 0.95, len(curves)))
        for color, (lr, c) in zip(colors, sorted(curves.items())):
            ax2.plot(np.arange(epochs + 1), np.where(np.isfinite(c), c, np.nan), "o-", ms=3, color=color,
                     label=f"ε = {lr:.2g}")
        ax2.axhline(start, color="k", ls=":", lw=1)
        ax2.set(title="ReLU network on the digits, SGD", xlabel="epoch", ylabel="training cross-entropy",
                yscale="log", ylim=(1e-3, 1e2))
        ax2.legend(fontsize=6, ncol=2)

    converges = all(quad[r][-1] < 1 for r in RATIOS if r < 1) and quad[0.1][-1] > 100 * quad[0.9][-1]
    diverges = all(not quad[r][-1] <= 1 for r in RATIOS if r > 1)     # above the start, or overflowed to inf/nan
    confirmed = (converges and diverges and final[highest] > start
                 and numbers["network_smallest_lr_progress_over_best"] < 0.1 and lowest < best < highest)
    return confirmed, numbers
