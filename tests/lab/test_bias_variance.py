"""Lab bias-variance: polynomial least squares: bias² falls, variance rises with the degree; the test error is
bias² + variance + σ² and is lowest at an intermediate degree."""

import pytest

from descend import lab


def test_bias_variance_quick_run(tmp_path):
    r = lab.run("bias-variance", quick=True, seed=0, out=str(tmp_path))
    n = r["numbers"]
    assert r["confirmed"] is True
    bias2, var = n["bias_squared"], n["variance"]
    assert bias2[0] == pytest.approx(0.5, rel=0.01)           # the best constant for sin 2πx is 0: bias² = ½
    assert all(b <= a * (1 + 1e-9) for a, b in zip(bias2, bias2[1:])) and bias2[-1] < 1e-10
    assert all(b > a for a, b in zip(var, var[1:]))
    # at degree 0 the fit is the sample mean: variance σ²/n
    assert var[0] == pytest.approx(n["noise_variance"] / n["points_per_set"], rel=0.2)
    assert 0 < n["best_degree"] < n["degrees"][-1]
    assert n["largest_decomposition_mismatch"] < 0.1
    assert n["newton_step_largest_remaining_gradient"] < 1e-10   # one Newton step solves each least-squares fit
    # antithetic pairs: the mean of the R fits is the fit to the noiseless targets, so bias² has no sampling error
    assert n["mean_fit_vs_noiseless_fit_max_difference"] < 1e-10


@pytest.mark.parametrize("seed", [1, 2, 3, 4])
def test_bias_variance_verdict_does_not_depend_on_the_seed(tmp_path, seed):
    r = lab.run("bias-variance", quick=True, seed=seed, out=str(tmp_path))
    n = r["numbers"]
    assert r["confirmed"] is True
    assert n["best_degree"] == 3                               # seeds 0-4 all put the minimum at degree 3
    assert n["largest_decomposition_mismatch"] < 0.1
