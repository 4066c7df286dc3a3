"""Lab perceptron: finitely many updates on AND/OR/NAND/NOR (within Novikoff's bound); XOR cycles for ever."""

import pytest

from descend import lab


def test_perceptron_quick_run(tmp_path):
    r = lab.run("perceptron", quick=True, seed=0, out=str(tmp_path))
    n = r["numbers"]
    assert r["confirmed"] is True
    # (R/γ)² with R = √3 and the notes' units: AND/NAND γ² = 1/17, OR/NOR γ² = 1/9
    assert n["and_novikoff_bound"] == pytest.approx(51) and n["nand_novikoff_bound"] == pytest.approx(51)
    assert n["or_novikoff_bound"] == pytest.approx(27) and n["nor_novikoff_bound"] == pytest.approx(27)
    for gate in ("and", "or", "nand", "nor"):
        assert 1 <= n[f"{gate}_updates"] <= n[f"{gate}_novikoff_bound"]
    assert n["xor_cycle_found"] is True and n["xor_cycle_period_epochs"] >= 1
    assert n["xor_fewest_mistakes_in_an_epoch"] >= 1
    assert n["stochastic_separable_all_converged"] and n["stochastic_xor_never_converged"]
    assert n["random_sets_all_converged"] and n["random_sets_all_within_bound"]
    assert 0 < n["random_sets_largest_updates_to_bound_ratio"] <= 1
