"""``nn.Parameter``: a Tensor that a Module registers as one of its trainable parameters θ."""

import numpy as np

from descend.autodiff import Tensor, get_default_dtype


class Parameter(Tensor):
    """A leaf Tensor that requires grad (by default) and is registered when assigned to a Module attribute.

    ``Parameter(data)`` shares the array of a Tensor ``data`` (and its version counter) or wraps
    a NumPy array as it is, keeping its floating dtype; Python lists take the default dtype.
    Operations on it return plain Tensors.
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = np.empty((0,), dtype=get_default_dtype())
        super().__init__(data, requires_grad=requires_grad, copy=False)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()
