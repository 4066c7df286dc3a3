"""Lab newton: one step on a quadratic; damped steps → −g/α; undamped Newton is drawn to the saddle."""

import numpy as np
import pytest

import descend as dc
from descend import lab
from descend.lab.newton import _undamped_newton, double_well


def test_newton_quick_run_confirms_with_its_numbers(tmp_path):
    r = lab.run("newton", quick=True, seed=0, out=str(tmp_path))
    n = r["numbers"]
    assert r["confirmed"] is True
    assert n["newton_one_step_rel_error"] < 1e-10 and n["gradient_descent_rel_error_after_200"] > 1e-2
    assert n["damped_step_max_abs_error_vs_prediction"] < 1e-8
    assert n["damped_distance_from_gd_at_alpha_1e5"] < 1e-3
    assert n["undamped_saddle_share_for_abs_x_below_1_over_sqrt5"] == 1.0
    assert n["undamped_saddle_share_for_abs_x_above_1_over_sqrt5"] == 0.0
    assert n["minimum_share_gradient_descent"] == 1.0
    assert n["minimum_share_damped_newton_for_abs_x_below_1_over_sqrt5"] == 1.0
    assert n["saddle_hessian_eigenvalues"] == pytest.approx([-4.0, 2.0])


def test_batched_undamped_newton_is_the_newton_map():
    starts = np.array([[0.3, 0.7], [0.9, -0.2]])
    one = _undamped_newton(starts, 1)
    for s, p in zip(starts, one):
        t = dc.tensor(s, dtype=dc.float64)
        H, g = dc.hessian(double_well)(t).numpy(), dc.grad(double_well)(t).numpy()
        np.testing.assert_allclose(p, s - np.linalg.solve(H, g), rtol=1e-13)
        assert p[0] == pytest.approx(2 * s[0] ** 3 / (3 * s[0] ** 2 - 1))   # x ← 2x³/(3x² − 1); y ← 0
        assert p[1] == pytest.approx(0.0, abs=1e-15)
