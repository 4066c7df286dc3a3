"""Lab adam-bias-correction: corrected moments are unbiased from step 1; the first step is ε with the
correction and ε(1 − ρ₁)/√(1 − ρ₂) without."""

import math

import numpy as np
import pytest

import descend as dc
from descend import lab, optim
from descend.lab.adam_bias_correction import step_factor, without_bias_correction


@pytest.mark.parametrize("seed", [0, 2])
def test_adam_bias_correction_quick_run_confirms_with_its_numbers(tmp_path, seed):
    r = lab.run("adam-bias-correction", quick=True, seed=seed, out=str(tmp_path))
    n = r["numbers"]
    assert r["confirmed"] is True
    assert n["corrected_s_max_z"] < 5 and n["corrected_r_max_z"] < 5
    assert n["uncorrected_s_over_E_g_at_t1"] == pytest.approx(0.1, rel=0.05)     # 1 − ρ₁ (sampling noise)
    assert n["uncorrected_r_over_E_g2_at_t1"] == pytest.approx(0.001, rel=0.05)   # 1 − ρ₂
    assert n["first_step_over_lr_corrected"] == pytest.approx(1.0, abs=1e-6)
    assert n["first_step_over_lr_uncorrected"] == pytest.approx(0.1 / math.sqrt(0.001), rel=1e-6)
    assert n["step_ratio_peak"] == pytest.approx(step_factor(12), rel=1e-4) and n["step_ratio_peak_at_t"] == 12


def test_without_bias_correction_is_the_uncorrected_update():
    rng = np.random.default_rng(0)
    theta = dc.tensor(rng.normal(size=5), dtype=dc.float64, requires_grad=True)
    ref = theta.numpy().copy()
    s, r = np.zeros(5), np.zeros(5)
    opt = optim.Adam([theta], lr=0.01)
    for t in range(1, 30):
        g = rng.normal(size=5)
        without_bias_correction(opt, t, 0.01)
        theta.grad = dc.tensor(g, dtype=dc.float64)
        opt.step()
        s = 0.9 * s + 0.1 * g
        r = 0.999 * r + 0.001 * g * g
        ref -= 0.01 * s / (np.sqrt(r) + 1e-8)
    np.testing.assert_allclose(theta.numpy(), ref, rtol=1e-12, atol=1e-14)
