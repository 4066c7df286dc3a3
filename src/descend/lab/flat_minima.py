"""Lab ``flat-minima``: small-batch SGD ends in flatter minima than large-batch training, and they generalize
better.

The claim (notes, optimization and generalization; Keskar et al. 2017): the noise of small
mini-batches keeps SGD out of sharp minima — minima where the loss rises steeply, measured by the
largest eigenvalue λ_max of the Hessian of the training loss — so small-batch training ends in
flatter minima than large-batch training, and flat minima go with a lower test error.

Experiment. A 64-64-10 tanh network on 1000 standardized digits (tested on the other 797), on three
random splits (seeds s, s + 1, s + 2). ``optim.SGD(lr=0.1)`` with mini-batches of 16 and of 512,
both from the same initialization, each trained until its training cross-entropy (on the whole
set, checked after every step) falls below the same target (0.01; 0.03 quick), so that the two are
compared at the same training loss — λ_max of a cross-entropy Hessian shrinks with the loss itself. Then,
in float64, ``descend.analysis.sharpness`` of the training loss: λ_max of its Hessian (Lanczos on
Hessian-vector products) and Keskar et al.'s ε-sharpness φ_ε (ε = 10⁻³: the largest relative rise of
the loss, in percent, in the box |y_i| ≤ ε(|θ_i| + 1)); and the test error and negative log-likelihood.

Criterion: on every split, the small-batch minimum has the smaller λ_max and no higher test error.
(φ_ε is reported beside λ_max, not part of the criterion.)
"""

import numpy as np

import descend as dc
from descend import analysis as A
from descend import data as D
from descend import nn, optim
from descend import train as T
from descend.nn import functional as F

from .base import lab

BATCHES = (16, 512)


class StopAtLoss(T.Callback):
    """Stop training after the first step at which the loss on the whole training set is below ``target``
    (measured every 10 steps while it is above 1.2 × target, then after every step)."""

    def __init__(self, x, t, target):
        self.x, self.t, self.target = x, t, target
        self.loss = np.inf

    def on_batch_end(self, trainer, batch, logs):
        """Measure the whole training set's loss (see the class docstring); stop training once below target."""
        if self.loss > 1.2 * self.target and trainer.global_step % 10:
            return
        with dc.no_grad():
            self.loss = F.cross_entropy(trainer.model(self.x), self.t).item()
        if self.loss < self.target:
            trainer.stop_training = True


def _train_to(data, x, t, batch_size, target, seed, max_epochs=4000):
    """Train until the training loss is below ``target`` (checked after every step): (model, steps, loss)."""
    dc.manual_seed(seed)
    model = nn.MLP([64, 64, 10], activation="tanh")
    stop = StopAtLoss(x, t, target)
    trainer = T.Trainer(model, F.cross_entropy, optim.SGD(model.parameters(), lr=0.1), batch_size=batch_size,
                        callbacks=[stop], seed=seed, metrics=[], verbose=0)
    trainer.fit(data, epochs=max_epochs)
    return model, trainer.global_step, stop.loss


def _split(seed, target):
    x, t = D.as_arrays(D.digits())
    x = ((x - x.mean(0)) / (x.std(0) + 1e-6)).astype(np.float32)
    order = np.random.default_rng(seed).permutation(len(x))
    train, test = order[:1000], order[1000:]
    data = D.TensorDataset(x[train], t[train])
    xs, ts = dc.from_numpy(x[train]), dc.from_numpy(t[train])
    xe, te = dc.from_numpy(x[test]), t[test]
    out = {}
    for m in BATCHES:
        model, steps, loss = _train_to(data, xs, ts, m, target, seed)
        model.double()
        x64, t64 = xs.to(dc.float64), ts
        sharp = A.sharpness(lambda: F.cross_entropy(model(x64), t64), list(model.parameters()), epsilon=1e-3,
                            seed=seed)
        with dc.no_grad():
            logp = model(xe.to(dc.float64)).log_softmax(-1).numpy()
        out[m] = {"steps": steps, "train_loss": loss, "lambda_max": sharp["top_eigenvalue"],
                  "epsilon_sharpness": sharp["epsilon_sharpness"],
                  "test_error": float((logp.argmax(1) != te).mean()),
                  "test_nll": float(-logp[np.arange(len(te)), te].mean())}
    return out


@lab("flat-minima", order=370,
     claim="Small-batch SGD ends in flatter minima (a smaller largest Hessian eigenvalue) than large-batch "
           "training, and these flat minima have a lower test error.",
     source="Notes, optimization: mini-batch size, sharp and flat minima and generalization")
def experiment(ctx):
    """Run the ``flat-minima`` experiment described in the module docstring (``ctx.quick``: the short run);
    return (confirmed, numbers): the verdict by the stated criterion and the measured values it rests on."""
    target = 0.03 if ctx.quick else 0.01
    splits = {seed: _split(seed, target) for seed in range(ctx.seed, ctx.seed + 3)}
    numbers = {"target_train_loss": target}
    for m in BATCHES:
        for k in ("steps", "train_loss", "lambda_max", "epsilon_sharpness", "test_error", "test_nll"):
            numbers[f"batch{m}_{k}_per_split"] = [splits[s][m][k] for s in splits]
    flatter = [splits[s][16]["lambda_max"] < splits[s][512]["lambda_max"] for s in splits]
    better = [splits[s][16]["test_error"] <= splits[s][512]["test_error"] for s in splits]
    numbers["small_batch_flatter_on_splits"] = sum(flatter)
    numbers["small_batch_test_error_not_higher_on_splits"] = sum(better)

    with ctx.figure("flat_minima.png", 1, 2) as (_, (ax1, ax2)):
        for m, marker in zip(BATCHES, ("o", "s")):
            lam = [splits[s][m]["lambda_max"] for s in splits]
            err = [splits[s][m]["test_error"] * 100 for s in splits]
            ax1.scatter(lam, err, marker=marker, s=40, label=f"batch {m}")
        for s in splits:
            ax1.plot([splits[s][16]["lambda_max"], splits[s][512]["lambda_max"]],
                     [splits[s][16]["test_error"] * 100, splits[s][512]["test_error"] * 100], "k:", lw=0.8)
        ax1.set(title=f"at training loss {target:g} (dotted: same split)", xlabel="λ_max of the training loss",
                ylabel="test error (%)")
        ax1.legend(fontsize=7)
        pos = np.arange(len(splits))
        for i, m in enumerate(BATCHES):
            ax2.bar(pos + (i - 0.5) * 0.4, [splits[s][m]["lambda_max"] for s in splits], width=0.4,
                    label=f"batch {m}")
        ax2.set(title="largest Hessian eigenvalue per split", xlabel="random split", ylabel="λ_max", xticks=pos,
                xticklabels=[f"seed {s}" for s in splits])
        ax2.legend(fontsize=7)

    confirmed = all(flatter) and all(better)
    return confirmed, numbers
