"""Lab ``minibatch``: a mini-batch gradient's noise falls like 1/m; progress per epoch of the four modes.

The claim (notes, stochastic gradient descent): the gradient of a mini-batch B of m examples drawn
from the N training examples is an unbiased estimate of the full gradient g = (1/N) Σᵢ gᵢ, whose
variance falls like 1/m: E‖g_B − g‖² = (σ²/m)(N − m)/(N − 1) when B is drawn without
replacement, σ² = (1/N) Σᵢ ‖gᵢ − g‖². Batch descent takes one exact step per epoch; mini-batch,
stochastic (one random example) and online (one example at a time, in a fixed cyclic order)
descent take many noisy ones, and so make far more progress per epoch.

Experiment.

1. A 64-32-10 tanh network (float64) at its initialization, on N standardized digits (500 quick,
   all 1797 full). σ² from the N per-example gradients (``DataLoader(mode="online")``); then for
   m = 1, 2, 4, …, 256, the mean of ‖g_B − g‖² over 128 batches from
   ``DataLoader(mode="minibatch", batch_size=m)`` against the prediction.
2. The same network trained with ``optim.SGD`` in the four modes of ``DataLoader`` (``"batch"``,
   ``"minibatch"`` with m = 32, ``"stochastic"``, ``"online"``) on N′ examples (200 quick, 600 full),
   each at its best rate of the same grid (lowest training loss after the last epoch), for the same
   number of epochs (3 quick, 8 full); the training loss after every epoch.

Criterion: every measured noise is within 25% of the prediction and the fitted log-log slope over
m ≤ N/8 lies in [−1.1, −0.9]; after the last epoch, batch descent's training loss (at its best rate)
is above each of the other three modes' (at theirs).
"""

import numpy as np

import descend as dc
from descend import data as D
from descend import nn, optim
from descend import train as T
from descend.nn import functional as F

from .base import lab

MODES = ("batch", "minibatch", "stochastic", "online")


def _digits(n, seed):
    """n standardized digits (float64) drawn at random: a TensorDataset."""
    x, t = D.as_arrays(D.digits())
    x = ((x - x.mean(0)) / (x.std(0) + 1e-6)).astype(np.float64)
    idx = np.random.default_rng(seed).permutation(len(x))[:n]
    return D.TensorDataset(x[idx], t[idx])


def _network(seed):
    dc.manual_seed(seed)
    model = nn.MLP([64, 32, 10], activation="tanh")
    model.double()
    return model


def _flat_gradient(model, xb, tb):
    """∇ of the mean cross-entropy on (xb, tb) as one flat array."""
    model.zero_grad()
    F.cross_entropy(model(xb), tb).backward()
    return np.concatenate([p.grad.numpy().ravel() for p in model.parameters()])


def predicted_noise(sigma2, m, n):
    """E‖g_B − g‖² for a batch of m of n examples drawn without replacement: (σ²/m)(n − m)/(n − 1)."""
    return sigma2 / m * (n - m) / (n - 1)


def _gradient_noise(n, seed, batches=128):
    """σ², and {m: (measured E‖g_B − g‖², predicted)} for m = 1, 2, …, 256."""
    data = _digits(n, seed)
    model = _network(seed)
    per_example = np.array([_flat_gradient(model, xb, tb) for xb, tb in D.DataLoader(data, mode="online")])
    g = per_example.mean(0)
    sigma2 = float(((per_example - g) ** 2).sum(1).mean())
    noise = {}
    for m in 2 ** np.arange(9):
        loader = D.DataLoader(data, mode="minibatch", batch_size=int(m), drop_last=True, seed=seed)
        sq = []
        while len(sq) < batches:
            for xb, tb in loader:
                sq.append(((_flat_gradient(model, xb, tb) - g) ** 2).sum())
                if len(sq) == batches:
                    break
        noise[int(m)] = (float(np.mean(sq)), predicted_noise(sigma2, int(m), n))
    return sigma2, noise


def _train(mode, lr, data, epochs, seed):
    """Training losses on ``data`` before and after each epoch of SGD in ``mode``."""
    model = _network(seed)
    loader = D.DataLoader(data, mode=mode, seed=seed, **({"batch_size": 32} if mode == "minibatch" else {}))
    trainer = T.Trainer(model, F.cross_entropy, optim.SGD(model.parameters(), lr=lr), metrics=[], verbose=0)
    losses = [trainer.evaluate(data)["loss"]]
    for epoch in range(1, epochs + 1):
        trainer.fit(loader, epochs=1)
        losses.append(trainer.evaluate(data)["loss"])
    return np.array(losses)


@lab("minibatch", order=260,
     claim="The mini-batch gradient is an unbiased estimate of the gradient whose variance falls like 1/m; "
           "per epoch, mini-batch, stochastic and online descent make far more progress than batch descent.",
     source="Notes, optimization: batch, mini-batch, stochastic and online gradient descent")
def experiment(ctx):
    """Run the ``minibatch`` experiment described in the module docstring (``ctx.quick``: the short run);
    return (confirmed, numbers): the verdict by the stated criterion and the measured values it rests on."""
    n_noise = 500 if ctx.quick else 1797
    sigma2, noise = _gradient_noise(n_noise, ctx.seed)
    sizes = np.array(list(noise))
    measured = np.array([noise[m][0] for m in sizes])
    predicted = np.array([noise[m][1] for m in sizes])
    small = sizes <= n_noise / 8
    slope = float(np.polyfit(np.log(sizes[small]), np.log(measured[small]), 1)[0])
    numbers = {"sigma2": sigma2, "noise_slope_vs_m": slope,
               "noise_max_rel_error": float(np.abs(measured / predicted - 1).max())}
    for m, (a, b) in noise.items():
        numbers[f"noise_m{m}_measured_over_predicted"] = a / b

    data = _digits(200 if ctx.quick else 600, ctx.seed + 1)
    epochs = 3 if ctx.quick else 8
    rates = (0.03, 0.3, 3.0) if ctx.quick else (0.01, 0.03, 0.1, 0.3, 1.0, 3.0, 10.0)
    best = {}
    for mode in MODES:
        runs = {lr: _train(mode, lr, data, epochs, ctx.seed) for lr in rates}
        lr = min(runs, key=lambda k: runs[k][-1] if np.isfinite(runs[k][-1]) else np.inf)
        best[mode] = (lr, runs[lr])
        numbers[f"{mode}_best_lr"] = lr
        numbers[f"{mode}_final_loss"] = float(runs[lr][-1])
    ahead = all(numbers[f"{mode}_final_loss"] < numbers["batch_final_loss"] for mode in MODES[1:])

    with ctx.figure("minibatch.png", 1, 2) as (_, (ax1, ax2)):
        ax1.loglog(sizes, measured, "o", label="measured (128 batches)")
        ax1.loglog(sizes, predicted, "k-", lw=1, label="(σ²/m)(N − m)/(N − 1)")
        ax1.loglog(sizes, sigma2 / sizes, "k:", lw=1, label="σ²/m")
        ax1.set(title=f"gradient noise, N = {n_noise} (slope {slope:.2f})", xlabel="batch size m",
                ylabel="E‖g_B − g‖²")
        ax1.legend(fontsize=7)
        for mode in MODES:
            lr, losses = best[mode]
            ax2.semilogy(np.arange(epochs + 1), losses, "o-", ms=3, label=f"{mode} (ε = {lr:g})")
        ax2.set(title=f"SGD on {len(data)} digits, each mode at its best ε", xlabel="epoch",
                ylabel="training cross-entropy")
        ax2.legend(fontsize=7)

    confirmed = numbers["noise_max_rel_error"] < 0.25 and -1.1 <= slope <= -0.9 and ahead
    return confirmed, numbers
