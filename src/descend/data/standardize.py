"""``Standardize``: x ↦ (x - μ) / σ per input feature, with μ and σ estimated on the training set only."""

import numpy as np

from ..autodiff import Tensor
from ..autodiff.extend import wrap
from .dataset import TensorDataset, as_arrays


class Standardize:
    """Per-feature standardisation z = (x - μ) / σ, fitted on training inputs X (N, ...) only.

    μ, σ have the shape of one example; features with σ < ``eps`` keep σ = 1 (constant pixels).
    Apply to arrays, Tensors or data sets (``__call__``); ``state_dict()`` holds μ and σ.
    """

    def __init__(self, eps=1e-8):
        self.eps = eps
        self.mean = None
        self.std = None

    def fit(self, data):
        """Estimate μ and σ from ``data``: an array/Tensor (N, ...) or a data set (its inputs, field 0)."""
        x = _inputs(data)
        if len(x) == 0:
            raise ValueError("Standardize.fit: the data is empty (0 examples)")
        x = x.astype(np.float64)
        self.mean = x.mean(axis=0)
        std = x.std(axis=0)
        self.std = np.where(std < self.eps, 1.0, std)
        return self

    def __call__(self, data):
        """The standardised data, of the same kind as ``data`` (array, Tensor, or a new TensorDataset)."""
        if self.mean is None:
            raise ValueError("Standardize: call fit(training data) first")
        if isinstance(data, (np.ndarray, Tensor)):
            x = data.data if isinstance(data, Tensor) else data
            z = ((x - self.mean) / self.std).astype(x.dtype if np.issubdtype(x.dtype, np.floating) else np.float32)
            return wrap(z) if isinstance(data, Tensor) else z
        arrays = as_arrays(data)
        return TensorDataset(self(arrays[0]), *arrays[1:])

    def state_dict(self):
        """The statistics {``mean``: μ, ``std``: σ} (arrays), so that new inputs are standardized alike."""
        return {"mean": self.mean, "std": self.std}

    def load_state_dict(self, state):
        """Restore μ and σ from what ``state_dict`` returned."""
        self.mean, self.std = np.asarray(state["mean"]), np.asarray(state["std"])


def _inputs(data):
    if isinstance(data, Tensor):
        return data.data
    if isinstance(data, np.ndarray):
        return data
    return as_arrays(data)[0]
