"""Lab ``batchnorm``: batch normalization makes a layer invariant to the scale of its weights, and a deep
network trains faster with it.

The claim (notes, batch normalization): normalizing each unit's pre-activation over the mini-batch,
ẑ = (z − μ_B)/√(σ²_B + ε), removes the scale of the weights that produced z: BN((cW)x) = BN(Wx) for
c > 0 (up to ε). The gradient then scales like 1/c, ∂L/∂(cW) = (1/c) ∂L/∂W, and is orthogonal to W
(W · ∂L/∂W = 0, since L does not change along W). Because every layer sees inputs of a fixed scale,
a deep network trains faster and tolerates larger learning rates.

Experiment.

1. Invariance. A 64-64-64-10 sigmoid network with ``nn.BatchNorm1d`` after each hidden linear layer
   (float64, training mode), one batch of 128 digits. The first layer's weight and bias are
   multiplied by c ∈ {0.01, 0.1, 10, 100}: the loss's relative change against c = 1,
   ‖∂L/∂W‖ · c / ‖∂L/∂W‖_{c=1} − 1, and the cosine between W and ∂L/∂W. With ε = 10⁻⁵ in the
   denominator, BN sees the scale through ε/(c²σ²) only: the deviations should stay at the level of
   c = 1's own ε/σ² for c ≥ 1 and grow like 1/c² below.
2. Training speed. The network of Ioffe & Szegedy's MNIST experiment made deeper: 10 hidden layers of
   64 sigmoid units, with and without ``BatchNorm1d`` (``nn.MLP(batchnorm=...)``), trained on 1000
   digits (600 quick) with ``optim.SGD(momentum=0.9)``, mini-batches of 32, for 8 epochs (4 quick),
   each at its best rate of the same grid; the training loss after every epoch. The full run adds
   tanh and ReLU networks of the same shape (reported, not in the verdict).

Criterion: for c ∈ {10, 100} the loss changes by less than 10⁻⁶ (relative), the gradient scales as
1/c to within 10⁻⁵ and its cosine with W is below 10⁻⁸; from c = 0.1 to c = 0.01 each deviation grows
by a factor within [50, 200] (the 1/c² of ε/(c²σ²)); and the sigmoid network with batch normalization
ends with a training loss at most half of the plain network's.
"""

import numpy as np

import descend as dc
from descend import data as D
from descend import nn, optim
from descend import train as T
from descend.nn import functional as F

from .base import lab

SCALES = (0.01, 0.1, 10.0, 100.0)


def _digits(n, seed):
    x, t = D.as_arrays(D.digits())
    x = ((x - x.mean(0)) / (x.std(0) + 1e-6)).astype(np.float32)
    idx = np.random.default_rng(seed).permutation(len(x))[:n]
    return x[idx], t[idx]


def _loss_and_gradient(model, x, t, c):
    """Loss and ∂L/∂W₁ with the first layer's weight and bias multiplied by c (restored afterwards)."""
    first = model[0]
    w0, b0 = first.weight.numpy().copy(), first.bias.numpy().copy()
    with dc.no_grad():
        first.weight.mul_(c)
        first.bias.mul_(c)
    model.zero_grad()
    loss = F.cross_entropy(model(x), t)
    loss.backward()
    result = loss.item(), first.weight.grad.numpy().copy(), first.weight.numpy().copy()
    with dc.no_grad():
        first.weight.copy_(w0)
        first.bias.copy_(b0)
    return result


def _invariance(seed):
    x, t = _digits(128, seed)
    dc.manual_seed(seed)
    model = nn.MLP([64, 64, 64, 10], activation="sigmoid", batchnorm=True)
    model.double()
    xs, ts = dc.from_numpy(x.astype(np.float64)), dc.from_numpy(t)
    loss1, grad1, _ = _loss_and_gradient(model, xs, ts, 1.0)
    out = {}
    for c in SCALES:
        loss, grad, w = _loss_and_gradient(model, xs, ts, c)
        out[c] = {"loss_rel_change": abs(loss - loss1) / loss1,
                  "gradient_scale_error": abs(np.linalg.norm(grad) * c / np.linalg.norm(grad1) - 1),
                  "cos_w_grad": abs(float((w * grad).sum())) / (np.linalg.norm(w) * np.linalg.norm(grad))}
    return out


def _train(activation, batchnorm, lr, data, epochs, seed):
    dc.manual_seed(seed)
    model = nn.MLP([64] + [64] * 10 + [10], activation=activation, batchnorm=batchnorm)
    trainer = T.Trainer(model, F.cross_entropy, optim.SGD(model.parameters(), lr=lr, momentum=0.9), batch_size=32,
                        seed=seed, metrics=[], verbose=0)
    losses = [trainer.evaluate(data)["loss"]]
    for epoch in range(1, epochs + 1):
        trainer.fit(data, epochs=1)
        losses.append(trainer.evaluate(data)["loss"])
    return np.array(losses)


@lab("batchnorm", order=360,
     claim="Batch normalization makes a layer's output invariant to the scale of its weights (the gradient shrinks "
           "as 1/scale and is orthogonal to them), and a deep network trains faster with it.",
     source="Notes, optimization: batch normalization")
def experiment(ctx):
    """Run the ``batchnorm`` experiment described in the module docstring (``ctx.quick``: the short run);
    return (confirmed, numbers): the verdict by the stated criterion and the measured values it rests on."""
    inv = _invariance(ctx.seed)
    numbers = {}
    for c, d in inv.items():
        for k, v in d.items():
            numbers[f"scale_{c:g}_{k}"] = v

    x, t = _digits(600 if ctx.quick else 1000, ctx.seed)
    data = D.TensorDataset(x, t)
    epochs = 4 if ctx.quick else 8
    rates = (0.03, 0.1, 0.3) if ctx.quick else (0.01, 0.03, 0.1, 0.3, 1.0)
    activations = ("sigmoid",) if ctx.quick else ("sigmoid", "tanh", "relu")
    curves = {}
    for act in activations:
        for bn in (False, True):
            runs = {lr: _train(act, bn, lr, data, epochs, ctx.seed) for lr in rates}
            lr = min(runs, key=lambda r: runs[r][-1] if np.isfinite(runs[r][-1]) else np.inf)
            curves[(act, bn)] = (lr, runs[lr])
            key = f"{act}_{'batchnorm' if bn else 'plain'}"
            numbers[f"{key}_best_lr"] = lr
            numbers[f"{key}_final_loss"] = float(runs[lr][-1])

    with ctx.figure("batchnorm.png", 1, 2) as (_, (ax1, ax2)):
        cs = np.array(SCALES)
        ax1.loglog(cs, [max(inv[c]["loss_rel_change"], 1e-17) for c in SCALES], "o-", label="|ΔL| / L")
        ax1.loglog(cs, [max(inv[c]["gradient_scale_error"], 1e-17) for c in SCALES], "s-",
                   label="|c‖∂L/∂(cW)‖ / ‖∂L/∂W‖ − 1|")
        ax1.loglog(cs, [max(inv[c]["cos_w_grad"], 1e-17) for c in SCALES], "^-", label="|cos(W, ∂L/∂W)|")
        ax1.set(title="first layer's W, b scaled by c (BN, ε = 10⁻⁵)", xlabel="scale c", ylabel="deviation")
        ax1.legend(fontsize=7)
        for i, act in enumerate(activations):
            for bn, ls in ((False, "--"), (True, "-")):
                lr, losses = curves[(act, bn)]
                ax2.semilogy(np.arange(epochs + 1), losses, ls, marker="o", ms=3, color=f"C{i}",
                             label=f"{act}{' + BN' if bn else ''} (ε = {lr:g})")
        ax2.set(title="10 × 64 hidden units, best ε each (dashed: no BN)", xlabel="epoch",
                ylabel="training cross-entropy")
        ax2.legend(fontsize=7)

    invariant = all(inv[c]["loss_rel_change"] < 1e-6 and inv[c]["gradient_scale_error"] < 1e-5
                    and inv[c]["cos_w_grad"] < 1e-8 for c in (10.0, 100.0))
    growth = {k: inv[0.01][k] / inv[0.1][k] for k in inv[0.1]}
    for k, v in growth.items():
        numbers[f"{k}_growth_from_0.1_to_0.01"] = v
    invariant &= all(50 <= v <= 200 for v in growth.values())
    confirmed = invariant and numbers["sigmoid_batchnorm_final_loss"] <= numbers["sigmoid_plain_final_loss"] / 2
    return confirmed, numbers
