"""Lab lr-decay: fixed-rate SGD hovers at the predicted floor d/2·εσ²/(2 − ε(d + 2)); ε₀/(1 + δt) converges like 1/t."""

import pytest

from descend import lab
from descend.lab.lr_decay import floor


def test_lr_decay_quick_run_confirms_with_its_numbers(tmp_path):
    r = lab.run("lr-decay", quick=True, seed=1, out=str(tmp_path))
    n = r["numbers"]
    assert r["confirmed"] is True
    for lr in (0.05, 0.0125):
        assert n[f"fixed_{lr:g}_floor_measured"] == pytest.approx(floor(lr), rel=0.1)
        assert n[f"fixed_{lr:g}_last_over_middle"] == pytest.approx(1.0, abs=0.1)       # hovers
    assert n["inverse_time_final_excess"] < n["fixed_0.0125_floor_measured"] / 5           # converges
    assert n["inverse_time_last_over_middle"] == pytest.approx(n["inverse_time_last_over_middle_predicted"], rel=0.2)


def test_floor_formula():
    # s = εσ²/(2 − ε(d + 2)) per coordinate, excess d s / 2
    assert floor(0.05, d=10, sigma=0.5) == pytest.approx(10 / 2 * 0.05 * 0.25 / 1.4)
    assert floor(0.0125) / floor(0.05) == pytest.approx(0.25 * 1.4 / 1.85)
