"""Lab ``dropout``: for a softmax-linear model, dropout at test time is the ensemble's geometric mean;
dropout against overfitting.

Claim. Training with dropout trains an ensemble of 2^d sub-networks that share weights, one per
mask m ∈ {0, 1}^d (each unit kept with probability q = 1 − p). At test time the notes replace the
ensemble by one network with the weights scaled by q (with inverted dropout, as
``nn.Dropout``, the unscaled network). For a single softmax layer this is exact: the normalized
geometric mean of the sub-models, weighted by P(m) = q^|m| (1 − q)^(d − |m|),

    G_c ∝ Π_m p_c(m)^P(m) = exp(Σ_m P(m) z_c(m)) = exp(W E[m ⊙ x / q] + b)_c = exp(W x + b)_c,

is softmax(W x + b), because the logits are linear in the mask. For deeper networks it is only an
approximation. And as a regularizer, dropout reduces overfitting.

Experiment.
1. ``nn.Sequential(nn.Dropout(p), nn.Linear(d, 4))`` in float64 with random weights, d = 10 inputs
   (14 in the full run), p = 0.5 and p = 0.2, on 50 random inputs: all 2^d masks enumerated, the
   weighted normalized geometric mean and the arithmetic mean of the sub-models' softmax outputs,
   against the model's output in ``eval()`` mode.
2. The same when a nonlinearity follows the dropped units, Dropout(0.5) → Linear(d, 10) → tanh →
   Linear(10, 4): how far the eval-mode output is from the geometric mean there (with dropout only
   on the last layer's inputs the model is again softmax-linear in the mask, and exact).
3. The overfitting lab's set-up (two moons, noise 0.35, 60 training points, 500 validation and 500
   test points, ``nn.MLP([2, 256, 256, 2])``), trained by Adam for the same long budget without and
   with dropout p = 0.5 after each hidden layer, at each learning rate of a grid ({10⁻³, 3·10⁻³};
   the full run, twice as long, adds 3·10⁻⁴, which needs that long to start overfitting). The
   comparison is made at every learning rate rather than at one chosen by the final validation loss:
   that choice favours the slowest rate, which has simply not had time to overfit (an early stopping
   in disguise). Also reported: each network's best validation loss over the epochs, i.e. what early
   stopping would have kept.

Criterion: for the softmax-linear model the eval-mode output equals the geometric mean to 10⁻¹²
(both p), while the arithmetic mean differs by more than 10⁻³; and at every learning rate, at the
end of training, the network with dropout has a lower validation loss, a lower test loss, and a
smaller rise of the validation loss above its minimum than the network without.
"""

import itertools

import numpy as np

import descend as dc
from descend import data as D
from descend import nn, optim
from descend import train as T
from descend.nn import functional as F

from .base import lab


def _masks(d):
    return np.array(list(itertools.product((0.0, 1.0), repeat=d)))


def _means(sub_logits, weights):
    """The weighted normalized geometric mean and the weighted arithmetic mean of softmax(sub_logits).

    sub_logits: (M, N, C) logits of M sub-models; weights: (M,) mask probabilities summing to 1.
    """
    z = dc.tensor(sub_logits, dtype=dc.float64)
    log_p = F.log_softmax(z, dim=2).numpy()
    w = weights[:, None, None]
    geometric = F.softmax(dc.tensor((w * log_p).sum(axis=0), dtype=dc.float64), dim=1).numpy()
    arithmetic = (w * np.exp(log_p)).sum(axis=0)
    return geometric, arithmetic


def _softmax_linear_gap(d, p, rng, seed):
    """max |eval output − geometric mean| and max |eval output − arithmetic mean| for Dropout(p) → Linear(d, 4)."""
    dc.manual_seed(seed)
    model = nn.Sequential(nn.Dropout(p), nn.Linear(d, 4, dtype=dc.float64))
    with dc.no_grad():
        model[1].weight.mul_(3.0)                                   # confident sub-models: the means differ
    x = rng.normal(size=(50, d))
    masks = _masks(d)
    q = 1.0 - p
    weights = q ** masks.sum(1) * (1 - q) ** (d - masks.sum(1))
    layer = model[1]
    with dc.no_grad():
        # sub-model m sees m ⊙ x / q (inverted dropout), all masks at once: (M, N, d) → (M, N, 4)
        sub = layer(dc.tensor(masks[:, None, :] * x[None] / q, dtype=dc.float64)).numpy()
        model.eval()
        out = F.softmax(model(dc.tensor(x, dtype=dc.float64)), dim=1).numpy()
    geometric, arithmetic = _means(sub, weights)
    return float(np.abs(out - geometric).max()), float(np.abs(out - arithmetic).max())


def _nonlinear_gap(d, p, rng, seed, hidden=10):
    """The same comparison with a nonlinearity after the dropout: Dropout(p) → Linear(d, 10) → tanh → Linear(10, 4)."""
    dc.manual_seed(seed)
    model = nn.Sequential(nn.Dropout(p), nn.Linear(d, hidden, dtype=dc.float64), nn.Tanh(),
                          nn.Linear(hidden, 4, dtype=dc.float64))
    with dc.no_grad():
        model[3].weight.mul_(3.0)
    x = rng.normal(size=(50, d))
    masks = _masks(d)
    q = 1.0 - p
    weights = q ** masks.sum(1) * (1 - q) ** (d - masks.sum(1))
    with dc.no_grad():
        sub = model[3](model[2](model[1](dc.tensor(masks[:, None, :] * x[None] / q, dtype=dc.float64)))).numpy()
        model.eval()
        out = F.softmax(model(dc.tensor(x, dtype=dc.float64)), dim=1).numpy()
    geometric, arithmetic = _means(sub, weights)
    return float(np.abs(out - geometric).max()), float(np.abs(out - arithmetic).max())


def _train(p, lr, train, val, epochs, seed):
    dc.manual_seed(seed)
    net = nn.MLP([2, 256, 256, 2], activation="relu", dropout=p)
    trainer = T.Trainer(net, F.cross_entropy, optim.Adam(net.parameters(), lr=lr), batch_size=60, seed=seed,
                        verbose=0)
    history = trainer.fit(train, val=val, epochs=epochs)
    return {"lr": lr, "trainer": trainer, "val_loss": history["val_loss"], "loss": history["loss"]}


@lab("dropout", order=320,
     claim="For a softmax-linear model, dropout's test-time rule (scaling the weights by the keep probability) gives "
           "exactly the normalized geometric mean of the ensemble of all masked sub-models; and dropout reduces "
           "overfitting.",
     source="Notes, regularization: dropout as an ensemble of sub-networks and the weight scaling rule")
def experiment(ctx):
    """Run the ``dropout`` experiment described in the module docstring (``ctx.quick``: the short run);
    return (confirmed, numbers): the verdict by the stated criterion and the measured values it rests on."""
    rng = np.random.default_rng(ctx.seed)
    d = 10 if ctx.quick else 14
    numbers = {"inputs_d": d, "masks": 2 ** d}
    exact = True
    for p in (0.5, 0.2):
        geo, ari = _softmax_linear_gap(d, p, rng, ctx.seed)
        numbers[f"softmax_linear_p{p}_gap_to_geometric_mean"] = geo
        numbers[f"softmax_linear_p{p}_gap_to_arithmetic_mean"] = ari
        exact &= geo < 1e-12 and ari > 1e-3
    geo, ari = _nonlinear_gap(d, 0.5, rng, ctx.seed)
    numbers["nonlinear_gap_to_geometric_mean"] = geo
    numbers["nonlinear_gap_to_arithmetic_mean"] = ari

    train = D.two_moons(60, noise=0.35, seed=ctx.seed)
    val = D.two_moons(500, noise=0.35, seed=ctx.seed + 1000)
    test = D.two_moons(500, noise=0.35, seed=ctx.seed + 2000)
    epochs = 300 if ctx.quick else 600
    rates = (1e-3, 3e-3) if ctx.quick else (3e-4, 1e-3, 3e-3)
    runs, less_overfitting = {}, True
    for lr in rates:
        for p in (0.0, 0.5):
            run = _train(p, lr, train, val, epochs, ctx.seed)
            result = run["trainer"].evaluate(test)
            runs[p, lr] = run
            key = f"{'dropout' if p else 'no_dropout'}_lr{lr:g}"
            numbers[f"{key}_train_loss"] = run["loss"][-1]
            numbers[f"{key}_val_loss"] = run["val_loss"][-1]
            numbers[f"{key}_val_loss_min"] = float(np.min(run["val_loss"]))
            numbers[f"{key}_test_loss"] = result["loss"]
            numbers[f"{key}_test_accuracy"] = result["accuracy"]
        on, off = f"dropout_lr{lr:g}", f"no_dropout_lr{lr:g}"
        less_overfitting &= (numbers[f"{on}_val_loss"] < numbers[f"{off}_val_loss"]
                             and numbers[f"{on}_test_loss"] < numbers[f"{off}_test_loss"]
                             and numbers[f"{on}_val_loss"] - numbers[f"{on}_val_loss_min"]
                             < numbers[f"{off}_val_loss"] - numbers[f"{off}_val_loss_min"])
    numbers["epochs"] = epochs
    numbers["learning_rates"] = rates
    shown = 1e-3

    with ctx.figure("dropout.png", 1, 3, size=(15, 4.2)) as (fig, axes):
        ax = axes[0]
        labels = ["softmax-linear\np = 0.5", "softmax-linear\np = 0.2", "tanh after dropout\np = 0.5"]
        geo = [numbers["softmax_linear_p0.5_gap_to_geometric_mean"],
               numbers["softmax_linear_p0.2_gap_to_geometric_mean"], numbers["nonlinear_gap_to_geometric_mean"]]
        ari = [numbers["softmax_linear_p0.5_gap_to_arithmetic_mean"],
               numbers["softmax_linear_p0.2_gap_to_arithmetic_mean"], numbers["nonlinear_gap_to_arithmetic_mean"]]
        pos = np.arange(3)
        ax.bar(pos - 0.2, np.maximum(geo, 1e-17), 0.4, label="to the geometric mean")
        ax.bar(pos + 0.2, ari, 0.4, label="to the arithmetic mean")
        ax.set_yscale("log")
        ax.set_xticks(pos)
        ax.set_xticklabels(labels, fontsize=8)
        ax.set(title=f"max |eval-mode output − ensemble mean| ({2 ** d} masks)", ylabel="max abs difference")
        ax.legend(fontsize=8, loc="center left")
        ax = axes[1]
        e = np.arange(1, epochs + 1)
        for p, colour in ((0.0, "C0"), (0.5, "C1")):
            name = f"dropout {p}" if p else "no dropout"
            ax.semilogy(e, runs[p, shown]["loss"], colour + ":", label=f"{name}: training")
            ax.semilogy(e, runs[p, shown]["val_loss"], colour + "-", label=f"{name}: validation")
        ax.set(title=f"Two moons, MLP 2-256-256-2, Adam lr {shown:g}", xlabel="epoch", ylabel="cross-entropy")
        ax.legend(fontsize=8)
        ax = axes[2]
        xs, ts = D.as_arrays(train)
        g = np.linspace(-2, 3, 150)
        gx, gy = np.meshgrid(g, np.linspace(-1.8, 2.2, 120))
        grid = dc.tensor(np.stack([gx.ravel(), gy.ravel()], 1))
        for p, colour in ((0.0, "C0"), (0.5, "C1")):
            net = runs[p, shown]["trainer"].model
            net.eval()
            with dc.no_grad():
                prob = F.softmax(net(grid), dim=1).numpy()[:, 1].reshape(gx.shape)
            ax.contour(gx, gy, prob, levels=[0.5], colors=colour, linewidths=1.5)
            key = f"{'dropout' if p else 'no_dropout'}_lr{shown:g}"
            ax.plot([], [], colour, label=f"{'dropout 0.5' if p else 'no dropout'}: test loss "
                                          f"{numbers[key + '_test_loss']:.3f}")
        ax.scatter(xs[:, 0], xs[:, 1], c=ts, cmap="coolwarm", edgecolors="k", s=25)
        ax.set(title=f"Decision boundaries after {epochs} epochs (lr {shown:g})", xlabel="x1", ylabel="x2")
        ax.legend(fontsize=8, loc="lower left")

    confirmed = exact and less_overfitting
    return confirmed, numbers
