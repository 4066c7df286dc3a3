"""Lab residual: at depth 48 the plain network falls behind; the same layers with shortcuts train."""

from descend import lab


def test_residual_quick_run(tmp_path):
    r = lab.run("residual", quick=True, seed=0, out=str(tmp_path))
    n = r["numbers"]
    assert r["confirmed"] is True
    shallow, deep = n["tanh_depths"][0], n["tanh_depths"][-1]
    plain, res = f"tanh_plain_{deep}", f"tanh_residual_{deep}"
    assert n[f"{res}_train_loss"] <= n[f"{plain}_train_loss"] / 3
    assert n[f"{res}_train_accuracy"] >= n[f"{plain}_train_accuracy"] + 0.2
    assert n[f"{plain}_train_loss"] > 2 * n[f"tanh_plain_{shallow}_train_loss"]
    # the shortcut carries the gradient to the first layer: larger there than without it
    assert n[f"{res}_first_layer_grad_norm_at_init"] > n[f"{plain}_first_layer_grad_norm_at_init"]
