"""Function transformations: grad, value_and_grad, vjp, jvp, jacobian, hessian, hvp.

They take a Python function of Tensors and return derivatives without touching any ``.grad``:

- ``grad(f)(x)`` = ∇f(x) for a scalar f; ``value_and_grad(f)(x)`` = (f(x), ∇f(x));
- ``vjp(f, x)`` = (f(x), v ↦ vᵀ J(x));  ``jvp(f, (x,), (v,))`` = (f(x), J(x) v) by forward mode;
- ``jacobian(f)(x)`` = J(x) with shape ``f(x).shape + x.shape`` (reverse mode, one vjp per
  output, when f has fewer outputs than inputs; forward mode, one jvp per input, otherwise);
- ``hessian(f)(x)`` = ∇²f(x) (reverse-over-reverse);  ``hvp(f, x, v)`` = (f(x), ∇²f(x) v) by
  forward-over-reverse, at a small constant times the cost of one gradient.

They compose: ``grad(grad(f))`` and ``jacobian(grad(f))`` work, because a function of a tensor
that already requires grad is differentiated with ``create_graph=True``.
"""

import numpy as np

from . import engine
from .forward import Alias, jvp
from .mode import enable_grad, state
from .ops.shape import stack
from .tensor import Tensor

__all__ = ["grad", "value_and_grad", "vjp", "jvp", "jacobian", "hessian", "hvp"]


def _prepare(x, i):
    """A tensor to differentiate f at, and whether the result must stay differentiable."""
    if not isinstance(x, Tensor):
        raise TypeError(f"argument {i} is a {type(x).__name__}; differentiate with respect to Tensors")
    if x.data.dtype.kind != "f":
        raise TypeError(f"argument {i} has dtype {x.data.dtype}; only floating tensors can be differentiated")
    if x.requires_grad and state.grad_enabled:
        return Alias.apply(x), True
    leaf = Tensor._make(x.data, True)
    fw = x._fw
    if fw is not None and fw[0] is state.forward_tag:
        leaf._fw = fw
    return leaf, False


def _plain(y, keep_graph):
    """``y`` without its graph (unless kept), keeping its tangent inside a forward pass."""
    if keep_graph or not isinstance(y, Tensor):
        return y
    d = y.detach()
    d._fw = y._fw
    return d


def _argnums(argnums, nargs):
    nums = (argnums,) if isinstance(argnums, int) else tuple(argnums)
    for n in nums:
        if not -nargs <= n < nargs:
            raise ValueError(f"argnums={argnums} but the function was called with {nargs} arguments")
    return tuple(n % nargs for n in nums)


def _grads(out, xs, seed, create):
    if not out.requires_grad:
        return [Tensor._make(np.zeros_like(x.data)) for x in xs]
    gs = engine.grad(out, xs, seed, retain_graph=create, create_graph=create, allow_unused=True)
    return [Tensor._make(np.zeros_like(x.data)) if g is None else g for x, g in zip(xs, gs)]


def value_and_grad(f, argnums=0):
    """A function returning (f(*args), ∇f) for a scalar-valued f; the gradient with respect to
    ``args[argnums]`` (a tuple of gradients if ``argnums`` is a tuple)."""
    return _value_and_grad(f, argnums, tangent_only=False)


def _value_and_grad(f, argnums, tangent_only):
    """``value_and_grad``; with ``tangent_only`` (inside a forward-mode pass) the gradient is
    wanted only for its tangent, and boxes may skip its value (see ``extend.only_tangent_wanted``)."""

    def value_and_grad_f(*args):
        nums = _argnums(argnums, len(args))
        args = list(args)
        create = False
        with enable_grad():
            for n in nums:
                args[n], c = _prepare(args[n], n)
                create |= c
            out = f(*args)
        if not isinstance(out, Tensor) or out.data.size != 1:
            shape = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
            raise ValueError(f"grad: f must return a one-element Tensor (a scalar), got {shape}; use jacobian or vjp")
        xs = [args[n] for n in nums]
        saved = state.tangent_only
        if tangent_only:
            state.tangent_only = frozenset(id(x) for x in xs)
        try:
            gs = _grads(out, xs, None, create)
        finally:
            state.tangent_only = saved
        return _plain(out, create), (gs[0] if isinstance(argnums, int) else tuple(gs))

    return value_and_grad_f


def grad(f, argnums=0):
    """A function returning ∇f(*args) with respect to ``args[argnums]`` (f scalar-valued)."""
    vg = value_and_grad(f, argnums)

    def grad_f(*args):
        return vg(*args)[1]

    return grad_f


def vjp(f, *primals):
    """(f(*primals), vjp_fn) where vjp_fn(v) = (vᵀ ∂f/∂x₁, ..., vᵀ ∂f/∂xₙ), a tuple."""
    xs, create = [], False
    with enable_grad():
        for i, p in enumerate(primals):
            x, c = _prepare(p, i)
            xs.append(x)
            create |= c
        out = f(*xs)
    if not isinstance(out, Tensor):
        raise TypeError(f"vjp: f must return a Tensor, got {type(out).__name__}")

    def vjp_fn(v):
        if not isinstance(v, Tensor):
            v = Tensor._make(np.asarray(v, dtype=out.data.dtype))
        if v.shape != out.shape:
            raise ValueError(f"vjp: v has shape {tuple(v.shape)} but f's output has shape {tuple(out.shape)}")
        if not out.requires_grad:
            return tuple(Tensor._make(np.zeros_like(x.data)) for x in xs)
        gs = engine.grad(out, xs, v, retain_graph=True, create_graph=create, allow_unused=True)
        return tuple(Tensor._make(np.zeros_like(x.data)) if g is None else g for x, g in zip(xs, gs))

    return _plain(out, create), vjp_fn


def jacobian(f, argnums=0, mode="auto"):
    """A function returning the Jacobian ∂f/∂x of shape ``f(x).shape + x.shape``.

    ``mode="reverse"`` builds it row by row with vector-Jacobian products, ``"forward"`` column
    by column with Jacobian-vector products, ``"auto"`` picks the one with fewer passes.
    """
    if mode not in ("auto", "reverse", "forward"):
        raise ValueError(f"jacobian: mode={mode!r}; expected 'auto', 'reverse' or 'forward'")

    def jacobian_f(*args):
        nums = _argnums(argnums, len(args))
        if len(nums) != 1:
            raise ValueError("jacobian: give a single argnums")
        n = nums[0]
        x = args[n]

        def fx(xi):
            return f(*args[:n], xi, *args[n + 1:])

        out, vjp_fn = vjp(fx, x)
        use_reverse = (mode == "reverse"
                       or (mode == "auto" and (out.data.size <= x.data.size or state.forward_tag is not None)))
        rows = []
        if use_reverse:
            for i in range(out.data.size):
                e = np.zeros(out.data.size, dtype=out.data.dtype)
                e[i] = 1
                rows.append(vjp_fn(Tensor._make(e.reshape(out.shape)))[0].reshape(-1))
            J = _stack(rows).reshape(*(out.shape + x.shape))
        else:
            for j in range(x.data.size):
                e = np.zeros(x.data.size, dtype=x.data.dtype)
                e[j] = 1
                rows.append(jvp(fx, (x,), (Tensor._make(e.reshape(x.shape)),))[1].reshape(-1))
            J = _stack(rows).T.reshape(*(out.shape + x.shape))
        return J

    return jacobian_f


def _stack(rows):
    return stack(rows) if rows else Tensor._make(np.zeros((0, 0)))


def hessian(f, argnums=0):
    """A function returning the Hessian ∇²f(x) (shape ``x.shape + x.shape``) of a scalar f."""
    return jacobian(grad(f, argnums), argnums, mode="reverse")


def hvp(f, x, v):
    """(f(x), ∇²f(x)·v) by forward-over-reverse: one pass of ∇f carrying the tangent v.

    ``x`` and ``v`` are Tensors of one shape, or equal-length tuples of them (then f takes
    several arguments and the product is a tuple).
    """
    xs = (x,) if isinstance(x, Tensor) else tuple(x)
    vs = (v,) if isinstance(v, Tensor) else tuple(v)
    nums = 0 if isinstance(x, Tensor) else tuple(range(len(xs)))
    value = []

    def gradient(*args):
        val, g = _value_and_grad(f, nums, tangent_only=True)(*args)  # only g's tangent Hv is returned
        value.append(val)
        return g

    _, hv = jvp(gradient, xs, vs)
    return _plain(value[0], False), hv
