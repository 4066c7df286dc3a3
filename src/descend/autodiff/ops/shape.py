"""Shape primitives: reshape, permute, broadcast (expand) and its adjoint sum_to, cat, indexing.

Each moves entries without changing them, so its backward moves the gradient back:
reshape ↔ reshape, permute ↔ inverse permute, expand ↔ sum over the broadcast dimensions,
cat ↔ slices, x[index] ↔ scatter-add into zeros (repeated indices accumulate).
Views (reshape, permute, expand, basic indexing) share the input's data and version counter.
"""

import numpy as np

from ..function import Function
from ..tensor import Tensor
from .convert import mixed_precision_error


def _share(out, x):
    """Let a view share its base's version counter (an in-place change of one is seen by both)."""
    if out.data.base is not None:
        out._vc = x._vc
    return out


class Reshape(Function):
    """y = x with a new shape (same entries in the same order)."""

    saved_inputs = ()

    def forward(self, x, shape):
        self.shape = shape
        try:
            return x.reshape(shape)
        except ValueError:
            raise ValueError(
                f"reshape: cannot reshape a tensor of shape {x.shape} ({x.size} elements) into {shape}"
            ) from None

    def backward(self, gy):
        return (gy.reshape(self.inputs[0].shape),)

    def jvp(self, tx):
        return tx.reshape(self.shape)


class Permute(Function):
    """y = x with its dimensions reordered: y.shape[i] = x.shape[axes[i]]."""

    saved_inputs = ()

    def forward(self, x, axes):
        self.axes = axes
        return x.transpose(axes)

    def backward(self, gy):
        return (gy.permute(*np.argsort(self.axes)),)

    def jvp(self, tx):
        return tx.permute(*self.axes)


class BroadcastTo(Function):
    """y = x broadcast to ``shape`` (NumPy rules);  the gradient is summed back (see SumTo)."""

    saved_inputs = ()

    def forward(self, x, shape):
        self.shape = shape
        try:
            return np.broadcast_to(x, shape)
        except ValueError:
            raise ValueError(f"expand: cannot broadcast a tensor of shape {x.shape} to {shape}") from None

    def backward(self, gy):
        return (sum_to(gy, self.inputs[0].shape),)

    def jvp(self, tx):
        return tx.expand(self.shape)


class SumTo(Function):
    """y = Σ of x over the dimensions that broadcasting added or stretched, giving ``shape``."""

    saved_inputs = ()

    def forward(self, x, shape):
        self.shape = shape
        lead = x.ndim - len(shape)
        axes = tuple(range(lead)) + tuple(lead + i for i, s in enumerate(shape) if s == 1 and x.shape[lead + i] != 1)
        y = x.sum(axis=axes, keepdims=True) if axes else x
        return y.reshape(shape) if lead or y.shape != shape else y

    def backward(self, gy):
        return (gy.expand(self.inputs[0].shape),)

    def jvp(self, tx):
        return sum_to(tx, self.shape)


class Cat(Function):
    """y = the inputs joined along ``axis``;  each input gets its slice of the gradient."""

    saved_inputs = ()

    def forward(self, *xs, axis=0):
        self.axis = axis
        self.bounds = np.cumsum([0] + [x.shape[axis] for x in xs])
        try:
            return np.concatenate(xs, axis=axis)
        except ValueError:
            shapes = ", ".join(str(x.shape) for x in xs)
            raise ValueError(f"cat: tensors of shapes {shapes} differ outside dim {axis}") from None

    def _slice(self, g, i):
        index = [slice(None)] * g.ndim
        index[self.axis] = slice(int(self.bounds[i]), int(self.bounds[i + 1]))
        return g[tuple(index)]

    def backward(self, gy):
        return tuple(self._slice(gy, i) if x.requires_grad else None for i, x in enumerate(self.inputs))

    def jvp(self, *ts):
        parts = [Tensor._make(np.zeros_like(x.data)) if t is None else t for x, t in zip(self.inputs, ts)]
        return Cat.apply(*parts, axis=self.axis)


class Index(Function):
    """y = x[index] (NumPy basic or advanced indexing);  the gradient is scattered back."""

    saved_inputs = ()

    def forward(self, x, index):
        self.index = index
        try:
            return x[index]
        except IndexError as e:
            raise IndexError(f"index {_show(index)} is out of range for a tensor of shape {x.shape}: {e}") from None

    def backward(self, gy):
        return (IndexScatter.apply(gy, shape=self.inputs[0].shape, index=self.index),)

    def jvp(self, tx):
        return Index.apply(tx, index=self.index)


class IndexScatter(Function):
    """y = zeros(shape) with y[index] += x (accumulating over repeated indices); adjoint of Index."""

    saved_inputs = ()

    def forward(self, g, shape, index):
        self.shape, self.index = shape, index
        out = np.zeros(shape, dtype=g.dtype)
        if _is_basic(index):
            out[index] = g
        else:
            np.add.at(out, index, g)
        return out

    def backward(self, gy):
        return (Index.apply(gy, index=self.index),)

    def jvp(self, tg):
        return IndexScatter.apply(tg, shape=self.shape, index=self.index)


def _is_basic(index):
    items = index if isinstance(index, tuple) else (index,)
    return all(i is None or i is Ellipsis or isinstance(i, (slice, int, np.integer)) for i in items)


def _show(index):
    return repr(index) if not isinstance(index, np.ndarray) else f"array of shape {index.shape}"


def _normalise_index(index):
    """Tensors become arrays; boolean masks become integer index arrays (so scatter-add works).

    Index arrays are copied: the backward pass scatters through them, so a later change of the
    caller's array must not move the gradient."""
    items = index if isinstance(index, tuple) else (index,)
    out = []
    for i in items:
        if isinstance(i, Tensor):
            i = i.data
        if isinstance(i, (list, np.ndarray)):
            i = np.array(i)
            if i.dtype == np.bool_:
                out.extend(np.nonzero(i))
                continue
            if i.dtype.kind not in "iu":
                raise IndexError(f"tensors used as indices must be integer or boolean, not {i.dtype}")
        out.append(i)
    return tuple(out) if isinstance(index, tuple) or len(out) != 1 else out[0]


# --------------------------------------------------------------------------- Tensor-level functions
def _dim(d, ndim, name):
    """``d`` as a dimension index in [0, ndim), or an IndexError naming the op (PyTorch wraps negatives only)."""
    n = max(ndim, 1)
    if not isinstance(d, (int, np.integer)) or not -n <= d < n:
        raise IndexError(f"{name}: dim={d} is out of range for a tensor with {ndim} dimensions")
    return int(d) % n


def _shape_arg(shape):
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = tuple(shape[0])
    return tuple(int(s) for s in shape)


def reshape(x, *shape):
    """x with a new shape (one dimension may be -1); shares data when it can."""
    shape = _shape_arg(shape)
    if shape == x.data.shape:
        return x
    return _share(Reshape.apply(x, shape=shape), x)


view = reshape


def flatten(x, start_dim=0, end_dim=-1):
    """x with dimensions start_dim..end_dim merged into one."""
    nd = x.ndim
    if nd == 0:
        return reshape(x, 1)
    s, e = _dim(start_dim, nd, "flatten"), _dim(end_dim, nd, "flatten")
    if s > e:
        raise ValueError(
            f"flatten: start_dim={start_dim} comes after end_dim={end_dim} for a tensor of shape {x.shape}"
        )
    shape = x.shape[:s] + (-1,) + x.shape[e + 1 :]
    return reshape(x, *shape)


def permute(x, *axes):
    """x with its dimensions reordered."""
    axes = _shape_arg(axes)
    if sorted(a % max(x.ndim, 1) for a in axes) != list(range(x.ndim)):
        raise ValueError(
            f"permute: {axes} is not a permutation of the {x.ndim} dimensions of a tensor of shape {x.shape}"
        )
    axes = tuple(a % x.ndim for a in axes)
    return _share(Permute.apply(x, axes=axes), x)


def transpose(x, dim0, dim1):
    """x with dimensions dim0 and dim1 swapped."""
    axes = list(range(x.ndim))
    dim0, dim1 = _dim(dim0, x.ndim, "transpose"), _dim(dim1, x.ndim, "transpose")
    axes[dim0], axes[dim1] = axes[dim1], axes[dim0]
    return permute(x, *axes)


def T(x):
    """x with all dimensions reversed (the matrix transpose for 2-D)."""
    return x if x.ndim < 2 else permute(x, *reversed(range(x.ndim)))


def mT(x):
    """The last two dimensions swapped (batched matrix transpose)."""
    return transpose(x, -2, -1)


def squeeze(x, dim=None):
    """x without dimensions of length one (only ``dim`` if given)."""
    if dim is None:
        shape = tuple(s for s in x.shape if s != 1)
    else:
        dims = {_dim(d, x.ndim, "squeeze") for d in ((dim,) if isinstance(dim, (int, np.integer)) else dim)}
        shape = tuple(s for i, s in enumerate(x.shape) if not (i in dims and s == 1))
    return reshape(x, *shape)


def unsqueeze(x, dim):
    """x with a new dimension of length one inserted at ``dim``."""
    nd = x.ndim + 1
    if not -nd <= dim < nd:
        raise IndexError(f"unsqueeze: dim={dim} is out of range for a result with {nd} dimensions")
    d = dim % nd
    return reshape(x, *(x.shape[:d] + (1,) + x.shape[d:]))


def expand(x, *shape):
    """x broadcast to ``shape`` (-1 keeps a dimension); a read-only view."""
    shape = _shape_arg(shape)
    lead = len(shape) - x.ndim
    shape = tuple(x.shape[i - lead] if s == -1 else s for i, s in enumerate(shape))
    if shape == x.data.shape:
        return x
    return _share(BroadcastTo.apply(x, shape=shape), x)


def broadcast_to(x, shape):
    """x broadcast to ``shape`` by NumPy's rules (a view, no copy); the gradient is summed back to
    x's shape."""
    return expand(x, *shape)


def sum_to(x, shape):
    """x summed over broadcast dimensions so that it has ``shape`` (the adjoint of expand)."""
    shape = tuple(shape)
    if x.data.shape == shape:
        return x
    return SumTo.apply(x, shape=shape)


def cat(tensors, dim=0, axis=None):
    """The tensors joined along an existing dimension ``dim``."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    ax = _dim(dim if axis is None else axis, tensors[0].ndim, "cat")
    return Cat.apply(*_same_dtype(tensors, "cat"), axis=ax)


def stack(tensors, dim=0, axis=None):
    """The tensors (all of one shape) stacked along a new dimension ``dim``."""
    tensors = list(tensors)
    if not tensors:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    shapes = {tuple(t.shape) for t in tensors}
    if len(shapes) != 1:
        raise ValueError(f"stack: all tensors must have one shape, got {sorted(shapes)}")
    ax = dim if axis is None else axis
    return cat([unsqueeze(t, ax) for t in tensors], dim=ax % (tensors[0].ndim + 1))


def _same_dtype(tensors, name):
    out = []
    dt = None
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"{name}: expected Tensors, got {type(t).__name__}")
        if dt is None:
            dt = t.data.dtype
        elif t.data.dtype != dt:
            if t.data.dtype.kind == "f" and dt.kind == "f":
                raise mixed_precision_error(name, dt, t.data.dtype)
        out.append(t)
    return out


def getitem(x, index):
    """x[index]: integers, slices, None, Ellipsis, integer arrays/tensors, boolean masks."""
    index = _normalise_index(index)
    out = Index.apply(x, index=index)
    return _share(out, x)
