"""Lab dnf: truth tables as DNF networks; parity's DNF has 2^(D-1) units and no shorter implicant exists."""

from math import comb

from descend import lab


def test_dnf_quick_run(tmp_path):
    r = lab.run("dnf", quick=True, seed=0, out=str(tmp_path))
    n = r["numbers"]
    assert r["confirmed"] is True
    assert n["all_tables_reproduced"] and n["functions_checked"] >= 256
    ds = n["inputs_D"]
    assert ds[0] == 2 and ds[-1] >= 7
    assert n["parity_dnf_hidden_units"] == [2 ** (d - 1) for d in ds]
    assert n["parity_shortest_implicant_literals"] == ds
    assert n["majority_prime_implicant_units"] == [comb(d, (d + 1) // 2) for d in n["majority_D"]]
    assert n["majority_true_rows"] == [2 ** (d - 1) for d in n["majority_D"]]
    assert n["majority_short_dnf_correct"] and n["parity_counting_network_correct"]
