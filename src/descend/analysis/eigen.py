"""The extreme eigenvalues of the Hessian H = ∇²L(θ) of a loss, by Lanczos on Hessian-vector products.

At a critical point (∇L = 0) the eigenvalues of H say what the point is: all positive, a
minimum; all negative, a maximum; mixed signs, a saddle. The largest one, λ_max, is the
curvature along the sharpest direction: gradient descent with step ε diverges along it when
ε > 2/λ_max, and it is the usual measure of how sharp a minimum is.
"""

import warnings

import numpy as np

from .checks import choice, positive_float, positive_int, rng
from .hessian import HessianOperator
from .lanczos import Lanczos, default_tol
from .progress import progress_bar

__all__ = ["hessian_eigenvalues", "WHICH", "check_k", "run_lanczos"]

WHICH = ("largest", "smallest", "magnitude")


def check_k(k, n, who):
    """``k`` as an int in 1..n, else a ValueError naming it."""
    k = positive_int(k, "k", who)
    if k > n:
        raise ValueError(f"{who}: k={k} eigenvalues asked for, but the Hessian of these parameters is {n}×{n} "
                         f"(there are only {n} eigenvalues)")
    return k


def _select(theta, k, which):
    """Indices into the ascending ``theta`` of the k wanted values, in the order they are returned."""
    m = len(theta)
    if which == "largest":
        return np.arange(m - 1, m - 1 - k, -1)
    if which == "smallest":
        return np.arange(k)
    if which == "both":  # the two ends (for critical_point)
        return np.unique([0, m - 1])
    return np.argsort(-np.abs(theta), kind="stable")[:k]


def _block_ends_converged(lz, which, limit):
    """Whether the extreme Ritz values of the current block (since the last restart) have converged:
    until they have, a larger (or smaller) eigenvalue than those found may still appear there."""
    idx = lz.current_block()
    T = lz.tridiagonal()[idx.start:, idx.start:]
    S = np.linalg.eigh(T)[1]
    res = abs(lz.beta[lz.m - 1]) * np.abs(S[-1, :])
    ends = {"largest": [-1], "smallest": [0]}.get(which, [0, -1])
    return all(res[i] <= limit for i in ends)


def run_lanczos(op, k, which, tol, max_steps, seed, who, start=None):
    """Run Lanczos on the operator (from ``start``, default a random vector drawn with ``seed``) until
    the k wanted Ritz pairs have residual ≤ tol·‖H‖ (or the space is exhausted, or ``max_steps``
    products, with a warning). Returns (Lanczos, indices of the wanted Ritz values)."""
    n = op.n
    lz = Lanczos(op.matvec, n, op.dtype, rng(seed, who), start=start)
    while True:
        lz.step()
        m = lz.m
        check = m >= k and (m <= 64 or m % 8 == 0 or lz.exhausted or m >= max_steps)
        if check:
            theta, _, res = lz.ritz()
            idx = _select(theta, k, which)
            limit = tol * max(lz.scale, np.finfo(np.float64).tiny)
            if lz.exhausted or (np.all(res[idx] <= limit) and _block_ends_converged(lz, which, limit)):
                return lz, idx
            if m >= max_steps:
                warnings.warn(f"{who}: Lanczos stopped after max_steps={max_steps} Hessian-vector products with "
                              f"residual {res[idx].max() / lz.scale:.2e}·‖H‖ > tol={tol:g}; the eigenvalues are "
                              "approximate (raise max_steps or tol)", RuntimeWarning, stacklevel=3)
                return lz, idx


def hessian_eigenvalues(loss_fn, params, k=1, which="largest", return_vectors=False, seed=0, tol=None,
                        max_steps=None, hvp="forward-over-reverse", progress=False):
    """The k extreme eigenvalues of H = ∇²L(θ), L = ``loss_fn()``, θ = ``params``.

    Lanczos with full reorthogonalization on Hessian-vector products (forward-over-reverse),
    from a random start vector drawn with ``seed`` (so the result is deterministic), until the
    Ritz residuals ‖H y − θ y‖ of the k wanted pairs are at most ``tol``·‖H‖ (default: 1e-10
    for float64 parameters, 1e-4 for float32), or all n directions are spanned (then the values
    are exact), or ``max_steps`` products were made (default min(n, 100 + 10k); a
    RuntimeWarning then says how far it got).

    ``which``: ``"largest"`` (returned in decreasing order), ``"smallest"`` (increasing) or
    ``"magnitude"`` (decreasing |λ|). Returns a float64 array of shape (k,); with
    ``return_vectors=True``, also the unit eigenvectors as a list of k lists of arrays shaped
    like ``params``. ``hvp`` chooses how products are made: "forward-over-reverse" (each product
    recomputes the loss and its gradient carrying the tangent; no graph kept) or
    "double-backward" (∇L's graph kept once, each product one reverse pass through it: faster
    per product, more memory); see :mod:`descend.analysis.hessian`. ``progress=True`` shows a
    progress bar of the products (after a second). The parameters are only read.
    """
    who = "hessian_eigenvalues"
    choice(which, "which", WHICH, who)
    op = HessianOperator(loss_fn, params, who, hvp)
    k = check_k(k, op.n, who)
    tol = default_tol(op.dtype) if tol is None else positive_float(tol, "tol", who)
    max_steps = min(op.n, 100 + 10 * k) if max_steps is None else positive_int(max_steps, "max_steps", who, k)
    with progress_bar(progress, None, "Hessian eigenvalues") as op.bar:
        lz, idx = run_lanczos(op, k, which, tol, max_steps, seed, who)
    theta, S, _ = lz.ritz()
    values = theta[idx].astype(np.float64)
    if not return_vectors:
        return values
    Y = lz.vectors(S[:, idx])
    vectors = []
    for i in range(len(idx)):
        y = Y[:, i] / np.linalg.norm(Y[:, i])
        vectors.append([a.copy() for a in op.space.split(y.astype(op.dtype))])
    return values, vectors

