"""Data sets: ``Dataset``, ``TensorDataset``, ``Subset`` and ``as_arrays``.

A data set is a list of examples (x_n, t_n), n = 1..N. ``TensorDataset(X, T)`` holds them as arrays
whose first axis is n; the loader slices all of them with one index array per mini-batch (no Python
loop over samples). Inputs are checked once: an empty set, tensors of different lengths, and NaN/Inf
values (warned once with the first bad row, or an error with ``strict=True``).
"""

import warnings

import numpy as np

from ..autodiff import Tensor
from ..autodiff.extend import wrap


class Dataset:
    """A map-style data set: ``len(ds)`` examples, ``ds[i]`` the i-th one (a tuple of arrays)."""

    def __getitem__(self, index):
        raise TypeError(f"{type(self).__name__} must define __getitem__(index)")

    def __len__(self):
        raise TypeError(f"{type(self).__name__} must define __len__()")


def _to_array(x, what):
    if isinstance(x, Tensor):
        return x.data
    if isinstance(x, np.ndarray):
        return x
    if isinstance(x, (list, tuple)):
        return np.asarray(x)
    raise TypeError(f"{what}: expected a Tensor, numpy array or list, got {type(x).__name__}")


def check_finite(array, name="inputs", strict=False):
    """Warn once (or raise with ``strict=True``) if ``array`` (N, ...) holds NaN or Inf; names the first bad row."""
    if not np.issubdtype(array.dtype, np.floating) or array.size == 0:
        return
    if np.isfinite(array).all():
        return
    bad_rows = ~np.isfinite(array.reshape(len(array), -1)).all(axis=1)
    first = int(np.argmax(bad_rows))
    msg = (f"{name}: {int(bad_rows.sum())} of {len(array)} rows hold NaN or Inf values; "
           f"the first bad row is index {first}")
    if strict:
        raise ValueError(msg)
    warnings.warn(msg, RuntimeWarning, stacklevel=3)


class TensorDataset(Dataset):
    """Examples stored as arrays sharing their first axis: ``TensorDataset(X, T)``, X (N, ...) and T (N, ...).

    ``ds[i]`` is ``(X[i], T[i])``; ``ds.tensors`` the whole arrays as Tensors. Raises ValueError for an empty
    set or arrays of different lengths; NaN/Inf in floating arrays warn once (first bad row), or raise
    with ``strict=True``.
    """

    def __init__(self, *tensors, strict=False):
        if not tensors:
            raise ValueError("TensorDataset: expected at least one tensor (inputs, targets, ...), got none")
        arrays = tuple(_to_array(t, f"TensorDataset argument {i}") for i, t in enumerate(tensors))
        for i, a in enumerate(arrays):
            if a.ndim == 0:
                raise ValueError(f"TensorDataset: argument {i} is a scalar; "
                                 "expected an array with a first axis of examples")
            if a.dtype.kind not in "biuf":
                raise TypeError(f"TensorDataset: argument {i} has dtype {a.dtype}; "
                                "tensors hold bool, integer or floating numbers "
                                "(encode labels as integers, e.g. with np.unique(labels, return_inverse=True))")
        lengths = [len(a) for a in arrays]
        if len(set(lengths)) != 1:
            raise ValueError(f"TensorDataset: all tensors must have the same length (number of examples), "
                             f"got lengths {lengths}")
        if lengths[0] == 0:
            raise ValueError("TensorDataset: the data set is empty (0 examples)")
        for i, a in enumerate(arrays):
            check_finite(a, "inputs" if i == 0 else f"tensor {i}", strict)
        self.arrays = arrays

    @property
    def tensors(self):
        """The stored arrays as Tensors (sharing memory)."""
        return tuple(wrap(a) for a in self.arrays)

    def __getitem__(self, index):
        return tuple(wrap(np.asarray(a[index])) for a in self.arrays)

    def __len__(self):
        return len(self.arrays[0])

    def __repr__(self):
        return f"TensorDataset({', '.join(str(a.shape) for a in self.arrays)})"


class Subset(Dataset):
    """The examples ``dataset[indices[k]]``, k = 0..len(indices)-1 (as ``torch.utils.data.Subset``)."""

    def __init__(self, dataset, indices):
        self.dataset = dataset
        self.indices = np.asarray(indices, dtype=np.int64)
        if self.indices.ndim != 1:
            raise ValueError(f"Subset: indices must be one-dimensional, got shape {self.indices.shape}")
        if len(self.indices) and (self.indices.min() < 0 or self.indices.max() >= len(dataset)):
            raise ValueError(f"Subset: indices must lie in [0, {len(dataset)}), got range "
                             f"[{self.indices.min()}, {self.indices.max()}]")

    def __getitem__(self, index):
        return self.dataset[int(self.indices[index])]

    def __len__(self):
        return len(self.indices)


def array_view(dataset):
    """``(arrays, index)`` such that example i of ``dataset`` is ``tuple(a[index[i]] for a in arrays)``, or None.

    Works for TensorDatasets and (nested) Subsets of them; the loader then slices arrays directly.
    """
    index = None
    while isinstance(dataset, Subset):
        index = dataset.indices if index is None else dataset.indices[index]
        dataset = dataset.dataset
    if isinstance(dataset, TensorDataset):
        return dataset.arrays, index
    return None


def as_arrays(dataset):
    """All examples of ``dataset`` as a tuple of NumPy arrays (N, ...), one per field."""
    view = array_view(dataset)
    if view is not None:
        arrays, index = view
        return arrays if index is None else tuple(a[index] for a in arrays)
    if len(dataset) == 0:
        raise ValueError("as_arrays: the data set is empty (0 examples)")
    samples = [dataset[i] for i in range(len(dataset))]
    if not isinstance(samples[0], (tuple, list)):
        samples = [(s,) for s in samples]
    return tuple(np.stack([_to_array(s[k], "sample field") for s in samples]) for k in range(len(samples[0])))
