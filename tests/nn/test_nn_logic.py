"""Logic networks of threshold units: AND, OR, NOT, NAND, NOR, XOR and from_truth_table on random functions."""

import itertools

import numpy as np
import pytest

import descend as dc
from descend.nn import logic


def table(net, n):
    rows, out = logic.truth_table(net, n)
    assert out.shape == (2 ** n, 1)
    assert set(np.unique(out)) <= {0.0, 1.0}
    return rows.astype(int), out[:, 0].astype(int)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_gates(n):
    rows, _ = table(logic.AND(n), n)
    for gate, fn in (
        (logic.AND, all),
        (logic.OR, any),
        (logic.NAND, lambda r: not all(r)),
        (logic.NOR, lambda r: not any(r)),
    ):
        _, out = table(gate(n), n)
        np.testing.assert_array_equal(out, [int(fn(r)) for r in rows])


def test_not_and_xor():
    _, out = table(logic.NOT(), 1)
    np.testing.assert_array_equal(out, [1, 0])
    _, out = table(logic.XOR(), 2)
    np.testing.assert_array_equal(out, [0, 1, 1, 0])
    net = logic.XOR()
    assert net[0].weight.shape == (2, 2) and net[1].weight.shape == (1, 2)


def test_from_truth_table_random_4_input_functions():
    rng = np.random.default_rng(0)
    for _ in range(50):
        outputs = rng.integers(0, 2, 16)
        net = logic.from_truth_table(outputs)
        _, out = table(net, 4)
        np.testing.assert_array_equal(out, outputs)
        assert net[0].weight.shape[0] == max(1, outputs.sum())  # one hidden unit per true row


def test_from_truth_table_dict_and_constants():
    parity = {r: sum(r) % 2 for r in itertools.product((0, 1), repeat=3)}
    _, out = table(logic.from_truth_table(parity), 3)
    np.testing.assert_array_equal(out, [sum(r) % 2 for r in itertools.product((0, 1), repeat=3)])
    _, out = table(logic.from_truth_table([0, 0, 0, 0]), 2)
    np.testing.assert_array_equal(out, 0)
    _, out = table(logic.from_truth_table([1, 1, 1, 1]), 2)
    np.testing.assert_array_equal(out, 1)
    with pytest.raises(ValueError, match="2\\^n"):
        logic.from_truth_table([0, 1, 1])
    with pytest.raises(ValueError, match="0 or 1"):
        logic.from_truth_table([0, 2, 1, 0])


def test_threshold_units_have_no_gradient():
    net = logic.XOR()
    assert all(not p.requires_grad for p in net.parameters())
    x = dc.tensor([[0.0, 1.0]], requires_grad=True)
    net(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), 0)
