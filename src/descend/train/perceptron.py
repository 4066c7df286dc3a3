"""``perceptron``: Rosenblatt's perceptron trained with the notes' learning rule.

The unit outputs o = 1[θ·x̃ > 0] with x̃ = (x, 1) (the bias is the last weight). For each batch
(one example in ``mode="online"``), θ ← θ − α Σᵢ (oᵢ − tᵢ) x̃ᵢ (``optim.functional.perceptron_update``):
only misclassified examples move θ. On linearly separable data the rule converges in a finite
number of updates (Novikoff); on XOR it never does.
"""

import numpy as np

from ..data import DataLoader, TensorDataset, as_arrays


class PerceptronResult:
    """θ = (w, b) after training, ``errors`` (misclassified examples per epoch) and ``converged``."""

    def __init__(self, theta, errors):
        self.theta = theta
        self.errors = errors
        self.converged = bool(errors) and errors[-1] == 0

    @property
    def weight(self):
        """w, the weights (θ without its last entry)."""
        return self.theta[:-1]

    @property
    def bias(self):
        """b, the bias (θ's last entry), a float."""
        return float(self.theta[-1])

    def predict(self, x):
        """o = 1[w·x + b > 0] for x (N, d): (N,) int64."""
        x = np.asarray(getattr(x, "data", x), dtype=np.float64)
        return (x @ self.weight + self.bias > 0).astype(np.int64)


def perceptron(data, epochs=100, lr=1.0, mode="online", batch_size=1, seed=None):
    """Train a perceptron on ``data`` (Dataset or (X, t) with X (N, d), t (N,) or (N, 1) in {0, 1}) until an
    epoch makes no error or ``epochs`` epochs ran; returns a :class:`PerceptronResult`."""
    from ..optim.functional import perceptron_update
    if isinstance(data, tuple):
        data = TensorDataset(*data)
    x, t = as_arrays(data)[:2]
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    t = np.asarray(t).reshape(len(t), -1)
    if t.shape[1] != 1:
        raise ValueError(f"perceptron: targets must be one label per example, got shape {t.shape}")
    xt = np.hstack([x, np.ones((len(x), 1))])
    loader = DataLoader(TensorDataset(xt, t[:, 0].astype(np.float64)), batch_size=batch_size, mode=mode, seed=seed)
    theta = np.zeros(xt.shape[1])
    errors = []
    for _ in range(epochs):
        for xb, tb in loader:
            perceptron_update(theta, xb.data, tb.data, lr=lr)
        errors.append(int(((xt @ theta > 0).astype(np.float64) != t[:, 0]).sum()))
        if errors[-1] == 0:
            break
    return PerceptronResult(theta, errors)
