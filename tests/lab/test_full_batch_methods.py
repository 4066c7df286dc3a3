"""Lab full-batch-methods: Rprop and L-BFGS reach a far lower loss with full batches, SGD with mini-batches."""

from descend import lab


def test_full_batch_methods_quick_run_confirms_with_its_numbers(tmp_path):
    r = lab.run("full-batch-methods", quick=True, seed=0, out=str(tmp_path))
    n = r["numbers"]
    assert r["confirmed"] is True
    assert n["rprop_full_final_loss"] < 1e-6 and n["rprop_minibatch_final_loss"] > 1e-2
    assert n["lbfgs_full_final_loss"] < 1e-4 and n["lbfgs_full_final_loss"] * 100 < n["lbfgs_minibatch_final_loss"]
    assert n["sgd_minibatch_final_loss"] * 5 < n["sgd_full_final_loss"]
