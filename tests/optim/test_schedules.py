"""The pure schedules lr = schedule(t): each against its formula written out, their joins, and clear
errors for bad settings (no torch needed)."""

import math

import numpy as np
import pytest

from descend.optim import schedules as S

T = np.arange(0, 60)


def values(schedule, ts=T):
    return np.array([schedule(t) for t in ts])


def test_constant_inverse_time_step_exponential():
    np.testing.assert_array_equal(values(S.constant(0.3)), 0.3)
    np.testing.assert_allclose(values(S.inverse_time(0.1, 0.5)), 0.1 / (1 + 0.5 * T), rtol=1e-15)
    np.testing.assert_allclose(values(S.step_decay(0.1, 7, 0.5)), 0.1 * 0.5 ** np.floor(T / 7), rtol=1e-15)
    np.testing.assert_allclose(values(S.exponential(2.0, 0.9)), 2.0 * 0.9 ** T, rtol=1e-14)
    # the staircase holds its value between steps and drops by γ at each multiple of step_size
    s = S.step_decay(1.0, 10, 0.1)
    assert s(9) == 1.0 and s(10) == pytest.approx(0.1) and s(19.5) == pytest.approx(0.1)


def test_multistep_counts_repeated_milestones():
    s = S.multistep(1.0, [30, 10, 30], 0.5)
    assert [s(t) for t in (0, 9, 10, 29, 30, 99)] == [1.0, 1.0, 0.5, 0.5, 0.125, 0.125]


def test_linear_warmup_and_polynomial_and_cosine():
    np.testing.assert_allclose(values(S.linear(0.0, 0.1, 20)), 0.1 * np.minimum(T, 20) / 20, rtol=1e-15, atol=0)
    np.testing.assert_allclose(values(S.polynomial(0.2, 40, 2.0)), 0.2 * (1 - np.minimum(T, 40) / 40) ** 2,
                               rtol=1e-14, atol=1e-18)
    np.testing.assert_allclose(values(S.polynomial(0.2, 40, 1.0, end=0.05)),
                               0.05 + 0.15 * (1 - np.minimum(T, 40) / 40), rtol=1e-14)
    cos = values(S.cosine(0.1, 30, end=0.01))
    np.testing.assert_allclose(cos, 0.01 + 0.09 * (1 + np.cos(np.pi * T / 30)) / 2, rtol=1e-14)
    assert cos[0] == 0.1 and cos[30] == pytest.approx(0.01, abs=1e-17) and cos[15] == pytest.approx(0.055)


def test_warm_restarts_restart_at_the_cycle_ends():
    s = S.warm_restarts(1.0, T_0=3, T_mult=2, end=0.0)
    # cycles of 3, 6, 12 epochs start at 0, 3, 9, 21
    for start, length in [(0, 3), (3, 6), (9, 12), (21, 24)]:
        assert s(start) == 1.0
        assert s(start + length / 2) == pytest.approx(0.5)
    assert S.restart_cycle(9.25, 3, 2) == (0.25, 12)
    assert S.restart_cycle(20.5, 3, 2) == (11.5, 12)
    assert S.restart_cycle(7, 3, 1) == (1, 3)
    # at a boundary the cycle has restarted exactly (a log-based formula can round to the wrong cycle)
    assert S.restart_cycle(3 * (2 ** 20 - 1), 3, 2) == (0, 3 * 2 ** 20)


def triangle(t, base, peak, half):
    """The triangular wave written directly: base at multiples of 2·half, peak in between."""
    return base + (peak - base) * (1 - abs((t % (2 * half)) - half) / half)


def test_cyclic_triangular_modes():
    s = S.cyclic(0.01, 0.1, step_size_up=8)
    np.testing.assert_allclose(values(s), [triangle(t, 0.01, 0.1, 8) for t in T], rtol=1e-14)
    s2 = S.cyclic(0.01, 0.1, step_size_up=5, mode="triangular2")
    cycle = 1 + T // 10
    np.testing.assert_allclose(values(s2), [0.01 + (triangle(t, 0.01, 0.1, 5) - 0.01) / 2 ** (c - 1)
                                            for t, c in zip(T, cycle)], rtol=1e-13)
    s3 = S.cyclic(0.01, 0.1, step_size_up=6, mode="exp_range", gamma=0.98)
    np.testing.assert_allclose(values(s3), [0.01 + (triangle(t, 0.01, 0.1, 6) - 0.01) * 0.98 ** t for t in T],
                               rtol=1e-13)
    down = S.cyclic(0.9, 0.8, step_size_up=4)   # start > peak: cycles downwards (momentum)
    assert down(0) == 0.9 and down(4) == pytest.approx(0.8)
    uneven = S.cyclic(0.0, 1.0, step_size_up=2, step_size_down=6)
    assert [uneven(t) for t in (0, 1, 2, 5, 8)] == pytest.approx([0.0, 0.5, 1.0, 0.5, 0.0])


def test_one_cycle_up_then_down():
    s = S.one_cycle(1.0, total_steps=100, pct_start=0.25, div_factor=10.0, final_div_factor=100.0)
    assert s(0) == pytest.approx(0.1)
    assert s(24) == pytest.approx(1.0)                 # the peak at pct_start·N − 1
    assert s(99) == pytest.approx(0.1 / 100)           # the floor at N − 1
    assert max(values(s, range(100))) == pytest.approx(1.0)
    lin = S.one_cycle(1.0, total_steps=11, pct_start=0.5, anneal_strategy="linear", div_factor=2.0,
                      final_div_factor=1.0, three_phase=True)
    assert [lin(t) for t in (0, 4.5, 9, 10)] == pytest.approx([0.5, 1.0, 0.5, 0.5])


def test_join_schedules_restarts_each_at_its_boundary():
    warm_then_cos = S.join_schedules([S.linear(0.0, 0.1, 5), S.cosine(0.1, 95)], [5])
    assert [round(warm_then_cos(t), 4) for t in (0, 5, 52.5, 100)] == [0.0, 0.1, 0.05, 0.0]
    three = S.join_schedules([S.constant(1.0), S.exponential(0.5, 0.5), S.constant(2.0)], [3, 6])
    assert [three(t) for t in range(8)] == [1.0, 1.0, 1.0, 0.5, 0.25, 0.125, 2.0, 2.0]


@pytest.mark.parametrize("make,match", [
    (lambda: S.step_decay(0.1, 0, 0.5), r"step_size=0: expected an integer >= 1"),
    (lambda: S.step_decay(0.1, 2.5, 0.5), r"step_size=2\.5: expected an integer"),
    (lambda: S.exponential(0.1, float("nan")), r"gamma=nan: expected a finite number >= 0"),
    (lambda: S.exponential(float("inf"), 0.9), r"init=inf: expected a finite number"),
    (lambda: S.inverse_time(0.1, -1.0), r"decay_rate=-1\.0"),
    (lambda: S.cosine(0.1, 0), r"steps=0: expected a finite number > 0"),
    (lambda: S.linear(0.0, 1.0, 0), r"steps=0"),
    (lambda: S.warm_restarts(0.1, 3, T_mult=0), r"T_mult=0"),
    (lambda: S.cyclic(0.1, 0.2, mode="sawtooth"), r"mode='sawtooth'"),
    (lambda: S.cyclic(0.1, 0.2, scale_fn=lambda x: 1.0, scale_mode="epochs"), r"scale_mode='epochs'"),
    (lambda: S.one_cycle(0.1, 10, pct_start=1.5), r"pct_start=1\.5"),
    (lambda: S.one_cycle(0.1, 10, anneal_strategy="exp"), r"anneal_strategy='exp'"),
    (lambda: S.multistep(0.1, [3, -1]), r"milestone=-1"),
    (lambda: S.join_schedules([S.constant(1.0)], [3]), r"1 schedules need 0 boundaries"),
    (lambda: S.join_schedules([S.constant(1.0), S.constant(2.0), S.constant(3.0)], [5, 2]), r"must increase"),
])
def test_bad_settings_raise_naming_them(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_warmup_then_a_schedule():
    s = S.warmup(4, S.exponential(0.1, 0.5))
    assert [s(t) for t in range(7)] == pytest.approx([0.0, 0.025, 0.05, 0.075, 0.1, 0.05, 0.025])
    assert S.warmup(2, S.constant(1.0), start=0.5)(1) == 0.75
    with pytest.raises(TypeError, match="expected a function of the step"):
        S.warmup(2, 0.1)


def test_join_schedules_needs_functions():
    with pytest.raises(TypeError, match="schedule 1 is a float"):
        S.join_schedules([S.constant(1.0), 0.5], [3])


def test_schedules_are_pure():
    s = S.cosine(1.0, 10)
    first = [s(t) for t in range(10)]
    assert [s(t) for t in reversed(range(10))] == first[::-1]   # no state: any order, any number of calls
    assert math.isclose(s(2.5), (1 + math.cos(math.pi / 4)) / 2)
