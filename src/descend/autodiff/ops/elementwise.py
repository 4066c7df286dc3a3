"""Elementwise primitives: y = f(x) or y = f(a, b), applied entry by entry with broadcasting.

Each box states its derivative. For a binary op the engine sums gradients back over broadcast
dimensions; a jvp that sees only one tangent returns it in that input's shape and
``Function.apply`` broadcasts it to y's shape.

Sub-gradients at kinks (PyTorch's conventions): relu'(0) = 0, |x|'(0) = 0, sign'(x) = 0,
clamp passes the gradient where min ≤ x ≤ max, maximum/minimum split it equally on ties.
"""

import numpy as np

from ..compile import array_op, tracing
from ..dtype import as_dtype
from ..function import Function
from ..tensor import Tensor
from ..threads import elementwise
from .convert import constant, floating, pair


def _zeros(x):
    return Tensor._make(np.zeros_like(x.data))


_CONSTANTS = {}


def constant_vector(value, n, dtype):
    """A read-only vector of ``n`` entries equal to ``value``: a view of one cached buffer per
    (value, dtype) that grows as needed (for loops that run faster against an array than against
    a broadcast scalar, and products with a vector of ones)."""
    key = (value, np.dtype(dtype))
    buf = _CONSTANTS.get(key)
    if buf is None or buf.size < n:
        buf = np.full(max(n, 1 << 16), value, dtype=dtype)
        buf.flags.writeable = False
        _CONSTANTS[key] = buf
    return buf[:n]


def zeros_in_layout(x):
    """Read-only zeros with the shape, dtype and memory order (C or Fortran) of array ``x``, or None
    for other layouts: ``np.maximum(x, zeros)`` runs NumPy's vectorised loop, about 3x faster than
    ``np.maximum(x, 0)`` with a scalar."""
    if x.flags.c_contiguous:
        order = "C"
    elif x.flags.f_contiguous:
        order = "F"
    else:
        return None
    return constant_vector(0, x.size, x.dtype).reshape(x.shape, order=order)


def _const(arr):
    return Tensor._make(arr)


def _sum_tangents(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a + b


# --------------------------------------------------------------------------- binary arithmetic
class Add(Function):
    """y = a + b;  ∂y/∂a = ∂y/∂b = 1."""

    saved_inputs = ()

    def forward(self, a, b):
        return a + b

    def backward(self, gy):
        return gy, gy

    def jvp(self, ta, tb):
        return _sum_tangents(ta, tb)


class Sub(Function):
    """y = a − b;  ∂y/∂a = 1, ∂y/∂b = −1."""

    saved_inputs = ()

    def forward(self, a, b):
        return a - b

    def backward(self, gy):
        return gy, -gy if self.inputs[1].requires_grad else None

    def jvp(self, ta, tb):
        if tb is None:
            return ta
        return -tb if ta is None else ta - tb


class AddScalar(Function):
    """y = x + c for a Python number c (also x − c as x + (−c), which IEEE 754 defines it to be);  dy/dx = 1."""

    saved_inputs = ()

    def forward(self, x, c):
        return x + constant(c, x.dtype)

    def backward(self, gy):
        return (gy,)

    def jvp(self, tx):
        return tx


class ScalarSub(Function):
    """y = c − x for a Python number c;  dy/dx = −1."""

    saved_inputs = ()

    def forward(self, x, c):
        return constant(c, x.dtype) - x

    def backward(self, gy):
        return (-gy,)

    def jvp(self, tx):
        return -tx


class MulScalar(Function):
    """y = c·x for a Python number c;  dy/dx = c."""

    saved_inputs = ()

    def forward(self, x, c):
        self.c = c
        return x * constant(c, x.dtype)

    def backward(self, gy):
        return (MulScalar.apply(gy, c=self.c),)

    def jvp(self, tx):
        return MulScalar.apply(tx, c=self.c)


class DivScalar(Function):
    """y = x / c for a Python number c;  dy/dx = 1/c."""

    saved_inputs = ()

    def forward(self, x, c):
        self.c = c
        return x / constant(c, x.dtype)

    def backward(self, gy):
        return (DivScalar.apply(gy, c=self.c),)

    def jvp(self, tx):
        return DivScalar.apply(tx, c=self.c)


class Mul(Function):
    """y = a·b;  ∂y/∂a = b, ∂y/∂b = a."""

    def forward(self, a, b):
        return a * b

    def backward(self, gy):
        a, b = self.inputs
        return (gy * b if a.requires_grad else None), (gy * a if b.requires_grad else None)

    def jvp(self, ta, tb):
        a, b = self.inputs
        return _sum_tangents(None if ta is None else ta * b, None if tb is None else a * tb)


class Div(Function):
    """y = a / b;  ∂y/∂a = 1/b, ∂y/∂b = −a/b²."""

    def forward(self, a, b):
        return a / b

    def backward(self, gy):
        a, b = self.inputs
        ga = gy / b if a.requires_grad else None
        gb = -gy * a / (b * b) if b.requires_grad else None
        return ga, gb

    def jvp(self, ta, tb):
        a, b = self.inputs
        return _sum_tangents(None if ta is None else ta / b, None if tb is None else -tb * a / (b * b))


class Pow(Function):
    """y = aᵇ (both tensors);  ∂y/∂a = b·aᵇ⁻¹, ∂y/∂b = aᵇ·ln a.

    At the edges PyTorch's conventions hold: ∂y/∂a = 0 where b = 0 (also at a = 0), and
    ∂y/∂b = 0 where a = 0 and b ≥ 0 (the limit of aᵇ·ln a), instead of NaN.
    """

    def forward(self, a, b):
        return np.power(a, b)

    def _da(self):
        a, b = self.inputs
        d = b * a ** (b - 1)
        b0 = array_op(np.equal, b.data, 0)
        if tracing() or b0.any():   # (a compiled step takes the branch whatever the data)
            d = where(b0, _const(np.zeros((), d.data.dtype)), d)
        return d

    def _db(self):
        a, b = self.inputs
        edge = array_op(_zero_base, a.data, b.data)
        if tracing() or edge.any():   # (a compiled step takes the branch whatever the data)
            a = where(edge, _const(np.ones((), a.data.dtype)), a)
        return a ** b * a.log()

    def backward(self, gy):
        a, b = self.inputs
        ga = gy * self._da() if a.requires_grad else None
        gb = gy * self._db() if b.requires_grad else None
        return ga, gb

    def jvp(self, ta, tb):
        return _sum_tangents(None if ta is None else ta * self._da(), None if tb is None else tb * self._db())


class PowScalar(Function):
    """y = xᵖ for a constant p;  dy/dx = p·xᵖ⁻¹."""

    def forward(self, x, p):
        self.p = p
        return np.power(x, p, dtype=x.dtype) if x.dtype.kind == "f" else np.power(x, p)

    def _dydx(self):
        (x,) = self.inputs
        p = self.p
        if p == 0:
            return _zeros(x)
        if p == 1:
            return None
        if p == 2:
            return x * 2
        return x ** (p - 1) * p

    def backward(self, gy):
        d = self._dydx()
        return (gy if d is None else gy * d),

    def jvp(self, tx):
        d = self._dydx()
        return tx if d is None else tx * d


def _zero_base(a, b):
    """[a = 0 and b ≥ 0]: where aᵇ log a is taken as 0 (log is replaced by log 1)."""
    return (a == 0) & (b >= 0)


def _first_weight(a, b, wins):
    """[wins(a, b)] + ½[a = b] in a and b's result dtype: the share of the gradient that goes to a."""
    return ((wins(a, b)) + 0.5 * (a == b)).astype(np.result_type(a, b))


class Maximum(Function):
    """y = max(a, b);  the gradient goes to the larger input, half to each on a tie."""

    def forward(self, a, b):
        return np.maximum(a, b)

    wins = staticmethod(np.greater)

    def _weights(self):
        """(w_a, w_b) = ([a wins] + ½[a = b], 1 − w_a): array_ops, so that a dc.compile replay remakes them."""
        wa = array_op(_first_weight, self.inputs[0].data, self.inputs[1].data, type(self).wins)
        return _const(wa), _const(array_op(np.subtract, 1, wa))

    def backward(self, gy):
        wa, wb = self._weights()
        return gy * wa, gy * wb

    def jvp(self, ta, tb):
        wa, wb = self._weights()
        return _sum_tangents(None if ta is None else ta * wa, None if tb is None else tb * wb)


class Minimum(Maximum):
    """y = min(a, b);  the gradient goes to the smaller input, half to each on a tie."""

    def forward(self, a, b):
        return np.minimum(a, b)

    wins = staticmethod(np.less)


class Where(Function):
    """y = a where cond else b;  the gradient is routed by the (constant) condition."""

    saved_inputs = (0,)

    def forward(self, cond, a, b):
        return np.where(cond, a, b)

    def backward(self, gy):
        cond, a, b = self.inputs
        zero = _zeros(gy)
        ga = where(cond, gy, zero) if a.requires_grad else None
        gb = where(cond, zero, gy) if b.requires_grad else None
        return None, ga, gb

    def jvp(self, tc, ta, tb):
        cond = self.inputs[0]
        zero = Tensor._make(np.zeros((), dtype=self.inputs[1].data.dtype))
        return where(cond, zero if ta is None else ta, zero if tb is None else tb)


# --------------------------------------------------------------------------- unary
class Neg(Function):
    """y = −x."""

    saved_inputs = ()

    def forward(self, x):
        return -x

    def backward(self, gy):
        return (-gy,)

    def jvp(self, tx):
        return -tx


class Exp(Function):
    """y = eˣ;  dy/dx = y."""

    saves_output = True
    saved_inputs = ()

    def forward(self, x):
        return np.exp(x)

    def backward(self, gy):
        return (gy * self.output(),)

    def jvp(self, tx):
        return tx * self.output()


class Log(Function):
    """y = ln x;  dy/dx = 1/x."""

    def forward(self, x):
        return np.log(x)

    def backward(self, gy):
        return (gy / self.inputs[0],)

    def jvp(self, tx):
        return tx / self.inputs[0]


class Log1p(Function):
    """y = ln(1 + x);  dy/dx = 1/(1 + x)."""

    def forward(self, x):
        return np.log1p(x)

    def backward(self, gy):
        return (gy / (self.inputs[0] + 1),)

    def jvp(self, tx):
        return tx / (self.inputs[0] + 1)


class Sqrt(Function):
    """y = √x;  dy/dx = 1/(2y)."""

    saves_output = True
    saved_inputs = ()

    def forward(self, x):
        return np.sqrt(x)

    def backward(self, gy):
        return (gy / (self.output() * 2),)

    def jvp(self, tx):
        return tx / (self.output() * 2)


class Sin(Function):
    """y = sin x;  dy/dx = cos x."""

    def forward(self, x):
        return np.sin(x)

    def backward(self, gy):
        return (gy * self.inputs[0].cos(),)

    def jvp(self, tx):
        return tx * self.inputs[0].cos()


class Cos(Function):
    """y = cos x;  dy/dx = −sin x."""

    def forward(self, x):
        return np.cos(x)

    def backward(self, gy):
        return (-gy * self.inputs[0].sin(),)

    def jvp(self, tx):
        return -tx * self.inputs[0].sin()


class Tanh(Function):
    """y = tanh x;  dy/dx = 1 − y²."""

    saves_output = True
    saved_inputs = ()

    def forward(self, x):
        return np.tanh(x)

    def _dydx(self):
        y = self.output()
        return 1 - y * y

    def backward(self, gy):
        return (gy * self._dydx(),)

    def jvp(self, tx):
        return tx * self._dydx()


class Sigmoid(Function):
    """y = σ(x) = 1/(1 + e⁻ˣ), computed without overflow;  dy/dx = y(1 − y)."""

    saves_output = True
    saved_inputs = ()

    def forward(self, x):
        # σ(x) = exp(min(x, 0)) / (1 + exp(−|x|)): no overflow at ±∞ and full relative precision in
        # the left tail (½(1 + tanh(x/2)) rounds σ(−20) to 0 in float32; the true value is 2.1e-9).
        d = np.exp(-np.abs(x))
        d += 1
        y = np.exp(np.minimum(x, 0))
        y /= d
        return y if type(y) is np.ndarray else np.asarray(y)  # 0-d inputs give NumPy scalars

    def _dydx(self):
        y = self.output()
        return y * (1 - y)

    def backward(self, gy):
        return (gy * self._dydx(),)

    def jvp(self, tx):
        return tx * self._dydx()


def _relu(x, out=None):
    """max(x, 0) (against zeros of x's layout where it has one: NumPy's vectorised loop)."""
    zeros = zeros_in_layout(x)
    return np.maximum(x, 0 if zeros is None else zeros, out=out)


def _relu_grad(g, y, out=None):
    """g ⊙ [y > 0] in g's dtype."""
    return np.multiply(g, y > 0, out=out, dtype=g.dtype)


class Relu(Function):
    """y = max(0, x);  dy/dx = 1 if x > 0 else 0 (so relu'(0) = 0), i.e. x̄ = ȳ ⊙ [y > 0] (:class:`ReluGrad`)."""

    saves_output = True
    saved_inputs = ()

    def forward(self, x):
        return elementwise(_relu, x)

    def backward(self, gy):
        return (ReluGrad.apply(gy, self.output()),)

    def jvp(self, tx):
        return ReluGrad.apply(tx, self.output())


class ReluGrad(Function):
    """x̄ = ȳ ⊙ [y > 0] for relu's output y: linear in ȳ, and piecewise constant in y (derivative 0)."""

    saved_inputs = (1,)

    def forward(self, g, y):
        return elementwise(_relu_grad, g, y)

    def backward(self, u):
        return ReluGrad.apply(u, self.inputs[1]), None

    def jvp(self, tg, ty):
        return None if tg is None else ReluGrad.apply(tg, self.inputs[1])


class Abs(Function):
    """y = |x|;  dy/dx = sign x (so |x|'(0) = 0)."""

    def forward(self, x):
        return np.abs(x)

    def backward(self, gy):
        return (gy * _const(array_op(np.sign, self.inputs[0].data)),)

    def jvp(self, tx):
        return tx * _const(array_op(np.sign, self.inputs[0].data))


class Sign(Function):
    """y = sign x;  dy/dx = 0 everywhere (its derivative at 0 does not exist; 0 is used)."""

    saved_inputs = ()

    def forward(self, x):
        return np.sign(x)

    def backward(self, gy):
        return (_zeros(gy),)

    def jvp(self, tx):
        return _zeros(tx)


def _inside(x, lo, hi):
    """1 where lo ≤ x ≤ hi (a missing bound: no limit), else 0, in x's dtype."""
    m = np.ones(x.shape, dtype=bool)
    if lo is not None:
        m &= x >= lo
    if hi is not None:
        m &= x <= hi
    return m.astype(x.dtype)


class Clamp(Function):
    """y = min(max(x, lo), hi);  dy/dx = 1 where lo ≤ x ≤ hi, else 0."""

    def forward(self, x, lo=None, hi=None):
        self.lo, self.hi = lo, hi
        return np.clip(x, lo, hi)

    def _mask(self):
        return _const(array_op(_inside, self.inputs[0].data, self.lo, self.hi))

    def backward(self, gy):
        return (gy * self._mask(),)

    def jvp(self, tx):
        return tx * self._mask()


class Cast(Function):
    """y = x converted to another floating dtype;  the gradient is converted back."""

    saved_inputs = ()

    def forward(self, x, dtype):
        self.dtype = dtype
        return x.astype(dtype)

    def backward(self, gy):
        return (Cast.apply(gy, dtype=self.inputs[0].data.dtype),)

    def jvp(self, tx):
        return Cast.apply(tx, dtype=self.dtype)


# --------------------------------------------------------------------------- Tensor-level functions
def _binary(box, a, b, name):
    """``box.apply(a, b)``, turning NumPy's broadcasting error into one that names the op and both shapes."""
    try:
        return box.apply(a, b)
    except ValueError:
        if _broadcastable(a.shape, b.shape):
            raise
        raise ValueError(f"{name}: shapes {a.shape} and {b.shape} cannot be broadcast together") from None


def _broadcastable(sa, sb):
    return all(x == y or x == 1 or y == 1 for x, y in zip(sa[::-1], sb[::-1]))


#: Python numbers that meet a floating tensor through the one-input boxes AddScalar, MulScalar, ...
_NUMBERS = (float, int)


def _float_and_number(x, c):
    """True when ``x`` is a floating Tensor and ``c`` a Python int or float (not bool)."""
    return type(c) in _NUMBERS and isinstance(x, Tensor) and x.data.dtype.kind == "f"


def add(a, b):
    """a + b with broadcasting."""
    if _float_and_number(a, b):
        return AddScalar.apply(a, c=b)
    if _float_and_number(b, a):
        return AddScalar.apply(b, c=a)
    a, b = pair(a, b, "add")
    return _binary(Add, a, b, "add")


def sub(a, b):
    """a − b with broadcasting."""
    if _float_and_number(a, b):
        return AddScalar.apply(a, c=-b)
    if _float_and_number(b, a):
        return ScalarSub.apply(b, c=a)
    a, b = pair(a, b, "sub")
    return _binary(Sub, a, b, "sub")


def mul(a, b):
    """a · b (elementwise) with broadcasting."""
    if _float_and_number(a, b):
        return MulScalar.apply(a, c=b)
    if _float_and_number(b, a):
        return MulScalar.apply(b, c=a)
    a, b = pair(a, b, "mul")
    return _binary(Mul, a, b, "mul")


def div(a, b):
    """a / b (true division) with broadcasting."""
    if _float_and_number(a, b):
        return DivScalar.apply(a, c=b)
    a, b = pair(a, b, "div")
    a, b = floating(a), floating(b)
    return _binary(Div, a, b, "div")


def pow(a, b):
    """aᵇ; b may be a number (a constant exponent) or a Tensor."""
    if isinstance(b, (int, float)) and isinstance(a, Tensor):
        if a.data.dtype.kind != "f" and not isinstance(b, (bool, int)):
            a = floating(a)  # an integer tensor to a float power is a float tensor (default dtype)
        return PowScalar.apply(a, p=b)
    a, b = pair(a, b, "pow")
    return _binary(Pow, a, b, "pow")


def maximum(a, b):
    """Elementwise max(a, b); on ties each input gets half the gradient."""
    a, b = pair(a, b, "maximum")
    return _binary(Maximum, a, b, "maximum")


def minimum(a, b):
    """Elementwise min(a, b); on ties each input gets half the gradient."""
    a, b = pair(a, b, "minimum")
    return _binary(Minimum, a, b, "minimum")


def where(cond, a, b):
    """a where ``cond`` is true, else b (``cond`` a boolean tensor or array; no gradient to it)."""
    if not isinstance(cond, Tensor):
        cond = Tensor._make(np.asarray(cond, dtype=bool))
    elif cond.data.dtype != np.bool_:
        cond = Tensor._make(cond.data.astype(bool))
    a, b = pair(a, b, "where")
    try:
        return Where.apply(cond, a, b)
    except ValueError:
        raise ValueError(f"where: shapes {cond.shape} (condition), {a.shape} and {b.shape} "
                         "cannot be broadcast together") from None


def neg(x):
    """−x, elementwise; ∂(−x)/∂x = −1."""
    return Neg.apply(x)


def exp(x):
    """eˣ."""
    return Exp.apply(floating(x))


def log(x):
    """Natural logarithm ln x."""
    return Log.apply(floating(x))


def log1p(x):
    """ln(1 + x), accurate for small x."""
    return Log1p.apply(floating(x))


def sqrt(x):
    """√x."""
    return Sqrt.apply(floating(x))


def sin(x):
    """sin x, elementwise (x floating; integers are converted to the default dtype); ∂ sin x/∂x = cos x."""
    return Sin.apply(floating(x))


def cos(x):
    """cos x, elementwise (x floating; integers are converted to the default dtype); ∂ cos x/∂x = −sin x."""
    return Cos.apply(floating(x))


def tanh(x):
    """Hyperbolic tangent."""
    return Tanh.apply(floating(x))


def sigmoid(x):
    """Logistic sigmoid σ(x) = 1/(1 + e⁻ˣ)."""
    return Sigmoid.apply(floating(x))


def relu(x):
    """Rectified linear unit max(0, x), with relu'(0) = 0."""
    return Relu.apply(x)


def abs(x):
    """|x|, with |x|'(0) = 0."""
    return Abs.apply(x)


def sign(x):
    """sign(x) ∈ {−1, 0, 1}; its gradient is 0."""
    return Sign.apply(x)


def clamp(x, min=None, max=None):
    """x clipped to [min, max] (either bound may be None); the bounds are numbers, which take x's
    dtype (a float bound makes an integer x floating)."""
    if min is None and max is None:
        raise ValueError("clamp: give at least one of min and max")
    for what, v in (("min", min), ("max", max)):
        if v is None:
            continue
        if isinstance(v, Tensor) or np.ndim(v) != 0:
            raise TypeError(
                f"clamp: {what} must be a number, got {type(v).__name__}; for elementwise bounds use "
                "dc.maximum(x, lo) and dc.minimum(x, hi)"
            )
        if np.asarray(v).dtype.kind not in "biuf":
            raise TypeError(f"clamp: {what}={v!r} is not a real number")
        if np.asarray(v).dtype.kind == "f":
            x = floating(x)
    dt = x.data.dtype.type
    return Clamp.apply(x, lo=None if min is None else dt(min), hi=None if max is None else dt(max))


def square(x):
    """x², elementwise (``x ** 2``); ∂x²/∂x = 2x."""
    return PowScalar.apply(x, p=2)


def to(x, dtype):
    """x converted to ``dtype`` (differentiable between floating dtypes)."""
    dt = as_dtype(dtype)
    if dt == x.data.dtype:
        return x
    if dt.kind != "f" or x.data.dtype.kind != "f":
        return Tensor._make(x.data.astype(dt))
    return Cast.apply(x, dtype=dt)
