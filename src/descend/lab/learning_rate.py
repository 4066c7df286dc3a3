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
2. A 64-64-10 ReLU network on the standardized digits (the run config's training split, 1257 examples),
   ``optim.SGD`` on mini-batches of 32: a ``descend.search`` grid search over ``optimizer.lr`` on a log
   grid from 10⁻⁴ to 10 (6 rates quick, 11 full), 3 epochs (10 full), early stopping off. Each trial
   has its own ``training.seed`` (the search derives it from the study seed and the trial's index), so
   each trial's curve is L_ε(θ_k), the training loss of its weights after epoch k (its run's
   ``trajectory/``, epoch 0 the initial weights), and its progress is measured from its OWN start:
   P(ε) = L_ε(θ_0) − L_ε(θ_K). A trial the search reports FAILED as diverged ends at L = ∞.

Criterion: on the quadratic every r < 1 ends below its start and every r > 1 above it, and the
smallest rate (r = 0.1) is still more than 100 times further from f* than r = 0.9 (an overflow to
inf or nan counts as diverged); on the network the largest rate ends above its own initial
loss (or at inf/nan), the smallest rate has made less than a tenth of the best rate's progress
(P(ε_min) < 0.1 · P(ε_best), the best rate being the one with the lowest final loss), and the best rate
lies strictly inside the grid.
"""

import os
import tempfile

import numpy as np

import descend as dc
from descend import optim, search
from descend.nn import functional as F
from descend.train.config import load_config
from descend.train.run import build_data, load_run_config
from descend.train.spec import resolve
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


def _search_config(epochs):
    """The run configuration every trial shares: a 64-64-10 ReLU MLP trained by SGD on the digits."""
    return load_config(None, ["model.hidden=[64]", "model.activation='relu'", "model.dropout=0.0",
                              "optimizer.name='SGD'", "data.batch_size=32", "data.augment.rotate=0.0",
                              "data.augment.noise=0.0", f"training.epochs={epochs}",
                              "training.early_stopping.enabled=false", "output.plots=false",
                              "output.progress=false"])


def _trial_curve(trial, model, x, t):
    """[L(θ_0), ..., L(θ_K)]: the training loss of the trial's weights after each epoch (from its run's
    trajectory), inf after a divergence."""
    from descend.train.callbacks.trajectory import list_snapshots, load_snapshot
    losses = []
    with dc.no_grad(), np.errstate(over="ignore", invalid="ignore"):
        for _, path in list_snapshots(os.path.join(trial.run_dir, "trajectory")):
            weights = load_snapshot(path)
            for name, p in model.named_parameters():
                p.data[...] = weights[name]
            loss = F.cross_entropy(model(x), t).item()
            losses.append(loss if np.isfinite(loss) else np.inf)
    return np.array(losses)


def _network_curves(rates, epochs, seed):
    """{ε: training-loss curve} of a ``descend.search`` grid search over ``optimizer.lr``, and the seeds of
    its trials."""
    config = _search_config(epochs)
    with tempfile.TemporaryDirectory(prefix="descend-lab-learning-rate-") as tmp:
        study = search.run(config, {"optimizer.lr": search.grid([float(r) for r in rates])}, method="grid",
                           metric="loss", seed=seed, out=os.path.join(tmp, "study"), verbose=False)
        spec = resolve(load_run_config(study.trials[0].run_dir))    # the trials share model and data split
        data = build_data(spec)
        x, t = dc.tensor(data.train.arrays[0]), dc.tensor(data.train.arrays[1])
        model = spec.model.build(data.n_in, data.n_out)
        curves, seeds = {}, {}
        for trial in study.trials:
            if trial.state == "FAILED" and not (trial.error or "").startswith("diverged"):
                raise RuntimeError(f"lab learning-rate: trial {trial.index} (ε = {trial.params['optimizer.lr']:g}) "
                                   f"failed for another reason than divergence: {trial.error}")
            curve = _trial_curve(trial, model, x, t)
            curve = np.concatenate([curve, np.full(epochs + 1 - len(curve), np.inf)])   # diverged: ∞ from then on
            curves[trial.params["optimizer.lr"]] = curve
            seeds[trial.params["optimizer.lr"]] = trial.seed
    return curves, seeds, len(data.train)


@lab("learning-rate", order=200,
     claim="Too large a learning rate makes the loss diverge, too small a one makes it crawl: gradient descent on a "
           "quadratic converges exactly when ε < 2/λ_max, and a network's loss curves order themselves by ε.",
     source="Notes, optimization: the learning rate (loss curves for low, good, high and very high rates)")
def experiment(ctx):
    """Run the ``learning-rate`` experiment described in the module docstring (``ctx.quick``: the short run);
    return (confirmed, numbers): the verdict by the stated criterion and the measured values it rests on."""
    quad = _quadratic_runs(ctx.seed)
    numbers = {f"quadratic_gap_after_500_r{r:g}": float(g[-1]) for r, g in quad.items()}

    epochs = 3 if ctx.quick else 10
    rates = np.logspace(-4, 1, 6 if ctx.quick else 11)
    curves, seeds, n_train = _network_curves(rates, epochs, ctx.seed)
    final = {lr: c[-1] for lr, c in curves.items()}
    progress = {lr: c[0] - c[-1] for lr, c in curves.items()}       # from each trial's own initial loss
    best = min(final, key=final.get)
    lowest, highest = min(curves), max(curves)
    numbers.update({
        "network_training_examples": n_train,
        "network_lrs": sorted(curves),
        "network_trial_seeds": [seeds[lr] for lr in sorted(curves)],
        "network_initial_loss_per_lr": [float(curves[lr][0]) for lr in sorted(curves)],
        "network_final_loss_per_lr": [float(final[lr]) for lr in sorted(curves)],
        "network_best_lr": best,
        "network_best_initial_loss": float(curves[best][0]),
        "network_best_final_loss": float(final[best]),
        "network_largest_lr_initial_loss": float(curves[highest][0]),
        "network_largest_lr_final_loss": float(final[highest]),
        "network_smallest_lr_progress_over_best": float(progress[lowest] / progress[best]),
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
        ax2.set(title="ReLU net on the digits: SGD, search grid", xlabel="epoch",
                ylabel="training cross-entropy", yscale="log", ylim=(1e-3, 1e2))
        ax2.legend(fontsize=6, ncol=2)

    converges = all(quad[r][-1] < 1 for r in RATIOS if r < 1) and quad[0.1][-1] > 100 * quad[0.9][-1]
    diverges = all(not quad[r][-1] <= 1 for r in RATIOS if r > 1)     # above the start, or overflowed to inf/nan
    confirmed = (converges and diverges and final[highest] > curves[highest][0]
                 and numbers["network_smallest_lr_progress_over_best"] < 0.1 and lowest < best < highest)
    return confirmed, numbers
