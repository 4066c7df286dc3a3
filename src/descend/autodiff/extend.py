"""The extension surface: how code outside the engine builds on it.

Layers, optimizers, data sets, analysis routines and users' own code reach the engine through
these names (and the public ``descend.autodiff`` API), never through a name that starts with
``_``. Like HIPS autograd's ``extend`` module, this is small and documented:

- :func:`wrap` makes a Tensor from a NumPy array without a copy or a check (a library's fast path;
  users normally call ``dc.tensor`` or ``dc.from_numpy``).
- A new primitive is a :class:`~descend.autodiff.function.Function` subclass: its ``backward`` reads
  the input Tensors as ``self.inputs`` and the output y as ``self.output()`` (see that class).
- :func:`inplace` is how to write into tensors' arrays directly (optimizers, initializers, running
  statistics): inside the block the arrays may be written; on leaving it each tensor's version
  moves by one, so a graph that saved the old values raises on backward instead of silently
  using the new ones. ``with dc.no_grad(): p.sub_(lr * p.grad)`` does the same for one tensor.
- :func:`set_tangent` / :func:`clear_tangent` / :func:`tangent` attach, remove and read the tangent
  ẋ a tensor carries inside a ``dc.jvp`` pass (forward mode; e.g. a Hessian-vector product
  through a model that reads its own parameters).
- An optimizer whose ``step`` needs a closure says so with the class attribute
  ``needs_closure = True``; :func:`needs_closure` reads it (the training loop asks it, never a name).
"""

import contextlib

from .mode import state
from .tensor import Tensor

__all__ = ["wrap", "inplace", "set_tangent", "clear_tangent", "tangent", "needs_closure"]


def wrap(array, requires_grad=False):
    """A leaf Tensor whose ``data`` is ``array`` itself (no copy, no dtype conversion, no check).

    ``array`` must be a NumPy array of bool, integer or floating dtype; ``requires_grad=True``
    needs a floating one. Use it where ``dc.from_numpy``'s checks would cost on a hot path.
    """
    t = Tensor._make(array)
    if requires_grad:
        t.requires_grad_(True)
    return t


@contextlib.contextmanager
def inplace(*tensors):
    """``with inplace(p, q) as (P, Q):`` write into the arrays P = p.data, Q = q.data directly.

    On leaving the block (also by an exception) each tensor's version moves by one, so a
    recorded graph that saved their old values raises when it is differentiated.
    """
    try:
        yield tuple(t.data for t in tensors)
    finally:
        for t in tensors:
            t._vc[0] += 1


def set_tangent(tensor, tangent_tensor):
    """Make ``tensor`` carry ``tangent_tensor`` (same shape) in the current ``dc.jvp`` pass."""
    tag = state.forward_tag
    if tag is None:
        raise RuntimeError("set_tangent() is only meaningful inside dc.jvp (a forward-mode pass)")
    if not isinstance(tangent_tensor, Tensor):
        raise TypeError(f"set_tangent: the tangent must be a Tensor, got {type(tangent_tensor).__name__}")
    if tangent_tensor.shape != tensor.shape:
        raise ValueError(f"set_tangent: tangent of shape {tuple(tangent_tensor.shape)} for a tensor of shape "
                         f"{tuple(tensor.shape)}")
    tensor._fw = (tag, tangent_tensor)


def clear_tangent(tensor):
    """Remove any tangent ``tensor`` carries (from this or an earlier forward-mode pass)."""
    tensor._fw = None


def tangent(tensor):
    """The tangent Tensor ``tensor`` carries in the current ``dc.jvp`` pass, or None."""
    return tensor.tangent


def needs_closure(optimizer):
    """True when ``optimizer.step`` must be given a closure (class attribute ``needs_closure``)."""
    return bool(getattr(optimizer, "needs_closure", False))
