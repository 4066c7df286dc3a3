"""Lab ``vanishing-gradients``: per-layer gradient norms of deep sigmoid, tanh and ReLU networks;
batch normalization restores them.

Claim. Back-propagation multiplies the gradient by Wₗᵀ diag(g′(aₗ)) at every layer. The sigmoid's
derivative is at most ¼ (and its outputs are not centred), so with weights of unit gain the
gradient reaching the first layers of a deep sigmoid network is smaller by orders of magnitude:
those layers barely learn (vanishing gradients). tanh (g′(0) = 1) and ReLU (g′ = 1 where active)
lose much less. Batch normalization, which re-centres and re-scales every pre-activation, keeps
the sigmoid in its sensitive range and restores the gradient flow.

Experiment: networks with 10 hidden layers of 64 units on the digits (64 → 64 ×10 → 10), descend's
default initialization (Glorot uniform) for all, with sigmoid, tanh and ReLU units, each also with
``BatchNorm1d`` before the activation.
1. At initialization, on a batch of 256 training images: the gradient norm ‖∂L/∂Wₗ‖ of every
   layer's weights, and the ratio of the first layer's to the output layer's.
2. Training by SGD with momentum 0.9 (batches of 64, the same epochs, the best of a small sweep
   of learning rates) of the sigmoid network with and without batch normalization (and, in the
   full run, of all six): training accuracy per epoch, and with ``train.LayerMonitor`` the
   per-layer gradient norms at the end of training.

Criterion: at initialization the sigmoid network's first-to-output gradient ratio is below 10⁻³;
tanh's and ReLU's ratios are at least 100 times the sigmoid's; with batch normalization the
sigmoid network's ratio is at least 0.1. After training, the sigmoid network with batch
normalization reaches a training accuracy at least 0.5 higher than without it.
"""

import numpy as np

import descend as dc
from descend import data as D
from descend import nn, optim
from descend import train as T
from descend.nn import functional as F

from .base import lab

ACTIVATIONS = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}


def _network(act, batchnorm, seed, depth=10, width=64):
    """64 → width × depth → 10: [Linear → (BatchNorm1d) → activation] × depth → Linear."""
    dc.manual_seed(seed)
    layers, m = [], 64
    for _ in range(depth):
        layers.append(nn.Linear(m, width))
        if batchnorm:
            layers.append(nn.BatchNorm1d(width))
        layers.append(ACTIVATIONS[act]())
        m = width
    layers.append(nn.Linear(m, 10))
    return nn.Sequential(*layers)


def _weight_names(net):
    return [name for name, p in net.named_parameters() if name.endswith("weight") and p.ndim == 2]


def _gradient_norms(net, x, t):
    """‖∂L/∂Wₗ‖ for every Linear layer's weight, input to output."""
    net.zero_grad()
    F.cross_entropy(net(x), t).backward()
    grads = dict(net.named_parameters())
    return [float(np.linalg.norm(grads[name].grad.numpy())) for name in _weight_names(net)]


def _train(act, batchnorm, lr, train, epochs, seed):
    net = _network(act, batchnorm, seed)
    monitor = T.LayerMonitor()
    trainer = T.Trainer(net, F.cross_entropy, optim.SGD(net.parameters(), lr=lr, momentum=0.9), batch_size=64,
                        seed=seed, callbacks=[monitor], verbose=0)
    history = trainer.fit(train, epochs=epochs)
    last = monitor.summary(epoch=epochs)
    norms = [last[name]["grad_norm"] for name in _weight_names(net)]
    return {"lr": lr, "accuracy": history["accuracy"], "loss": history["loss"][-1], "final_grad_norms": norms}


def _label(act, batchnorm):
    return f"{act} + batch norm" if batchnorm else act


@lab("vanishing-gradients", order=90,
     claim="In a deep network of sigmoid units the gradient shrinks layer by layer on its way back, so the first "
           "layers barely learn; tanh and ReLU suffer much less, and batch normalization restores the gradient flow.",
     source="Notes, training deep networks: vanishing gradients, activation functions and batch normalization")
def experiment(ctx):
    """Run the ``vanishing-gradients`` experiment described in the module docstring (``ctx.quick``: the short run);
    return (confirmed, numbers): the verdict by the stated criterion and the measured values it rests on."""
    data = D.digits()
    train, _, _ = D.train_val_test_split(data, val=0.0, test=0.2, seed=ctx.seed)
    x, t = (dc.tensor(a[:256]) for a in D.as_arrays(train))
    configs = [(act, bn) for bn in (False, True) for act in ACTIVATIONS]
    numbers, at_init = {}, {}
    for act, bn in configs:
        norms = _gradient_norms(_network(act, bn, ctx.seed), x, t)
        at_init[act, bn] = norms
        key = f"{act}{'_bn' if bn else ''}"
        numbers[f"{key}_init_grad_norms"] = norms
        numbers[f"{key}_init_first_to_output_ratio"] = norms[0] / norms[-1]

    epochs = 4 if ctx.quick else 15
    rates = (0.03, 0.3) if ctx.quick else (0.01, 0.03, 0.1, 0.3)
    trained_configs = [("sigmoid", False), ("sigmoid", True)] if ctx.quick else configs
    runs = {}
    for act, bn in trained_configs:
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging learning rate ends in NaN and loses
            candidates = [_train(act, bn, lr, train, epochs, ctx.seed) for lr in rates]
        run = min(candidates, key=lambda r: r["loss"] if np.isfinite(r["loss"]) else np.inf)
        runs[act, bn] = run
        key = f"{act}{'_bn' if bn else ''}"
        numbers[f"{key}_train_accuracy"] = run["accuracy"][-1]
        numbers[f"{key}_lr"] = run["lr"]
        numbers[f"{key}_trained_first_to_output_ratio"] = run["final_grad_norms"][0] / run["final_grad_norms"][-1]
    numbers["epochs"] = epochs

    with ctx.figure("vanishing_gradients.png", 1, 3, size=(15, 4.4)) as (fig, axes):
        styles = {False: "-", True: "--"}
        colours = {"sigmoid": "C0", "tanh": "C1", "relu": "C2"}
        ax = axes[0]
        for (act, bn), norms in at_init.items():
            ax.semilogy(np.arange(1, len(norms) + 1), norms, colours[act] + styles[bn], marker="o", ms=3,
                        label=_label(act, bn))
        ax.set(title="‖∂L/∂Wₗ‖ at initialization", xlabel="layer l (1 = input side, 11 = output)",
               ylabel="gradient norm")
        ax.legend(fontsize=8)
        ax = axes[1]
        for (act, bn), run in runs.items():
            acc = run["accuracy"]
            ax.plot(np.arange(1, len(acc) + 1), acc, colours[act] + styles[bn], marker="o", ms=3,
                    label=f"{_label(act, bn)} (lr {run['lr']})")
        ax.set(title=f"Training accuracy (best of lr ∈ {list(rates)})", xlabel="epoch", ylabel="training accuracy",
               ylim=(0, 1.02))
        ax.legend(fontsize=8)
        ax = axes[2]
        for (act, bn), run in runs.items():
            norms = run["final_grad_norms"]
            ax.semilogy(np.arange(1, len(norms) + 1), norms, colours[act] + styles[bn], marker="o", ms=3,
                        label=_label(act, bn))
        ax.set(title="‖∂L/∂Wₗ‖ after training (LayerMonitor)", xlabel="layer l", ylabel="gradient norm")
        ax.legend(fontsize=8)

    sigmoid = numbers["sigmoid_init_first_to_output_ratio"]
    confirmed = (sigmoid < 1e-3
                 and numbers["tanh_init_first_to_output_ratio"] >= 100 * sigmoid
                 and numbers["relu_init_first_to_output_ratio"] >= 100 * sigmoid
                 and numbers["sigmoid_bn_init_first_to_output_ratio"] >= 0.1
                 and numbers["sigmoid_bn_train_accuracy"] >= numbers["sigmoid_train_accuracy"] + 0.5)
    return confirmed, numbers
