"""descend: a deep-learning framework written from scratch on NumPy.

``import descend as dc`` gives tensors and automatic differentiation (reverse mode, forward mode
with dual numbers, higher order); ``dc.nn``, ``dc.optim``, ``dc.data`` and ``dc.train`` hold
networks, optimizers, data and the training loop; ``dc.save``/``dc.load`` write and read weights
in safetensors.
"""

from . import allocator  # noqa: F401  (keeps freed array memory for reuse; see allocator.py)
from .autodiff import *  # noqa: F401,F403
from .autodiff import Function, GradcheckError, Tensor, autograd_grad, detect_anomaly, float32, float64  # noqa: F401
from . import autodiff, data, nn, optim, train  # noqa: F401
from .nn.summary import summary  # noqa: F401
from . import analysis  # noqa: F401
from .analysis import draw_graph  # noqa: F401
from .serialization import load, save  # noqa: F401

__version__ = "0.1.0"
