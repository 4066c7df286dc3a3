"""Lab ensembles: members from different initializations disagree (c < v), so the average's squared error
v/k + (k−1)c/k and its cross-entropy beat the mean member's."""

import pytest

from descend import lab


def test_ensembles_quick_run(tmp_path):
    r = lab.run("ensembles", quick=True, seed=0, out=str(tmp_path))
    n = r["numbers"]
    assert r["confirmed"] is True
    k, v, c = n["members"], n["squared_error_v"], n["squared_error_c"]
    assert 0 < c < v and n["pairwise_disagreement"] > 0
    assert n["ensemble_squared_error"] == pytest.approx(v / k + (k - 1) * c / k, rel=1e-9)
    assert n["ensemble_squared_error"] < v
    assert n["ensemble_test_nll"] < n["mean_member_test_nll"]
    assert 0 < n["bagging_error_correlation_c_over_v"] < 1          # reported: bagging decorrelates further
