"""Lab regularization: the proximal L1 step makes exact zeros, L2 and subgradient L1 do not; both beat λ = 0."""

from descend import lab


def test_regularization_quick_run(tmp_path):
    r = lab.run("regularization", quick=True, seed=0, out=str(tmp_path))
    n = r["numbers"]
    assert r["confirmed"] is True
    assert n["lambdas"][0] == 0.0
    assert n["l1_proximal_chosen_irrelevant_exact_zeros"] >= 45
    assert n["l1_proximal_chosen_relevant_kept"] == 10          # the 10 true features survive
    assert max(n["l2_exact_zeros"]) == 0 and max(n["l1_subgradient_exact_zeros"]) == 0
    zeros = n["l1_proximal_exact_zeros"]
    assert zeros[0] == 0 and zeros[-1] >= 90 and all(b >= a for a, b in zip(zeros, zeros[1:]))
    norms = n["l2_weight_norm"]
    assert all(b < a for a, b in zip(norms, norms[1:]))
    assert n["l1_proximal_chosen_test_mse"] < n["l2_chosen_test_mse"] < n["unregularized_test_mse"]
    # the solutions are the optima of their penalized losses, not just where training stopped
    assert n["l2_distance_to_closed_form"] < 1e-6
    assert n["l1_proximal_optimality_violation"] < 1e-6
