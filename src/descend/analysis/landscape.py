"""The loss landscape around θ: 1-D interpolations, 2-D slices and the optimizer's trajectory.

- Goodfellow, Vinyals & Saxe (2015): the loss along the segment θ(α) = (1 − α) θ_start + α θ_end,
  e.g. from the initial to the trained weights (often a smooth, monotone descent).
- Li, Xu, Taylor, Studer & Goldstein (2018): the surface L(θ₀ + α d₁ + β d₂) over a plane through
  θ₀, with random directions d scaled filter by filter to the weights' norms ("filter
  normalization": d_f ← d_f ‖θ_f‖ / ‖d_f‖ for each filter f, i.e. each output row of a weight
  matrix or convolution kernel), so that slices of different networks compare; and the
  optimizer's path drawn on the plane of the first two principal components of the
  trajectory θ₁ − θ_T, ..., θ_T − θ_T (random directions are nearly orthogonal to the path).

Every function here moves the parameters through ``extend.inplace`` and leaves them bit for bit
as it found them, also when ``loss_fn`` raises. Losses are evaluated under ``no_grad``; a
non-finite loss (an overflow far from θ₀) is returned as it is.
"""

from collections import namedtuple

import numpy as np

from .. import autodiff as ad
from .checks import grid, rng
from .hessian import loss_value
from .params import ParamSpace
from .progress import progress_bar

__all__ = ["random_directions", "loss_interpolation", "loss_surface", "trajectory_projection",
           "TrajectoryProjection"]

TrajectoryProjection = namedtuple("TrajectoryProjection", "coordinates directions explained_variance_ratio")
TrajectoryProjection.__doc__ = """PCA of a parameter trajectory: ``coordinates`` (T, 2) of each θ_t − θ_T on
``directions`` (2, n) (orthonormal rows), and the fraction of the trajectory's variance each explains (2,)."""


def _evaluate(loss_fn, who):
    """L at the current parameters, as a float (non-finite values kept)."""
    with ad.no_grad():
        return loss_value(loss_fn(), who, finite=False)


def random_directions(params, filter_normalize=True, seed=0):
    """A random Gaussian direction d shaped like ``params`` (a list of arrays in their dtype).

    With ``filter_normalize`` (Li et al. 2018), each filter of a ≥2-D parameter (each slice along
    its first axis: a row of a Linear weight, an output channel of a Conv2d kernel) is rescaled
    to the norm of the same filter of θ, and 0- and 1-D parameters (biases, normalization
    scales) get d = 0, as in their plots. Call it twice with different seeds for d₁ and d₂.
    """
    who = "random_directions"
    space = ParamSpace(params, who)
    gen = rng(seed, who)
    out = []
    for p in space.params:
        d = gen.standard_normal(p.shape)
        if filter_normalize:
            if p.ndim <= 1:
                d = np.zeros(p.shape)
            else:
                theta = p.data.reshape(p.shape[0], -1).astype(np.float64)
                rows = d.reshape(p.shape[0], -1)
                rows *= (np.linalg.norm(theta, axis=1) / np.linalg.norm(rows, axis=1))[:, None]
        out.append(d.astype(space.dtype))
    if filter_normalize and not any(np.any(d) for d in out):
        raise ValueError(f"{who}: filter normalization gives a zero direction here (every parameter is 0- or 1-D, "
                         "or all weights are zero); pass filter_normalize=False")
    return out


def loss_interpolation(loss_fn, params, start, end, alphas, progress=False):
    """L((1 − α) θ_start + α θ_end) for each α of ``alphas``: a float64 array of shape (len(alphas),).

    ``start`` and ``end`` are lists of arrays (or Tensors) shaped like ``params``, or flat
    vectors; at α = 0 and α = 1 the parameters hold exactly θ_start and θ_end. ``progress=True``
    shows a progress bar (after a second).
    """
    who = "loss_interpolation"
    space = ParamSpace(params, who)
    a = space.as_vector(start, "start").astype(np.float64)
    b = space.as_vector(end, "end").astype(np.float64)
    alphas = grid(alphas, "alphas", who)
    out = np.empty(len(alphas))
    with space.kept(), progress_bar(progress, len(alphas), "interpolation") as bar:
        for i, alpha in enumerate(alphas):
            space.set((1 - alpha) * a + alpha * b)
            out[i] = _evaluate(loss_fn, who)
            bar.update(1)
    return out


def loss_surface(loss_fn, params, d1, d2, alphas, betas, progress=False):
    """Z[i, j] = L(θ₀ + αᵢ d₁ + βⱼ d₂), θ₀ the current parameters: shape (len(alphas), len(betas)).

    ``d1`` and ``d2`` are lists of arrays shaped like ``params`` (e.g. from
    :func:`random_directions`) or flat vectors (e.g. the rows of
    :func:`trajectory_projection`'s ``directions``). To draw it with matplotlib:
    ``contour(alphas, betas, Z.T)``. ``progress=True`` shows a progress bar (after a second).
    """
    who = "loss_surface"
    space = ParamSpace(params, who)
    u = space.as_vector(d1, "d1").astype(np.float64)
    v = space.as_vector(d2, "d2").astype(np.float64)
    alphas, betas = grid(alphas, "alphas", who), grid(betas, "betas", who)
    Z = np.empty((len(alphas), len(betas)))
    with space.kept(), progress_bar(progress, Z.size, "loss surface") as bar:
        theta0 = space.get().astype(np.float64)
        for i in range(len(alphas)):
            for j in range(len(betas)):
                space.set(theta0 + alphas[i] * u + betas[j] * v)
                Z[i, j] = _evaluate(loss_fn, who)
                bar.update(1)
    return Z


def _flat_snapshot(s):
    if isinstance(s, np.ndarray):
        return s.reshape(-1)
    if isinstance(s, ad.Tensor):
        return s.data.reshape(-1)
    return np.concatenate([np.asarray(a.data if isinstance(a, ad.Tensor) else a).reshape(-1) for a in s])


def trajectory_projection(snapshots):
    """PCA of a trajectory θ₁, ..., θ_T (Li et al. 2018): a :class:`TrajectoryProjection`.

    ``snapshots`` is an array of shape (T, n), or a sequence of T flat vectors or of T lists of
    arrays shaped like the parameters (e.g. one per epoch). The rows θ_t − θ_T are centred and
    their two leading principal directions u₁, u₂ (unit vectors of ℝⁿ, from the T×T Gram
    matrix) found; ``coordinates[t] = (u₁·(θ_t − θ_T), u₂·(θ_t − θ_T))``, so the last point is the
    origin. Each direction's sign makes the first point's coordinate ≥ 0. Use
    ``loss_surface(loss_fn, params, directions[0], directions[1], ...)`` at θ_T to draw the
    surface under the path.
    """
    who = "trajectory_projection"
    if isinstance(snapshots, np.ndarray) and snapshots.ndim == 2:
        X = snapshots.astype(np.float64)
    else:
        rows = [_flat_snapshot(s) for s in snapshots]
        if len({r.shape for r in rows}) > 1:
            raise ValueError(f"{who}: the snapshots have different sizes {sorted({r.size for r in rows})}")
        X = np.array(rows, dtype=np.float64) if rows else np.zeros((0, 0))
    if X.shape[0] < 2:
        raise ValueError(f"{who}: a trajectory needs at least 2 snapshots, got {X.shape[0]}")
    if not np.isfinite(X).all():
        raise ValueError(f"{who}: the snapshots contain NaN or infinite values")
    D = X - X[-1]
    C = D - D.mean(axis=0)
    eigvals, U = np.linalg.eigh(C @ C.T)
    order = np.argsort(eigvals)[::-1][:2]
    directions = np.zeros((2, X.shape[1]))
    for r, i in enumerate(order):
        if eigvals[i] > 1e-12 * max(eigvals.max(), np.finfo(np.float64).tiny):
            u = U[:, i] @ C
            directions[r] = u / np.linalg.norm(u)
    coordinates = D @ directions.T
    signs = np.where(coordinates[0] < 0, -1.0, 1.0)
    total = float(np.trace(C @ C.T))
    explained = np.maximum(eigvals[order], 0.0) / total if total > 0 else np.zeros(2)
    return TrajectoryProjection(coordinates * signs, directions * signs[:, None], explained)
