"""Lab xor: no single neuron gets more than 3 of XOR's 4 points; a hidden layer gets all 4."""

import math

from descend import lab


def test_xor_quick_run(tmp_path):
    r = lab.run("xor", quick=True, seed=0, out=str(tmp_path))
    n = r["numbers"]
    assert r["confirmed"] is True
    assert 0.5 <= n["random_threshold_units_best_accuracy"] <= 0.75
    assert n["single_neuron_best_accuracy"] <= 0.75
    # the best a linear unit can do in cross-entropy is ln 2 (w = 0, b = 0); float32 rounding only
    assert n["single_neuron_lowest_loss"] >= math.log(2) - 1e-5
    assert n["hand_built_network_accuracy"] == 1.0
    assert n["hidden_layer_8_tanh_worst_accuracy"] == 1.0 and n["hidden_layer_8_tanh_seeds"] >= 4
    assert 0.0 <= n["hidden_layer_2_tanh_success_rate"] <= 1.0
    assert r["figures"] == ["boundaries.png"]
