"""Lab mse-vs-cross-entropy: the squared error's logit gradient vanishes on confident mistakes; from saturated
outputs it learns far slower than the cross-entropy (learning rates tuned for both)."""

import math

import pytest

from descend import lab


def test_mse_vs_cross_entropy_quick_run(tmp_path):
    r = lab.run("mse-vs-cross-entropy", quick=True, seed=0, out=str(tmp_path))
    n = r["numbers"]
    assert r["confirmed"] is True
    # p − t for a one-hot t and p → e_wrong has norm √2; the squared error's gradient decays like e^{-m}
    assert n["cross_entropy_logit_grad_norm"][-1] == pytest.approx(math.sqrt(2), rel=1e-5)
    se = n["squared_error_logit_grad_norm"]
    assert all(b < a for a, b in zip(se[4:], se[5:]))
    assert se[-1] / se[-2] == pytest.approx(math.exp(-1), rel=0.01)
    assert n["grad_ratio_at_margin_10"] < 1e-3
    assert n["saturated_start_mean_max_probability"] > 0.5 > n["default_start_mean_max_probability"]
    ce, sq = n["saturated_cross_entropy_train_accuracy"][-1], n["saturated_squared_error_train_accuracy"][-1]
    assert ce >= 0.9 and sq <= ce - 0.1
    assert n["default_cross_entropy_train_accuracy"][-1] >= 0.9      # reported, not judged
