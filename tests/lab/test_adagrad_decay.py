"""Lab adagrad-decay: Adagrad's step ∝ 1/√t and never recovers from a drop of the gradient scale;
RMSProp recovers after ≈ ln(0.2346·0.01/0.99)/ln ρ steps."""

import math

import pytest

from descend import lab
from descend.lab.adagrad_decay import predicted_recovery


@pytest.mark.parametrize("seed", [0, 1])
def test_adagrad_decay_quick_run_confirms_with_its_numbers(tmp_path, seed):
    r = lab.run("adagrad-decay", quick=True, seed=seed, out=str(tmp_path))
    n = r["numbers"]
    assert r["confirmed"] is True
    assert -0.52 <= n["adagrad_step_slope_vs_t"] <= -0.48
    assert n["adagrad_step_after_over_before"] < 0.12          # fell with the gradient (×0.1) and stayed
    for rho in (0.9, 0.99):
        assert 0.9 <= n[f"rmsprop_{rho}_step_after_over_before"] <= 1.1
        predicted = n[f"rmsprop_{rho}_recovery_steps_predicted"]
        assert abs(n[f"rmsprop_{rho}_recovery_steps"] - predicted) <= 0.1 * predicted


def test_predicted_recovery_scales_with_the_memory():
    assert predicted_recovery(0.99) == pytest.approx(math.log(0.2345679 * 0.01 / 0.99) / math.log(0.99), rel=1e-6)
    assert predicted_recovery(0.999) / predicted_recovery(0.99) == pytest.approx(10.0, rel=0.01)
