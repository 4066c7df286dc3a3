"""Lab autodiff-modes: counted primitive calls per gradient (reverse constant, forward and finite differences
∝ n) and the U-shaped error of finite differences. Timings are reported by the lab, never asserted."""

from descend import lab


def test_autodiff_modes_quick_run(tmp_path):
    r = lab.run("autodiff-modes", quick=True, seed=0, out=str(tmp_path))
    n = r["numbers"]
    assert r["confirmed"] is True
    sizes = n["sizes"]
    assert n["reverse_box_calls_per_gradient"] == [2] * len(sizes)          # one forward, one backward
    assert n["central_differences_box_calls_per_gradient"] == [2 * k for k in sizes]
    assert all(c >= 2 * k for c, k in zip(n["forward_box_calls_per_gradient"], sizes))  # a forward and a jvp per input
    assert n["forward_box_calls_slope_in_n"] >= 0.9
    assert n["reverse_forward_max_relative_difference"] < 1e-12
    # the optimal steps: about √u for forward differences, u^(1/3) for central ones
    assert 1e-10 <= n["forward_differences_best_eps"] <= 1e-6
    assert 1e-7 <= n["central_differences_best_eps"] <= 1e-3
    assert n["central_differences_best_error"] < n["forward_differences_best_error"]
    for kind in ("forward", "central"):
        errors = n[f"{kind}_differences_relative_error"]
        assert min(errors[0], errors[-1]) >= 100 * n[f"{kind}_differences_best_error"]
