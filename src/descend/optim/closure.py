"""Running the user's closure: ``loss = closure()`` must return the loss and leave a gradient.

A closure re-evaluates the model and its gradient (PyTorch's convention)::

    def closure():
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        return loss

:func:`evaluate_closure` runs it with gradients recorded and checks what came back, so that a
mistake is named at once instead of being taken for convergence: a closure that forgets
``loss.backward()`` leaves no new gradient, which a second-order method would otherwise read as
g = 0 and report as ``"tolerance_grad"``. A parameter's gradient counts as new when ``.grad`` is
a different Tensor after the call (``backward`` always stores a new one, also when it
accumulates).
"""

from ..autodiff.mode import enable_grad
from ..autodiff.tensor import Tensor

__all__ = ["evaluate_closure", "check_loss", "check_new_gradient"]

_SHOWN = 5


def _describe(params, indices):
    shown = ", ".join(f"{i} (shape {tuple(params[i].shape)})" for i in indices[:_SHOWN])
    more = f" and {len(indices) - _SHOWN} more" if len(indices) > _SHOWN else ""
    return shown + more


def check_loss(loss, where="closure"):
    """Raise unless ``loss`` is a Tensor with one element (TypeError / ValueError); return it."""
    if not isinstance(loss, Tensor):
        hint = " (return the loss Tensor itself, not loss.item())" if isinstance(loss, (int, float)) else ""
        raise TypeError(f"{where} must return the loss as a one-element Tensor, got {type(loss).__name__} "
                        f"{loss!r:.60}{hint}")
    if loss.data.size != 1:
        raise ValueError(f"{where} must return a scalar loss (one element), got a Tensor of shape {tuple(loss.shape)}; "
                         "reduce it first, e.g. with .mean() or .sum()")
    return loss


def check_new_gradient(params, before, where="closure"):
    """Raise ValueError unless some parameter's ``.grad`` is a new Tensor since ``before``
    (their ``.grad`` before the call), naming the parameters (position and shape) without one."""
    if any(p.grad is not None and p.grad is not b for p, b in zip(params, before)):
        return
    missing = [i for i, p in enumerate(params) if p.grad is None]
    stale = [i for i, p in enumerate(params) if p.grad is not None]
    parts = []
    if missing:
        parts.append(f"parameters without .grad: {_describe(params, missing)}")
    if stale:
        parts.append(f"parameters whose .grad it left unchanged: {_describe(params, stale)}")
    raise ValueError(f"{where} produced no gradient ({'; '.join(parts)}): it must call loss.backward() before "
                     "returning the loss")


def evaluate_closure(closure, params, where="closure"):
    """``closure()`` run with gradients recorded; returns its loss after checking that it is a
    one-element Tensor and that the call gave ``params`` (a list of Tensors) a new gradient."""
    if not callable(closure):
        raise TypeError(f"{where} must be a function that re-evaluates the model, calls loss.backward() and "
                        f"returns the loss; got {type(closure).__name__}")
    before = [p.grad for p in params]
    with enable_grad():
        loss = closure()
    check_loss(loss, where)
    check_new_gradient(params, before, where)
    return loss
