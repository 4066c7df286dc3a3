"""Pooling layers ``MaxPool2d`` and ``AvgPool2d`` (PyTorch names and defaults; stride defaults to kernel_size)."""

from . import functional as F
from .module import Module


class MaxPool2d(Module):
    """y = max over each kh×kw window. Shapes (N, C, H, W) → (N, C, Hₒ, Wₒ)."""

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, return_indices=False, ceil_mode=False):
        super().__init__()
        self.kernel_size, self.stride, self.padding, self.dilation = kernel_size, stride, padding, dilation
        self.return_indices, self.ceil_mode = return_indices, ceil_mode

    def forward(self, x):
        return F.max_pool2d(x, self.kernel_size, self.stride, self.padding, self.dilation, self.ceil_mode,
                            self.return_indices)

    def extra_repr(self):
        return (f"kernel_size={self.kernel_size}, "
                f"stride={self.stride if self.stride is not None else self.kernel_size}, "
                f"padding={self.padding}, dilation={self.dilation}")


class AvgPool2d(Module):
    """y = mean over each kh×kw window (zero padding counted unless ``count_include_pad=False``)."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True,
                 divisor_override=None):
        super().__init__()
        self.kernel_size, self.stride, self.padding = kernel_size, stride, padding
        self.ceil_mode, self.count_include_pad, self.divisor_override = ceil_mode, count_include_pad, divisor_override

    def forward(self, x):
        return F.avg_pool2d(x, self.kernel_size, self.stride, self.padding, self.ceil_mode, self.count_include_pad,
                            self.divisor_override)

    def extra_repr(self):
        return (
            f"kernel_size={self.kernel_size}, stride={self.stride if self.stride is not None else self.kernel_size}, "
            f"padding={self.padding}"
        )
