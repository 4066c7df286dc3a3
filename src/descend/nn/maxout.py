"""``Maxout``: hᵢ = max_{j ≤ k} (b_ij + W_ij · x), k linear pieces per output unit (Goodfellow et al.)."""

from . import functional as F
from .linear import Linear
from .module import Module


class Maxout(Module):
    """hᵢ = max over k pieces of zᵢⱼ = b_ij + W_ij x. Shapes: (..., in_features) → (..., out_features).

    Holds one ``Linear(in_features, out_features·pieces)`` (``self.linear``); piece j of unit i
    is row i·k + j of its weight. The gradient flows through the maximal piece.
    """

    def __init__(self, in_features, out_features, pieces=2, bias=True):
        super().__init__()
        if not isinstance(pieces, int) or pieces < 1:
            raise ValueError(f"Maxout: pieces={pieces!r}; expected a positive integer")
        self.in_features, self.out_features, self.pieces = in_features, out_features, pieces
        self.linear = Linear(in_features, out_features * pieces, bias=bias)

    def forward(self, x):
        return F.maxout(self.linear(x), self.pieces)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, pieces={self.pieces}"
