"""Lab ``full-batch-methods``: Rprop and L-BFGS need full batches; SGD does not.

The claim (notes, optimization): some methods only work with the exact gradient of the whole
training set. Rprop adapts each weight's step from the *signs* of successive gradients (grow it
while the sign stays, shrink it when it flips): with mini-batches the sign flips from noise, the
steps shrink towards Δ_min and every batch counts the same whatever the size of its gradient, so
it stalls away from the minimum. L-BFGS builds its curvature model from differences of
successive gradients, y = g_{k+1} − g_k, and chooses steps by a line search: with mini-batches y is
mostly the difference between two batches, and the model and the searches are wrong. SGD, in
contrast, only needs an unbiased gradient and profits from mini-batches.

Experiment. A 64-32-10 tanh network (float64) on N standardized digits (300 quick, 600 full), the
same initialization everywhere. Each method runs with full batches and with mini-batches of 32
(reshuffled every epoch) for the same 40 passes over the data (every closure evaluation
counts, line-search evaluations included): ``optim.Rprop`` (initial step Δ₀ from a grid),
``optim.LBFGS`` (``history_size=10``, strong-Wolfe line search, one iteration per ``step``; rate from
a grid) and ``optim.SGD`` (rate from a grid). Each (method, batching) keeps its best setting by the
final training loss on the whole set.

Criterion: with full batches Rprop and L-BFGS end at a lower training loss than with mini-batches,
and SGD ends lower with mini-batches than with full batches.
"""

import numpy as np

import descend as dc
from descend import data as D
from descend import nn, optim
from descend.nn import functional as F

from .base import lab

GRIDS_QUICK = {"Rprop": (0.01, 0.1), "L-BFGS": (1.0,), "SGD": (0.3, 3.0)}
GRIDS_FULL = {"Rprop": (0.001, 0.01, 0.1), "L-BFGS": (0.1, 1.0), "SGD": (0.1, 0.3, 1.0, 3.0)}


def _optimizer(method, params, lr):
    if method == "Rprop":
        return optim.Rprop(params, lr=lr)
    if method == "L-BFGS":
        return optim.LBFGS(params, lr=lr, max_iter=1, max_eval=25, history_size=10, line_search_fn="strong_wolfe")
    return optim.SGD(params, lr=lr)


def _train(method, lr, batch_size, data, epochs, seed):
    """Full-set training loss against passes over the data: list of (epochs done, loss)."""
    x, t = (dc.from_numpy(a) for a in D.as_arrays(data))
    dc.manual_seed(seed)
    model = nn.MLP([64, 32, 10], activation="tanh")
    model.double()
    opt = _optimizer(method, model.parameters(), lr)
    n = len(data)
    loader = D.DataLoader(data, batch_size=batch_size or n, shuffle=batch_size is not None, seed=seed)
    seen = 0

    def full_loss():
        with dc.no_grad():
            return F.cross_entropy(model(x), t).item()

    curve = [(0.0, full_loss())]
    while seen < epochs * n:
        for xb, tb in loader:
            def closure(xb=xb, tb=tb):
                nonlocal seen
                opt.zero_grad()
                loss = F.cross_entropy(model(xb), tb)
                loss.backward()
                seen += len(tb)                 # every evaluation reads its batch once
                return loss

            if opt.needs_closure:
                opt.step(closure)
            else:
                closure()
                opt.step()
            if seen >= epochs * n:
                break
        curve.append((seen / n, full_loss()))
    return curve


@lab("full-batch-methods", order=270,
     claim="Rprop and L-BFGS need full batches: with mini-batches their sign-based steps and curvature estimates "
           "are corrupted by the noise, while SGD works well with mini-batches.",
     source="Notes, optimization: Rprop and L-BFGS (full-batch methods) versus stochastic gradient descent")
def experiment(ctx):
    """Run the ``full-batch-methods`` experiment described in the module docstring (``ctx.quick``: the short run);
    return (confirmed, numbers): the verdict by the stated criterion and the measured values it rests on."""
    x, t = D.as_arrays(D.digits())
    x = ((x - x.mean(0)) / (x.std(0) + 1e-6)).astype(np.float64)
    idx = np.random.default_rng(ctx.seed).permutation(len(x))[:300 if ctx.quick else 600]
    data = D.TensorDataset(x[idx], t[idx])
    epochs = 40
    grids = GRIDS_QUICK if ctx.quick else GRIDS_FULL
    best, numbers = {}, {}
    for method, rates in grids.items():
        for batch_size, label in ((None, "full batch"), (32, "mini-batch 32")):
            runs = {lr: _train(method, lr, batch_size, data, epochs, ctx.seed) for lr in rates}
            lr = min(runs, key=lambda k: runs[k][-1][1] if np.isfinite(runs[k][-1][1]) else np.inf)
            best[(method, label)] = (lr, runs[lr])
            key = f"{method.lower().replace('-', '')}_{'full' if batch_size is None else 'minibatch'}"
            numbers[f"{key}_lr"] = lr
            numbers[f"{key}_final_loss"] = runs[lr][-1][1]

    with ctx.figure("full_batch_methods.png", 1, 3) as (_, axes):
        for ax, method in zip(axes, grids):
            for i, label in enumerate(("full batch", "mini-batch 32")):
                lr, curve = best[(method, label)]
                e, loss = np.array(curve).T
                ax.semilogy(e, np.maximum(loss, 1e-12), "o-" if label == "full batch" else "s-", ms=2, lw=1,
                            color=f"C{i}", label=f"{label} (ε = {lr:g})")
            ax.set(title=method, xlabel="passes over the data (epochs)", ylabel="training cross-entropy (full set)")
            ax.legend(fontsize=7)

    confirmed = (numbers["rprop_full_final_loss"] < numbers["rprop_minibatch_final_loss"]
                 and numbers["lbfgs_full_final_loss"] < numbers["lbfgs_minibatch_final_loss"]
                 and numbers["sgd_minibatch_final_loss"] < numbers["sgd_full_final_loss"])
    return confirmed, numbers
