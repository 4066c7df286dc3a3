"""Flat views of a list of parameters: θ = (vec W₁, vec b₁, ..., vec W_L, vec b_L) ∈ ℝⁿ.

Second-order methods think of the parameters as one vector θ of length n = Σ numel(p) and of
the gradient as one vector g = ∇_θ L. These helpers move between the two views:

- :func:`parameters_to_vector` / :func:`vector_to_parameters` (PyTorch's names, on Tensors);
- :class:`FlatParams`, the NumPy fast path the optimizers use: ``get()`` copies θ out,
  ``set(x)`` writes x into the parameters in place (inside ``extend.inplace``, so their versions
  move and a graph that saved the old values raises instead of using them),
  ``add(t, d)`` does θ ← θ + t·d, ``grad()`` gathers g (zeros for a parameter whose ``.grad``
  is None, as ``torch.optim.LBFGS._gather_flat_grad``) and ``split(v)`` cuts a flat vector
  back into Tensors shaped like the parameters.

The order of the parameters is the order of the list; each is flattened in C order.
"""

import numpy as np

from ...autodiff.extend import inplace, wrap
from ...autodiff.tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters", "FlatParams"]


def _check_params(params, where):
    params = list(params)
    if not params:
        raise ValueError(f"{where}: got an empty parameter list")
    for i, p in enumerate(params):
        if not isinstance(p, Tensor):
            raise TypeError(f"{where}: parameter {i} is a {type(p).__name__}, expected a descend Tensor")
        if p.data.dtype.kind != "f":
            raise TypeError(f"{where}: parameter {i} has dtype {p.data.dtype}; only floating parameters can be "
                            "optimized")
    dtypes = {p.data.dtype for p in params}
    if len(dtypes) > 1:
        raise TypeError(f"{where}: parameters mix dtypes {sorted(str(d) for d in dtypes)}; use one dtype for all")
    return params


def parameters_to_vector(parameters):
    """θ: the parameters flattened and concatenated into one Tensor of shape (n,) (a copy)."""
    params = _check_params(parameters, "parameters_to_vector")
    return wrap(np.concatenate([p.data.reshape(-1) for p in params]))


def vector_to_parameters(vec, parameters):
    """Write the flat vector ``vec`` (shape (n,)) into the parameters, in place."""
    params = _check_params(parameters, "vector_to_parameters")
    FlatParams(params).set(vec.data if isinstance(vec, Tensor) else np.asarray(vec))


class FlatParams:
    """The parameters ``params`` seen as one flat NumPy vector θ of length ``n``.

    ``get()`` → θ (a copy, shape (n,)); ``set(x)``: θ ← x; ``add(t, d)``: θ ← θ + t·d;
    ``grad()`` → g (shape (n,)); ``split(v)`` → list of Tensors shaped like the parameters.
    Writes go into the existing arrays (models keep references to them) and bump versions.
    """

    def __init__(self, params):
        self.params = _check_params(params, "FlatParams")
        self.shapes = [p.data.shape for p in self.params]
        sizes = [p.data.size for p in self.params]
        self.offsets = np.concatenate([[0], np.cumsum(sizes)]).astype(int)
        self.n = int(self.offsets[-1])
        self.dtype = self.params[0].data.dtype

    def _check(self, x, what):
        if x.shape != (self.n,):
            raise ValueError(f"{what}: the flat vector has shape {x.shape}, expected ({self.n},) (the parameter count)")

    def get(self):
        """θ as a new array of shape (n,)."""
        return np.concatenate([p.data.reshape(-1) for p in self.params])

    def set(self, x):
        """θ ← x, in place."""
        self._check(x, "FlatParams.set")
        with inplace(*self.params) as arrays:
            for arr, a, b in zip(arrays, self.offsets[:-1], self.offsets[1:]):
                arr[...] = x[a:b].reshape(arr.shape)

    def add(self, t, d):
        """θ ← θ + t·d, in place (as ``torch.optim.LBFGS._add_grad``)."""
        self._check(d, "FlatParams.add")
        with inplace(*self.params) as arrays:
            for arr, a, b in zip(arrays, self.offsets[:-1], self.offsets[1:]):
                arr += t * d[a:b].reshape(arr.shape)

    def grad(self):
        """g: the ``.grad`` of every parameter, flattened and concatenated (zeros where None)."""
        out = np.empty(self.n, dtype=self.dtype)
        for p, a, b in zip(self.params, self.offsets[:-1], self.offsets[1:]):
            if p.grad is None:
                out[a:b] = 0
            else:
                out[a:b] = p.grad.data.reshape(-1)
        return out

    def split(self, v):
        """The flat vector v cut into Tensors shaped like the parameters (views of v)."""
        self._check(v, "FlatParams.split")
        return [wrap(v[a:b].reshape(s)) for s, a, b in zip(self.shapes, self.offsets[:-1], self.offsets[1:])]

    def join(self, tensors):
        """The Tensors (one per parameter, None meaning zeros) concatenated into a flat array."""
        out = np.zeros(self.n, dtype=self.dtype)
        for t, a, b in zip(tensors, self.offsets[:-1], self.offsets[1:]):
            if t is not None:
                out[a:b] = t.data.reshape(-1)
        return out
