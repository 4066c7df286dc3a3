"""Lab learning-rate: GD on a κ = 100 quadratic converges for ε < 2/λ_max and diverges above; a network's
largest rate diverges and its smallest crawls."""

import math

from descend import lab


def test_learning_rate_quick_run_confirms_with_its_numbers(tmp_path):
    r = lab.run("learning-rate", quick=True, seed=0, out=str(tmp_path))
    n = r["numbers"]
    assert r["confirmed"] is True
    for ratio in (0.1, 0.5, 0.9, 0.99):
        assert n[f"quadratic_gap_after_500_r{ratio:g}"] < 1
    assert n["quadratic_gap_after_500_r0.1"] > 100 * abs(n["quadratic_gap_after_500_r0.9"])     # crawls
    for ratio in (1.01, 1.1, 2):
        gap = n[f"quadratic_gap_after_500_r{ratio:g}"]
        assert gap is None or gap > 1                                                          # None: overflow
    largest = n["network_largest_lr_final_loss"]
    assert largest is None or largest > n["network_largest_lr_initial_loss"] or math.isinf(largest)
    assert n["network_smallest_lr_progress_over_best"] < 0.1
    assert 1e-4 < n["network_best_lr"] < 10
    # a descend.search grid: one trial per rate, each with its own seed and so its own initial loss
    assert n["network_lrs"] == [1e-4, 1e-3, 1e-2, 1e-1, 1.0, 10.0]
    assert len(set(n["network_trial_seeds"])) == 6
    assert all(1.5 < loss < 4 for loss in n["network_initial_loss_per_lr"])    # ≈ ln 10 = 2.3 at initialization
    assert n["network_best_final_loss"] < 0.5 * n["network_best_initial_loss"]
