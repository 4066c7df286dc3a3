"""Lab momentum: tuned momentum and Nesterov beat gradient descent on a κ = 100 valley and zig-zag less;
the terminal velocity is ε‖g‖/(1 − α)."""

import numpy as np

from descend import lab
from descend.lab.momentum import zigzag


def test_momentum_quick_run_confirms_with_its_numbers(tmp_path):
    r = lab.run("momentum", quick=True, out=str(tmp_path))
    n = r["numbers"]
    assert r["confirmed"] is True
    # speed: theory says about √κ/2 ≈ 5× fewer iterations at κ = 100
    assert n["momentum_iterations"] * 3 <= n["gradient_descent_iterations"]
    assert n["nesterov_iterations"] * 3 <= n["gradient_descent_iterations"]
    # back and forth: gradient descent at its tuned rate reverses direction for most of its path
    assert n["gradient_descent_back_and_forth_share"] > 0.45
    assert n["momentum_back_and_forth_share"] < 0.4
    assert n["nesterov_back_and_forth_share"] < 0.3
    for key, value in n.items():
        if key.startswith("terminal_velocity_rel_error"):
            assert value < 0.01, key
    assert (tmp_path / "momentum" / "momentum.png").stat().st_size > 1000


def test_zigzag_share_of_a_path():
    straight = np.array([[0.0, 0.0], [1.0, 0.0], [2.0, 0.0]])
    assert zigzag(straight) == 0.0
    back = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 0.0], [1.0, 0.0]])   # every step after the first reverses
    assert zigzag(back) == 2 / 3
