"""The registry of descend's primitives that drives the generic tests in ``test_primitives.py``.

Each :class:`Case` names one primitive (or one variant of it: a dim, a broadcasting pattern,
a reflected operator) and gives

- ``fn``: the descend call, a function of descend Tensors;
- ``ref``: the NumPy reference, the same function of NumPy arrays;
- ``torch_ref``: the PyTorch reference, the same function of torch tensors;
- ``shapes``: one or more tuples of input shapes (one shape per input; broadcasting pairs,
  scalars ``()``, batches);
- ``domain``: where inputs are drawn, one name per input (or one for all): ``"any"`` N(0, 1),
  ``"pos"`` U[0.5, 2] (log, sqrt, pow bases), ``"away0"`` |x| ∈ [0.3, 1.5] with random sign
  (relu, abs, where: away from the kink), ``"unit"`` U[-0.8, 0.8] (away from clamp bounds ±1),
  ``"distinct"`` well-separated values in random order (max/min: no ties within ε), ``"prob"``
  U[0.1, 0.9] (probabilities);
- ``differentiable``: False for argmax, comparisons and other outputs without gradient;
- ``second_order``: whether the second derivative is worth checking against PyTorch's double
  backward (False for linear maps and piecewise constant derivatives, where torch may say the
  gradient does not depend on the input); ``gradgradcheck`` runs for every differentiable case.

Adding a primitive to the tests = adding one entry to ``CASES``. The primitives of
``descend.nn.functional`` (the fused linear, convolution, pooling and loss boxes and the activations)
are here too, with plain NumPy references from ``references.py``.
"""

from dataclasses import dataclass, field

import numpy as np

import descend as dc
import descend.nn.functional as F

from . import references as R


@dataclass
class Case:
    """One primitive (variant) with its references, input shapes and domains."""

    name: str
    fn: object
    ref: object
    torch_ref: object
    shapes: list
    domain: object = "any"
    differentiable: bool = True
    second_order: bool = True
    gradcheck: bool = True
    rtol: float = 1e-7
    ids: list = field(default_factory=list)

    def domains(self, n):
        return (self.domain,) * n if isinstance(self.domain, str) else tuple(self.domain)

    def inputs(self, shapes, seed=0):
        """NumPy float64 inputs of the given shapes drawn from the case's domains."""
        rng = np.random.default_rng(seed)
        return [draw(rng, s, d) for s, d in zip(shapes, self.domains(len(shapes)))]


def draw(rng, shape, domain):
    """A float64 array of ``shape`` from the named domain (see the module docstring)."""
    if domain == "any":
        return rng.standard_normal(shape)
    if domain == "pos":
        return rng.uniform(0.5, 2.0, shape)
    if domain == "away0":
        return rng.uniform(0.3, 1.5, shape) * rng.choice([-1.0, 1.0], shape)
    if domain == "unit":
        return rng.uniform(-0.8, 0.8, shape)
    if domain == "prob":
        return rng.uniform(0.1, 0.9, shape)
    if domain == "distinct":
        n = int(np.prod(shape, dtype=np.int64))
        return (rng.permutation(n) * 0.25 - 0.1 * n + rng.uniform(0, 0.05, n)).reshape(shape)
    raise ValueError(f"unknown domain {domain!r}")


def _t():
    import torch

    return torch


UNARY = [(), (3,), (3, 4), (2, 3, 2)]
BINARY = [((3, 4), (3, 4)), ((3, 4), (4,)), ((2, 1, 3), (4, 1)), ((), (3,)), ((3,), ())]
MAT = [((3, 4),)]
CUBE = [((2, 3, 4),)]

MASK = np.array([[True, False, True, True], [False, False, True, False], [True, True, False, True]])
INT_IDX = np.array([0, 2, 0, 1, 2])


def _np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _np_lse(x, axis=None, keepdims=False):
    m = x.max(axis=axis, keepdims=True)
    y = np.log(np.exp(x - m).sum(axis=axis, keepdims=True)) + m
    return y if keepdims else (np.squeeze(y, axis=axis) if axis is not None else y.reshape(()))


def _np_sigmoid(x):
    return 1 / (1 + np.exp(-x))


def _np_first(x, axis, largest):
    """max/min values along ``axis`` (NumPy) for the ``x.max(dim)`` entries."""
    return x.max(axis=axis) if largest else x.min(axis=axis)


CASES = [
    # ---------------------------------------------------------------- binary arithmetic
    Case("add", lambda a, b: a + b, lambda a, b: a + b, lambda a, b: a + b, BINARY, second_order=False),
    Case("sub", lambda a, b: a - b, lambda a, b: a - b, lambda a, b: a - b, BINARY, second_order=False),
    Case("mul", lambda a, b: a * b, lambda a, b: a * b, lambda a, b: a * b, BINARY),
    Case("div", lambda a, b: a / b, lambda a, b: a / b, lambda a, b: a / b, BINARY, domain=("any", "pos")),
    Case("pow_tensor_tensor", lambda a, b: a ** b, lambda a, b: a ** b, lambda a, b: a ** b, BINARY,
         domain=("pos", "any")),
    Case("pow_tensor_scalar", lambda x: x ** 3, lambda x: x ** 3, lambda x: x ** 3, [(s,) for s in UNARY]),
    Case("pow_tensor_half", lambda x: x ** 0.5, lambda x: x ** 0.5, lambda x: x ** 0.5, [((3, 4),)], domain="pos"),
    Case("pow_tensor_neg", lambda x: x ** -2, lambda x: x ** -2.0, lambda x: x ** -2, [((3, 4),)], domain="pos"),
    Case("pow_scalar_tensor", lambda x: 2.5 ** x, lambda x: 2.5 ** x, lambda x: 2.5 ** x, [((3, 4),), ((),)]),
    Case("add_scalar", lambda x: x + 1.5, lambda x: x + 1.5, lambda x: x + 1.5, [((3, 4),)], second_order=False),
    Case("radd_scalar", lambda x: 1.5 + x, lambda x: 1.5 + x, lambda x: 1.5 + x, [((3, 4),)], second_order=False),
    Case("rsub_scalar", lambda x: 1.5 - x, lambda x: 1.5 - x, lambda x: 1.5 - x, [((3, 4),)], second_order=False),
    Case("rmul_scalar", lambda x: 3.0 * x, lambda x: 3.0 * x, lambda x: 3.0 * x, [((3, 4),)], second_order=False),
    Case("rdiv_scalar", lambda x: 2.0 / x, lambda x: 2.0 / x, lambda x: 2.0 / x, [((3, 4),)], domain="pos"),
    Case("div_scalar", lambda x: x / 4.0, lambda x: x / 4.0, lambda x: x / 4.0, [((3, 4),)], second_order=False),
    Case("neg", lambda x: -x, lambda x: -x, lambda x: -x, [(s,) for s in UNARY], second_order=False),
    # ---------------------------------------------------------------- matmul
    Case("matmul", lambda a, b: a @ b, lambda a, b: a @ b, lambda a, b: a @ b,
         [((3,), (3,)), ((2, 3), (3,)), ((3,), (3, 4)), ((2, 3), (3, 4)), ((5, 2, 3), (3, 4)),
          ((3,), (2, 3, 4)), ((2, 3), (5, 3, 4)), ((2, 1, 2, 3), (3, 3, 4))]),
    # ---------------------------------------------------------------- unary elementwise
    Case("exp", lambda x: x.exp(), np.exp, lambda x: x.exp(), [(s,) for s in UNARY]),
    Case("log", lambda x: x.log(), np.log, lambda x: x.log(), [(s,) for s in UNARY], domain="pos"),
    Case("log1p", lambda x: dc.log1p(x), np.log1p, lambda x: x.log1p(), [(s,) for s in UNARY], domain="pos"),
    Case("sqrt", lambda x: x.sqrt(), np.sqrt, lambda x: x.sqrt(), [(s,) for s in UNARY], domain="pos"),
    Case("sin", lambda x: x.sin(), np.sin, lambda x: x.sin(), [(s,) for s in UNARY]),
    Case("cos", lambda x: dc.cos(x), np.cos, lambda x: x.cos(), [(s,) for s in UNARY]),
    Case("tanh", lambda x: x.tanh(), np.tanh, lambda x: x.tanh(), [(s,) for s in UNARY]),
    Case("sigmoid", lambda x: x.sigmoid(), _np_sigmoid, lambda x: x.sigmoid(), [(s,) for s in UNARY]),
    Case("relu", lambda x: x.relu(), lambda x: np.maximum(x, 0), lambda x: x.relu(), [(s,) for s in UNARY],
         domain="away0", second_order=False),
    Case("abs", lambda x: x.abs(), np.abs, lambda x: x.abs(), [(s,) for s in UNARY], domain="away0",
         second_order=False),
    Case("abs_builtin", lambda x: abs(x), np.abs, lambda x: abs(x), [((3, 4),)], domain="away0", second_order=False),
    Case("sign", lambda x: x.sign(), np.sign, lambda x: x.sign(), [(s,) for s in UNARY], domain="away0",
         second_order=False),
    Case("clamp", lambda x: x.clamp(-0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5), lambda x: x.clamp(-0.5, 0.5),
         [((3, 4),), ((2, 3, 2),)], second_order=False),
    Case("clamp_min", lambda x: dc.clamp(x, min=0.2), lambda x: np.maximum(x, 0.2), lambda x: x.clamp(min=0.2),
         [((3, 4),)], second_order=False),
    Case("clamp_max", lambda x: x.clamp(max=0.1), lambda x: np.minimum(x, 0.1), lambda x: x.clamp(max=0.1),
         [((3, 4),)], second_order=False),
    Case("square", lambda x: x.square(), np.square, lambda x: x.square(), [((3, 4),)]),
    Case("maximum", lambda a, b: dc.maximum(a, b), np.maximum, lambda a, b: _t().maximum(a, b), BINARY,
         second_order=False),
    Case("minimum", lambda a, b: a.minimum(b), np.minimum, lambda a, b: _t().minimum(a, b), BINARY,
         second_order=False),
    Case("where", lambda c, a, b: dc.where(c > 0, a, b), lambda c, a, b: np.where(c > 0, a, b),
         lambda c, a, b: _t().where(c > 0, a, b),
         [((3, 4), (3, 4), (3, 4)), ((3, 4), (4,), ()), ((2, 1), (2, 3), (1, 3))],
         domain=("away0", "any", "any"), second_order=False),
    Case("where_product", lambda c, a: dc.where(c > 0, a * a, a.exp()), lambda c, a: np.where(c > 0, a * a, np.exp(a)),
         lambda c, a: _t().where(c > 0, a * a, a.exp()), [((3, 4), (3, 4))], domain=("away0", "any")),
    Case("where_scalar_branch", lambda c, a: dc.where(c > 0, a, 0.0), lambda c, a: np.where(c > 0, a, 0.0),
         lambda c, a: _t().where(c > 0, a, 0.0), [((3, 4), (3, 4)), ((3, 1), (4,))], domain=("away0", "any"),
         second_order=False),
    Case("maximum_scalar", lambda x: dc.maximum(x, 0.25), lambda x: np.maximum(x, 0.25),
         lambda x: _t().maximum(x, _t().tensor(0.25, dtype=x.dtype)), [((3, 4),)], second_order=False),
    Case("clamp_swapped_bounds", lambda x: x.clamp(0.5, -0.5), lambda x: np.minimum(np.maximum(x, 0.5), -0.5),
         lambda x: x.clamp(0.5, -0.5), [((3, 4),)], second_order=False),
    Case("row_normalise", lambda x: x / x.abs().sum(dim=-1, keepdim=True),
         lambda x: x / np.abs(x).sum(-1, keepdims=True),
         lambda x: x / x.abs().sum(dim=-1, keepdim=True), MAT, domain="away0"),
    # ---------------------------------------------------------------- reductions
    Case("sum", lambda x: x.sum(), np.sum, lambda x: x.sum(), [(s,) for s in UNARY], second_order=False),
    Case("sum_dim1", lambda x: x.sum(dim=1), lambda x: x.sum(axis=1), lambda x: x.sum(dim=1), CUBE, second_order=False),
    Case("sum_dims_keepdim", lambda x: x.sum(dim=(0, 2), keepdim=True), lambda x: x.sum(axis=(0, 2), keepdims=True),
         lambda x: x.sum(dim=(0, 2), keepdim=True), CUBE, second_order=False),
    Case("sum_axis_neg", lambda x: dc.sum(x, axis=-1), lambda x: x.sum(axis=-1), lambda x: x.sum(dim=-1), CUBE,
         second_order=False),
    Case("mean", lambda x: x.mean(), np.mean, lambda x: x.mean(), [(s,) for s in UNARY], second_order=False),
    Case("mean_dim", lambda x: x.mean(dim=-1, keepdim=True), lambda x: x.mean(axis=-1, keepdims=True),
         lambda x: x.mean(dim=-1, keepdim=True), CUBE, second_order=False),
    Case("mean_dims", lambda x: dc.mean(x, dim=(0, 1)), lambda x: x.mean(axis=(0, 1)), lambda x: x.mean(dim=(0, 1)),
         CUBE, second_order=False),
    Case("var", lambda x: x.var(), lambda x: x.var(ddof=1), lambda x: x.var(), [((3, 4),), ((2, 3, 4),)]),
    Case("var_dim", lambda x: x.var(dim=1, keepdim=True), lambda x: x.var(axis=1, ddof=1, keepdims=True),
         lambda x: x.var(dim=1, keepdim=True), CUBE),
    Case("var_biased_dims", lambda x: dc.var(x, dim=(0, 2), correction=0), lambda x: x.var(axis=(0, 2)),
         lambda x: x.var(dim=(0, 2), correction=0), CUBE),
    Case("std", lambda x: x.std(), lambda x: x.std(ddof=1), lambda x: x.std(), [((3, 4),)]),
    Case("std_dim", lambda x: dc.std(x, dim=-1), lambda x: x.std(axis=-1, ddof=1), lambda x: x.std(dim=-1), CUBE),
    Case("max", lambda x: x.max(), np.max, lambda x: x.max(), [((3, 4),), ((2, 3, 4),)], domain="distinct",
         second_order=False),
    Case("min", lambda x: x.min(), np.min, lambda x: x.min(), [((3, 4),)], domain="distinct", second_order=False),
    Case("max_function", lambda x: dc.max(x), np.max, lambda x: x.max(), [((3, 4),)], domain="distinct",
         second_order=False),
    Case("max_dim", lambda x: x.max(dim=1)[0], lambda x: x.max(axis=1), lambda x: x.max(dim=1)[0], CUBE + MAT,
         domain="distinct", second_order=False),
    Case("max_dim_keepdim", lambda x: x.max(dim=-1, keepdim=True).values, lambda x: x.max(axis=-1, keepdims=True),
         lambda x: x.max(dim=-1, keepdim=True).values, CUBE, domain="distinct", second_order=False),
    Case("min_dim", lambda x: dc.min(x, dim=0).values, lambda x: x.min(axis=0), lambda x: x.min(dim=0).values,
         CUBE + MAT, domain="distinct", second_order=False),
    Case("max_dim_indices", lambda x: x.max(dim=1)[1], lambda x: x.argmax(axis=1), lambda x: x.max(dim=1)[1], CUBE,
         domain="distinct", differentiable=False),
    Case("min_dim_indices", lambda x: x.min(dim=-1).indices, lambda x: x.argmin(axis=-1),
         lambda x: x.min(dim=-1).indices, CUBE, domain="distinct", differentiable=False),
    Case("amax", lambda x: x.amax(), np.max, lambda x: x.amax(), MAT, domain="distinct", second_order=False),
    Case("amax_dims", lambda x: x.amax(dim=(0, 2)), lambda x: x.max(axis=(0, 2)), lambda x: x.amax(dim=(0, 2)), CUBE,
         domain="distinct", second_order=False),
    Case("amin_dim_keepdim", lambda x: dc.amin(x, dim=1, keepdim=True), lambda x: x.min(axis=1, keepdims=True),
         lambda x: x.amin(dim=1, keepdim=True), CUBE, domain="distinct", second_order=False),
    Case("amin_axis", lambda x: x.amin(axis=-1), lambda x: x.min(axis=-1), lambda x: x.amin(dim=-1), CUBE,
         domain="distinct", second_order=False),
    Case("logsumexp", lambda x: x.logsumexp(), _np_lse, lambda x: x.logsumexp(dim=tuple(range(x.ndim))),
         [((3, 4),), ((5,),)]),
    Case("logsumexp_dim", lambda x: x.logsumexp(dim=1), lambda x: _np_lse(x, axis=1), lambda x: x.logsumexp(dim=1),
         CUBE + MAT),
    Case("logsumexp_dims_keepdim", lambda x: dc.logsumexp(x, dim=(0, 2), keepdim=True),
         lambda x: _np_lse(x, axis=(0, 2), keepdims=True), lambda x: x.logsumexp(dim=(0, 2), keepdim=True), CUBE),
    Case("argmax", lambda x: x.argmax(), np.argmax, lambda x: x.argmax(), MAT + CUBE, domain="distinct",
         differentiable=False),
    Case("argmax_dim", lambda x: x.argmax(dim=1), lambda x: x.argmax(axis=1), lambda x: x.argmax(dim=1), CUBE,
         domain="distinct", differentiable=False),
    Case("argmin_dim_keepdim", lambda x: dc.argmin(x, dim=-1, keepdim=True), lambda x: x.argmin(axis=-1, keepdims=True),
         lambda x: x.argmin(dim=-1, keepdim=True), CUBE, domain="distinct", differentiable=False),
    Case("argmin", lambda x: x.argmin(), np.argmin, lambda x: x.argmin(), MAT, domain="distinct", differentiable=False),
    Case("softmax", lambda x: x.softmax(dim=-1), lambda x: _np_softmax(x, -1), lambda x: x.softmax(dim=-1),
         [((5,),), ((3, 4),), ((2, 3, 4),)]),
    Case("softmax_dim0", lambda x: dc.softmax(x, dim=0), lambda x: _np_softmax(x, 0), lambda x: x.softmax(dim=0), CUBE),
    Case("log_softmax", lambda x: x.log_softmax(dim=-1), lambda x: np.log(_np_softmax(x, -1)),
         lambda x: x.log_softmax(dim=-1), [((5,),), ((3, 4),), ((2, 3, 4),)]),
    Case("log_softmax_dim1", lambda x: dc.log_softmax(x, dim=1), lambda x: np.log(_np_softmax(x, 1)),
         lambda x: x.log_softmax(dim=1), CUBE),
    # ---------------------------------------------------------------- shape
    Case("reshape", lambda x: x.reshape(4, 3), lambda x: x.reshape(4, 3), lambda x: x.reshape(4, 3), MAT,
         second_order=False),
    Case("reshape_tuple_neg", lambda x: x.reshape((-1, 2)), lambda x: x.reshape(-1, 2), lambda x: x.reshape(-1, 2),
         CUBE, second_order=False),
    Case("view", lambda x: x.view(6, 4), lambda x: x.reshape(6, 4), lambda x: x.view(6, 4), CUBE, second_order=False),
    Case("flatten", lambda x: x.flatten(), lambda x: x.reshape(-1), lambda x: x.flatten(), CUBE, second_order=False),
    Case("flatten_start", lambda x: x.flatten(1), lambda x: x.reshape(2, -1), lambda x: x.flatten(1), CUBE,
         second_order=False),
    Case("transpose", lambda x: x.transpose(0, 2), lambda x: x.swapaxes(0, 2), lambda x: x.transpose(0, 2), CUBE,
         second_order=False),
    Case("T", lambda x: x.T, lambda x: x.T, lambda x: x.T, MAT, second_order=False),
    Case("mT", lambda x: x.mT, lambda x: x.swapaxes(-1, -2), lambda x: x.mT, CUBE, second_order=False),
    Case("permute", lambda x: x.permute(2, 0, 1), lambda x: x.transpose(2, 0, 1), lambda x: x.permute(2, 0, 1), CUBE,
         second_order=False),
    Case("squeeze", lambda x: x.squeeze(), lambda x: x.squeeze(), lambda x: x.squeeze(), [((3, 1, 4, 1),)],
         second_order=False),
    Case("squeeze_dim", lambda x: x.squeeze(1), lambda x: x.squeeze(1), lambda x: x.squeeze(1), [((3, 1, 4, 1),)],
         second_order=False),
    Case("unsqueeze", lambda x: x.unsqueeze(1), lambda x: x[:, None], lambda x: x.unsqueeze(1), MAT,
         second_order=False),
    Case("unsqueeze_neg", lambda x: x.unsqueeze(-1), lambda x: x[..., None], lambda x: x.unsqueeze(-1), MAT,
         second_order=False),
    Case("expand", lambda x: x.expand(2, 3, 4), lambda x: np.broadcast_to(x, (2, 3, 4)), lambda x: x.expand(2, 3, 4),
         [((3, 1),), ((4,),)], second_order=False),
    Case("expand_keep", lambda x: x.expand(-1, 5), lambda x: np.broadcast_to(x, (3, 5)), lambda x: x.expand(-1, 5),
         [((3, 1),)], second_order=False),
    Case("broadcast_to", lambda x: x.broadcast_to((2, 3, 4)), lambda x: np.broadcast_to(x, (2, 3, 4)),
         lambda x: x.broadcast_to((2, 3, 4)), [((1, 4),)], second_order=False),
    Case("cat", lambda a, b: dc.cat([a, b], dim=0), lambda a, b: np.concatenate([a, b], 0),
         lambda a, b: _t().cat([a, b], dim=0), [((2, 3), (4, 3))], second_order=False),
    Case("cat_dim_last", lambda a, b, c: dc.cat([a, b, c], dim=-1), lambda a, b, c: np.concatenate([a, b, c], -1),
         lambda a, b, c: _t().cat([a, b, c], dim=-1), [((2, 3, 1), (2, 3, 2), (2, 3, 3))], second_order=False),
    Case("stack", lambda a, b: dc.stack([a, b]), lambda a, b: np.stack([a, b]), lambda a, b: _t().stack([a, b]),
         [((3, 4), (3, 4))], second_order=False),
    Case("stack_dim", lambda a, b, c: dc.stack([a, b, c], dim=1), lambda a, b, c: np.stack([a, b, c], 1),
         lambda a, b, c: _t().stack([a, b, c], dim=1), [((3, 2), (3, 2), (3, 2))], second_order=False),
    Case("stack_neg_dim", lambda a, b: dc.stack([a, b], dim=-1), lambda a, b: np.stack([a, b], -1),
         lambda a, b: _t().stack([a, b], dim=-1), [((3, 2), (3, 2))], second_order=False),
    Case("flatten_middle", lambda x: x.flatten(0, 1), lambda x: x.reshape(6, 4), lambda x: x.flatten(0, 1), CUBE,
         second_order=False),
    Case("squeeze_tuple", lambda x: x.squeeze((1, 3)), lambda x: x.squeeze((1, 3)), lambda x: x.squeeze((1, 3)),
         [((3, 1, 4, 1),)], second_order=False),
    Case("transpose_neg", lambda x: x.transpose(-1, -3), lambda x: x.swapaxes(-1, -3), lambda x: x.transpose(-1, -3),
         CUBE, second_order=False),
    Case("stack_scalars", lambda a, b: dc.stack([a, b]), lambda a, b: np.stack([a, b]), lambda a, b: _t().stack([a, b]),
         [((), ())], second_order=False),
    # ---------------------------------------------------------------- indexing
    Case("index_int", lambda x: x[1], lambda x: x[1], lambda x: x[1], MAT, second_order=False),
    Case("index_neg_int_pair", lambda x: x[-1, 2], lambda x: x[-1, 2], lambda x: x[-1, 2], MAT, second_order=False),
    Case("index_slices", lambda x: x[1:, ::2], lambda x: x[1:, ::2], lambda x: x[1:, ::2], MAT, second_order=False),
    Case("index_ellipsis_none", lambda x: x[..., None, 1:3], lambda x: x[..., None, 1:3],
         lambda x: x[..., None, 1:3], CUBE, second_order=False),
    Case("index_int_array_repeats", lambda x: x[INT_IDX], lambda x: x[INT_IDX],
         lambda x: x[_t().from_numpy(INT_IDX)], MAT, second_order=False),
    Case("index_int_tensor_repeats", lambda x: x[dc.tensor(INT_IDX)], lambda x: x[INT_IDX],
         lambda x: x[_t().from_numpy(INT_IDX)], MAT, second_order=False),
    Case("index_int_list_cols", lambda x: x[:, [3, 0, 3]], lambda x: x[:, [3, 0, 3]], lambda x: x[:, [3, 0, 3]], MAT,
         second_order=False),
    Case("index_two_arrays", lambda x: x[INT_IDX, INT_IDX], lambda x: x[INT_IDX, INT_IDX],
         lambda x: x[_t().from_numpy(INT_IDX), _t().from_numpy(INT_IDX)], MAT, second_order=False),
    Case("index_bool_mask", lambda x: x[MASK], lambda x: x[MASK], lambda x: x[_t().from_numpy(MASK)], MAT,
         second_order=False),
    Case("index_bool_tensor_rows", lambda x: x[dc.tensor(MASK[:, 0])], lambda x: x[MASK[:, 0]],
         lambda x: x[_t().from_numpy(MASK[:, 0].copy())], MAT, second_order=False),
    Case("index_then_square", lambda x: x[INT_IDX] ** 2, lambda x: x[INT_IDX] ** 2,
         lambda x: x[_t().from_numpy(INT_IDX)] ** 2, MAT),
    Case("index_negative_step", lambda x: x[::-1, 1::2], lambda x: x[::-1, 1::2], lambda x: x.flip(0)[:, 1::2], MAT,
         second_order=False),
    Case("index_mixed_basic_advanced", lambda x: x[1:, None, [0, 2, 0]], lambda x: x[1:, None, [0, 2, 0]],
         lambda x: x[1:, None, [0, 2, 0]], CUBE, second_order=False),
    Case("index_separated_arrays", lambda x: x[[0, 1, 1], :, [3, 3, 0]], lambda x: x[[0, 1, 1], :, [3, 3, 0]],
         lambda x: x[[0, 1, 1], :, [3, 3, 0]], CUBE, second_order=False),
    Case("index_bool_last_dim", lambda x: x[..., MASK[0]], lambda x: x[..., MASK[0]],
         lambda x: x[..., _t().from_numpy(MASK[0].copy())], CUBE, second_order=False),
    Case("index_0d_int_tensor", lambda x: x[dc.tensor(2)], lambda x: x[2], lambda x: x[_t().tensor(2)], MAT,
         second_order=False),
    Case("index_2d_int_tensor", lambda x: x[dc.tensor([[0, 1], [2, 2]])], lambda x: x[np.array([[0, 1], [2, 2]])],
         lambda x: x[_t().tensor([[0, 1], [2, 2]])], MAT, second_order=False),
    Case("index_bool_list", lambda x: x[[True, False, True]], lambda x: x[np.array([True, False, True])],
         lambda x: x[_t().tensor([True, False, True])], MAT, second_order=False),
    # ---------------------------------------------------------------- comparisons and conversion
    Case("lt", lambda a, b: a < b, lambda a, b: a < b, lambda a, b: a < b, BINARY, differentiable=False),
    Case("le", lambda a, b: a <= b, lambda a, b: a <= b, lambda a, b: a <= b, BINARY, differentiable=False),
    Case("gt", lambda a, b: a > b, lambda a, b: a > b, lambda a, b: a > b, BINARY, differentiable=False),
    Case("ge", lambda a, b: a.ge(b), lambda a, b: a >= b, lambda a, b: a >= b, BINARY, differentiable=False),
    Case("eq", lambda a, b: a == b, lambda a, b: a == b, lambda a, b: a == b, [((3, 4), (3, 4))],
         differentiable=False),
    Case("ne_scalar", lambda a: a != 0.5, lambda a: a != 0.5, lambda a: a != 0.5, MAT, differentiable=False),
    Case("gt_scalar", lambda a: a > 0, lambda a: a > 0, lambda a: a > 0, MAT, differentiable=False),
    Case("to_same_dtype", lambda x: x.to(x.dtype) * 2, lambda x: x * 2, lambda x: x.to(x.dtype) * 2, MAT,
         second_order=False),
    Case("to_float64_and_back", lambda x: (x.to(dc.float64) * 2).to(x.dtype),
         lambda x: x * 2, lambda x: (x.double() * 2).to(x.dtype), MAT, second_order=False),
    Case("isfinite", lambda x: dc.isfinite(x), np.isfinite,
         lambda x: _t().isfinite(x), MAT, differentiable=False),
    Case("isnan_of_log", lambda x: x.log().isnan(), lambda x: np.isnan(np.log(x)), lambda x: x.log().isnan(), MAT,
         differentiable=False),
    Case("logical_not", lambda x: ~(x > 0), lambda x: ~(x > 0), lambda x: ~(x > 0), MAT, differentiable=False),
    Case("any_dim", lambda x: (x > 0).any(dim=1),
         lambda x: (x > 0).any(axis=1), lambda x: (x > 0).any(dim=1), MAT, differentiable=False),
    Case("all", lambda x: (x > -5).all(), lambda x: (x > -5).all(), lambda x: (x > -5).all(), MAT,
         differentiable=False),
    Case("outer", lambda a, b: dc.outer(a, b), np.outer, lambda a, b: _t().outer(a, b), [((3,), (4,))]),
    Case("expand_as", lambda a, b: a.expand_as(b) * b, lambda a, b: np.broadcast_to(a, b.shape) * b,
         lambda a, b: a.expand_as(b) * b, [((3, 1), (3, 4))]),
    Case("view_as_reshape_as", lambda a, b: a.view_as(b) + a.reshape_as(b), lambda a, b: 2 * a.reshape(b.shape),
         lambda a, b: a.view_as(b) + a.reshape_as(b), [((3, 4), (4, 3))], second_order=False),
    Case("clip_alias", lambda x: x.clip(-0.5, 0.5), lambda x: np.clip(x, -0.5, 0.5), lambda x: x.clip(-0.5, 0.5), MAT,
         second_order=False),
    Case("neg_method", lambda x: x.neg(), np.negative, lambda x: x.neg(), MAT, second_order=False),
    Case("method_forms", lambda a, b: a.add(b).mul(b).sub(a).div(b.abs() + 1).pow(2).matmul(b.T),
         lambda a, b: ((((a + b) * b - a) / (np.abs(b) + 1)) ** 2) @ b.T,
         lambda a, b: a.add(b).mul(b).sub(a).div(b.abs() + 1).pow(2).matmul(b.T), [((3, 4), (3, 4))],
         domain=("any", "away0")),
    # ---------------------------------------------------------------- compositions
    Case("mlp_layer", lambda x, w, b: (x @ w + b).tanh().sum(dim=-1), lambda x, w, b: np.tanh(x @ w + b).sum(-1),
         lambda x, w, b: (x @ w + b).tanh().sum(dim=-1), [((4, 3), (3, 2), (2,))]),
    Case("cross_entropy_like", lambda x: -(x.log_softmax(dim=-1)[[0, 1, 2], [1, 0, 3]]).mean(),
         lambda x: -np.log(_np_softmax(x, -1))[[0, 1, 2], [1, 0, 3]].mean(),
         lambda x: -(x.log_softmax(dim=-1)[[0, 1, 2], [1, 0, 3]]).mean(), MAT),
]


def _tF():
    return _t().nn.functional


LABELS = np.array([2, 0, 3])
IGNORED = np.array([2, -100, 3])
CLASS_WEIGHT = np.array([0.5, 1.0, 2.0, 1.5])
PLUS_MINUS = np.array([[1.0, -1.0, 1.0, 1.0], [-1.0, -1.0, 1.0, -1.0], [1.0, 1.0, -1.0, 1.0]])
CONV = [((2, 2, 5, 5), (3, 2, 3, 3), (3,))]
IMAGES = [((2, 2, 5, 6),)]


def _weight_like(x, w):
    return dc.tensor(w, dtype=x.dtype)


NN_CASES = [
    # ---------------------------------------------------------------- fused affine map and convolution
    Case("linear", lambda x, w, b: F.linear(x, w, b), lambda x, w, b: x @ w.T + b,
         lambda x, w, b: _tF().linear(x, w, b),
         [((4, 3), (2, 3), (2,)), ((2, 3, 3), (2, 3), (2,)), ((3,), (2, 3), (2,))]),
    Case("linear_no_bias", lambda x, w: F.linear(x, w), lambda x, w: x @ w.T, lambda x, w: _tF().linear(x, w),
         [((5, 3), (2, 3))]),
    Case("linear_tanh", lambda x, w, b: F.linear(x, w, b).tanh(), lambda x, w, b: np.tanh(x @ w.T + b),
         lambda x, w, b: _tF().linear(x, w, b).tanh(), [((4, 3), (2, 3), (2,))]),
    Case("conv2d", lambda x, w, b: F.conv2d(x, w, b), lambda x, w, b: R.conv2d(x, w, b),
         lambda x, w, b: _tF().conv2d(x, w, b), CONV),
    Case("conv2d_stride_padding_dilation", lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2)),
         lambda x, w, b: R.conv2d(x, w, b, (2, 1), 1, (1, 2)),
         lambda x, w, b: _tF().conv2d(x, w, b, stride=(2, 1), padding=1, dilation=(1, 2)), CONV),
    Case("conv2d_same_no_bias", lambda x, w: F.conv2d(x, w, padding="same"), lambda x, w: R.conv2d(x, w, padding=1),
         lambda x, w: _tF().conv2d(x, w, padding="same"), [((1, 2, 4, 5), (2, 2, 3, 3))]),
    Case("conv2d_squared", lambda x, w: F.conv2d(x, w, stride=2) ** 2, lambda x, w: R.conv2d(x, w, stride=2) ** 2,
         lambda x, w: _tF().conv2d(x, w, stride=2) ** 2, [((1, 2, 5, 5), (2, 2, 2, 2))]),
    # ---------------------------------------------------------------- pooling
    Case("max_pool2d", lambda x: F.max_pool2d(x, 2), lambda x: R.max_pool2d(x, 2), lambda x: _tF().max_pool2d(x, 2),
         IMAGES, domain="distinct", second_order=False),
    Case("max_pool2d_overlapping", lambda x: F.max_pool2d(x, 3, 2, 1), lambda x: R.max_pool2d(x, 3, 2, 1),
         lambda x: _tF().max_pool2d(x, 3, 2, 1), IMAGES, domain="distinct", second_order=False),
    Case("max_pool2d_dilation_ceil", lambda x: F.max_pool2d(x, 2, 2, 1, dilation=2, ceil_mode=True),
         lambda x: R.max_pool2d(x, 2, 2, 1, 2, ceil_mode=True),
         lambda x: _tF().max_pool2d(x, 2, 2, 1, dilation=2, ceil_mode=True), IMAGES, domain="distinct",
         second_order=False),
    Case("max_pool2d_squared", lambda x: F.max_pool2d(x, 2) ** 2, lambda x: R.max_pool2d(x, 2) ** 2,
         lambda x: _tF().max_pool2d(x, 2) ** 2, IMAGES, domain="distinct"),
    Case("max_pool2d_indices", lambda x: F.max_pool2d(x, 3, 2, 1, return_indices=True)[1],
         lambda x: R.max_pool2d(x, 3, 2, 1, return_indices=True)[1],
         lambda x: _tF().max_pool2d(x, 3, 2, 1, return_indices=True)[1], IMAGES, domain="distinct",
         differentiable=False),
    Case("avg_pool2d", lambda x: F.avg_pool2d(x, 2), lambda x: R.avg_pool2d(x, 2), lambda x: _tF().avg_pool2d(x, 2),
         IMAGES, second_order=False),
    Case("avg_pool2d_padding_no_pad_count", lambda x: F.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
         lambda x: R.avg_pool2d(x, 3, 2, 1, count_include_pad=False),
         lambda x: _tF().avg_pool2d(x, 3, 2, 1, count_include_pad=False), IMAGES, second_order=False),
    Case("avg_pool2d_ceil", lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True),
         lambda x: R.avg_pool2d(x, 3, 2, 1, ceil_mode=True), lambda x: _tF().avg_pool2d(x, 3, 2, 1, ceil_mode=True),
         IMAGES, second_order=False),
    Case("avg_pool2d_divisor", lambda x: F.avg_pool2d(x, 3, 2, 1, divisor_override=5) ** 2,
         lambda x: R.avg_pool2d(x, 3, 2, 1, divisor_override=5) ** 2,
         lambda x: _tF().avg_pool2d(x, 3, 2, 1, divisor_override=5) ** 2, IMAGES),
    # ---------------------------------------------------------------- activations
    Case("leaky_relu", lambda x: F.leaky_relu(x, 0.2), lambda x: R.leaky_relu(x, 0.2),
         lambda x: _tF().leaky_relu(x, 0.2), MAT, domain="away0", second_order=False),
    Case("elu", lambda x: F.elu(x, 0.7), lambda x: R.elu(x, 0.7), lambda x: _tF().elu(x, 0.7), MAT, domain="away0"),
    Case("gelu", lambda x: F.gelu(x), R.gelu, lambda x: _tF().gelu(x), MAT),
    Case("gelu_tanh", lambda x: F.gelu(x, "tanh"), R.gelu_tanh, lambda x: _tF().gelu(x, approximate="tanh"), MAT),
    Case("silu", lambda x: F.silu(x), R.silu, lambda x: _tF().silu(x), MAT),
    Case("softplus", lambda x: F.softplus(x * 10, 2.0, 15.0), lambda x: R.softplus(x * 10, 2.0, 15.0),
         lambda x: _tF().softplus(x * 10, 2.0, 15.0), MAT, domain="unit"),
    Case("erf", lambda x: F.erf(x), R.erf, lambda x: _t().erf(x), [((3, 4),), ((),)]),
    Case("step", lambda x: F.step(x) * x, lambda x: (x > 0) * x, lambda x: (x > 0) * x, MAT, domain="away0",
         second_order=False),
    Case("maxout", lambda x: F.maxout(x, 2), lambda x: x.reshape(3, 2, 2).max(-1),
         lambda x: x.reshape(3, 2, 2).max(-1)[0], MAT, domain="distinct", second_order=False),
    Case("batch_norm_train", lambda x, w, b: F.batch_norm(x, None, None, w, b, training=True), R.batch_norm_train,
         lambda x, w, b: _tF().batch_norm(x, None, None, w, b, training=True),
         [((4, 3), (3,), (3,)), ((3, 2, 4), (2,), (2,))]),
    # ---------------------------------------------------------------- losses
    Case("cross_entropy", lambda a: F.cross_entropy(a, LABELS), lambda a: R.cross_entropy(a, LABELS),
         lambda a: _tF().cross_entropy(a, _t().from_numpy(LABELS)), MAT),
    Case("cross_entropy_sum_none",
         lambda a: F.cross_entropy(a, LABELS, reduction="none") * dc.tensor([1.0, 2.0, 3.0], dtype=a.dtype),
         lambda a: R.cross_entropy(a, LABELS, reduction="none") * [1.0, 2.0, 3.0],
         lambda a: (_tF().cross_entropy(a, _t().from_numpy(LABELS), reduction="none")
                    * _t().tensor([1.0, 2.0, 3.0], dtype=a.dtype)), MAT),
    Case("cross_entropy_weighted_smoothed_ignored",
         lambda a: F.cross_entropy(a, IGNORED, weight=_weight_like(a, CLASS_WEIGHT), label_smoothing=0.2),
         lambda a: R.cross_entropy(a, IGNORED, weight=CLASS_WEIGHT, label_smoothing=0.2),
         lambda a: _tF().cross_entropy(a, _t().from_numpy(IGNORED), weight=_t().tensor(CLASS_WEIGHT, dtype=a.dtype),
                                       label_smoothing=0.2), MAT),
    Case("nll_loss", lambda a: F.nll_loss(a.log_softmax(dim=1), LABELS),
         lambda a: R.nll_loss(R.log_softmax(a, 1), LABELS),
         lambda a: _tF().nll_loss(a.log_softmax(dim=1), _t().from_numpy(LABELS)), MAT),
    Case("mse_loss", lambda a, t: F.mse_loss(a, t), lambda a, t: np.mean((a - t) ** 2),
         lambda a, t: _tF().mse_loss(a, t), [((3, 4), (3, 4))]),
    Case("l1_loss", lambda a, t: F.l1_loss(a, t, reduction="sum"), lambda a, t: np.abs(a - t).sum(),
         lambda a, t: _tF().l1_loss(a, t, reduction="sum"), [((3, 4), (3, 4))], domain=("away0", "unit"),
         gradcheck=False, second_order=False),
    Case("huber_loss", lambda a, t: F.huber_loss(a, t, delta=0.7), lambda a, t: R.huber(a - t, 0.7),
         lambda a, t: _tF().huber_loss(a, t, delta=0.7), [((3, 4), (3, 4))]),
    Case("smooth_l1_loss", lambda a, t: F.smooth_l1_loss(a, t, beta=0.7), lambda a, t: R.smooth_l1(a - t, 0.7),
         lambda a, t: _tF().smooth_l1_loss(a, t, beta=0.7), [((3, 4), (3, 4))]),
    Case("binary_cross_entropy", lambda p, t: F.binary_cross_entropy(p, t), R.binary_cross_entropy,
         lambda p, t: _tF().binary_cross_entropy(p, t), [((3, 4), (3, 4))], domain="prob"),
    Case("binary_cross_entropy_with_logits", lambda a, t: F.binary_cross_entropy_with_logits(a, t, pos_weight=2.0),
         lambda a, t: R.binary_cross_entropy_with_logits(a, t, 2.0),
         lambda a, t: _tF().binary_cross_entropy_with_logits(a, t, pos_weight=_t().tensor(2.0, dtype=a.dtype)),
         [((3, 4), (3, 4))], domain=("any", "prob")),
    Case("gaussian_nll_loss", lambda m, t, v: F.gaussian_nll_loss(m, t, v), R.gaussian_nll,
         lambda m, t, v: _tF().gaussian_nll_loss(m, t, v), [((3, 4), (3, 4), (3, 4))], domain=("any", "any", "pos")),
    Case("kl_div_batchmean", lambda a, p: F.kl_div(a.log_softmax(dim=1), p, reduction="batchmean"),
         lambda a, p: R.kl_div_batchmean(R.log_softmax(a, 1), p),
         lambda a, p: _tF().kl_div(a.log_softmax(dim=1), p, reduction="batchmean"), [((3, 4), (3, 4))],
         domain=("any", "prob")),
    Case("hinge_loss", lambda a: F.hinge_loss(a, PLUS_MINUS), lambda a: np.mean(np.maximum(0, 1 - PLUS_MINUS * a)),
         lambda a: (1 - _t().from_numpy(PLUS_MINUS).to(a.dtype) * a).clamp(min=0).mean(), MAT, domain="distinct",
         second_order=False),
    Case("multi_margin_loss", lambda a: F.multi_margin_loss(a, LABELS, p=2), lambda a: R.multi_margin(a, LABELS, p=2),
         lambda a: _tF().multi_margin_loss(a, _t().from_numpy(LABELS), p=2), MAT, domain="distinct",
         second_order=False),  # (torch has no double backward for it; gradgradcheck still runs)
]

CASES = CASES + NN_CASES


def ids(case, shapes):
    """A readable test id: name and shapes."""
    return case.name + "-" + "&".join("x".join(map(str, s)) or "scalar" for s in shapes)


def expand(cases, predicate=lambda c: True):
    """``(case, shapes)`` pairs for pytest parametrisation, with their ids."""
    params, names = [], []
    for c in cases:
        if predicate(c):
            for shapes in c.shapes:
                params.append((c, shapes))
                names.append(ids(c, shapes))
    return params, names
