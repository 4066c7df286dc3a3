"""Lab overfitting: the validation loss turns up while the training loss falls; EarlyStopping restores the minimum."""

import pytest

from descend import lab


def test_overfitting_quick_run(tmp_path):
    r = lab.run("overfitting", quick=True, seed=0, out=str(tmp_path))
    n = r["numbers"]
    assert r["confirmed"] is True
    assert n["val_min_epoch"] <= n["epochs"] // 2
    assert n["val_loss_end"] >= 1.5 * n["val_loss_min"]
    assert n["train_loss_end"] < 0.5 * n["train_loss_at_val_min"]
    # the same seed retraces the same run, so EarlyStopping's best epoch is the curve's minimum here
    assert n["early_stopping_best_epoch"] == n["val_min_epoch"]
    assert n["early_stopping_stopped_epoch"] == n["early_stopping_best_epoch"] + 20
    assert n["early_stopping_val_loss"] == pytest.approx(n["val_loss_min"], rel=1e-6)
    assert n["early_stopping_test_loss"] < n["end_of_training_test_loss"]
