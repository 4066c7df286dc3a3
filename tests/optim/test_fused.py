"""The fused (Numba) Adam update is bit-identical to the NumPy one it replaces."""

import numpy as np
import pytest

import descend as dc
from descend import optim
from descend.optim import adam, fused

pytestmark = pytest.mark.skipif(not fused.available(), reason="numba is not installed")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("options", [{}, {"weight_decay": 0.1}, {"maximize": True},
                                     {"weight_decay": 0.05, "decoupled_weight_decay": True}])
@pytest.mark.parametrize("n", [1, 13, 4099])
def test_fused_adam_is_bit_identical_to_numpy(dtype, options, n, monkeypatch):
    rng = np.random.default_rng(n)
    start = [rng.standard_normal(n).astype(dtype), rng.standard_normal(n).astype(dtype),
             (0.1 * rng.standard_normal(n)).astype(dtype), (0.01 * rng.random(n)).astype(dtype)]
    runs = []
    for use in (False, True):
        p, g, m, v = (a.copy() for a in start)
        with monkeypatch.context() as mp:
            if not use:
                mp.setitem(fused._STATE, "numba", None)
            for step in range(1, 8):
                adam.adam_update(p, g, m, v, step, lr=1e-2, beta1=0.8, beta2=0.99, eps=1e-6, **options)
        runs.append((p, m, v))
    for a, b in zip(*runs):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(runs[1][0], start[0])


def test_not_taken_for_strided_arrays():
    p = np.zeros((4, 4), np.float32)[:, ::2]
    assert fused.adam(p, p.copy(), p.copy(), p.copy(), 0.9, 0.999, 1e-8, 1e-3) is False


@pytest.mark.parametrize("make", [lambda ps: optim.Adam(ps, lr=1e-2), lambda ps: optim.AdamW(ps, lr=1e-2),
                                  lambda ps: optim.Adam(ps, lr=1e-2, amsgrad=True)])
def test_multi_tensor_step_is_bit_identical_to_one_tensor_at_a_time(make, monkeypatch):
    """The whole-model fused call gives what the NumPy update per tensor gives, also when one
    parameter skips steps (no gradient: it falls behind, and the group is updated one by one)."""
    rng = np.random.default_rng(0)
    shapes = [(5, 3), (3,), (7,), (2, 2, 2)]
    start = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(12)]
    results = []
    for use in (False, True):
        with monkeypatch.context() as mp:
            if not use:
                mp.setitem(fused._STATE, "numba", None)
            ps = [dc.tensor(a.copy(), requires_grad=True) for a in start]
            opt = make(ps)
            for k, gs in enumerate(grads):
                for i, (p, g) in enumerate(zip(ps, gs)):
                    p.grad = None if (i == 2 and 4 <= k < 6) else dc.tensor(g)
                opt.step()
            results.append([p.data.copy() for p in ps] + [a for st in opt.state.values() for a in st.values()])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)


def test_multi_tensor_step_follows_arrays_replaced_between_steps(monkeypatch):
    """The fused path keeps flat views of θ, s and r between steps; a parameter array or a state
    array replaced in between (``p.data = ...``, ``load_state_dict``) is the one updated next."""
    rng = np.random.default_rng(1)
    shapes = [(4, 3), (3,)]
    start = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(6)]
    results = []
    for use in (False, True):
        with monkeypatch.context() as mp:
            if not use:
                mp.setitem(fused._STATE, "numba", None)
            ps = [dc.tensor(a.copy(), requires_grad=True) for a in start]
            opt = optim.Adam(ps, lr=1e-2)
            for k, gs in enumerate(grads):
                if k == 2:
                    ps[0].data = ps[0].data * 2
                if k == 4:
                    opt.load_state_dict(opt.state_dict())   # new state arrays, same values
                for p, g in zip(ps, gs):
                    p.grad = dc.tensor(g)
                opt.step()
            results.append([p.data.copy() for p in ps])
    for a, b in zip(*results):
        np.testing.assert_array_equal(a, b)
