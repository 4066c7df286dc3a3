"""The function oracle: f(θ), ∇f(θ), Hessian-vector and Gauss-Newton-vector products from a closure.

Every second-order method here talks to the objective only through an :class:`Oracle` built
from the parameters and the user's closure (the PyTorch LBFGS convention)::

    def closure():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        return loss

- ``evaluate()`` calls the closure once (with gradients recorded) and returns
  (loss Tensor, f = float(loss), g = flat gradient). It counts ``func_evals``.
- ``evaluate_at(x)`` does the same at θ = x (it moves the parameters there).
- ``hvp(v)`` returns H v = ∇²f(θ) v by **forward-over-reverse**: the closure runs inside one
  forward-mode pass in which each parameter p carries the tangent v_p. The forward pass then
  carries J v, the closure's ``backward()`` runs its backward rules on those dual numbers, and
  each ``p.grad`` comes out carrying the tangent (∇²f v)_p. So the user's ordinary closure gives
  Hessian-vector products, at a small constant times the cost of one gradient (see
  ``bench/second_order.py``), with no ``create_graph`` and no second closure. It counts
  ``hvp_evals`` (it also returns f and g at θ, which cost nothing extra).
- ``gnvp(v, output_fn, loss_fn)`` returns the Gauss-Newton product G v = Jᵀ H_ℓ J v, where
  z = ``output_fn()`` are the network outputs (J = ∂z/∂θ) and ℓ = ``loss_fn(z)`` the loss
  of the outputs (H_ℓ = ∂²ℓ/∂z²): J v by forward mode (one pass of ``output_fn`` carrying v),
  H_ℓ (J v) by ``dc.hvp`` of ``loss_fn`` at z, and Jᵀ(·) by one reverse pass. G is positive
  semi-definite whenever ℓ is convex in z (squared error, cross-entropy).

Evaluations run under ``enable_grad`` even when the optimizer's ``step`` runs under ``no_grad``.
"""

import numpy as np

from ...autodiff import engine
from ...autodiff.extend import clear_tangent, set_tangent, tangent, wrap
from ...autodiff.forward import jvp
from ...autodiff.functional import hvp as _hvp
from ...autodiff.mode import enable_grad
from ...autodiff.tensor import Tensor
from ..closure import check_loss, check_new_gradient, evaluate_closure
from .flat import FlatParams

__all__ = ["Oracle"]


class Oracle:
    """f, ∇f, ∇²f·v and G·v of the closure's loss as functions of the flat parameters θ ∈ ℝⁿ.

    Attributes ``func_evals`` (closure calls for f and g) and ``hvp_evals`` (products H v or
    G v) count the work done; ``flat`` is the :class:`FlatParams` view of the parameters.
    Every closure call is checked (:func:`~descend.optim.closure.evaluate_closure`): it must
    return a one-element Tensor and leave a new gradient, else ValueError/TypeError says so;
    ``where`` names the closure in those messages.
    """

    def __init__(self, params, closure, where="closure"):
        if not callable(closure):
            raise TypeError(f"{where} must be a function that re-evaluates the model, calls loss.backward() and "
                            f"returns the loss; got {type(closure).__name__}")
        self.flat = params if isinstance(params, FlatParams) else FlatParams(params)
        self.closure = closure
        self.where = where
        self.func_evals = 0
        self.hvp_evals = 0

    @property
    def n(self):
        return self.flat.n

    def evaluate(self):
        """Call the closure at the current θ: (loss Tensor, f, g) with g of shape (n,)."""
        loss = evaluate_closure(self.closure, self.flat.params, self.where)
        self.func_evals += 1
        return loss, float(loss.data.reshape(())), self.flat.grad()

    def evaluate_at(self, x):
        """Move θ to ``x`` and evaluate there: (f, g)."""
        self.flat.set(x)
        _, f, g = self.evaluate()
        return f, g

    def directional(self, x, d):
        """φ(t) = (f(x + t·d), ∇f(x + t·d)) as a function for the line searches (θ is left at x + t·d)."""

        def phi(t):
            self.flat.set(x + t * d)
            _, f, g = self.evaluate()
            return f, g

        return phi

    def hvp(self, v, closure=None):
        """H v = ∇²f(θ) v (shape (n,)) by forward-over-reverse through ``closure`` (default: the step's).

        Returns (H v, f, g): the value and gradient at θ come with the product.
        """
        closure = self.closure if closure is None else closure
        params = self.flat.params
        tangents = self.flat.split(np.asarray(v, dtype=self.flat.dtype))
        before = [p.grad for p in params]
        box = {}

        def run(*aliases):
            for p, a in zip(params, aliases):
                set_tangent(p, tangent(a))  # p itself carries v_p (the model uses p, not the alias)
            box["loss"] = check_loss(closure(), self.where)
            check_new_gradient(params, before, self.where)
            return tuple(p.grad if p.grad is not None else wrap(np.zeros_like(p.data)) for p in params)

        try:
            with enable_grad():
                grads, hv = jvp(run, tuple(params), tuple(tangents))
        finally:
            for p in params:
                clear_tangent(p)
                if p.grad is not None:
                    clear_tangent(p.grad)
        self.hvp_evals += 1
        return self.flat.join(hv), float(box["loss"].data.reshape(())), self.flat.join(grads)

    def gnvp(self, v, output_fn, loss_fn):
        """G v = Jᵀ H_ℓ J v (shape (n,)), z = ``output_fn()``, ℓ = ``loss_fn(z)``, J = ∂z/∂θ."""
        params = self.flat.params
        tangents = self.flat.split(np.asarray(v, dtype=self.flat.dtype))

        def run(*aliases):
            for p, a in zip(params, aliases):
                set_tangent(p, tangent(a))
            z = output_fn()
            if not isinstance(z, Tensor):
                raise TypeError(f"output_fn must return the network outputs as a Tensor, got {type(z).__name__}")
            return z

        try:
            with enable_grad():
                z, jv = jvp(run, tuple(params), tuple(tangents))
        finally:
            for p in params:
                clear_tangent(p)
        z_leaf = z.detach()
        _, hjv = _hvp(loss_fn, z_leaf, jv.detach())
        if not z.requires_grad:
            gv = [None] * len(params)
        else:
            clear_tangent(z)
            gv = engine.grad(z, params, hjv.detach(), allow_unused=True)
        self.hvp_evals += 1
        return self.flat.join(gv)
