"""Lab optimizer-race: Newton, CG and L-BFGS reach 1e-10 on Rosenbrock and Beale in fewer evaluations
than any tuned first-order method."""

import numpy as np
import pytest

import descend as dc
from descend import lab
from descend.lab.optimizer_race import ROWS
from descend.optim.second_order.problems import PROBLEMS


def test_optimizer_race_quick_run_confirms_with_its_numbers(tmp_path):
    r = lab.run("optimizer-race", quick=True, out=str(tmp_path))
    n = r["numbers"]
    assert r["confirmed"] is True
    for problem in ("rosenbrock", "beale"):
        for method in ("newton", "cg", "lbfgs"):
            assert n[f"{problem}_{method}_evals_to_1e-10"] <= 110
        for method in ("momentum", "nesterov"):
            assert n[f"{problem}_{method}_final_f"] < n[f"{problem}_gradient_descent_final_f"]
    for method in ("gradient_descent", "momentum", "nesterov", "adagrad", "rmsprop", "adam"):
        assert n[f"rosenbrock_{method}_evals_to_1e-10"] is None           # none of them within 500


@pytest.mark.parametrize("problem", ["rosenbrock-2", "beale"])
def test_row_versions_equal_the_problems(problem):
    f, _, _ = PROBLEMS[problem]
    points = np.random.default_rng(0).normal(size=(5, 2))
    rows = ROWS[problem](dc.tensor(points, dtype=dc.float64)).numpy()
    np.testing.assert_allclose(rows, [f(dc.tensor(p, dtype=dc.float64)).item() for p in points], rtol=1e-14)
