"""Lab ``weight-decay``: L2 regularization equals weight decay for SGD, not for Adam; AdamW decays.

The claim (notes, regularization): adding the penalty (λ′/2)‖w‖² to the loss makes SGD's step
w ← w − ε(∇L + λ′w) = (1 − ελ′) w − ε∇L: with λ′ = λ/ε it is, step for step, the weight decay
w ← (1 − λ) w − ε∇L. For Adam it is not: the penalty's gradient λ′w is divided by √r̂ along with
the data gradient, so weights with large gradients are barely regularized and weights without
any are pulled to zero at the speed ε. AdamW (Loshchilov & Hutter) decouples the decay from the
gradient, w ← (1 − λ) w before Adam's step, which is weight decay again.

Experiment. A 64-32-10 tanh network (float64) on the standardized digits, mini-batches of 64 in
the same order for every run, from the same initialization; the weights (not the biases) are
regularized, λ = 10⁻⁴ per step. Six runs in lockstep:

- SGD (ε = 0.1): L2 in the loss (λ′ = λ/ε); ``SGD(weight_decay=λ′)`` (PyTorch's L2); explicit
  weight decay (w ← (1 − λ) w before each step);
- Adam (ε = 10⁻³): L2 in the loss (λ′ = λ/ε); explicit weight decay; ``AdamW(weight_decay=λ/ε)``.

Measured: the relative distance ‖θ_a − θ_b‖/‖θ_b‖ between runs, worst over the steps, and what
happens to the first-layer weights of the input pixels that are 0 in every image (3 of the 64) (their data
gradient is 0, so only the regularizer moves them): weight decay leaves (1 − λ)ᵗ of them.

Criterion: both SGD forms of L2 stay within 10⁻¹⁰ of weight decay and AdamW within 10⁻¹⁰ of Adam with
weight decay, at every step; Adam with L2 ends more than 1% away from Adam with weight decay.
"""

import numpy as np

import descend as dc
from descend import data as D
from descend import nn, optim
from descend.nn import functional as F
from descend.nn.regularizers import default_filter, l2_penalty

from .base import lab

DECAY = 1e-4          # λ: the fraction of each weight removed per step
SGD_LR, ADAM_LR = 0.1, 1e-3


class _Run:
    """One training run: a model, its optimizer and how a step applies the regularizer."""

    def __init__(self, name, seed, optimizer, how, lr):
        dc.manual_seed(seed)
        self.name, self.how, self.lr = name, how, lr
        self.model = nn.MLP([64, 32, 10], activation="tanh")
        self.model.double()
        named = list(self.model.named_parameters())
        self.weights = [p for n, p in named if default_filter(n, p)]
        others = [p for n, p in named if not default_filter(n, p)]
        if how == "coupled":        # SGD(weight_decay=λ′) / AdamW(weight_decay=λ/ε) on the weights only
            wd = DECAY / lr
            self.opt = optimizer([{"params": self.weights, "weight_decay": wd},
                                  {"params": others, "weight_decay": 0.0}], lr=lr)
        else:
            self.opt = optimizer(self.model.parameters(), lr=lr)

    def step(self, xb, tb):
        self.opt.zero_grad()
        loss = F.cross_entropy(self.model(xb), tb)
        if self.how == "l2":
            loss = loss + (DECAY / self.lr) / 2 * l2_penalty(self.model)   # (λ′/2)‖w‖², λ′ = λ/ε
        loss.backward()
        if self.how == "decay":
            with dc.no_grad():
                for w in self.weights:
                    w.mul_(1.0 - DECAY)                                    # w ← (1 − λ) w, then the step on ∇L
        self.opt.step()

    def flat(self):
        return np.concatenate([p.numpy().ravel() for p in self.model.parameters()])


@lab("weight-decay", order=240,
     claim="With SGD, an L2 penalty λ′/2‖w‖² with λ′ = λ/ε is the same as weight decay by λ, step for step; with "
           "Adam it is not, and AdamW's decoupled decay restores weight decay.",
     source="Notes, regularization: L2 parameter regularization and weight decay")
def experiment(ctx):
    """Run the ``weight-decay`` experiment described in the module docstring (``ctx.quick``: the short run);
    return (confirmed, numbers): the verdict by the stated criterion and the measured values it rests on."""
    x, t = D.as_arrays(D.digits())
    x = x.astype(np.float64)
    x = (x - x.mean(0)) / (x.std(0) + 1e-6)
    dead = np.flatnonzero(np.abs(x).max(0) == 0)       # pixels that are 0 in every image
    loader = D.DataLoader(D.TensorDataset(x, t), batch_size=64, shuffle=True, seed=ctx.seed)
    steps = 300 if ctx.quick else 3000

    runs = {
        "SGD + L2": _Run("SGD + L2", ctx.seed, optim.SGD, "l2", SGD_LR),
        "SGD(weight_decay)": _Run("SGD(weight_decay)", ctx.seed, optim.SGD, "coupled", SGD_LR),
        "SGD + weight decay": _Run("SGD + weight decay", ctx.seed, optim.SGD, "decay", SGD_LR),
        "Adam + L2": _Run("Adam + L2", ctx.seed, optim.Adam, "l2", ADAM_LR),
        "Adam + weight decay": _Run("Adam + weight decay", ctx.seed, optim.Adam, "decay", ADAM_LR),
        "AdamW": _Run("AdamW", ctx.seed, optim.AdamW, "coupled", ADAM_LR),
    }
    pairs = [("SGD + L2", "SGD + weight decay"), ("SGD(weight_decay)", "SGD + weight decay"),
             ("Adam + L2", "Adam + weight decay"), ("AdamW", "Adam + weight decay")]
    distance = {p: [] for p in pairs}
    dead_start = {k: np.abs(r.weights[0].numpy()[:, dead]).mean() for k, r in runs.items()}
    dead_left = {k: [] for k in runs}
    done = 0
    while done < steps:
        for xb, tb in loader:
            for r in runs.values():
                r.step(xb, tb)
            done += 1
            flat = {k: r.flat() for k, r in runs.items()}
            for a, b in pairs:
                distance[(a, b)].append(np.linalg.norm(flat[a] - flat[b]) / np.linalg.norm(flat[b]))
            for k, r in runs.items():
                dead_left[k].append(np.abs(r.weights[0].numpy()[:, dead]).mean() / dead_start[k])
            if done == steps:
                break

    keys = {("SGD + L2", "SGD + weight decay"): "sgd_l2_vs_weight_decay",
            ("SGD(weight_decay)", "SGD + weight decay"): "sgd_weight_decay_option_vs_weight_decay",
            ("Adam + L2", "Adam + weight decay"): "adam_l2_vs_weight_decay",
            ("AdamW", "Adam + weight decay"): "adamw_vs_weight_decay"}
    numbers = {f"{keys[p]}_max_rel_distance": float(np.max(d)) for p, d in distance.items()}
    numbers["adam_l2_vs_weight_decay_final_rel_distance"] = float(distance[pairs[2]][-1])
    numbers["dead_pixels"] = len(dead)
    numbers["dead_weights_left_weight_decay_predicted"] = (1 - DECAY) ** steps
    for k in ("SGD + L2", "Adam + L2", "AdamW"):
        numbers[f"dead_weights_left_{k.replace(' + ', '_').replace(' ', '_').lower()}"] = float(dead_left[k][-1])
    xs = dc.tensor(x, dtype=dc.float64)
    for k in ("SGD + weight decay", "Adam + L2", "AdamW"):
        with dc.no_grad():
            acc = float((runs[k].model(xs).numpy().argmax(1) == t).mean())
        numbers[f"train_accuracy_{k.replace(' + ', '_').replace(' ', '_').lower()}"] = acc

    with ctx.figure("weight_decay.png", 1, 2) as (_, (ax1, ax2)):
        k = np.arange(1, steps + 1)
        for (a, b), d in distance.items():
            ax1.semilogy(k, np.maximum(d, 1e-18), label=f"{a} vs {b}")
        ax1.set(title="distance between runs (10⁻¹⁸ = identical)", xlabel="step",
                ylabel="‖θ_a − θ_b‖ / ‖θ_b‖", ylim=(1e-18, 10))
        ax1.legend(fontsize=7)
        for name in ("SGD + L2", "Adam + L2", "AdamW"):
            ax2.plot(k, dead_left[name], label=name)
        ax2.plot(k, (1 - DECAY) ** k, "k:", label="(1 − λ)ᵗ")
        ax2.set(title=f"weights of the {len(dead)} always-zero pixels", xlabel="step",
                ylabel="mean |w| / its initial value")
        ax2.legend(fontsize=7)

    confirmed = (numbers["sgd_l2_vs_weight_decay_max_rel_distance"] < 1e-10
                 and numbers["sgd_weight_decay_option_vs_weight_decay_max_rel_distance"] < 1e-10
                 and numbers["adamw_vs_weight_decay_max_rel_distance"] < 1e-10
                 and numbers["adam_l2_vs_weight_decay_final_rel_distance"] > 0.01)
    return confirmed, numbers
