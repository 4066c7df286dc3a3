"""Lab ``linear-collapse``: without a nonlinearity, stacked layers are one linear map.

A network of L linear layers y = W_L(⋯(W_2(W_1 x + b_1) + b_2)⋯) + b_L equals the single layer
y = W x + b with W = W_L⋯W_1 and b = Σ_k W_L⋯W_{k+1} b_k, whatever the depth. The experiment
(1) checks that identity on random weights, and (2) trains a deep linear network and the same
network with tanh units on two moons, with the same budget, and compares their training loss
with the convex optimum of a single linear layer (found by L-BFGS): no linear map can go below
that optimum, so the deep linear network cannot; the nonlinear one can.
"""

import numpy as np

import descend as dc
from descend import data as D
from descend import nn, optim
from descend import train as T
from descend.nn import functional as F

from .base import lab


def _collapse(model):
    """(W, b) of the single linear map equal to a Sequential of Linear layers."""
    W, b = None, None
    for layer in model:
        Wk, bk = layer.weight.numpy().astype(np.float64), layer.bias.numpy().astype(np.float64)
        W, b = (Wk, bk) if W is None else (Wk @ W, Wk @ b + bk)
    return W, b


def _train(model, train, epochs, seed):
    """Adam on mini-batches; returns the final cross-entropy on the whole training set."""
    dc.manual_seed(seed)
    trainer = T.Trainer(model, F.cross_entropy, optim.Adam(model.parameters(), lr=0.02), metrics=["accuracy"],
                        verbose=0)
    trainer.fit(D.DataLoader(train, batch_size=64, shuffle=True, seed=seed), epochs=epochs)
    return trainer.evaluate(train)


def _linear_optimum(train):
    """The lowest training cross-entropy any linear map reaches: the convex optimum of one layer (L-BFGS)."""
    x, t = (dc.tensor(a) for a in D.as_arrays(train))
    layer = nn.Linear(2, 2)
    opt = optim.LBFGS(layer.parameters(), max_iter=500, tolerance_grad=1e-9, tolerance_change=0,
                      line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        loss = F.cross_entropy(layer(x), t)
        loss.backward()
        return loss

    opt.step(closure)
    with dc.no_grad():
        return layer, float(F.cross_entropy(layer(x), t).item())


@lab("linear-collapse", order=30,
     claim="Without a nonlinearity, stacking layers adds nothing: a network of linear layers is one linear map.",
     source="Notes, feed-forward networks: why hidden units need a nonlinear activation function")
def experiment(ctx):
    """Run the ``linear-collapse`` experiment described in the module docstring (``ctx.quick``: the short run);
    return (confirmed, numbers): the verdict by the stated criterion and the measured values it rests on."""
    dc.manual_seed(ctx.seed)
    depth, width = 5, 16
    deep_linear = nn.Sequential(nn.Linear(2, width), *[nn.Linear(width, width) for _ in range(depth - 2)],
                                nn.Linear(width, 2))
    x = dc.randn(256, 2, dtype=dc.float64)
    deep_linear.double()
    W, b = _collapse(deep_linear)
    with dc.no_grad():
        y = deep_linear(x).numpy()
    collapse_error = float(np.max(np.abs(y - (x.numpy() @ W.T + b))))

    data = D.two_moons(400 if ctx.quick else 1000, noise=0.15, seed=ctx.seed)
    train, _, test = D.train_val_test_split(data, val=0.0, test=0.3, seed=ctx.seed)
    epochs = 30 if ctx.quick else 100

    def deep(act):
        layers = [nn.Linear(2, width)]
        for _ in range(depth - 2):
            layers += ([act()] if act else []) + [nn.Linear(width, width)]
        return nn.Sequential(*layers, *([act()] if act else []), nn.Linear(width, 2))

    dc.manual_seed(ctx.seed)
    single, optimum = _linear_optimum(train)
    models = {f"{depth} linear layers": deep(None), f"{depth} layers with tanh": deep(nn.Tanh)}
    logs = {k: _train(m, train, epochs, ctx.seed) for k, m in models.items()}
    models = {"one linear layer (optimum)": single, **models}
    loss = {"one linear layer (optimum)": optimum, **{k: v["loss"] for k, v in logs.items()}}

    with ctx.figure("boundaries.png", 1, 3) as (fig, axes):
        xs, ts = D.as_arrays(test)
        g = np.linspace(-2, 3, 120)
        gx, gy = np.meshgrid(g, np.linspace(-1.5, 2, 100))
        grid = dc.tensor(np.stack([gx.ravel(), gy.ravel()], 1))
        for ax, (k, m) in zip(axes, models.items()):
            with dc.no_grad():
                z = m(grid).numpy().argmax(1).reshape(gx.shape)
            ax.contourf(gx, gy, z, alpha=0.3, cmap="coolwarm")
            ax.scatter(xs[:, 0], xs[:, 1], c=ts, s=6, cmap="coolwarm")
            ax.set(title=f"{k}\ntraining loss {loss[k]:.3f}", xlabel="x1", ylabel="x2")

    numbers = {"collapse_max_abs_error": collapse_error,
               "train_loss_linear_optimum": optimum,
               "train_loss_deep_linear": loss[f"{depth} linear layers"],
               "train_loss_deep_tanh": loss[f"{depth} layers with tanh"]}
    # No linear map can go below the convex optimum of one layer; a nonlinear network can.
    confirmed = (collapse_error < 1e-9 and numbers["train_loss_deep_linear"] >= optimum - 1e-3
                 and numbers["train_loss_deep_tanh"] < optimum - 0.05)
    return confirmed, numbers
