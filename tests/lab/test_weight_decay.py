"""Lab weight-decay: L2 with λ′ = λ/ε is weight decay for SGD step for step, not for Adam; AdamW is."""

import pytest

from descend import lab


@pytest.mark.parametrize("seed", [0, 1])
def test_weight_decay_quick_run_confirms_with_its_numbers(tmp_path, seed):
    r = lab.run("weight-decay", quick=True, seed=seed, out=str(tmp_path))
    n = r["numbers"]
    assert r["confirmed"] is True
    assert n["sgd_l2_vs_weight_decay_max_rel_distance"] < 1e-10
    assert n["sgd_weight_decay_option_vs_weight_decay_max_rel_distance"] < 1e-10
    assert n["adamw_vs_weight_decay_max_rel_distance"] < 1e-10
    assert n["adam_l2_vs_weight_decay_final_rel_distance"] > 0.1
    # the always-zero pixels' weights: decay leaves (1 − λ)ᵗ, Adam's normalised L2 gradient removes them
    assert n["dead_weights_left_sgd_l2"] == pytest.approx(n["dead_weights_left_weight_decay_predicted"], rel=1e-9)
    assert n["dead_weights_left_adamw"] == pytest.approx(n["dead_weights_left_weight_decay_predicted"], rel=1e-9)
    assert n["dead_weights_left_adam_l2"] < 0.2
