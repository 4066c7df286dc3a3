"""Lab flat-minima: at the same training loss, batch 16 and batch 512 end in minima of nearly the same
sharpness and test error on the digits (not confirmed here); λ_max and ε-sharpness by descend.analysis."""

import numpy as np

from descend import lab


def test_flat_minima_quick_run_reports_its_numbers(tmp_path):
    r = lab.run("flat-minima", quick=True, seed=0, out=str(tmp_path))
    n = r["numbers"]
    assert r["confirmed"] is False
    for m in (16, 512):
        assert np.allclose(n[f"batch{m}_train_loss_per_split"], 0.03, rtol=0.01)     # compared at equal loss
    lam16, lam512 = np.array(n["batch16_lambda_max_per_split"]), np.array(n["batch512_lambda_max_per_split"])
    assert np.all(np.abs(lam16 / lam512 - 1) < 0.15)                                  # no large difference
    err16, err512 = np.array(n["batch16_test_error_per_split"]), np.array(n["batch512_test_error_per_split"])
    assert np.all(np.abs(err16 - err512) < 0.01)
    assert n["small_batch_flatter_on_splits"] < 3                                     # hence not confirmed
    assert np.all((lam16 > 0.2) & (lam16 < 0.5))                                      # ≈ 0.31 at loss 0.03
    for m in (16, 512):                                 # Keskar's ε-sharpness (%, ε = 1e-3): small, and positive
        assert np.all((np.array(n[f"batch{m}_epsilon_sharpness_per_split"]) > 0)
                      & (np.array(n[f"batch{m}_epsilon_sharpness_per_split"]) < 1))
