"""descend.optim: optimizers, learning-rate schedules, averaging and gradient clipping.

Every optimizer follows ``torch.optim``'s protocol (``zero_grad``, ``backward``, ``step``) with
PyTorch's names, defaults and update equations; each algorithm's module docstring gives its rule
in the notes' notation, and each declares its hyperparameters once (``Adam.hyperparameters``, see
``optim.hyperparameters``). ``optim.functional`` has the notes' exact formulations where they
differ from PyTorch's scaling, and the perceptron rule. ``optim.schedules`` has the learning-rate
schedules as pure functions of the step; ``optim.lr_scheduler`` PyTorch's scheduler classes over them.
"""

from .optimizer import Optimizer
from .sgd import SGD
from .adam import Adam
from .adamw import AdamW
from .rmsprop import RMSprop
from .adagrad import Adagrad
from .adadelta import Adadelta
from .rprop import Rprop
from .asgd import ASGD
from . import functional, hyperparameters, lr_scheduler, schedules, swa_utils  # noqa: F401
from .clip import clip_grad_norm_, clip_grad_value_
from .snapshot import SnapshotEnsemble
from .second_order import *  # noqa: F401,F403
from . import second_order as _second_order

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adadelta", "Rprop", "ASGD",
           "clip_grad_norm_", "clip_grad_value_", "SnapshotEnsemble", "functional", "hyperparameters", "lr_scheduler",
           "schedules", "swa_utils"] + list(_second_order.__all__)
