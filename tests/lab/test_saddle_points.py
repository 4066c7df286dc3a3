"""Lab saddle-points: GD converges to the saddle of ½(1 − w₁w₂)² from its stable manifold, plateaus there
for ln(1/δ)/ln(1 + ε) steps from nearby, and escapes with noise; Hessian eigenvalues −1, 1 at the saddle."""

import numpy as np
import pytest

from descend import lab
from descend.lab.saddle_points import critical_point, hessian_eigenvalues


def test_saddle_points_quick_run_confirms_with_its_numbers(tmp_path):
    r = lab.run("saddle-points", quick=True, seed=0, out=str(tmp_path))
    n = r["numbers"]
    assert r["confirmed"] is True
    assert n["on_manifold_final_distance_to_saddle"] < 1e-8 and n["on_manifold_final_f"] == pytest.approx(0.5)
    assert n["plateau_slope_per_e_fold"] == pytest.approx(n["plateau_slope_predicted"], rel=0.05)
    assert np.all(np.diff(n["plateau_steps"]) > 40)           # each factor 100 in δ: 4.6 e-folds ≈ 48 steps
    assert n["noisy_runs_escaped"] == n["noisy_runs"] == 32
    assert n["saddle_hessian_eigenvalues"] == pytest.approx([-1.0, 1.0], abs=1e-12)
    assert n["saddle_kind"] == "saddle" and n["saddle_negative_eigenvalues"] == 1
    assert n["minima_kinds"] == {"degenerate": 32}                 # on the valley w₁w₂ = 1 one eigenvalue is 0
    assert n["minima_smallest_abs_eigenvalue_max"] < 1e-6
    assert n["minima_largest_eigenvalue_rel_error_vs_norm2"] < 1e-6


def test_hessian_at_a_minimum():
    eig = hessian_eigenvalues(np.array([2.0, 0.5]))            # on w₁w₂ = 1: eigenvalues 0 and w₁² + w₂²
    assert eig == pytest.approx([0.0, 4.25], abs=1e-12)


def test_second_order_test_at_the_saddle_and_off_a_critical_point():
    assert critical_point(np.zeros(2))["kind"] == "saddle"
    assert critical_point(np.array([0.5, 0.5]))["kind"] == "not critical"     # ∇f = −(1 − w₁w₂)(w₂, w₁) ≠ 0
