"""The extension surface: how code outside the engine builds on it.

Layers, optimizers, data sets, analysis routines and users' own code reach the engine through
these names (and the public ``descend.autodiff`` API), never through a name that starts with
``_``. Like HIPS autograd's ``extend`` module, this is small and documented:

- :func:`wrap` makes a Tensor from a NumPy array without a copy or a check (a library's fast path;
  users normally call ``dc.tensor`` or ``dc.from_numpy``).
- A new primitive is a :class:`~descend.autodiff.function.Function` subclass: its ``backward`` reads
  the input Tensors as ``self.inputs`` and the output y as ``self.output()`` (see that class).
- :func:`inplace` is how to write into tensors' arrays directly (optimizers, initializers, running
  statistics): inside the block the arrays may be written, even those a live graph holds
  read-only for its backward pass; on leaving it each tensor's version moves by one, so a graph
  that saved the old values raises on backward instead of silently using the new ones.
  ``with dc.no_grad(): p.sub_(lr * p.grad)`` (or ``p -= lr * p.grad``) does the same for one tensor.
- :func:`set_tangent` / :func:`clear_tangent` / :func:`tangent` attach, remove and read the tangent
  ẋ a tensor carries inside a ``dc.jvp`` pass (forward mode; e.g. a Hessian-vector product
  through a model that reads its own parameters).
- :func:`only_tangent_wanted` tells a backward rule that the value of an input's gradient will
  not be read, only its tangent (``dc.hvp`` returns ∇²f·v and drops ∇f): an expensive gradient
  primitive may then skip its value (``LinearGradWeight`` does).
- :func:`held_by` says which box holds a tensor's array read-only (why NumPy says "assignment
  destination is read-only": a live graph saved the array for its backward pass).
- :func:`not_replayable` tells a ``dc.compile`` trace that Python is running inside the step that
  a replay would skip (a module's hooks): the step then runs eagerly.
- :func:`host_op` marks Python that works on arrays in place inside a training step (an
  optimizer's ``step``, ``clip_grad_norm_``, a scheduler's ``step``): ``dc.compile`` records the
  call and makes it again at each replay instead of tracing what it does.
- :func:`array_op` runs a computation on arrays that the graph does not record (a dropout mask
  drawn from the generator, batch normalization's running statistics): ``dc.compile`` records
  the call and makes it again at each replay, with the replay's arrays.
- :func:`tracing` is True while ``dc.compile`` records a step: a branch on data that only skips
  work takes its general path then.
- :func:`guard_attribute` reads an attribute that decides what a step computes (a module's
  ``training`` flag): ``dc.compile`` keeps one recording per value of it.
- :func:`in_parts` splits a kernel's items among the package's one thread pool (:data:`NUM_THREADS`
  threads): layers and optimizers share it; :func:`scratch` gives each thread reusable work arrays;
  :func:`blas_threads` limits the BLAS library's own threads inside a block.
- An optimizer whose ``step`` needs a closure says so with the class attribute
  ``needs_closure = True``; :func:`needs_closure` reads it (the training loop asks it, never a name).
"""

from .compile import array_op, guard_attribute, host_op, tracing
from .hold import holder, holding, lift, restore
from .mode import not_replayable, state
from .tensor import Tensor, check_array
from .threads import NUM_THREADS, blas_threads, in_parts, scratch

__all__ = ["wrap", "inplace", "held_by", "set_tangent", "clear_tangent", "tangent", "only_tangent_wanted",
           "needs_closure", "host_op", "array_op", "guard_attribute", "tracing", "not_replayable", "in_parts",
           "NUM_THREADS", "scratch", "blas_threads"]


def wrap(array, requires_grad=False):
    """A leaf Tensor whose ``data`` is ``array`` itself (no copy, no dtype conversion).

    ``array`` must be a NumPy array of bool, integer or floating dtype (TypeError otherwise);
    ``requires_grad=True`` needs a floating one. Use it where ``dc.from_numpy``'s checks would
    cost on a hot path.
    """
    t = Tensor._make(check_array(array, "wrap"))
    if requires_grad:
        t.requires_grad_(True)
    return t


class inplace:
    """``with inplace(p, q) as (P, Q):`` write into the arrays P = p.data, Q = q.data directly.

    Inside the block the arrays are writable even if a live graph holds them read-only for its
    backward pass. On leaving the block (also by an exception) each tensor's version moves by one,
    so a recorded graph that saved the old values raises when it is differentiated (PyTorch's rule).
    """

    __slots__ = ("tensors", "lifted")

    def __init__(self, *tensors):
        for i, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                raise TypeError(f"inplace: argument {i} is a {type(t).__name__}, expected a Tensor")
        self.tensors = tensors
        self.lifted = ()

    def __enter__(self):
        not_replayable("the step writes into tensors' arrays in place (extend.inplace)")
        self.lifted = [lift(t.data) for t in self.tensors] if holding() else ()
        return tuple(t.data for t in self.tensors)

    def __exit__(self, *exc):
        for lifted in reversed(self.lifted):
            restore(lifted)
        self.lifted = ()
        for t in self.tensors:
            t._vc[0] += 1
        return False


def held_by(x):
    """The name of a recorded box (e.g. ``"Mul"``) that holds the array of Tensor or array ``x``
    read-only for its backward pass, or None when no live graph holds it."""
    box = holder(x.data if isinstance(x, Tensor) else x)
    return None if box is None else box.__name__


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


def only_tangent_wanted(x):
    """True when ``x`` is a leaf whose gradient is wanted only for its tangent in the current pass
    (the leaves of ``dc.hvp``): a box whose input it is may return any value of the right shape
    for that input's gradient, as long as the gradient's tangent is right."""
    return x._ctx is None and id(x) in state.tangent_only


def needs_closure(optimizer):
    """True when ``optimizer.step`` must be given a closure (class attribute ``needs_closure``)."""
    return bool(getattr(optimizer, "needs_closure", False))

