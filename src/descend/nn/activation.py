"""Activation layers g(a): module forms of ``descend.nn.functional``'s activations (PyTorch names and defaults).

PyTorch's ``inplace=`` argument is not offered: descend computes every activation into a new
array (an in-place activation would have to rewrite the recorded graph of its input).
"""

from . import functional as F
from .module import Module


class Sigmoid(Module):
    """g(a) = 1/(1 + e⁻ᵃ). Any shape."""

    def forward(self, x):
        return F.sigmoid(x)


class Tanh(Module):
    """g(a) = tanh a. Any shape."""

    def forward(self, x):
        return F.tanh(x)


class ReLU(Module):
    """g(a) = max(0, a), relu'(0) = 0. Any shape."""

    def forward(self, x):
        return F.relu(x)


class LeakyReLU(Module):
    """g(a) = a if a > 0 else s·a, s = negative_slope (default 0.01); g'(0) = s."""

    def __init__(self, negative_slope=0.01):
        super().__init__()
        self.negative_slope = negative_slope

    def forward(self, x):
        return F.leaky_relu(x, self.negative_slope)

    def extra_repr(self):
        return f"negative_slope={self.negative_slope}"


class ELU(Module):
    """g(a) = a if a > 0 else α(eᵃ − 1) (default α = 1)."""

    def __init__(self, alpha=1.0):
        super().__init__()
        self.alpha = alpha

    def forward(self, x):
        return F.elu(x, self.alpha)

    def extra_repr(self):
        return f"alpha={self.alpha}"


class GELU(Module):
    """g(a) = a Φ(a) (exact erf form by default; ``approximate="tanh"`` for the tanh form)."""

    def __init__(self, approximate="none"):
        super().__init__()
        if approximate not in ("none", "tanh"):
            raise ValueError(f"GELU: approximate={approximate!r}; expected 'none' or 'tanh'")
        self.approximate = approximate

    def forward(self, x):
        return F.gelu(x, self.approximate)

    def extra_repr(self):
        return f"approximate={self.approximate!r}"


class SiLU(Module):
    """g(a) = a σ(βa) (β = 1: SiLU; other β: Swish)."""

    def __init__(self, beta=1.0):
        super().__init__()
        self.beta = beta

    def forward(self, x):
        return F.silu(x, self.beta)

    def extra_repr(self):
        return "" if self.beta == 1.0 else f"beta={self.beta}"


class Swish(SiLU):
    """Swish g(a) = a σ(βa) (the same layer as SiLU, with β)."""


class Softplus(Module):
    """g(a) = (1/β) log(1 + e^(βa)), linear where βa > threshold (PyTorch defaults β = 1, threshold = 20)."""

    def __init__(self, beta=1.0, threshold=20.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, x):
        return F.softplus(x, self.beta, self.threshold)

    def extra_repr(self):
        return f"beta={self.beta}, threshold={self.threshold}"


class Softmax(Module):
    """yᵢ = e^(aᵢ)/Σⱼ e^(aⱼ) along ``dim`` (default −1)."""

    def __init__(self, dim=-1):
        super().__init__()
        self.dim = dim

    def forward(self, x):
        return F.softmax(x, self.dim)

    def extra_repr(self):
        return f"dim={self.dim}"


class LogSoftmax(Softmax):
    """yᵢ = aᵢ − log Σⱼ e^(aⱼ) along ``dim`` (default −1)."""

    def forward(self, x):
        return F.log_softmax(x, self.dim)


class Step(Module):
    """Threshold unit g(a) = 1 if a > 0 else 0 (perceptron). Zero gradient everywhere: not trainable by backprop."""

    def forward(self, x):
        return F.step(x)


class Sign(Module):
    """g(a) = sign(a) ∈ {−1, 0, 1} (perceptron output). Zero gradient everywhere."""

    def forward(self, x):
        return F.sign(x)
