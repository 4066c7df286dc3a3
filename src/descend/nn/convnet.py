"""``ConvNet``: a small convolutional network for images given as flat rows: conv blocks, then an MLP head."""

from .batchnorm import BatchNorm2d
from .containers import Sequential
from .conv import Conv2d
from .linear import Flatten
from .mlp import MLP, _activation, _init_fn
from .module import Module
from .pooling import MaxPool2d
from .unflatten import Unflatten


def max_blocks(image_shape):
    """The most blocks an image of ``image_shape`` ((H, W) or (C, H, W)) allows: each halves H and W, rounded down,
    and must leave at least one pixel, so ⌊log₂ min(H, W)⌋."""
    return int(min(image_shape[-2:])).bit_length() - 1


class ConvNet(Module):
    """Flat rows (N, C·H·W) → images (N, C, H, W) → L blocks → Flatten → MLP head → (N, n_out) logits.

    Block k: Conv2d(C_{k-1}, C_k, kernel_size, padding 'same', no bias: the BatchNorm's β is the shift) →
    BatchNorm2d(C_k) → activation → MaxPool2d(2), so the image halves (rounded down) at each block:
    H_k = ⌊H_{k-1}/2⌋. ``channels`` = [C_1, ..., C_L]; ``image_shape`` is (H, W) for one channel or
    (C, H, W). The head is
    ``MLP([C_L·H_L·W_L, *hidden, n_out], activation, dropout, batchnorm, init)``; ``init`` (a name of
    ``nn.mlp.INITS`` or a function) also initializes the convolution weights (else PyTorch's default).
    ``features`` (the blocks, input included) and ``head`` are the two parts.
    """

    def __init__(self, image_shape, channels, n_out, kernel_size=3, hidden=(), activation="relu", dropout=0.0,
                 batchnorm=False, init=None):
        super().__init__()
        image_shape = tuple(image_shape)
        if len(image_shape) not in (2, 3) or any(not isinstance(s, int) or s < 1 for s in image_shape):
            raise ValueError(f"ConvNet: image_shape={image_shape!r}; expected (H, W) or (C, H, W) of positive integers")
        channels = list(channels)
        if not channels or any(not isinstance(c, int) or isinstance(c, bool) or c < 1 for c in channels):
            raise ValueError(f"ConvNet: channels={channels!r}; expected a non-empty list of positive integers")
        if not isinstance(kernel_size, int) or isinstance(kernel_size, bool) or kernel_size < 1 or kernel_size % 2 == 0:
            raise ValueError(f"ConvNet: kernel_size={kernel_size!r}; expected an odd positive integer ('same' "
                             f"padding keeps the image size only for odd kernels)")
        if len(channels) > max_blocks(image_shape):
            raise ValueError(f"ConvNet: {len(channels)} blocks halve the {image_shape[-2]}x{image_shape[-1]} image "
                             f"to nothing; at most {max_blocks(image_shape)} fit")
        h, w = (s >> len(channels) for s in image_shape[-2:])
        make_act = _activation(activation)
        init_fn = _init_fn(init)
        c_in = image_shape[0] if len(image_shape) == 3 else 1
        layers = [Unflatten(1, (c_in,) + image_shape[-2:])]
        for c_out in channels:
            conv = Conv2d(c_in, c_out, kernel_size, padding="same", bias=False)   # BatchNorm adds the shift
            if init_fn is not None:
                init_fn(conv.weight)
            layers += [conv, BatchNorm2d(c_out), make_act(), MaxPool2d(2)]
            c_in = c_out
        layers.append(Flatten())
        self.features = Sequential(*layers)
        self.head = MLP([channels[-1] * h * w, *hidden, n_out], activation=activation, dropout=dropout,
                        batchnorm=batchnorm, init=init)
        self.image_shape, self.channels, self.kernel_size = image_shape, channels, kernel_size

    def forward(self, x):
        return self.head(self.features(x))

