"""Finite differences: the notes' check of a gradient, and why ε must be neither too large nor too small.

    forward:  ∂f/∂xᵢ ≈ (f(x + ε eᵢ) − f(x)) / ε,              truncation error ½ ε |f''|,
    central:  ∂f/∂xᵢ ≈ (f(x + ε eᵢ) − f(x − ε eᵢ)) / (2ε),     truncation error ⅙ ε² |f'''|.

Each f value also carries a rounding error of about u|f| (u the unit round-off, 1.1e-16 in
float64), which the division by ε magnifies to about u|f|/ε. The total error is therefore
U-shaped in ε: truncation falls with ε, round-off grows as 1/ε; the best ε is about u^(1/2)
(forward, error ~u^(1/2)) or u^(1/3) (central, error ~u^(2/3)).
"""

import numpy as np

from .. import autodiff as ad
from .checks import choice, grid, positive_float

__all__ = ["finite_difference", "finite_difference_errors"]

SCHEMES = ("central", "forward")


def _as_float(y, who):
    if isinstance(y, ad.Tensor):
        if y.data.size != 1:
            raise ValueError(f"{who}: f must return a scalar, got a Tensor of shape {tuple(y.shape)}")
        return float(y.data.reshape(()))
    a = np.asarray(y)
    if a.size != 1:
        raise ValueError(f"{who}: f must return a scalar, got shape {a.shape}")
    return float(a.reshape(()))


def finite_difference(f, x, eps=1e-6, scheme="central"):
    """The gradient of a scalar f at x by finite differences: a float64 array shaped like x.

    ``x`` is a Tensor (then f receives Tensors of its dtype) or an array-like (f receives
    NumPy arrays; integers become float64). ``scheme`` is "central" (2 evaluations per entry,
    error O(ε²)) or "forward" (1 + n evaluations, error O(ε)). f runs under ``no_grad``.
    """
    who = "finite_difference"
    eps = positive_float(eps, "eps", who)
    choice(scheme, "scheme", SCHEMES, who)
    is_tensor = isinstance(x, ad.Tensor)
    x0 = np.array(x.data if is_tensor else x)
    if x0.dtype.kind != "f":
        x0 = x0.astype(np.float64)

    def at(a):
        return ad.tensor(a, dtype=x0.dtype) if is_tensor else a

    g = np.empty(x0.shape, dtype=np.float64)
    flat = g.reshape(-1)
    with ad.no_grad():
        f0 = _as_float(f(at(x0)), who) if scheme == "forward" else None
        for i in range(x0.size):
            xp = x0.copy()
            xp.reshape(-1)[i] += eps
            fp = _as_float(f(at(xp)), who)
            if scheme == "central":
                xm = x0.copy()
                xm.reshape(-1)[i] -= eps
                flat[i] = (fp - _as_float(f(at(xm)), who)) / (2 * eps)
            else:
                flat[i] = (fp - f0) / eps
    return g


def finite_difference_errors(f, x, epsilons=None, scheme="central", exact=None):
    """(epsilons, errors): the relative error max|g_ε − ∇f| / max|∇f| of :func:`finite_difference`
    for each ε (default 10⁻¹⁴ … 10⁻¹, two per decade): the U-shaped curve of truncation against
    round-off error. ``exact`` is the true gradient; by default ``dc.grad(f)(x)`` (reverse mode,
    so f must be written with Tensor operations; x is made a Tensor of its dtype, float64 for
    integers and array-likes).
    """
    who = "finite_difference_errors"
    choice(scheme, "scheme", SCHEMES, who)
    epsilons = np.logspace(-14, -1, 27) if epsilons is None else grid(epsilons, "epsilons", who)
    if np.any(epsilons <= 0):
        raise ValueError(f"{who}: every ε must be positive, got {epsilons.min()}")
    xt = x if isinstance(x, ad.Tensor) else ad.tensor(np.asarray(x, dtype=np.float64), dtype=ad.float64)
    if exact is None:
        exact = ad.grad(f)(xt).numpy()
    exact = np.asarray(exact.data if isinstance(exact, ad.Tensor) else exact, dtype=np.float64)
    scale = max(float(np.abs(exact).max()), np.finfo(np.float64).tiny)
    errors = np.array([np.abs(finite_difference(f, xt, e, scheme) - exact).max() / scale for e in epsilons])
    return epsilons, errors
