"""Lab ``dnf``: any truth table is one hidden layer of threshold units (its DNF); parity needs 2^(D−1) of them.

Claim. Every Boolean function f of D inputs is computed by a network with one hidden layer of
threshold units: its disjunctive normal form. Each true row r of the table gets a hidden unit that
fires only on x = r (an AND of literals: weight +1 where rⱼ = 1, −1 where rⱼ = 0, bias ½ − |r|),
and the output is the OR of the hidden units. The price is size: the parity of D inputs (1 when
an odd number of inputs is 1) needs 2^(D−1) hidden units in this form.

Experiment.
1. ``nn.logic.from_truth_table`` for all 256 functions of 3 inputs and for random functions of
   4 to 8 inputs: the network's truth table equals the function's.
2. Parity of D = 2..8: the DNF network's size and correctness.
3. Why parity cannot do with fewer AND units: every hidden unit of a DNF network is a term (an AND
   of literals) that must imply f. The lab enumerates all 3^D terms and keeps the implicants of
   parity. If the only ones are the full minterms (D literals, one true row each), every DNF of
   parity has at least 2^(D−1) terms. For contrast, majority of D (odd) inputs has shorter
   implicants: the terms of (D+1)/2 positive literals cover it with C(D, (D+1)/2) units instead of
   2^(D−1). The lab builds that network from ``nn.logic.ThresholdLayer`` and checks it.
4. Threshold units need not be ANDs: hₖ = step(Σⱼ xⱼ − k + ½) (at least k inputs on), k = 1..D,
   and the output step(Σₖ (−1)^(k+1) hₖ − ½) compute parity with D hidden units. Reported: the
   exponential size belongs to the DNF, not to every one-hidden-layer threshold network.

Criterion: every DNF network reproduces its table; parity's network has 2^(D−1) hidden units and
the only implicants of parity are its minterms, for every D tried.
"""

import itertools

import numpy as np

import descend as dc
from descend import nn

from .base import lab


def _rows(d):
    """All 2^D input rows in the order of ``nn.logic`` (x₁ most significant), as a (2^D, D) 0/1 array."""
    return np.array(list(itertools.product((0, 1), repeat=d)), dtype=np.int64)


def _outputs(network, d):
    """The network's 0/1 outputs on all 2^D rows."""
    return nn.logic.truth_table(network, d)[1].ravel().astype(np.int64)


def _implicants(values, d):
    """Every term (literal j: 1 = xⱼ, −1 = ¬xⱼ, 0 = absent) whose true rows all have f = 1 (and exist)."""
    rows = _rows(d)
    terms = np.array(list(itertools.product((-1, 0, 1), repeat=d)), dtype=np.int64)
    # a row satisfies a term when every literal agrees: xⱼ = 1 for +1, xⱼ = 0 for −1
    positive = (terms == 1).astype(np.int64) @ (1 - rows).T == 0
    negative = (terms == -1).astype(np.int64) @ rows.T == 0
    covers = positive & negative                           # (3^D, 2^D)
    implies = ~(covers & (values[None, :] == 0)).any(axis=1)
    return terms[implies]


def dnf_network(terms):
    """The DNF network of a list of terms: one AND unit per term (weights ±1, bias ½ − #positive), then OR."""
    terms = np.asarray(terms, dtype=np.float64)
    hidden = nn.logic.ThresholdLayer(terms, 0.5 - (terms == 1).sum(axis=1))
    return nn.Sequential(hidden, nn.logic.OR(len(terms)))


def counting_parity(d):
    """Parity with D threshold units: hₖ = [Σx ≥ k], output [Σₖ (−1)^(k+1) hₖ ≥ ½]."""
    k = np.arange(1, d + 1)
    hidden = nn.logic.ThresholdLayer(np.ones((d, d)), 0.5 - k)
    out = nn.logic.ThresholdLayer([(-1.0) ** (k + 1)], [-0.5])
    return nn.Sequential(hidden, out)


@lab("dnf", order=50,
     claim="Any Boolean function is computed by one hidden layer of threshold units, its disjunctive normal form "
           "(one unit per true row); parity of D inputs needs 2^(D-1) hidden units in that form.",
     source="Notes, perceptrons and logic: Boolean functions as threshold networks (DNF), and their size")
def experiment(ctx):
    """Run the ``dnf`` experiment described in the module docstring (``ctx.quick``: the short run);
    return (confirmed, numbers): the verdict by the stated criterion and the measured values it rests on."""
    dc.manual_seed(ctx.seed)
    rng = np.random.default_rng(ctx.seed)
    tables_ok = True
    # 1. every function of 3 inputs, random functions of 4..8 inputs
    for values in itertools.product((0, 1), repeat=8):
        tables_ok &= bool(np.array_equal(_outputs(nn.logic.from_truth_table(values), 3), values))
    random_per_d = 10 if ctx.quick else 50
    for d in range(4, 9):
        for _ in range(random_per_d):
            values = rng.integers(0, 2, size=2 ** d)
            tables_ok &= bool(np.array_equal(_outputs(nn.logic.from_truth_table(values), d), values))

    # 2.-4. parity and majority: DNF size, implicants, the counting network
    ds = list(range(2, 8 if ctx.quick else 9))
    parity_units, shortest, parity_ok, counting_ok, majority = [], [], True, True, {}
    for d in ds:
        parity = _rows(d).sum(axis=1) % 2
        net = nn.logic.from_truth_table(parity)
        parity_units.append(int(net[0].weight.shape[0]))
        parity_ok &= bool(np.array_equal(_outputs(net, d), parity))
        shortest.append(int(np.min((_implicants(parity, d) != 0).sum(axis=1))))
        counting_ok &= bool(np.array_equal(_outputs(counting_parity(d), d), parity))
        if d % 2 == 1:
            maj = (_rows(d).sum(axis=1) > d // 2).astype(np.int64)
            imp = _implicants(maj, d)
            prime = imp[(imp != 0).sum(axis=1) == (d + 1) // 2]
            ok = bool(np.array_equal(_outputs(dnf_network(prime), d), maj))
            majority[d] = (int(maj.sum()), len(prime), ok)

    numbers = {"all_tables_reproduced": tables_ok,
               "functions_checked": 256 + 5 * random_per_d,
               "inputs_D": ds,
               "parity_dnf_hidden_units": parity_units,
               "two_to_the_D_minus_1": [2 ** (d - 1) for d in ds],
               "parity_dnf_correct": parity_ok,
               "parity_shortest_implicant_literals": shortest,
               "majority_D": list(majority),
               "majority_true_rows": [v[0] for v in majority.values()],
               "majority_prime_implicant_units": [v[1] for v in majority.values()],
               "majority_short_dnf_correct": all(v[2] for v in majority.values()),
               "parity_counting_network_units": ds,
               "parity_counting_network_correct": counting_ok}

    with ctx.figure("dnf.png", 1, 2, size=(11, 4.2)) as (fig, axes):
        ax = axes[0]
        ax.semilogy(ds, parity_units, "o-", label="parity: DNF = minimal DNF (2^(D−1))")
        md = list(majority)
        ax.semilogy(md, [v[0] for v in majority.values()], "s--", label="majority: one unit per true row")
        ax.semilogy(md, [v[1] for v in majority.values()], "s-", label="majority: prime implicants C(D, (D+1)/2)")
        ax.semilogy(ds, ds, "^-", label="parity: counting threshold units (D)")
        ax.set(title="Hidden units of one-hidden-layer threshold networks", xlabel="inputs D", ylabel="hidden units")
        ax.legend(fontsize=8)
        ax = axes[1]
        w = nn.logic.from_truth_table(_rows(4).sum(axis=1) % 2)[0].weight.numpy()
        im = ax.imshow(w, cmap="coolwarm", vmin=-1, vmax=1, aspect="auto")
        ax.set(title="Parity of 4 inputs: DNF hidden weights (8 units)", xlabel="input j", ylabel="hidden unit",
               xticks=range(4), xticklabels=[f"x{j + 1}" for j in range(4)])
        fig.colorbar(im, ax=ax, label="weight (+1: xⱼ, −1: ¬xⱼ)")

    confirmed = (tables_ok and parity_ok and parity_units == numbers["two_to_the_D_minus_1"]
                 and shortest == ds)
    return confirmed, numbers
