"""Batch normalization layers with PyTorch's semantics: ``BatchNorm1d`` and ``BatchNorm2d``."""

import numpy as np

from descend.autodiff.dtype import as_dtype, get_default_dtype
from descend.autodiff.extend import array_op, inplace, wrap

from . import functional as F
from .module import Module
from .parameter import Parameter


class _BatchNorm(Module):
    """y = γ (x − μ)/√(σ² + ε) + β per channel (see :func:`descend.nn.functional.batch_norm`).

    In training, μ and σ² (biased) come from the batch and the running statistics move:
    r ← (1 − m) r + m·stat with the unbiased batch variance in ``running_var``;
    ``momentum=None`` uses the cumulative average m = 1/(number of batches seen). In eval
    (with ``track_running_stats``) the running statistics are used. Buffers ``running_mean``,
    ``running_var`` and ``num_batches_tracked`` are saved in ``state_dict``.
    """

    _dims = ()

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True, dtype=None):
        super().__init__()
        if not isinstance(num_features, (int, np.integer)) or num_features < 1:
            raise ValueError(f"{type(self).__name__}: num_features={num_features!r}; expected a positive integer")
        if momentum is not None and not 0.0 <= momentum <= 1.0:
            raise ValueError(f"{type(self).__name__}: momentum={momentum}; expected a value in [0, 1] or None")
        if eps <= 0:
            raise ValueError(f"{type(self).__name__}: eps={eps}; expected eps > 0")
        self.num_features, self.eps, self.momentum = int(num_features), eps, momentum
        self.affine, self.track_running_stats = affine, track_running_stats
        dt = get_default_dtype() if dtype is None else as_dtype(dtype)
        if affine:
            self.weight = Parameter(np.ones(num_features, dtype=dt))
            self.bias = Parameter(np.zeros(num_features, dtype=dt))
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if track_running_stats:
            self.register_buffer("running_mean", wrap(np.zeros(num_features, dtype=dt)))
            self.register_buffer("running_var", wrap(np.ones(num_features, dtype=dt)))
            self.register_buffer("num_batches_tracked", wrap(np.zeros((), dtype=np.int64)))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)

    def reset_running_stats(self):
        """running_mean ← 0, running_var ← 1, num_batches_tracked ← 0."""
        if self.track_running_stats:
            with inplace(self.running_mean, self.running_var, self.num_batches_tracked) as (mean, var, count):
                mean[...] = 0
                var[...] = 1
                count[...] = 0

    def _check_input(self, x):
        if x.ndim not in self._dims:
            raise ValueError(f"{type(self).__name__}: expected input with "
                             f"{' or '.join(map(str, self._dims))} dimensions (N, C, ...), got shape {tuple(x.shape)}")
        if x.shape[1] != self.num_features:
            raise ValueError(f"{type(self).__name__}: input has {x.shape[1]} channels (shape {tuple(x.shape)}) but "
                             f"num_features={self.num_features}")

    def forward(self, x):
        self._check_input(x)
        if self.training and x.data.size // self.num_features <= 1:
            F.batch_norm(x, None, None, training=True)  # raises the batch-of-one error
        m = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats:
            array_op(_count_batch, self.num_batches_tracked)
            if self.momentum is None:
                m = 1.0 / float(self.num_batches_tracked.data)
        use_batch = self.training or not self.track_running_stats
        return F.batch_norm(x, self.running_mean if (not self.training or self.track_running_stats) else None,
                            self.running_var if (not self.training or self.track_running_stats) else None,
                            self.weight, self.bias, use_batch, m, self.eps)

    def extra_repr(self):
        return (f"{self.num_features}, eps={self.eps}, momentum={self.momentum}, affine={self.affine}, "
                f"track_running_stats={self.track_running_stats}")


class BatchNorm1d(_BatchNorm):
    """Batch normalization over (N, C) or (N, C, L) inputs, per channel C."""

    _dims = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalization over (N, C, H, W) inputs, per channel C."""

    _dims = (4,)


def _count_batch(num_batches_tracked):
    """num_batches_tracked += 1 (an ``array_op``: a compiled step counts at each replay)."""
    with inplace(num_batches_tracked) as (count,):
        count[...] += 1
