"""Checking derivatives against central finite differences, in float64.

For random unit directions u (or each coordinate direction, for small inputs) the numerical
directional derivative

    D_u f(x) ≈ (f(x + εu) − f(x − εu)) / (2ε),      ε = 1e-6,

is compared with forward mode (J u from ``jvp``, entry by entry) and with reverse mode
(wᵀ J u from ``vjp`` with a random cotangent w). A pair passes if |a − n| ≤ atol + rtol·|n|
(PyTorch's defaults atol = 1e-5, rtol = 1e-3). ``gradgradcheck`` runs the same check on the
function (x, w) ↦ wᵀ J(x), i.e. on the backward pass itself, so second derivatives are checked.
"""

import numpy as np

from .forward import jvp
from .functional import vjp
from .mode import no_grad
from .ops.shape import cat
from .tensor import Tensor


class GradcheckError(AssertionError):
    """Raised by gradcheck when an analytical derivative disagrees with finite differences."""


def _flat_outputs(out):
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return np.concatenate([np.asarray(o.data, dtype=np.float64).reshape(-1) for o in outs])


def _directions(inputs, diff, n_random, rng, basis_limit):
    sizes = [inputs[i].data.size for i in diff]
    total = sum(sizes)
    if total <= basis_limit:
        for k in range(total):
            flat = np.zeros(total)
            flat[k] = 1.0
            yield _split(flat, inputs, diff)
    else:
        for _ in range(n_random):
            flat = rng.standard_normal(total)
            yield _split(flat / np.linalg.norm(flat), inputs, diff)


def _split(flat, inputs, diff):
    parts, start = {}, 0
    for i in diff:
        n = inputs[i].data.size
        parts[i] = flat[start:start + n].reshape(inputs[i].shape)
        start += n
    return parts


def _evaluate(f, inputs, parts, scale):
    args = [Tensor._make(x.data + scale * parts[i]) if i in parts else x for i, x in enumerate(inputs)]
    with no_grad():
        return _flat_outputs(f(*args))


def _fail(kind, inputs, direction, analytical, numerical, raise_exception):
    msg = (f"gradcheck: {kind} derivative disagrees with finite differences\n"
           f"inputs: {[x.data for x in inputs]}\ndirection: {direction}\n"
           f"analytical: {analytical}\nnumerical:  {numerical}")
    if raise_exception:
        raise GradcheckError(msg)
    return False


def gradcheck(f, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, n_directions=4, check_forward=True,
              check_reverse=True, raise_exception=True, seed=0, basis_limit=24):
    """True if f's reverse- and forward-mode derivatives match central differences.

    ``inputs`` is a Tensor or a tuple of Tensors; floating ones (which must be float64) are
    differentiated, others are passed as constants. On a mismatch raises ``GradcheckError`` with
    the input, the direction and both derivatives (or returns False if ``raise_exception=False``).
    """
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.data.dtype.kind == "f"]
    for i in diff:
        if inputs[i].data.dtype != np.float64:
            raise TypeError(
                f"gradcheck: input {i} has dtype {inputs[i].data.dtype}; finite differences need float64 inputs"
            )
    if not diff:
        raise ValueError("gradcheck: no floating input to differentiate")
    rng = np.random.default_rng(seed)

    def f_diff(*xs):
        args = list(inputs)
        for i, x in zip(diff, xs):
            args[i] = x
        return f(*args)

    xs = [inputs[i] for i in diff]
    out, vjp_fn = vjp(f_diff, *xs)
    if isinstance(out, (tuple, list)):
        raise TypeError("gradcheck: f must return a single Tensor")
    w = rng.standard_normal(out.shape)
    wt = Tensor._make(w.astype(out.data.dtype))
    reverse = vjp_fn(wt) if check_reverse else None
    for parts in _directions(inputs, diff, n_directions, rng, basis_limit):
        numerical = (_evaluate(f, inputs, parts, eps) - _evaluate(f, inputs, parts, -eps)) / (2 * eps)
        if check_forward:
            tangents = [Tensor._make(parts[i]) for i in diff]
            _, t_out = jvp(f_diff, xs, tangents)
            analytical = np.asarray(t_out.data, dtype=np.float64).reshape(-1)
            if not np.all(np.abs(analytical - numerical) <= atol + rtol * np.abs(numerical)):
                return _fail("forward-mode (jvp)", inputs, parts, analytical, numerical, raise_exception)
        if check_reverse:
            analytical = sum(float(np.sum(g.data * parts[i])) for g, i in zip(reverse, diff))
            num = float(np.dot(w.reshape(-1), numerical))
            if not abs(analytical - num) <= atol + rtol * abs(num):
                return _fail("reverse-mode (vjp)", inputs, parts, analytical, num, raise_exception)
    return True


def gradgradcheck(f, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3, seed=0, **kwargs):
    """gradcheck of the backward pass (x, w) ↦ wᵀ J_f(x): checks second derivatives."""
    inputs = (inputs,) if isinstance(inputs, Tensor) else tuple(inputs)
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.data.dtype.kind == "f"]
    with no_grad():
        out = f(*inputs)
    if grad_outputs is None:
        rng = np.random.default_rng(seed + 1)
        grad_outputs = Tensor._make(rng.standard_normal(out.shape))
    n = len(inputs)

    def backward_of_f(*args):
        xs, w = args[:n], args[n]

        def f_diff(*ys):
            full = list(xs)
            for i, y in zip(diff, ys):
                full[i] = y
            return f(*full)

        _, vjp_fn = vjp(f_diff, *[xs[i] for i in diff])
        gs = vjp_fn(w)
        return cat([g.reshape(-1) for g in gs])

    return gradcheck(backward_of_f, inputs + (grad_outputs,), eps=eps, atol=atol, rtol=rtol, seed=seed, **kwargs)
