"""Second-order and closure-driven optimizers and the line searches they share.

``LBFGS`` (PyTorch's, step for step), ``BFGS``, ``ConjugateGradient``, ``Newton`` and
``HessianFree`` all run ``loss = opt.step(closure)`` over the parameters seen as one flat vector;
``line_search`` holds the backtracking Armijo and strong-Wolfe searches. See docs/second_order.md.
The one iteration loop they share (``base``), the flat-vector helpers (``flat``), the function
oracle (``oracle``), the reduction ratio (``reduction_ratio``) and the classic test problems
(``problems``) are submodules.
"""

from . import line_search
from .bfgs import BFGS
from .conjugate_gradient import ConjugateGradient
from .hessian_free import HessianFree
from .lbfgs import LBFGS
from .newton import Newton

__all__ = ["line_search", "LBFGS", "BFGS", "ConjugateGradient", "Newton", "HessianFree"]
