"""Lab ``overfitting``: training loss keeps falling while validation loss turns up; early stopping picks the minimum.

Claim. Training minimizes the empirical risk on the training set, so the training loss keeps
falling. The expected loss on new data, estimated on a held-out validation set, first falls with
it, reaches a minimum, and then rises as the network fits the training set's noise (overfitting).
Early stopping watches the validation loss, stops when it has not improved for ``patience``
epochs, and returns the parameters of its best epoch: a network that generalizes better than the
one at the end of training.

Experiment: two moons with much overlap (noise 0.35); 60 training points, 500 validation and 500
test points (independent draws). A large network, ``nn.MLP([2, 256, 256, 2])`` with ReLU, trained by
Adam (lr 3·10⁻³, full batch) for a long budget, recording training and validation loss every epoch.
Then the same run (same seed, so the same trajectory) with ``train.EarlyStopping(monitor="val_loss",
mode="min", patience=20, restore_best_weights=True)``.

Criterion: the validation loss has its minimum in the first half of the budget and ends at least
1.5 times higher; the training loss at the end is less than half its value at that minimum; early
stopping stops at its best epoch + patience, its restored network's validation loss is within 5% of
the curve's minimum, and its test loss is lower than that of the network at the end of training.
"""

import numpy as np

import descend as dc
from descend import data as D
from descend import nn, optim
from descend import train as T
from descend.nn import functional as F

from .base import lab

PATIENCE = 20


def _trainer(seed, callbacks=()):
    dc.manual_seed(seed)
    net = nn.MLP([2, 256, 256, 2], activation="relu")
    return T.Trainer(net, F.cross_entropy, optim.Adam(net.parameters(), lr=3e-3), batch_size=60, seed=seed,
                     callbacks=list(callbacks), verbose=0)


@lab("overfitting", order=300,
     claim="As training proceeds the training loss keeps falling while the validation loss reaches a minimum and "
           "then rises (overfitting); early stopping returns the parameters at the validation minimum.",
     source="Notes, regularization and model selection: overfitting, validation and early stopping")
def experiment(ctx):
    """Run the ``overfitting`` experiment described in the module docstring (``ctx.quick``: the short run);
    return (confirmed, numbers): the verdict by the stated criterion and the measured values it rests on."""
    train = D.two_moons(60, noise=0.35, seed=ctx.seed)
    val = D.two_moons(500, noise=0.35, seed=ctx.seed + 1000)
    test = D.two_moons(500, noise=0.35, seed=ctx.seed + 2000)
    epochs = 200 if ctx.quick else 600

    full = _trainer(ctx.seed)
    history = full.fit(train, val=val, epochs=epochs)
    train_loss, val_loss = np.asarray(history["loss"]), np.asarray(history["val_loss"])
    best = int(np.argmin(val_loss))
    end_test = full.evaluate(test)

    stopper = T.EarlyStopping(monitor="val_loss", mode="min", patience=PATIENCE, restore_best_weights=True)
    early = _trainer(ctx.seed, [stopper])
    early.fit(train, val=val, epochs=epochs)
    early_val, early_test = early.evaluate(val), early.evaluate(test)

    numbers = {"epochs": epochs,
               "val_min_epoch": best + 1,
               "val_loss_min": float(val_loss[best]),
               "val_loss_end": float(val_loss[-1]),
               "train_loss_at_val_min": float(train_loss[best]),
               "train_loss_end": float(train_loss[-1]),
               "train_accuracy_end": history["accuracy"][-1],
               "val_accuracy_at_val_min": history["val_accuracy"][best],
               "val_accuracy_end": history["val_accuracy"][-1],
               "early_stopping_best_epoch": stopper.best_epoch,
               "early_stopping_stopped_epoch": stopper.stopped_epoch,
               "early_stopping_val_loss": early_val["loss"],
               "early_stopping_test_loss": early_test["loss"],
               "early_stopping_test_accuracy": early_test["accuracy"],
               "end_of_training_test_loss": end_test["loss"],
               "end_of_training_test_accuracy": end_test["accuracy"]}

    with ctx.figure("overfitting.png", 1, 3, size=(15, 4.2)) as (fig, axes):
        ax = axes[0]
        e = np.arange(1, epochs + 1)
        ax.semilogy(e, train_loss, label="training loss")
        ax.semilogy(e, val_loss, label="validation loss")
        ax.axvline(best + 1, color="k", ls=":", label=f"validation minimum (epoch {best + 1})")
        if stopper.stopped_epoch is not None:
            ax.axvline(stopper.stopped_epoch, color="C3", ls="--", label=f"early stopping stops (epoch "
                                                                            f"{stopper.stopped_epoch})")
        ax.set(title="Cross-entropy per epoch", xlabel="epoch", ylabel="loss")
        ax.legend(fontsize=8)
        xs, ts = D.as_arrays(train)
        g = np.linspace(-2, 3, 150)
        gx, gy = np.meshgrid(g, np.linspace(-1.8, 2.2, 120))
        grid = dc.tensor(np.stack([gx.ravel(), gy.ravel()], 1))
        for ax, (title, trainer, result) in zip(axes[1:], (
                (f"early stopping (epoch {stopper.best_epoch})", early, early_test),
                (f"end of training (epoch {epochs})", full, end_test))):
            net = trainer.model
            net.eval()
            with dc.no_grad():
                p = F.softmax(net(grid), dim=1).numpy()[:, 1].reshape(gx.shape)
            ax.contourf(gx, gy, p, levels=np.linspace(0, 1, 11), cmap="coolwarm", alpha=0.5)
            ax.contour(gx, gy, p, levels=[0.5], colors="k", linewidths=1)
            ax.scatter(xs[:, 0], xs[:, 1], c=ts, cmap="coolwarm", edgecolors="k", s=25, label="training points")
            ax.set(title=f"{title}\ntest loss {result['loss']:.3f}, test accuracy {result['accuracy']:.3f}",
                   xlabel="x1", ylabel="x2")
            ax.legend(fontsize=8, loc="lower left")

    confirmed = (best + 1 <= epochs // 2
                 and val_loss[-1] >= 1.5 * val_loss[best]
                 and train_loss[-1] < 0.5 * train_loss[best]
                 and stopper.stopped_epoch == stopper.best_epoch + PATIENCE
                 and early_val["loss"] <= 1.05 * val_loss[best]
                 and early_test["loss"] < end_test["loss"])
    return confirmed, numbers
