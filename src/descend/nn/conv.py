"""``Conv2d``: 2-D convolution layer (cross-correlation, PyTorch layout and defaults)."""

import math

import numpy as np

from descend.autodiff.dtype import as_dtype, get_default_dtype

from . import functional as F
from . import init
from .functional._util import pair_of_ints
from .module import Module
from .parameter import Parameter


class Conv2d(Module):
    """y = W ⋆ x + b. Shapes: x (N, C_in, H, W) → (N, C_out, Hₒ, Wₒ), weight (C_out, C_in, kh, kw), bias (C_out,).

    Hₒ = ⌊(H + 2p − d(kh − 1) − 1)/s⌋ + 1. Default initialization is PyTorch's
    (kaiming_uniform_ with a = √5, i.e. U(±1/√fan_in), bias U(±1/√fan_in)), fan_in = C_in·kh·kw.
    Only ``groups=1`` and zero padding are supported.
    """

    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0, dilation=1, groups=1, bias=True,
                 padding_mode="zeros", dtype=None):
        super().__init__()
        if groups != 1:
            raise ValueError(f"Conv2d: groups={groups}; only groups=1 is supported")
        if padding_mode != "zeros":
            raise ValueError(f"Conv2d: padding_mode={padding_mode!r}; only 'zeros' is supported")
        for what, v in (("in_channels", in_channels), ("out_channels", out_channels)):
            if not isinstance(v, (int, np.integer)) or v < 1:
                raise ValueError(f"Conv2d: {what}={v!r}; expected a positive integer")
        self.in_channels, self.out_channels = int(in_channels), int(out_channels)
        self.kernel_size = pair_of_ints(kernel_size, "Conv2d", "kernel_size")
        self.stride = pair_of_ints(stride, "Conv2d", "stride")
        self.padding = padding if isinstance(padding, str) else pair_of_ints(padding, "Conv2d", "padding")
        self.dilation = pair_of_ints(dilation, "Conv2d", "dilation")
        self.groups = groups
        dt = get_default_dtype() if dtype is None else as_dtype(dtype)
        self.weight = Parameter(np.empty((out_channels, in_channels) + self.kernel_size, dtype=dt))
        if bias:
            self.bias = Parameter(np.empty(out_channels, dtype=dt))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        """PyTorch's default: W ~ U(±1/√fan_in) (kaiming_uniform_, a = √5), b ~ U(±1/√fan_in)."""
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1.0 / math.sqrt(self.in_channels * self.kernel_size[0] * self.kernel_size[1])
            init.uniform_(self.bias, -bound, bound)

    def forward(self, x):
        return F.conv2d(x, self.weight, self.bias, self.stride, self.padding, self.dilation, self.groups)

    def extra_repr(self):
        s = f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, stride={self.stride}"
        if self.padding not in ((0, 0), "valid"):
            s += f", padding={self.padding}"
        if self.dilation != (1, 1):
            s += f", dilation={self.dilation}"
        if self.bias is None:
            s += ", bias=False"
        return s
