"""Lab ``residual``: a deep plain network does not train; the same network with shortcuts does.

Claim. Stacking more layers should never hurt in principle (the extra layers could learn the
identity), yet a deep plain network h⁽ˡ⁺¹⁾ = f_l(h⁽ˡ⁾) trains worse than a shallow one: its
gradient is a product of L Jacobians that vanishes or explodes. With identity shortcuts,
h⁽ˡ⁺¹⁾ = h⁽ˡ⁾ + f_l(h⁽ˡ⁾), each Jacobian becomes I + ∂f_l/∂h, so the gradient reaches every layer
through the identity path, and the deep network trains like a shallow one.

Experiment on the digits: Linear(64 → 32), L hidden layers of width 32, Linear(32 → 10). The
plain network stacks the layers f_l; the residual network is the same network, the same layers
with the same initial weights, each wrapped in ``nn.Residual`` (x + f_l(x)). Two kinds of layer:
- "tanh": f_l = tanh(W_l h + b_l) with descend's default Glorot initialization, no normalization;
- "ReLU + batch norm" (full run only): f_l = relu(BN(W_l h + b_l)), as in the residual networks'
  paper, where the plain network has batch normalization's help too.
Every network trains with Adam on the cross-entropy, batches of 64, the same number of epochs,
keeping the best learning rate of {10⁻³, 3·10⁻³, 10⁻²} by final training loss. Also measured: the
gradient norm of the first hidden layer's weights at initialization.

Criterion, for each kind of layer, with the same budget for all networks (too short for any of
them to finish, so the comparison is relative): at the largest depth the residual network's
training loss is at most a third of the plain one's and its training accuracy at least 0.2
higher; and the plain network's training loss at the largest depth is more than twice its loss at
the smallest depth: depth itself hurts it.
"""

import numpy as np

import descend as dc
from descend import data as D
from descend import nn, optim
from descend import train as T
from descend.nn import functional as F

from .base import lab

WIDTH = 32


def _layer(kind):
    if kind == "tanh":
        return nn.Sequential(nn.Linear(WIDTH, WIDTH), nn.Tanh())
    return nn.Sequential(nn.Linear(WIDTH, WIDTH), nn.BatchNorm1d(WIDTH), nn.ReLU())


def _network(kind, depth, residual, seed):
    """Linear(64 → 32), depth layers (each wrapped in nn.Residual if residual), Linear(32 → 10)."""
    dc.manual_seed(seed)
    layers = [_layer(kind) for _ in range(depth)]
    if residual:
        layers = [nn.Residual(layer) for layer in layers]
    return nn.Sequential(nn.Linear(64, WIDTH), *layers, nn.Linear(WIDTH, 10))


def _first_hidden_gradient(net, x, t):
    """‖∂L/∂W‖ of the first hidden layer's weight at initialization."""
    net.zero_grad()
    F.cross_entropy(net(x), t).backward()
    name = next(n for n, p in net.named_parameters() if n.startswith("1.") and n.endswith("weight") and p.ndim == 2)
    return float(np.linalg.norm(dict(net.named_parameters())[name].grad.numpy()))


def _fit(kind, depth, residual, train, epochs, seed):
    """The best run over the learning-rate sweep (lowest final training loss; NaN loses)."""
    runs = []
    for lr in (1e-3, 3e-3, 1e-2):
        net = _network(kind, depth, residual, seed)
        trainer = T.Trainer(net, F.cross_entropy, optim.Adam(net.parameters(), lr=lr), batch_size=64, seed=seed,
                            verbose=0)
        with np.errstate(over="ignore", invalid="ignore"):
            history = trainer.fit(train, epochs=epochs)
        runs.append({"lr": lr, "loss": history["loss"], "accuracy": history["accuracy"]})
    return min(runs, key=lambda r: r["loss"][-1] if np.isfinite(r["loss"][-1]) else np.inf)


@lab("residual", order=100,
     claim="A very deep plain network does not train (its training error is worse than a shallower one's); the same "
           "network with identity shortcuts, h + f(h), does.",
     source="Notes, training deep networks: skip connections and residual networks")
def experiment(ctx):
    """Run the ``residual`` experiment described in the module docstring (``ctx.quick``: the short run);
    return (confirmed, numbers): the verdict by the stated criterion and the measured values it rests on."""
    data = D.digits()
    train, _, _ = D.train_val_test_split(data, val=0.0, test=0.2, seed=ctx.seed)
    x, t = (dc.tensor(a[:256]) for a in D.as_arrays(train))
    if ctx.quick:
        settings = {"tanh": ([4, 48], 4)}
    else:
        settings = {"tanh": ([4, 8, 16, 32, 48], 8), "relu_bn": ([4, 16, 48], 5)}
    numbers, curves, confirmed = {}, {}, True
    for kind, (depths, epochs) in settings.items():
        final = {}
        for depth in depths:
            for residual in (False, True):
                run = _fit(kind, depth, residual, train, epochs, ctx.seed)
                arch = "residual" if residual else "plain"
                final[arch, depth] = run
                curves[kind, arch, depth] = run["loss"]
                numbers[f"{kind}_{arch}_{depth}_train_loss"] = run["loss"][-1]
                numbers[f"{kind}_{arch}_{depth}_train_accuracy"] = run["accuracy"][-1]
                numbers[f"{kind}_{arch}_{depth}_lr"] = run["lr"]
                numbers[f"{kind}_{arch}_{depth}_first_layer_grad_norm_at_init"] = _first_hidden_gradient(
                    _network(kind, depth, residual, ctx.seed), x, t)
        deep, shallow = depths[-1], depths[0]
        plain, res = final["plain", deep], final["residual", deep]
        confirmed &= (res["loss"][-1] <= plain["loss"][-1] / 3
                      and res["accuracy"][-1] >= plain["accuracy"][-1] + 0.2
                      and plain["loss"][-1] > 2 * final["plain", shallow]["loss"][-1])
        numbers[f"{kind}_depths"] = depths
        numbers[f"{kind}_epochs"] = epochs

    names = {"tanh": "tanh, Glorot init", "relu_bn": "ReLU + batch norm"}
    with ctx.figure("residual.png", len(settings), 2, size=(10, 4.2 * len(settings))) as (fig, axes):
        for i, (kind, (depths, epochs)) in enumerate(settings.items()):
            ax = axes[2 * i]
            for arch, marker in (("plain", "o-"), ("residual", "s--")):
                ax.plot(depths, [numbers[f"{kind}_{arch}_{d}_train_loss"] for d in depths], marker, label=arch)
            ax.set(title=f"{names[kind]}: final training loss", xlabel="hidden layers L",
                   ylabel=f"training loss after {epochs} epochs", yscale="log")
            ax.legend()
            ax = axes[2 * i + 1]
            for arch, style in (("plain", "-"), ("residual", "--")):
                for j, d in enumerate((depths[0], depths[-1])):
                    loss = curves[kind, arch, d]
                    ax.plot(np.arange(1, len(loss) + 1), loss, f"C{j}{style}", marker="o", ms=3,
                            label=f"{arch}, L = {d}")
            ax.set(title=f"{names[kind]}: training loss per epoch", xlabel="epoch", ylabel="training loss",
                   yscale="log")
            ax.legend(fontsize=8)
    return confirmed, numbers
