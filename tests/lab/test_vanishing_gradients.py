"""Lab vanishing-gradients: a deep sigmoid net's first-layer gradient is ~10⁻⁶ of its last; batch norm restores it."""

from descend import lab


def test_vanishing_gradients_quick_run(tmp_path):
    r = lab.run("vanishing-gradients", quick=True, seed=0, out=str(tmp_path))
    n = r["numbers"]
    assert r["confirmed"] is True
    sigmoid = n["sigmoid_init_first_to_output_ratio"]
    assert sigmoid < 1e-3
    norms = n["sigmoid_init_grad_norms"]
    assert all(a < b for a, b in zip(norms, norms[1:]))          # shrinking at every layer on the way back
    for key in ("tanh", "relu"):
        assert n[f"{key}_init_first_to_output_ratio"] >= 100 * sigmoid
    for key in ("sigmoid_bn", "tanh_bn", "relu_bn"):
        assert n[f"{key}_init_first_to_output_ratio"] >= 0.1
    assert n["sigmoid_bn_train_accuracy"] >= n["sigmoid_train_accuracy"] + 0.5
    assert n["sigmoid_trained_first_to_output_ratio"] < 1e-3 <= n["sigmoid_bn_trained_first_to_output_ratio"]
