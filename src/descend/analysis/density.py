"""The spectral density of the Hessian by stochastic Lanczos quadrature (Ghorbani, Krishnan & Xiao 2019).

The density of H's eigenvalues, φ(t) = (1/n) Σᵢ δ(t − λᵢ), is smoothed with a Gaussian g_σ:
φ_σ(t) = (1/n) Σᵢ g_σ(t − λᵢ). For a unit vector q, qᵀ g_σ(tI − H) q = Σᵢ (qᵀuᵢ)² g_σ(t − λᵢ) is an
unbiased estimate of φ_σ(t) when q is uniform on the sphere (E[(qᵀuᵢ)²] = 1/n). After m Lanczos
steps from q₁ = q, with T_m = S Θ Sᵀ, Gauss quadrature gives

    qᵀ f(H) q ≈ Σ_{j=1..m} s_{1j}² f(θ_j),

exact for polynomials f of degree < 2m. So each probe costs m Hessian-vector products and
yields m nodes θ_j with weights s_{1j}² summing to 1; the density is the average over probes of
Σ_j s_{1j}² g_σ(t − θ_j), which integrates to 1. Its first two moments are qᵀHq and qᵀH²q, whose
expectations are tr(H)/n and tr(H²)/n. Here the probes are orthogonal to one another (Gaussian
vectors orthonormalized in groups of up to n), which lowers the variance; n orthonormal probes
give the moments exactly.
"""

import math

import numpy as np

from .checks import positive_float, positive_int, rng
from .hessian import HessianOperator
from .lanczos import Lanczos
from .progress import progress_bar

__all__ = ["spectral_density", "quadrature_nodes", "gaussian_density"]


def quadrature_nodes(op, steps, runs, gen):
    """Nodes and weights of stochastic Lanczos quadrature: two float64 arrays of equal length, the
    weights of each probe summing to 1/runs (so all weights sum to 1)."""
    n = op.n
    nodes, weights, group = [], [], []
    for _ in range(runs):
        if len(group) == n:
            group = []
        q = gen.standard_normal(n)
        for _ in range(2):
            for p in group:
                q -= np.dot(p, q) * p
        q /= np.linalg.norm(q)
        group.append(q)
        lz = Lanczos(op.matvec, n, op.dtype, gen, start=q, restart=False)
        while lz.m < min(steps, n) and not lz.done:
            lz.step()
        theta, S, _ = lz.ritz()
        nodes.append(theta)
        weights.append(S[0, :] ** 2 / runs)
    return np.concatenate(nodes), np.concatenate(weights)


def gaussian_density(grid, nodes, weights, sigma):
    """Σ_j w_j g_σ(t − θ_j) at each t of ``grid``, g_σ the normal density of standard deviation σ."""
    z = (grid[:, None] - nodes[None, :]) / sigma
    return np.exp(-0.5 * z * z) @ weights / (sigma * math.sqrt(2 * math.pi))


def spectral_density(loss_fn, params, steps=80, runs=4, points=1001, sigma=None, seed=0, return_quadrature=False,
                     hvp="forward-over-reverse", progress=False):
    """(grid, density): the Gaussian-smoothed eigenvalue density of H = ∇²L(θ), shapes (points,).

    ``runs`` probes of ``steps`` Lanczos steps each (``runs × steps`` Hessian-vector products);
    σ defaults to 1% of the nodes' range (or of their largest magnitude, if larger); the grid runs from the smallest
    node − 6σ to the largest + 6σ, so the density integrates to 1 over it (to ~1e-9). With
    ``return_quadrature=True`` also returns the nodes θ_j and weights w_j (float64 arrays, weights
    summing to 1), from which the moments follow exactly: Σ w_j θ_j^p ≈ tr(Hᵖ)/n for p < 2·steps.
    Deterministic for a given ``seed``; ``hvp`` and ``progress`` as in
    :func:`~descend.analysis.hessian_eigenvalues`; the parameters are only read.
    """
    who = "spectral_density"
    steps = positive_int(steps, "steps", who)
    runs = positive_int(runs, "runs", who)
    points = positive_int(points, "points", who, 2)
    gen = rng(seed, who)
    if sigma is not None:
        sigma = positive_float(sigma, "sigma", who)
    op = HessianOperator(loss_fn, params, who, hvp)
    with progress_bar(progress, runs * min(steps, op.n), "spectral density") as op.bar:
        nodes, weights = quadrature_nodes(op, steps, runs, gen)
    lo, hi = float(nodes.min()), float(nodes.max())
    if sigma is None:
        sigma = 0.01 * max(hi - lo, abs(lo), abs(hi)) or 0.01
    grid = np.linspace(lo - 6 * sigma, hi + 6 * sigma, points)
    density = gaussian_density(grid, nodes, weights, sigma)
    if return_quadrature:
        return grid, density, nodes, weights
    return grid, density
