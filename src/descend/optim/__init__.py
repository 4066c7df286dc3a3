"""descend.optim: optimizers, learning-rate schedules, averaging and gradient clipping.

Every optimizer follows ``torch.optim``'s protocol (``zero_grad``, ``backward``, ``step``) with
PyTorch's names, defaults and update equations; each algorithm's module docstring gives its rule
in the notes' notation.
"""

from .optimizer import Optimizer
from .second_order import *  # noqa: F401,F403
