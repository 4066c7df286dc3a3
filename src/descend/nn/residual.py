"""``Residual``: a skip connection y = x + f(x) (residual networks)."""

from .module import Module


class Residual(Module):
    """y = x + f(x) for a module f whose output has the input's shape."""

    def __init__(self, module):
        super().__init__()
        self.module = module

    def forward(self, x):
        fx = self.module(x)
        if tuple(fx.shape) != tuple(x.shape):
            raise ValueError(f"Residual: the wrapped module maps shape {tuple(x.shape)} to {tuple(fx.shape)}; "
                             "x + f(x) needs equal shapes")
        return x + fx
