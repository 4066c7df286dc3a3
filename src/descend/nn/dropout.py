"""``Dropout``: inverted dropout, active only in training mode."""

from . import functional as F
from .module import Module


class Dropout(Module):
    """In training y = x ⊙ m/(1 − p) with mᵢ ~ Bernoulli(1 − p) (so E y = x); in eval y = x. Any shape."""

    def __init__(self, p=0.5):
        super().__init__()
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"Dropout: p={p}; expected a probability in [0, 1]")
        self.p = p

    def forward(self, x):
        return F.dropout(x, self.p, self.training)

    def extra_repr(self):
        return f"p={self.p}"
