"""Lab ``init-variance``: activation and gradient scale through 20 layers under naive, Glorot and He init.

Claim. In a layer aᵢ = Σⱼ Wᵢⱼ hⱼ with m inputs, Var a = m Var W · E[h²]. Unless m Var W is
matched to the nonlinearity, the activations' scale is multiplied by the same factor at every
layer, so it vanishes or explodes geometrically with depth, and so do the back-propagated
gradients (Var δ is multiplied by m_out Var W · E[g′²] per layer). Glorot/Xavier,
Var W = 2/(fan_in + fan_out), keeps both about constant for tanh (which is linear near 0); He,
Var W = 2/fan_in, does it for ReLU, which zeroes half of its inputs (E[relu(a)²] = Var a / 2).

Experiment: 20 fully connected layers of width m (bias 0), tanh or ReLU, on a batch of standard
normal inputs, for four initializations: "naive" N(0, 1); "standard" U(±1/√m) (Var W = 1/(3m),
the common heuristic the notes and Glorot & Bengio compare against, ``efficient_backprop_uniform_``);
Glorot (``xavier_normal_``); He (``kaiming_normal_``). For each layer l: the standard deviation of
its activations hₗ (forward), and of the gradient ∂L/∂aₗ of its pre-activations (backward) for
L = Σ hₗ ⊙ r with a fixed random r. For tanh also the fraction of saturated units (|h| > 0.99).

Theory (per layer, linear regime): the std is multiplied by √(m Var W · c) with c = 1 for tanh
and ½ for ReLU: U(±1/√m) gives 0.577 (tanh) and 0.408 (ReLU), Glorot with ReLU 0.707.

Criterion: "about constant" = the largest and smallest std over the 20 layers differ by less than
a factor 10, forward and backward. Confirmed if Glorot with tanh and He with ReLU are about
constant, while the naive N(0, 1) and U(±1/√m) initializations (both activations) and Glorot with
ReLU change by more than a factor 100 in at least one direction.
"""

import numpy as np

import descend as dc
from descend import nn

from .base import lab

SCHEMES = {
    "naive N(0, 1)": lambda w: nn.init.normal_(w, 0.0, 1.0),
    "standard U(±1/√m)": nn.init.efficient_backprop_uniform_,
    "Glorot": nn.init.xavier_normal_,
    "He": lambda w: nn.init.kaiming_normal_(w, nonlinearity="relu"),
}


def _propagate(activation, scheme, width, depth, batch, seed):
    """Forward and backward standard deviations per layer (float64), and tanh's saturated fraction."""
    dc.manual_seed(seed)
    layers = [nn.Linear(width, width, dtype=dc.float64) for _ in range(depth)]
    for layer in layers:
        SCHEMES[scheme](layer.weight)
        layer.requires_grad_(False)
    h = dc.randn(batch, width, dtype=dc.float64, requires_grad=True)
    pre, post = [], []
    for layer in layers:
        a = layer(h)
        a.retain_grad()
        h = a.tanh() if activation == "tanh" else a.relu()
        pre.append(a)
        post.append(h)
    r = dc.randn(batch, width, dtype=dc.float64)
    (h * r).sum().backward()
    with np.errstate(over="ignore", invalid="ignore"):
        forward = [float(np.std(p.numpy())) for p in post]
        backward = [float(np.std(a.grad.numpy())) for a in pre]
        saturated = [float(np.mean(np.abs(p.numpy()) > 0.99)) for p in post]
    return forward, backward, saturated


def _spread(stds):
    """max/min of the per-layer std (inf if any is 0 or not finite)."""
    s = np.asarray(stds)
    if not np.all(np.isfinite(s)) or np.min(s) <= 0:
        return float("inf")
    return float(np.max(s) / np.min(s))


@lab("init-variance", order=80,
     claim="With a naive initialization the activations' (and gradients') variance shrinks or explodes layer by "
           "layer; Glorot/Xavier initialization keeps it about constant for tanh, He initialization for ReLU.",
     source="Notes, training in practice: initialization (Glorot/Xavier and He)")
def experiment(ctx):
    """Run the ``init-variance`` experiment described in the module docstring (``ctx.quick``: the short run);
    return (confirmed, numbers): the verdict by the stated criterion and the measured values it rests on."""
    width, depth, batch = (128, 20, 256) if ctx.quick else (256, 20, 1000)
    results, numbers = {}, {"width": width, "depth": depth}
    for activation in ("tanh", "relu"):
        for scheme in SCHEMES:
            forward, backward, saturated = _propagate(activation, scheme, width, depth, batch, ctx.seed)
            results[activation, scheme] = (forward, backward)
            key = f"{activation}_{scheme.split()[0].lower()}"
            numbers[f"{key}_forward_std"] = forward
            numbers[f"{key}_backward_std"] = backward
            numbers[f"{key}_forward_spread"] = _spread(forward)
            numbers[f"{key}_backward_spread"] = _spread(backward)
            half = depth // 2
            numbers[f"{key}_forward_factor_per_layer"] = (
                float((forward[-1] / forward[half - 1]) ** (1 / (depth - half)))
                if np.isfinite(forward[-1]) and forward[half - 1] > 0 else None)
            if activation == "tanh":
                numbers[f"{key}_saturated_fraction_last_layer"] = saturated[-1]
    numbers["theory_factor_standard_tanh"] = float(np.sqrt(1 / 3))
    numbers["theory_factor_standard_relu"] = float(np.sqrt(1 / 6))
    numbers["theory_factor_glorot_relu"] = float(np.sqrt(1 / 2))

    def constant(key):
        return numbers[f"{key}_forward_spread"] < 10 and numbers[f"{key}_backward_spread"] < 10

    def broken(key):
        return numbers[f"{key}_forward_spread"] > 100 or numbers[f"{key}_backward_spread"] > 100

    confirmed = (constant("tanh_glorot") and constant("relu_he")
                 and all(broken(k) for k in ("tanh_naive", "tanh_standard", "relu_naive", "relu_standard",
                                             "relu_glorot")))

    with ctx.figure("init_variance.png", 2, 2, size=(11, 8)) as (fig, axes):
        layers = np.arange(1, depth + 1)
        for col, activation in enumerate(("tanh", "relu")):
            for row, (direction, label) in enumerate((("forward", "std of the activations hₗ"),
                                                      ("backward", "std of the gradient ∂L/∂aₗ"))):
                ax = axes[2 * row + col]
                for scheme in SCHEMES:
                    stds = np.asarray(results[activation, scheme][row], dtype=float)
                    stds[~np.isfinite(stds)] = np.nan
                    ax.semilogy(layers, stds, "o-", ms=3, label=scheme)
                ax.set(title=f"{activation}: {direction}", xlabel="layer l", ylabel=label)
                ax.legend(fontsize=8)
    return confirmed, numbers
