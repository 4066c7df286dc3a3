"""Lab conjugate-gradient: finite termination holds for few distinct eigenvalues and in 2-D; on a
20-dimensional κ = 100 quadratic float64 rounding costs three iterations beyond n (not confirmed as stated)."""

import numpy as np
import pytest

import descend as dc
from descend import lab
from descend.lab.conjugate_gradient import exact_line_search, quadratic


def test_conjugate_gradient_quick_run_reports_its_numbers(tmp_path):
    r = lab.run("conjugate-gradient", quick=True, seed=0, out=str(tmp_path))
    n = r["numbers"]
    assert r["confirmed"] is False                                  # 23 iterations, not ≤ 20, to 1e-8
    assert 20 < n["cg_iterations_to_1e-8"] <= 26
    assert n["cg_rel_error_after_n"] < 1e-3 and n["cg_rel_f_gap_after_n"] < 1e-7
    assert n["cg_three_eigenvalues_iterations_to_1e-8"] == 3
    assert n["cg_2d_rel_error_after_2"] < 1e-12
    assert n["steepest_descent_rel_error_after_n"] > 0.1


def test_exact_line_search_lands_on_the_minimum_along_d():
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    b = np.array([1.0, -1.0])
    f = quadratic(A, b)
    x, d = np.array([0.5, 0.5]), np.array([-1.0, 0.3])

    def phi(t):
        y = dc.tensor(x + t * d, dtype=dc.float64)
        return f(y).item(), A @ (x + t * d) - b

    g = A @ x - b
    res = exact_line_search(phi, 1.0, d, f(dc.tensor(x, dtype=dc.float64)).item(), g, float(g @ d))
    assert res.success and res.t == pytest.approx(-(g @ d) / (d @ A @ d), rel=1e-12)
