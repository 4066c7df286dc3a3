"""descend.nn.functional: the stateless forms of layers, activations and losses (``import descend.nn.functional as F``).

Each function takes Tensors and returns a Tensor; the fused ones (``linear``, ``cross_entropy``,
``conv2d``, the pools) are single primitives with hand-written backward rules that are
themselves differentiable.
"""

from .activations import (elu, gelu, identity, leaky_relu, log_softmax, maxout, relu, sigmoid, sign, silu, softmax,
                          softplus, step, swish, tanh)
from .conv import conv2d
from .dropout import dropout
from .erf import erf
from .linear import linear
from .losses import (binary_cross_entropy, binary_cross_entropy_with_logits, cross_entropy, gaussian_nll_loss,
                     hinge_loss, huber_loss, kl_div, l1_loss, mse_loss, multi_margin_loss, nll_loss, smooth_l1_loss)
from .normalization import batch_norm
from .pooling import avg_pool2d, max_pool2d
from .shape import flatten, one_hot

__all__ = [
    "elu", "gelu", "identity", "leaky_relu", "log_softmax", "maxout", "relu", "sigmoid", "sign", "silu", "softmax",
    "softplus", "step", "swish", "tanh", "conv2d", "dropout", "erf", "linear", "binary_cross_entropy",
    "binary_cross_entropy_with_logits", "cross_entropy", "gaussian_nll_loss", "hinge_loss", "huber_loss", "kl_div",
    "l1_loss", "mse_loss", "multi_margin_loss", "nll_loss", "smooth_l1_loss", "batch_norm", "avg_pool2d", "max_pool2d",
    "flatten", "one_hot",
]
