"""The parameters θ = (θ₁, ..., θ_P) seen as one vector of ℝⁿ, n = Σ_p |θ_p|.

Every routine of :mod:`descend.analysis` takes ``params`` (an iterable of Tensors, e.g.
``model.parameters()``) and works with flat NumPy vectors of length n in the parameters' dtype.
:class:`ParamSpace` checks the list once, splits a flat vector into arrays shaped like the
parameters and joins them back, and moves the parameters to new values through
``descend.autodiff.extend.inplace`` (so a graph recorded earlier raises rather than using moved
values). :meth:`ParamSpace.kept` restores the values bit for bit on leaving, also on an exception.
"""

import contextlib

import numpy as np

from ..autodiff import Tensor
from ..autodiff.extend import inplace

__all__ = ["ParamSpace"]


class ParamSpace:
    """The flat view of a list of parameter Tensors (all floating, one dtype).

    Attributes: ``params`` (tuple of Tensors), ``shapes``, ``sizes``, ``n`` (total size) and
    ``dtype``. Raises ValueError for an empty list and TypeError for a non-Tensor, a non-floating
    tensor or mixed dtypes.
    """

    def __init__(self, params, who="analysis"):
        if isinstance(params, Tensor):
            params = [params]
        try:
            params = tuple(params)
        except TypeError:
            raise TypeError(f"{who}: params must be an iterable of Tensors (e.g. model.parameters()), "
                            f"got {type(params).__name__}") from None
        if not params:
            raise ValueError(f"{who}: the parameter list is empty; pass the Tensors the loss depends on "
                             "(e.g. model.parameters())")
        seen = set()
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{who}: params[{i}] is a {type(p).__name__}, expected a Tensor")
            if p.dtype.kind != "f":
                raise TypeError(f"{who}: params[{i}] has dtype {p.dtype}; only floating tensors have a Hessian")
            if id(p) in seen:
                raise ValueError(f"{who}: params[{i}] (shape {tuple(p.shape)}) appears twice in the parameter list")
            seen.add(id(p))
        dtypes = {p.dtype for p in params}
        if len(dtypes) > 1:
            raise TypeError(f"{who}: the parameters mix dtypes {sorted(str(d) for d in dtypes)}; use one dtype")
        self.who = who
        self.params = params
        self.shapes = [tuple(p.shape) for p in params]
        self.sizes = [int(p.data.size) for p in params]
        self.n = int(sum(self.sizes))
        self.dtype = params[0].dtype
        self._offsets = np.cumsum([0] + self.sizes)

    def split(self, flat):
        """Arrays shaped like the parameters (views of ``flat``, shape (n,))."""
        return [flat[a:b].reshape(s) for a, b, s in zip(self._offsets[:-1], self._offsets[1:], self.shapes)]

    def join(self, arrays):
        """One vector of shape (n,) in the parameters' dtype from arrays (or Tensors, or None = zeros)
        shaped like the parameters."""
        out = np.empty(self.n, dtype=self.dtype)
        for a, b, s, x in zip(self._offsets[:-1], self._offsets[1:], self.shapes, arrays):
            out[a:b] = 0 if x is None else np.asarray(x.data if isinstance(x, Tensor) else x).reshape(-1)
        return out

    def as_vector(self, value, name):
        """``value`` as a vector of shape (n,): a flat array of n values, or a list of arrays (or
        Tensors) shaped like the parameters (for a single parameter, also one array of its shape)."""
        if isinstance(value, (np.ndarray, Tensor)):
            a = value.data if isinstance(value, Tensor) else value
            if a.shape == (self.n,):
                return a.astype(self.dtype)
            if len(self.shapes) == 1 and a.shape == self.shapes[0]:
                return a.reshape(-1).astype(self.dtype)
            raise ValueError(f"{self.who}: {name} has shape {a.shape}; expected a flat vector of {self.n} values "
                             f"or a list shaped like the parameters {self.shapes}")
        parts = list(value)
        if len(parts) != len(self.shapes):
            raise ValueError(f"{self.who}: {name} has {len(parts)} parts but there are {len(self.shapes)} parameters")
        for i, (x, s) in enumerate(zip(parts, self.shapes)):
            shape = tuple(np.shape(x.data if isinstance(x, Tensor) else x))
            if shape != s:
                raise ValueError(f"{self.who}: {name}[{i}] has shape {shape} but parameter {i} has shape {s}")
        return self.join(parts)

    def get(self):
        """θ as a new vector of shape (n,)."""
        return self.join(self.params)

    def set(self, flat):
        """Write θ = ``flat`` (shape (n,)) into the parameters' own arrays (their versions move)."""
        with inplace(*self.params) as arrays:
            for a, x in zip(arrays, self.split(flat)):
                np.copyto(a, x, casting="same_kind")

    @contextlib.contextmanager
    def kept(self):
        """``with space.kept():`` the parameters may be moved inside; on leaving (also by an
        exception) each holds exactly its old values again, in its own array."""
        saved = [p.data.copy() for p in self.params]
        try:
            yield
        finally:
            with inplace(*self.params) as arrays:
                for a, s in zip(arrays, saved):
                    np.copyto(a, s)
