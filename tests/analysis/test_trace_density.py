"""Hutchinson's trace and the stochastic-Lanczos-quadrature density against exact Hessians."""

import math

import numpy as np

import descend as dc
from descend import analysis

from .nets import SmallNet


def _quadratic(n, seed):
    """L(w) = ½ wᵀ A w with a random symmetric A (so H = A exactly), w a float64 parameter."""
    rng = np.random.default_rng(seed)
    B = rng.normal(size=(n, n))
    A = (B + B.T) / 2
    w = dc.tensor(rng.normal(size=n), dtype=dc.float64, requires_grad=True)
    At = dc.tensor(A, dtype=dc.float64)
    return A, w, (lambda: 0.5 * (w * (At @ w)).sum())


def test_hutchinson_within_three_standard_errors_of_the_exact_trace():
    net = SmallNet(widths=(5, 10, 8, 3), batch=24, seed=1)
    exact = float(np.trace(net.hessian()))
    est, se = analysis.hessian_trace(net.loss_fn, net.params, samples=200)
    assert se > 0
    assert abs(est - exact) <= 3 * se


def test_hutchinson_error_falls_as_one_over_sqrt_samples():
    # Var[zᵀAz] = 2 Σ_{i≠j} A_ij² for Rademacher z; the RMS error over repetitions must follow
    # sqrt(Var / samples), and the reported standard error estimates it.
    A, w, loss_fn = _quadratic(12, seed=0)
    var = 2 * ((A ** 2).sum() - (np.diag(A) ** 2).sum())
    reps = 80
    for samples in (4, 36):
        runs = [analysis.hessian_trace(loss_fn, [w], samples=samples, seed=s) for s in range(reps)]
        errors = np.array([e for e, _ in runs]) - np.trace(A)
        rms, expected = math.sqrt(np.mean(errors ** 2)), math.sqrt(var / samples)
        # the RMS of 80 repetitions is itself uncertain by about 1/sqrt(2·80) = 8% (30% ≈ 3.8 of those)
        assert abs(rms / expected - 1) < 0.3, (samples, rms, expected)
        assert abs(np.mean([s for _, s in runs]) / expected - 1) < 0.3


def test_density_integrates_to_one_and_is_deterministic():
    net = SmallNet(seed=2)
    grid, density = analysis.spectral_density(net.loss_fn, net.params, steps=20, runs=3)
    assert grid.shape == density.shape == (1001,)
    assert np.all(density >= 0)
    assert abs(np.trapezoid(density, grid) - 1) < 1e-6
    _, density2 = analysis.spectral_density(net.loss_fn, net.params, steps=20, runs=3, progress=True)
    np.testing.assert_array_equal(density, density2)


def test_density_moments_are_exact_with_n_orthonormal_probes():
    # Gauss quadrature with m ≥ 2 nodes integrates t and t² exactly, and n orthonormal probes sum
    # qᵀ H^p q to tr(H^p): the moments are then tr(H)/n and tr(H²)/n to rounding.
    net = SmallNet(widths=(4, 6, 2), batch=10, seed=3)
    ev = np.linalg.eigvalsh(net.hessian())
    sigma = 0.01 * (ev.max() - ev.min())
    grid, density, nodes, weights = analysis.spectral_density(net.loss_fn, net.params, steps=3, runs=net.n,
                                                              sigma=sigma, return_quadrature=True)
    assert abs(weights.sum() - 1) < 1e-12
    np.testing.assert_allclose((weights * nodes).sum(), ev.mean(), rtol=1e-9)
    np.testing.assert_allclose((weights * nodes ** 2).sum(), (ev ** 2).mean(), rtol=1e-9)
    # the smoothed density's moments: the same, plus σ² for the second
    np.testing.assert_allclose(np.trapezoid(grid * density, grid), ev.mean(), rtol=1e-6)
    np.testing.assert_allclose(np.trapezoid(grid ** 2 * density, grid), (ev ** 2).mean() + sigma ** 2, rtol=1e-6)


def test_density_moments_within_five_percent_from_few_probes():
    # least squares on d = 250 random features: H = XᵀX/N has a spread (Marchenko-Pastur)
    # spectrum, so a few probes estimate tr(H)/n and tr(H²)/n well
    rng = np.random.default_rng(4)
    d, N, runs = 250, 600, 40
    X = rng.normal(size=(N, d))
    y = rng.normal(size=N)
    w = dc.tensor(np.zeros(d), dtype=dc.float64, requires_grad=True)
    Xt, yt = dc.tensor(X, dtype=dc.float64), dc.tensor(y, dtype=dc.float64)
    H = X.T @ X / N
    ev = np.linalg.eigvalsh(H)
    tr1, tr2 = ev.sum(), (ev ** 2).sum()
    # the standard error of the first moment from `runs` independent uniform probes
    se = math.sqrt(((tr1 ** 2 + 2 * tr2) / (d * (d + 2)) - (tr1 / d) ** 2) / runs) / (tr1 / d)
    assert 3 * se < 0.05  # so that 5% is a fair tolerance, not luck
    grid, density = analysis.spectral_density(lambda: 0.5 * ((Xt @ w - yt) ** 2).mean(), [w], steps=10, runs=runs,
                                              sigma=0.002 * ev.max())
    m1 = np.trapezoid(grid * density, grid)
    m2 = np.trapezoid(grid ** 2 * density, grid)
    assert abs(m1 / (tr1 / d) - 1) < 0.05
    assert abs(m2 / (tr2 / d) - 1) < 0.05
