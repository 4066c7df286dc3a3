"""Hessian-vector products H v = ∇²L(θ) v of a loss through a model, by forward-over-reverse.

``loss_fn()`` computes the scalar loss L from the parameters θ it reads (a model's own
Tensors). One product runs ``loss_fn`` once inside a forward-mode pass (``dc.jvp``) in which
every parameter θ_p carries the tangent v_p (``extend.set_tangent``): the forward pass carries
J v along with the values, and the reverse pass ``dc.autograd_grad(L, θ)`` runs its backward
rules on those dual numbers, so the gradient comes out carrying its directional derivative

    d/dε ∇L(θ + ε v) |_{ε=0} = ∇²L(θ) v.

So H v costs a small constant times one gradient (about 2.5 here), with no graph kept between
products, and the value L(θ) and the gradient g = ∇L(θ) come with every product for free.

``method="double-backward"`` is PyHessian's way instead: the gradient is computed once with its
graph recorded (``create_graph=True``), and each product is one reverse pass through that graph,
H v = ∇_θ (gᵀv). It keeps the graph for as long as the operator lives (about three times a
training step's memory), but no longer recomputes the forward pass and the gradient's values,
so each product costs about 1.6 gradients: the faster choice when many products are made at one
θ (Lanczos, quadrature, Hutchinson).
"""

import math

import numpy as np

from .. import autodiff as ad
from ..autodiff import Tensor
from ..autodiff.extend import clear_tangent, set_tangent, tangent
from .params import ParamSpace

__all__ = ["HessianOperator", "loss_value", "METHODS"]

METHODS = ("forward-over-reverse", "double-backward")


def loss_value(loss, who, finite=True):
    """float(loss) for the scalar Tensor ``loss``; raises TypeError/ValueError naming ``who`` for
    anything else and (if ``finite``) for a NaN or infinite loss."""
    if not isinstance(loss, Tensor):
        raise TypeError(f"{who}: loss_fn must return the loss as a scalar Tensor, got {type(loss).__name__}")
    if loss.data.size != 1:
        raise ValueError(f"{who}: loss_fn must return a scalar (one-element) Tensor, got shape {tuple(loss.shape)}; "
                         "reduce it, e.g. with .mean()")
    value = float(loss.data.reshape(()))
    if finite and not math.isfinite(value):
        raise ValueError(f"{who}: the loss is {value} at these parameters; the Hessian of a non-finite loss "
                         "is meaningless (check the data, the model and its weights)")
    return value


class HessianOperator:
    """v ↦ ∇²L(θ) v for ``loss_fn`` at the current values of ``params``, on flat vectors of ℝⁿ.

    ``matvec(v)`` takes and returns shape (n,) in the parameters' dtype; ``products`` counts the
    products made; ``value`` and ``gradient`` hold L(θ) and ∇L(θ) (shape (n,)). Each evaluation of
    ``loss_fn`` is checked: a finite scalar that depends on ``params``, and the same value as the
    previous evaluation (the parameters do not move, so a different value means a random loss).
    ``dense()`` forms the whole n×n matrix (for small n).
    """

    def __init__(self, loss_fn, params, who="analysis", method="forward-over-reverse"):
        if method not in METHODS:
            raise ValueError(f"{who}: hvp={method!r}; expected 'forward-over-reverse' or 'double-backward'")
        if not callable(loss_fn):
            raise TypeError(f"{who}: loss_fn must be a function of no arguments returning the scalar loss, "
                            f"got {type(loss_fn).__name__}")
        self.space = params if isinstance(params, ParamSpace) else ParamSpace(params, who)
        for i, p in enumerate(self.space.params):
            if not p.requires_grad:
                raise ValueError(f"{who}: params[{i}] (shape {tuple(p.shape)}) does not require grad; "
                                 "the loss cannot be differentiated with respect to it")
        self.loss_fn = loss_fn
        self.who = who
        self.method = method
        self.products = 0
        self.value = None
        self.gradient = None
        self._graph = None  # (gradients that require grad, their parameters' indices) for double-backward
        self.bar = None  # a progress bar told of each product (see descend.analysis.progress)

    @property
    def n(self):
        return self.space.n

    @property
    def dtype(self):
        return self.space.dtype

    def _loss(self):
        loss = self.loss_fn()
        value = loss_value(loss, self.who)
        if self.value is not None and abs(value - self.value) > np.finfo(self.dtype).eps ** 0.5 * max(1.0, abs(value)):
            raise ValueError(f"{self.who}: loss_fn returned {self.value!r}, then {value!r} at the same parameters; the "
                             "Hessian needs a deterministic loss (call model.eval() to turn dropout off, and use a "
                             "fixed batch)")
        self.value = value
        if not loss.requires_grad:
            raise ValueError(f"{self.who}: the loss does not depend on the parameters (it records no graph back to "
                             "them); does loss_fn use them, outside dc.no_grad()?")
        return loss

    def _gradient(self, *carriers):
        """∇L(θ) as a tuple of Tensors, with θ_p carrying the tangent that ``carriers[p]`` carries."""
        params = self.space.params
        for p, c in zip(params, carriers):
            set_tangent(p, tangent(c))
        grads = ad.autograd_grad(self._loss(), params, allow_unused=True)
        return tuple(ad.zeros_like(p) if g is None else g for p, g in zip(params, grads))

    def matvec(self, v):
        """H v for a vector v of shape (n,) (returns a new array of shape (n,))."""
        if self.method == "double-backward":
            return self._matvec_double_backward(v)
        space = self.space
        tangents = tuple(ad.from_numpy(x) for x in space.split(np.ascontiguousarray(v, dtype=space.dtype)))
        try:
            with ad.enable_grad():
                grads, hv = ad.jvp(self._gradient, space.params, tangents)
        finally:
            for p in space.params:
                clear_tangent(p)
        self._count()
        self.gradient = space.join(grads)
        return space.join(hv)

    def _matvec_double_backward(self, v):
        space = self.space
        if self._graph is None:
            with ad.enable_grad():
                grads = ad.autograd_grad(self._loss(), space.params, create_graph=True, allow_unused=True)
            self.gradient = space.join(grads)
            live = [i for i, g in enumerate(grads) if g is not None and g.requires_grad]
            self._graph = ([grads[i] for i in live], live)
        roots, live = self._graph
        parts = space.split(np.ascontiguousarray(v, dtype=space.dtype))
        hv = [None] * len(space.params)
        if roots:
            with ad.enable_grad():
                found = ad.autograd_grad(roots, space.params, grad_outputs=[ad.from_numpy(parts[i]) for i in live],
                                         retain_graph=True, allow_unused=True)
            hv = [None if h is None else h.detach() for h in found]
        self._count()
        return space.join(hv)

    def _count(self):
        self.products += 1
        if self.bar is not None:
            self.bar.update(1)

    def dense(self):
        """The full n×n Hessian, one product per column (for small n), symmetrized ½(H + Hᵀ)."""
        cols = np.empty((self.n, self.n), dtype=self.dtype)
        e = np.zeros(self.n, dtype=self.dtype)
        for j in range(self.n):
            e[j] = 1
            cols[:, j] = self.matvec(e)
            e[j] = 0
        return 0.5 * (cols + cols.T)
