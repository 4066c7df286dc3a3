"""Small shape helpers: flatten and one-hot encoding."""

import numpy as np

from descend.autodiff import Tensor

from ._util import const


def flatten(input, start_dim=1, end_dim=-1):
    """Merge dimensions start_dim..end_dim into one (default: keep the batch dimension). (N, ...) → (N, Π ...)."""
    return input.flatten(start_dim, end_dim)


def one_hot(tensor, num_classes=-1):
    """Integer labels (...) → int64 one-hot codes (..., num_classes) (``num_classes=-1``: max label + 1)."""
    y = tensor.data if isinstance(tensor, Tensor) else np.asarray(tensor)
    if y.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expected integer class indices, got dtype {y.dtype}")
    if num_classes < 0:
        num_classes = int(y.max()) + 1 if y.size else 0
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        bad = y[(y < 0) | (y >= num_classes)].reshape(-1)[0]
        raise ValueError(f"one_hot: label {bad} is out of range for {num_classes} classes")
    out = np.zeros(y.shape + (num_classes,), dtype=np.int64)
    np.put_along_axis(out, y[..., None].astype(np.int64), 1, axis=-1)
    return const(out)
