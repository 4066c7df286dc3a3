"""Lab zero-init: symmetric initializations leave one distinct hidden unit; zero-initialized tanh/ReLU learn nothing."""

from descend import lab


def test_zero_init_quick_run(tmp_path):
    r = lab.run("zero-init", quick=True, seed=0, out=str(tmp_path))
    n = r["numbers"]
    assert r["confirmed"] is True
    for act in ("tanh", "sigmoid", "relu"):
        for init in ("zero", "constant"):
            assert n[f"{act}_{init}_distinct_hidden_units"] == 1
            assert n[f"{act}_{init}_hidden_unit_spread"] == 0.0     # identical to the last bit
        assert n[f"{act}_random_distinct_hidden_units"] == 32
        assert n[f"{act}_random_test_accuracy"] >= 0.9
    for act in ("tanh", "relu"):                                    # g(0) = 0 and W⁽²⁾ = 0: no gradient at all
        assert n[f"{act}_zero_max_abs_weight"] == 0.0
        assert n[f"{act}_zero_test_accuracy"] <= n["majority_class_test_accuracy"] + 0.02
    assert n["sigmoid_zero_max_abs_weight"] > 0                     # h = 1/2: sigmoid from zero does move
