"""Lab minibatch: mini-batch gradient noise is (σ²/m)(N − m)/(N − 1); batch descent trails per epoch."""

import pytest

from descend import lab
from descend.lab.minibatch import predicted_noise


def test_minibatch_quick_run_confirms_with_its_numbers(tmp_path):
    r = lab.run("minibatch", quick=True, seed=1, out=str(tmp_path))
    n = r["numbers"]
    assert r["confirmed"] is True
    assert -1.1 <= n["noise_slope_vs_m"] <= -0.9
    for m in (1, 2, 4, 8, 16, 32, 64, 128, 256):
        assert n[f"noise_m{m}_measured_over_predicted"] == pytest.approx(1.0, abs=0.25)
    for mode in ("minibatch", "stochastic", "online"):
        assert n[f"{mode}_final_loss"] < n["batch_final_loss"]


def test_predicted_noise_without_replacement():
    assert predicted_noise(2.0, 1, 10) == 2.0          # one example: the variance itself
    assert predicted_noise(2.0, 10, 10) == 0.0         # the whole set: no noise
    assert predicted_noise(2.0, 4, 100) == pytest.approx(2.0 / 4 * 96 / 99)
