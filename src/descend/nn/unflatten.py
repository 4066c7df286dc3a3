"""``Unflatten``: split one dimension into several, e.g. flat rows (N, C·H·W) into images (N, C, H, W)."""

import math

from .module import Module


class Unflatten(Module):
    """Split dimension ``dim`` into ``unflattened_size`` (PyTorch's ``nn.Unflatten``).

    Shapes: (N, C·H·W) → (N, C, H, W) for ``Unflatten(1, (C, H, W))``; the inverse of ``Flatten()``.
    Raises ValueError if the dimension's size is not the product of ``unflattened_size``.
    """

    def __init__(self, dim, unflattened_size):
        super().__init__()
        size = tuple(unflattened_size) if isinstance(unflattened_size, (tuple, list)) else None
        if not size or any(not isinstance(s, int) or isinstance(s, bool) or s < 1 for s in size):
            raise ValueError(f"Unflatten: unflattened_size={unflattened_size!r}; expected a tuple of positive integers")
        if not isinstance(dim, int) or isinstance(dim, bool):
            raise TypeError(f"Unflatten: dim must be an integer, got {type(dim).__name__}")
        self.dim, self.unflattened_size = dim, size

    def forward(self, x):
        shape = tuple(x.shape)
        if not -len(shape) <= self.dim < len(shape):
            raise ValueError(f"Unflatten: dim={self.dim} is out of range for an input of shape {shape}")
        d = self.dim % len(shape)
        if shape[d] != math.prod(self.unflattened_size):
            raise ValueError(f"Unflatten: dimension {self.dim} of the input (shape {shape}) has size {shape[d]}, "
                             f"but unflattened_size={self.unflattened_size} holds {math.prod(self.unflattened_size)}")
        return x.reshape(*shape[:d], *self.unflattened_size, *shape[d + 1:])

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"
