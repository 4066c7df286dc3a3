"""Lab batchnorm: BN is invariant to the weights' scale (deviations ∝ ε/(c²σ²)); a deep sigmoid network
trains with BN and not without."""

from descend import lab


def test_batchnorm_quick_run_confirms_with_its_numbers(tmp_path):
    r = lab.run("batchnorm", quick=True, seed=0, out=str(tmp_path))
    n = r["numbers"]
    assert r["confirmed"] is True
    for c in (10, 100):
        assert n[f"scale_{c}_loss_rel_change"] < 1e-6
        assert n[f"scale_{c}_gradient_scale_error"] < 1e-5
        assert n[f"scale_{c}_cos_w_grad"] < 1e-8
    for k in ("loss_rel_change", "gradient_scale_error", "cos_w_grad"):
        assert 50 <= n[f"{k}_growth_from_0.1_to_0.01"] <= 200
    assert n["sigmoid_plain_final_loss"] > 2.0            # ln 10 = 2.30: the plain net has not started
    assert n["sigmoid_batchnorm_final_loss"] < 0.6
