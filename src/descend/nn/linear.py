"""Fully connected layers: ``Linear`` (a = b + W h), ``Identity`` and ``Flatten``."""

import numpy as np

from descend.autodiff.dtype import as_dtype, get_default_dtype

from . import functional as F
from . import init
from .module import Module
from .parameter import Parameter


class Linear(Module):
    """a = b + W h, i.e. y = x Wᵀ + b. Shapes: x (..., in_features) → (..., out_features).

    ``weight`` has shape (out_features, in_features) as in PyTorch, ``bias`` (out_features,).
    Default initialization is the notes' (Glorot): W ~ U(−b, b), b = √(6/(fan_in + fan_out)),
    biases 0. **This differs from PyTorch**, whose default is U(±1/√fan_in) for both; use
    ``nn.init.efficient_backprop_uniform_`` for that. An input of the wrong width raises naming both widths.
    """

    def __init__(self, in_features, out_features, bias=True, dtype=None):
        super().__init__()
        for what, v in (("in_features", in_features), ("out_features", out_features)):
            if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
                raise ValueError(f"Linear: {what}={v!r}; expected a positive integer")
        self.in_features, self.out_features = int(in_features), int(out_features)
        dt = get_default_dtype() if dtype is None else as_dtype(dtype)
        self.weight = Parameter(np.empty((out_features, in_features), dtype=dt))
        self.bias = Parameter(np.zeros(out_features, dtype=dt)) if bias else None
        if not bias:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """W ~ U(±√(6/(fan_in + fan_out))), b = 0 (the notes' convention)."""
        init.xavier_uniform_(self.weight)
        if self.bias is not None:
            init.zeros_(self.bias)

    def forward(self, x):
        return F.linear(x, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Identity(Module):
    """y = x (a placeholder layer; accepts and ignores any constructor arguments)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, x):
        return x


class Flatten(Module):
    """Merge dimensions start_dim..end_dim: (N, C, H, W) → (N, C·H·W) by default."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, x):
        return x.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"
