"""Lab universal-approximation: one hidden layer's sup error falls with width at the rates of the constructions."""

import pytest

from descend import lab


def test_universal_approximation_quick_run(tmp_path):
    r = lab.run("universal-approximation", quick=True, seed=0, out=str(tmp_path))
    n = r["numbers"]
    assert r["confirmed"] is True
    assert n["widths"][-1] == 1024
    for key in ("smooth", "kinks"):
        assert n[f"{key}_staircase_sup_error"][-1] < 0.01 * n[f"{key}_range"]
        assert n[f"{key}_relu_interpolant_sup_error"][-1] < 0.01 * n[f"{key}_range"]
        # the staircase's error is about the largest jump L h: rate 1/n
        assert n[f"{key}_staircase_slope"] == pytest.approx(-1.0, abs=0.1)
        trained = n[f"{key}_trained_tanh_sup_error"]
        assert min(trained[1:]) <= trained[0] / 2
    # the interpolant's error is h² max|f''|/8 where f is smooth (1/n²), and O(h) at a kink (1/n)
    assert n["smooth_relu_interpolant_slope"] == pytest.approx(-2.0, abs=0.15)
    assert n["kinks_relu_interpolant_slope"] == pytest.approx(-1.0, abs=0.1)
