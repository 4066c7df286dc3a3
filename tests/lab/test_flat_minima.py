"""Lab flat-minima: at the same training loss, batch 16 and batch 512 end in minima of nearly the same
sharpness and test error on the digits (not confirmed here); λ_max by power iteration on dc.hvp."""

import numpy as np
import pytest

import descend as dc
from descend import lab
from descend.lab.flat_minima import top_hessian_eigenvalue


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


def test_power_iteration_finds_the_top_eigenvalue():
    A = np.diag([3.0, 1.0, 0.5])
    x = dc.tensor([0.3, -0.2, 0.1], dtype=dc.float64)
    lam, _ = top_hessian_eigenvalue(lambda z: 0.5 * (z * dc.tensor(A.diagonal(), dtype=dc.float64) * z).sum(), (x,),
                                    tol=1e-12)
    assert lam == pytest.approx(3.0, rel=1e-9)
