"""Lab init-variance: Glorot keeps tanh's scales, He keeps ReLU's; naive inits vanish or explode at the
per-layer factors the variance argument predicts."""

import pytest

from descend import lab


def test_init_variance_quick_run(tmp_path):
    r = lab.run("init-variance", quick=True, seed=0, out=str(tmp_path))
    n = r["numbers"]
    assert r["confirmed"] is True
    for key in ("tanh_glorot", "relu_he"):
        assert n[f"{key}_forward_spread"] < 10 and n[f"{key}_backward_spread"] < 10
    for key in ("tanh_naive", "tanh_standard", "relu_naive", "relu_standard", "relu_glorot"):
        assert max(n[f"{key}_forward_spread"], n[f"{key}_backward_spread"]) > 100
    # the per-layer factor √(m Var W · c): 1/√3 (tanh, U(±1/√m)), 1/√6 (ReLU, U(±1/√m)), 1/√2 (ReLU, Glorot)
    assert n["tanh_standard_forward_factor_per_layer"] == pytest.approx(n["theory_factor_standard_tanh"], rel=0.05)
    assert n["relu_standard_forward_factor_per_layer"] == pytest.approx(n["theory_factor_standard_relu"], rel=0.1)
    assert n["relu_glorot_forward_factor_per_layer"] == pytest.approx(n["theory_factor_glorot_relu"], rel=0.1)
    assert n["tanh_naive_saturated_fraction_last_layer"] > 0.5          # N(0, 1) with tanh: saturated, not vanishing
    assert n["tanh_glorot_saturated_fraction_last_layer"] == 0.0
