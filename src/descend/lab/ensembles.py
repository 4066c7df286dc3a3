"""Lab ``ensembles``: independently initialized networks make different errors, so their average beats
their mean member.

Claim. Train k networks the same way from different random initializations and average their
predictions. If member i makes the error εᵢ with E[εᵢ²] = v and E[εᵢεⱼ] = c (i ≠ j), the average
makes the expected squared error

    E[((1/k) Σᵢ εᵢ)²] = v/k + (k − 1) c / k,

which equals v only if the errors are perfectly correlated (c = v) and falls to v/k if they are
uncorrelated. Networks from different initializations land in different minima and make partly
independent errors, so the ensemble is better than its average member.

Experiment: the digits with a small training set (300 images; 20% of the set for validation, 60% for testing), k
networks ``nn.MLP([64, 64, 10])`` (ReLU) trained identically by Adam for the same epochs from k
different seeds (the learning rate chosen once, by the first member's validation loss, from
{10⁻³, 3·10⁻³, 10⁻²}). The ensemble, ``nn.Ensemble(members, average="probabilities")``, averages the
members' softmax outputs.
For comparison (reported, not judged) the notes' bagging: k members that also train on different
bootstrap resamples of the training set. Measured on the test set: each member's error rate and
cross-entropy; the ensemble's; the
ensemble's error rate against its size; how often two members disagree; and, with the residual
εᵢ = pᵢ − t (the softmax output minus the one-hot target, per example), the members' v and c and
the ensemble's squared error (Brier score) against v/k + (k − 1)c/k, and for every m the mean
squared error of the averages of all subsets of m members against v/m + (m − 1)c/m.

Criterion, on the losses the claim is about (the formula is for squared error; the members are
trained on the cross-entropy): the members' errors are partly independent (c < v, and they
disagree on some test examples); the ensemble's squared error equals v/k + (k − 1)c/k (the
identity, to rounding) and is below v; and the ensemble's test cross-entropy is below its mean
member's. The classification error rate, which no such formula covers, is reported, not judged.
"""

import itertools

import numpy as np

import descend as dc
from descend import data as D
from descend import nn, optim
from descend import train as T
from descend.nn import functional as F

from .base import lab


def _member(seed, lr, train, val, epochs):
    dc.manual_seed(seed)
    net = nn.MLP([64, 64, 10], activation="relu")
    trainer = T.Trainer(net, F.cross_entropy, optim.Adam(net.parameters(), lr=lr), batch_size=32, seed=seed,
                        verbose=0)
    history = trainer.fit(train, val=val, epochs=epochs)
    return trainer, history["val_loss"][-1]


def _probabilities(models, x):
    """Softmax outputs (N, C) of ``models`` averaged by ``nn.Ensemble`` (one model: its own), in eval mode."""
    ensemble = nn.Ensemble(models, average="probabilities")
    ensemble.eval()
    with dc.no_grad():
        return ensemble(dc.tensor(x)).numpy().astype(np.float64)


def _analyse(models, x, t):
    """Error rates, cross-entropies and the squared-error decomposition of k trained models on (x, t)."""
    k = len(models)
    probs = np.stack([_probabilities([m], x) for m in models])               # (k, N, C)
    onehot = np.eye(probs.shape[2])[t]
    preds = probs.argmax(axis=2)
    average = _probabilities(models, x)                                       # the ensemble: nn.Ensemble
    residual = probs - onehot[None]                                         # εᵢ = pᵢ − t per example
    gram = np.einsum("inc,jnc->ij", residual, residual) / len(t)            # E[εᵢ·εⱼ]
    v = float(np.mean(np.diag(gram)))
    c = float((gram.sum() - np.trace(gram)) / (k * (k - 1)))
    member_nll = -np.log(probs[:, np.arange(len(t)), t]).mean(axis=1)
    return {"member_error": (preds != t).mean(axis=1), "member_nll": member_nll,
            "ensemble_error": float((average.argmax(1) != t).mean()),
            "ensemble_nll": float(-np.log(average[np.arange(len(t)), t]).mean()),
            "error_by_size": [float((_probabilities(models[:m], x).argmax(1) != t).mean()) for m in range(1, k + 1)],
            # the average over all subsets S of m members of E‖(1/m) Σ_{i∈S} εᵢ‖² = (1/m²) Σ_{i,j∈S} E[εᵢ·εⱼ]
            "squared_error_by_size": [float(np.mean([gram[np.ix_(S, S)].sum() / m ** 2
                                                     for S in itertools.combinations(range(k), m)]))
                                      for m in range(1, k + 1)],
            "disagreement": float(np.mean([np.mean(preds[i] != preds[j]) for i in range(k) for j in range(i + 1, k)])),
            "v": v, "c": c}


@lab("ensembles", order=330,
     claim="Networks trained from different random initializations make partly independent errors, so the average "
           "of their predictions is better than their average member: its expected squared error is v/k + (k−1)c/k.",
     source="Notes, regularization: bagging and model averaging (ensembles)")
def experiment(ctx):
    """Run the ``ensembles`` experiment described in the module docstring (``ctx.quick``: the short run);
    return (confirmed, numbers): the verdict by the stated criterion and the measured values it rests on."""
    data = D.digits()
    rest, val, test = D.train_val_test_split(data, val=0.2, test=0.6, seed=ctx.seed)
    train = D.Subset(rest, np.arange(300))
    k = 5 if ctx.quick else 10
    epochs = 30 if ctx.quick else 60
    seeds = [ctx.seed * 1000 + i for i in range(k)]
    rng = np.random.default_rng(ctx.seed)

    first = {lr: _member(seeds[0], lr, train, val, epochs) for lr in (1e-3, 3e-3, 1e-2)}
    lr = min(first, key=lambda r: first[r][1] if np.isfinite(first[r][1]) else np.inf)
    members = {"random init": [first[lr][0]] + [_member(s, lr, train, val, epochs)[0] for s in seeds[1:]],
               "bagging": [_member(s, lr, D.Subset(train, rng.integers(0, len(train), len(train))), val, epochs)[0]
                           for s in seeds]}
    x, t = D.as_arrays(test)
    results = {kind: _analyse([tr.model for tr in trs], x, t) for kind, trs in members.items()}

    r = results["random init"]
    v, c = r["v"], r["c"]
    brier = r["squared_error_by_size"][-1]
    numbers = {"members": k, "lr": lr, "epochs": epochs,
               "member_test_error": r["member_error"], "mean_member_test_error": float(r["member_error"].mean()),
               "best_member_test_error": float(r["member_error"].min()), "ensemble_test_error": r["ensemble_error"],
               "ensemble_test_error_by_size": r["error_by_size"],
               "member_test_nll": r["member_nll"], "mean_member_test_nll": float(r["member_nll"].mean()),
               "ensemble_test_nll": r["ensemble_nll"],
               "pairwise_disagreement": r["disagreement"],
               "squared_error_v": v, "squared_error_c": c, "error_correlation_c_over_v": c / v,
               "ensemble_squared_error": brier, "formula_v_over_k_plus_c": v / k + (k - 1) * c / k,
               "squared_error_relative_gain": (v - brier) / v}
    b = results["bagging"]
    numbers.update({"bagging_error_correlation_c_over_v": b["c"] / b["v"],
                    "bagging_squared_error_relative_gain": (b["v"] - b["squared_error_by_size"][-1]) / b["v"],
                    "bagging_mean_member_test_error": float(b["member_error"].mean()),
                    "bagging_ensemble_test_error": b["ensemble_error"],
                    "bagging_mean_member_test_nll": float(b["member_nll"].mean()),
                    "bagging_ensemble_test_nll": b["ensemble_nll"]})

    with ctx.figure("ensembles.png", 1, 3, size=(15, 4.2)) as (fig, axes):
        sizes = np.arange(1, k + 1)
        for (kind, res), colour in zip(results.items(), ("C0", "C1")):
            axes[0].plot(sizes, res["error_by_size"], colour + "o-", ms=3, label=f"{kind}: ensemble of m")
            axes[0].axhline(res["member_error"].mean(), color=colour, ls="--", label=f"{kind}: mean member")
            axes[1].plot(sizes, res["squared_error_by_size"], colour + "o", label=f"{kind}: measured")
            axes[1].plot(sizes, res["v"] / sizes + (sizes - 1) * res["c"] / sizes, colour + "-",
                         label=f"{kind}: v/m + (m−1)c/m, c/v = {res['c'] / res['v']:.2f}")
        axes[0].set(title="Test error rate against ensemble size", xlabel="members m", ylabel="test error rate")
        axes[0].legend(fontsize=8)
        axes[1].set(title="Squared error of the average of m members\n(mean over all subsets of m)", xlabel="members m",
                    ylabel="mean ‖p̄ − t‖² on the test set")
        axes[1].legend(fontsize=8)
        ax = axes[2]
        for i, (kind, res) in enumerate(results.items()):
            ax.bar(np.arange(k) + i * (k + 2), res["member_nll"], color=f"C{i}", label=f"{kind}: members")
            ax.bar([k + i * (k + 2)], [res["ensemble_nll"]], color="k", label="ensemble" if i == 0 else None)
        ax.set_xticks([k / 2 - 0.5, k / 2 - 0.5 + k + 2])
        ax.set_xticklabels(list(results))
        ax.set(title="Test cross-entropy: members and their average", ylabel="test cross-entropy")
        ax.legend(fontsize=8)

    confirmed = (r["ensemble_nll"] < r["member_nll"].mean() and c < v and r["disagreement"] > 0
                 and abs(brier - numbers["formula_v_over_k_plus_c"]) < 1e-9 and brier < v)
    return confirmed, numbers
