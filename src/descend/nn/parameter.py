"""``nn.Parameter``: a Tensor that a Module registers as one of its trainable parameters θ."""

import numpy as np

from descend.autodiff.dtype import get_default_dtype
from descend.autodiff.tensor import Tensor


class Parameter(Tensor):
    """A leaf Tensor that requires grad (by default) and is registered when assigned to a Module attribute.

    ``Parameter(data)`` shares the array of a Tensor ``data`` (or wraps a NumPy array, keeping
    its floating dtype; Python lists take the default dtype). Operations on it return plain Tensors.
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            arr = np.empty((0,), dtype=get_default_dtype())
        elif isinstance(data, Tensor):
            arr = data.data
        elif isinstance(data, np.ndarray):
            arr = data
        else:
            arr = np.asarray(data, dtype=get_default_dtype())
        if arr.dtype.kind != "f" and requires_grad:
            raise TypeError(f"Parameter: only floating data can require gradients, got dtype {arr.dtype}")
        self.data = arr
        self.grad = None
        self.requires_grad = bool(requires_grad)
        self._ctx = None
        self._vc = data._vc if isinstance(data, Tensor) else [0]
        self._fw = None
        self._hooks = None
        self._retain = False

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
