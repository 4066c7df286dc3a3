"""Lab ``zero-init``: zero or constant initialization keeps hidden units identical; tanh from zero does not learn.

Claim. If every hidden unit of a layer starts with the same incoming and outgoing weights, the
units compute the same function, receive the same gradient, and so take the same step: they stay
identical for ever, and the layer is no better than one unit. Random initialization breaks this
symmetry. From all-zero weights a tanh (or ReLU) network does not even move: the hidden
activations are g(0) = 0, so ∂L/∂W⁽²⁾ = δ⁽²⁾ h⁽¹⁾ᵀ = 0, and ∂L/∂W⁽¹⁾ = (W⁽²⁾ᵀ δ⁽²⁾ ⊙ g′) xᵀ = 0
because W⁽²⁾ = 0. Only the output biases learn (the class frequencies). A sigmoid network from
zero has h⁽¹⁾ = ½, so it does learn, but with identical units.

Experiment: a 64-32-10 network on the digits (1437 training, 360 test images), trained by SGD
with momentum 0.9 on the cross-entropy for the same number of epochs, with learning rates
{0.01, 0.1, 0.5} (the best training loss kept), for tanh, sigmoid and ReLU hidden units and three
initializations: all zeros, all weights 0.1 (biases 0), and descend's default (Glorot uniform).
For reference, a network with a single tanh hidden unit (random init) gets the same training.

Measured: the number of distinct hidden units after training (distinct rows of W⁽¹⁾, counted
exactly), the largest difference between two hidden units relative to the weights' size, the
largest |W| of each layer, and training and test accuracy.

Criterion: every zero or constant initialization ends with one distinct hidden unit (the units
identical to the last bit); zero-initialized tanh and ReLU networks end with all weights exactly
zero and a test accuracy no better than predicting the most frequent class (+0.02); every
randomly initialized network has 32 distinct units and at least 90% test accuracy.
"""

import numpy as np

import descend as dc
from descend import data as D
from descend import nn, optim
from descend import train as T
from descend.nn import functional as F

from .base import lab

ACTIVATIONS = {"tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "relu": nn.ReLU}


def _network(act, init, width, seed):
    dc.manual_seed(seed)
    net = nn.Sequential(nn.Linear(64, width), ACTIVATIONS[act](), nn.Linear(width, 10))
    if init != "random":
        for layer in (net[0], net[2]):
            nn.init.constant_(layer.weight, 0.0 if init == "zero" else 0.1)
            nn.init.zeros_(layer.bias)
    return net


def _train(act, init, width, lr, train, test, epochs, seed):
    net = _network(act, init, width, seed)
    trainer = T.Trainer(net, F.cross_entropy, optim.SGD(net.parameters(), lr=lr, momentum=0.9), batch_size=64,
                        seed=seed, verbose=0)
    history = trainer.fit(train, epochs=epochs)
    return {"net": net, "lr": lr, "history": history, "train": trainer.evaluate(train), "test": trainer.evaluate(test)}


def _best(runs):
    """The run with the lowest final training loss (a diverged run's NaN loses)."""
    return min(runs, key=lambda r: r["train"]["loss"] if np.isfinite(r["train"]["loss"]) else np.inf)


@lab("zero-init", order=70,
     claim="With zero or constant initial weights all hidden units of a layer compute the same function and get the "
           "same gradient, so they stay identical; from zero weights a tanh network does not learn at all.",
     source="Notes, training in practice: initialization and breaking the symmetry")
def experiment(ctx):
    """Run the ``zero-init`` experiment described in the module docstring (``ctx.quick``: the short run);
    return (confirmed, numbers): the verdict by the stated criterion and the measured values it rests on."""
    data = D.digits()
    train, _, test = D.train_val_test_split(data, val=0.0, test=0.2, seed=ctx.seed)
    epochs = 8 if ctx.quick else 30
    rates = (0.01, 0.1, 0.5)
    labels = D.as_arrays(test)[1]
    majority = float(np.bincount(labels).max() / len(labels))
    numbers, runs = {"majority_class_test_accuracy": majority}, {}
    confirmed = True
    for act in ACTIVATIONS:
        for init in ("zero", "constant", "random"):
            run = _best([_train(act, init, 32, lr, train, test, epochs, ctx.seed) for lr in rates])
            runs[act, init] = run
            w1, w2 = run["net"][0].weight.numpy(), run["net"][2].weight.numpy()
            distinct = len(np.unique(w1, axis=0))
            spread = float(np.abs(w1 - w1[0]).max() / max(np.abs(w1).max(), 1e-30))
            key = f"{act}_{init}"
            numbers[f"{key}_distinct_hidden_units"] = distinct
            numbers[f"{key}_hidden_unit_spread"] = spread
            numbers[f"{key}_max_abs_weight"] = float(max(np.abs(w1).max(), np.abs(w2).max()))
            numbers[f"{key}_train_accuracy"] = run["train"]["accuracy"]
            numbers[f"{key}_test_accuracy"] = run["test"]["accuracy"]
            numbers[f"{key}_lr"] = run["lr"]
            if init == "random":
                confirmed &= distinct == 32 and run["test"]["accuracy"] >= 0.9
            else:
                confirmed &= distinct == 1
            if init == "zero" and act in ("tanh", "relu"):
                confirmed &= (numbers[f"{key}_max_abs_weight"] == 0.0
                              and run["test"]["accuracy"] <= majority + 0.02)
    one = _best([_train("tanh", "random", 1, lr, train, test, epochs, ctx.seed) for lr in rates])
    numbers["one_tanh_unit_train_accuracy"] = one["train"]["accuracy"]
    numbers["one_tanh_unit_test_accuracy"] = one["test"]["accuracy"]

    with ctx.figure("zero_init.png", 1, 3, size=(15, 4.2)) as (fig, axes):
        ax = axes[0]
        styles = {"zero": ":", "constant": "--", "random": "-"}
        colours = {"tanh": "C0", "sigmoid": "C1", "relu": "C2"}
        for (act, init), run in runs.items():
            acc = run["history"]["accuracy"]
            ax.plot(np.arange(1, len(acc) + 1), acc, colours[act] + styles[init], label=f"{act}, {init}")
        acc = one["history"]["accuracy"]
        ax.plot(np.arange(1, len(acc) + 1), acc, "k-.", label="one tanh unit, random")
        ax.set(title="Training accuracy, 64-32-10 on the digits", xlabel="epoch", ylabel="training accuracy",
               ylim=(0, 1.02))
        ax.legend(fontsize=7, ncol=2, loc="center right", bbox_to_anchor=(1.0, 0.66))
        for ax, init in zip(axes[1:], ("constant", "random")):
            w1 = runs["tanh", init]["net"][0].weight.numpy()
            distinct = numbers[f"tanh_{init}_distinct_hidden_units"]
            lim = np.abs(w1).max()
            im = ax.imshow(w1, cmap="coolwarm", vmin=-lim, vmax=lim, aspect="auto")
            ax.set(title=f"tanh, {init} init: W⁽¹⁾ after training\n"
                         f"({distinct} distinct hidden unit{'s' if distinct > 1 else ''})",
                   xlabel="input pixel", ylabel="hidden unit")
            fig.colorbar(im, ax=ax, label="weight")
    return confirmed, numbers
