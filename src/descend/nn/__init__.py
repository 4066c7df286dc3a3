"""descend.nn: modules, layers, activations, losses, initialization and regularization.

The notes' layer h⁽ᵏ⁾ = g(b⁽ᵏ⁾ + W⁽ᵏ⁾ h⁽ᵏ⁻¹⁾) is ``nn.Linear`` followed by an activation module;
networks are ``nn.Module`` subclasses or ``nn.Sequential``/``nn.MLP``. Names and defaults follow
PyTorch, except ``nn.Linear``'s initialization, which is the notes' Glorot uniform.
"""

from . import functional, init, logic, regularizers
from .activation import (ELU, GELU, LeakyReLU, LogSoftmax, ReLU, Sigmoid, Sign, SiLU, Softmax, Softplus, Step, Swish,
                         Tanh)
from .batchnorm import BatchNorm1d, BatchNorm2d
from .containers import ModuleDict, ModuleList, Sequential
from .conv import Conv2d
from .ensemble import Ensemble
from .dropout import Dropout
from .linear import Flatten, Identity, Linear
from .loss import (BCELoss, BCEWithLogitsLoss, CrossEntropyLoss, GaussianNLLLoss, HingeLoss, HuberLoss, KLDivLoss,
                   L1Loss, MSELoss, MultiMarginLoss, NLLLoss, SmoothL1Loss)
from .maxout import Maxout
from .mlp import MLP
from .module import Module
from .multitask import MultiTask
from .parameter import Parameter
from .pooling import AvgPool2d, MaxPool2d
from .residual import Residual
from .summary import ModelSummary, summary
