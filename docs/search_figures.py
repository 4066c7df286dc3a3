"""Make the figures of docs/search.md (PNG files in docs/img/):

- ``search_grid_vs_random.png``: Bergstra & Bengio's argument. The validation error depends strongly on
  one hyperparameter and hardly on the other, f(x, y) = g(x) + 0.1 h(y); nine trials on a 3 x 3 grid try
  only three values of the one that matters, nine random trials try nine.
- ``search_lr.png``: the notes' "impact of the learning rate", made by ``descend search
  examples/search_lr.toml`` (its plots/learning_curves.png).

    PYTHONPATH=src python docs/search_figures.py
"""

import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
from matplotlib.figure import Figure

HERE = os.path.dirname(os.path.abspath(__file__))
IMG = os.path.join(HERE, "img")


def g(x):
    """The important hyperparameter's effect: a narrow valley at x = 0.62."""
    return 1 - np.exp(-((x - 0.62) / 0.08) ** 2)


def h(y):
    """The unimportant one's: almost flat."""
    return 0.5 + 0.5 * np.cos(3 * y)


def grid_vs_random(path):
    grid = np.array([(x, y) for x in (1 / 6, 3 / 6, 5 / 6) for y in (1 / 6, 3 / 6, 5 / 6)])
    rand = np.random.default_rng(2).random((9, 2))
    fig = Figure(figsize=(9, 5), layout="constrained")
    axes = fig.subplots(2, 2, height_ratios=[1, 3], sharex="col")
    u = np.linspace(0, 1, 400)
    for col, (pts, name) in enumerate(((grid, "grid search"), (rand, "random search"))):
        top, ax = axes[0, col], axes[1, col]
        top.plot(u, g(u), color="0.3")
        top.plot(pts[:, 0], g(pts[:, 0]), "o", color="tab:red")
        top.set_ylabel("g(x)")
        top.set_title(f"{name}: {len(set(np.round(pts[:, 0], 6)))} values of x tried,\nbest g = "
                      f"{g(pts[:, 0]).min():.2f}", fontsize=10)
        xx, yy = np.meshgrid(u, u)
        ax.contourf(xx, yy, g(xx) + 0.1 * h(yy), levels=20, cmap="viridis")
        ax.plot(pts[:, 0], pts[:, 1], "o", color="tab:red", markeredgecolor="white")
        ax.set_xlabel("x: important hyperparameter")
        ax.set_ylabel("y: unimportant hyperparameter")
    fig.suptitle("9 trials each; validation error f(x, y) = g(x) + 0.1 h(y), darker is better")
    fig.savefig(path, dpi=70)


def learning_rate(path):
    with tempfile.TemporaryDirectory() as tmp:
        study = os.path.join(tmp, "lr")
        subprocess.run([sys.executable, "-m", "descend.cli", "search", os.path.join(HERE, "..", "examples",
                                                                                    "search_lr.toml"),
                        "--out", study], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.copy(os.path.join(study, "plots", "learning_curves.png"), path)


if __name__ == "__main__":
    os.makedirs(IMG, exist_ok=True)
    grid_vs_random(os.path.join(IMG, "search_grid_vs_random.png"))
    learning_rate(os.path.join(IMG, "search_lr.png"))
    print(f"wrote {IMG}/search_grid_vs_random.png and {IMG}/search_lr.png")
