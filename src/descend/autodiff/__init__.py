"""descend.autodiff: tensors and the differentiation engine (reverse mode, forward mode, higher order)."""

from . import ops  # binds the operators to Tensor
from .creation import (arange, empty, eye, from_numpy, full, full_like, linspace, ones, ones_like, rand, randint, randn,
                       randperm, tensor, zeros, zeros_like)
from .dtype import bool_, float16, float32, float64, get_default_dtype, int32, int64, set_default_dtype
from .engine import grad as autograd_grad
from .function import Function
from .mode import enable_grad, is_grad_enabled, no_grad, set_grad_enabled
from .random import get_rng_state, manual_seed, set_rng_state
from .tensor import Tensor
from .anomaly import detect_anomaly
from .compile import CompileError, compile
from .forward import jvp
from .functional import grad, hessian, hvp, jacobian, value_and_grad, vjp
from .gradcheck import GradcheckError, gradcheck, gradgradcheck
from .ops import (abs, amax, amin, argmax, argmin, cat, clamp, cos, exp, isfinite, isnan, log, log1p, log_softmax,
                  logsumexp, matmul, max, maximum, mean, min, minimum, neg, outer, permute, reshape, square, squeeze,
                  transpose, unsqueeze, flatten, relu, sigmoid, sign, sin, softmax, sqrt, stack, std,
                  sum, tanh, var, where)
