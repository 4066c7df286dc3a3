"""Lab dropout: eval mode is exactly the geometric mean of all 2^d masked softmax-linear models; dropout
lowers the validation and test loss of an overfitting network at every learning rate tried."""

from descend import lab


def test_dropout_quick_run(tmp_path):
    r = lab.run("dropout", quick=True, seed=0, out=str(tmp_path))
    n = r["numbers"]
    assert r["confirmed"] is True
    assert n["masks"] == 2 ** n["inputs_d"] >= 1024
    for p in ("0.5", "0.2"):
        assert n[f"softmax_linear_p{p}_gap_to_geometric_mean"] < 1e-12
        assert n[f"softmax_linear_p{p}_gap_to_arithmetic_mean"] > 1e-3
    assert n["nonlinear_gap_to_geometric_mean"] > 1e-3           # a tanh after the dropout: only approximate
    for lr in n["learning_rates"]:
        on, off = f"dropout_lr{lr:g}", f"no_dropout_lr{lr:g}"
        assert n[f"{on}_test_loss"] < n[f"{off}_test_loss"]
        assert n[f"{on}_val_loss"] - n[f"{on}_val_loss_min"] < n[f"{off}_val_loss"] - n[f"{off}_val_loss_min"]
