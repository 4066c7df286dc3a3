"""Lab ``averaging``: Polyak and exponential averaging of one SGD run, and snapshot ensembles of one run.

The claim (notes, parameter averaging and ensembles): with a constant learning rate SGD's iterates
keep bouncing around the minimum; their average θ̄ = (1/k) Σ θ_t (Polyak–Ruppert) or an
exponential moving average θ̄ ← ρθ̄ + (1 − ρ)θ lies closer to it than the iterates themselves. And
the models visited by one run can be ensembled: with a cyclic learning rate that restarts high,
the snapshots taken at the end of each cycle form an ensemble "for free" (Huang et al., snapshot
ensembles) that predicts better than a single model trained with the same budget.

Experiment.

1. Averaging. Softmax regression (``nn.Linear(64, 10)``, float64) on 1200 standardized digits with
   an L2 penalty λ/2‖W‖², λ = 10⁻², so that the objective F has one minimum F* (found by
   ``optim.LBFGS``). ``optim.SGD`` on mini-batches of 8 with a constant rate ε ∈ {0.03, 0.1, 0.3}
   ({0.1, 0.3} quick) for 20 epochs (3000 steps: the slowest direction, curvature ≈ λ, needs about
   1/(ελ) = 1000 of them to settle); ``optim.swa_utils.AveragedModel`` averages the iterates of the second
   half with equal weights (SWA, Polyak–Ruppert), ``AveragedModel(decay=0.99)`` all of them
   exponentially. Measured: the excess objective F − F* of the last iterate and of the two averages,
   each at its best rate.
2. Snapshot ensemble, on three random splits of the digits (seeds s, s + 1, s + 2). A 64-128-10 ReLU
   network on 1000 digits, tested on the other 797:
   ``optim.SGD(momentum=0.9)``, mini-batches of 32, 40 epochs (20 quick). Once with
   ``train.SnapshotEnsemble(cycles=5)`` (five cosine cycles, a snapshot at each end), once as the
   single-model baseline with one cosine decay over the same 40 epochs
   (``lr_scheduler.CosineAnnealingLR``), both from ε₀ = 0.1. Measured: test negative log-likelihood
   and error of the ensemble (mean of the snapshots' probabilities), of each snapshot, and of the
   baseline.

Criterion: both averages end below the last iterate (each at its best rate), and on every one of the
three splits the snapshot ensemble has a lower test negative log-likelihood and no higher test error
than the single model trained with the same budget (a claim that the ensemble "beats" the single
model should not depend on the split).
"""

import numpy as np

import descend as dc
from descend import data as D
from descend import nn, optim
from descend import train as T
from descend.nn import functional as F

from .base import lab

LAMBDA = 1e-2


def _digits(seed):
    x, t = D.as_arrays(D.digits())
    x = ((x - x.mean(0)) / (x.std(0) + 1e-6)).astype(np.float64)
    return x, t, np.random.default_rng(seed).permutation(len(x))


def _objective(model, x, t):
    """F(θ) = mean cross-entropy + λ/2 ‖W‖² on the whole training set."""
    with dc.no_grad():
        return F.cross_entropy(model(x), t).item() + LAMBDA / 2 * float((model.weight.numpy() ** 2).sum())


def _optimum(x, t):
    dc.manual_seed(0)
    model = nn.Linear(64, 10)
    model.double()
    opt = optim.LBFGS(model.parameters(), max_iter=500, tolerance_grad=1e-12, tolerance_change=0.0,
                      line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(model(x), t) + LAMBDA / 2 * (model.weight * model.weight).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return _objective(model, x, t)


def _averaged_run(lr, x, t, epochs, seed):
    """Excess objectives (last iterate, SWA over the second half, EMA 0.99) and their per-epoch curves."""
    dc.manual_seed(seed)
    model = nn.Linear(64, 10)
    model.double()
    opt = optim.SGD([{"params": [model.weight], "weight_decay": LAMBDA}, {"params": [model.bias]}], lr=lr)
    swa = optim.swa_utils.AveragedModel(model)
    ema = optim.swa_utils.AveragedModel(model, decay=0.99)
    loader = D.DataLoader(D.TensorDataset(x.numpy(), t.numpy()), batch_size=8, shuffle=True, seed=seed)
    curves = {"last iterate": [], "SWA (second half)": [], "EMA 0.99": []}
    for epoch in range(epochs):
        for xb, tb in loader:
            opt.zero_grad()
            F.cross_entropy(model(xb), tb).backward()
            opt.step()
            ema.update_parameters(model)
            if epoch >= epochs // 2:
                swa.update_parameters(model)
        curves["last iterate"].append(_objective(model, x, t))
        curves["EMA 0.99"].append(_objective(ema.module, x, t))
        curves["SWA (second half)"].append(_objective(swa.module, x, t) if swa.n_averaged else np.nan)
    return {k: np.array(v) for k, v in curves.items()}


def _log_probs(model, x):
    with dc.no_grad():
        return model(x).to(dc.float64).log_softmax(-1).numpy()


def _nll_and_error(log_probs, t):
    return float(-log_probs[np.arange(len(t)), t].mean()), float((log_probs.argmax(1) != t).mean())


def _snapshot_ensemble(x, t, train_idx, test_idx, epochs, seed):
    data = D.TensorDataset(x[train_idx].astype(np.float32), t[train_idx])
    xt, tt = dc.from_numpy(x[test_idx].astype(np.float32)), t[test_idx]
    results = {}
    for kind in ("snapshots", "single"):
        dc.manual_seed(seed)
        model = nn.MLP([64, 128, 10], activation="relu")
        opt = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        if kind == "snapshots":
            callback = T.SnapshotEnsemble(cycles=5, epochs_per_cycle=epochs // 5)
        else:
            steps = epochs * -(-len(data) // 32)
            callback = T.LRScheduler(optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps), interval="batch")
        trainer = T.Trainer(model, F.cross_entropy, opt, callbacks=[callback], batch_size=32, seed=seed,
                            metrics=[], verbose=0)
        trainer.fit(data, epochs=epochs)
        if kind == "single":
            results["single"] = _nll_and_error(_log_probs(model, xt), tt)
            continue
        members = []
        for state in callback.snapshots:
            model.load_state_dict(state)
            members.append(_log_probs(model, xt))
        members = np.array(members)
        results["members"] = [_nll_and_error(m, tt) for m in members]
        ensemble = np.logaddexp.reduce(members, axis=0) - np.log(len(members))   # log of the mean probability
        results["ensemble"] = _nll_and_error(ensemble, tt)
    return results


@lab("averaging", order=350,
     claim="Averaging the iterates of one SGD run (Polyak–Ruppert or an exponential moving average) lands closer "
           "to the minimum than the iterates themselves; the snapshots of one run with a cyclic learning rate "
           "form an ensemble that beats a single model trained with the same budget.",
     source="Notes, optimization: Polyak averaging; regularization: ensembles (snapshot ensembles)")
def experiment(ctx):
    """Run the ``averaging`` experiment described in the module docstring (``ctx.quick``: the short run);
    return (confirmed, numbers): the verdict by the stated criterion and the measured values it rests on."""
    x, t, perm = _digits(ctx.seed)
    train = perm[:1200]
    xs, ts = dc.from_numpy(x[train]), dc.from_numpy(t[train])
    f_star = _optimum(xs, ts)
    epochs = 20
    runs = {lr: _averaged_run(lr, xs, ts, epochs, ctx.seed) for lr in ((0.1, 0.3) if ctx.quick else (0.03, 0.1, 0.3))}
    numbers = {"objective_minimum": f_star}
    best = {}
    for kind in ("last iterate", "SWA (second half)", "EMA 0.99"):
        lr = min(runs, key=lambda r: runs[r][kind][-1])
        best[kind] = (lr, runs[lr][kind] - f_star)
        key = kind.split(" ")[0].lower()
        numbers[f"{key}_best_lr"] = lr
        numbers[f"{key}_excess_objective"] = float(runs[lr][kind][-1] - f_star)

    splits = []
    for seed in range(ctx.seed, ctx.seed + 3):
        _, _, order = _digits(seed)
        splits.append(_snapshot_ensemble(x, t, order[:1000], order[1000:], 20 if ctx.quick else 40, seed))
    for kind in ("ensemble", "single"):
        name = "snapshot_ensemble" if kind == "ensemble" else "single_model"
        numbers[f"{name}_test_nll_per_split"] = [r[kind][0] for r in splits]
        numbers[f"{name}_test_error_per_split"] = [r[kind][1] for r in splits]
        numbers[f"{name}_mean_test_nll"] = float(np.mean([r[kind][0] for r in splits]))
        numbers[f"{name}_mean_test_error"] = float(np.mean([r[kind][1] for r in splits]))
    numbers["last_snapshot_test_nll_per_split"] = [r["members"][-1][0] for r in splits]
    with ctx.figure("averaging.png", 1, 2) as (_, (ax1, ax2)):
        e = np.arange(1, epochs + 1)
        for i, (kind, (lr, excess)) in enumerate(best.items()):
            ax1.semilogy(e, excess, "o-", ms=3, color=f"C{i}", label=f"{kind} (ε = {lr:g})")
        ax1.set(title="softmax regression + L2, SGD with a constant rate", xlabel="epoch", ylabel="F(θ) − F*")
        ax1.legend(fontsize=7)
        pos = np.arange(len(splits))
        for i, (label, values) in enumerate((
                ("one model, one cosine decay", [r["single"][0] for r in splits]),
                ("last snapshot", [r["members"][-1][0] for r in splits]),
                ("ensemble of the 5 snapshots", [r["ensemble"][0] for r in splits]))):
            ax2.bar(pos + (i - 1) * 0.27, values, width=0.27, label=label)
        ax2.set(title="one run, five cosine cycles (test set)", xlabel="random split of the digits",
                ylabel="test negative log-likelihood", xticks=pos,
                xticklabels=[f"seed {ctx.seed + j}" for j in pos])
        ax2.legend(fontsize=7)

    confirmed = (numbers["swa_excess_objective"] < numbers["last_excess_objective"]
                 and numbers["ema_excess_objective"] < numbers["last_excess_objective"]
                 and all(r["ensemble"][0] < r["single"][0] and r["ensemble"][1] <= r["single"][1] for r in splits))
    return confirmed, numbers
