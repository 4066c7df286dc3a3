"""Learning-rate schedules as pure functions of the step: ``lr = schedule(t)`` (Optax's shape).

Each function here takes a schedule's settings, checks them, and returns the schedule: a function
of the step t = 0, 1, 2, ... (fractional t works too) that returns ε_t and keeps no state::

    from descend.optim import schedules
    lr = schedules.join_schedules([schedules.linear(0.0, 0.1, 5),        # warm up for 5 steps
                                   schedules.cosine(0.1, 95)], [5])     # then anneal to 0
    [round(lr(t), 4) for t in (0, 5, 52.5, 100)]                        # [0.0, 0.1, 0.05, 0.0]

=====================================================  ==============================================
schedule                                               ε(t)
=====================================================  ==============================================
``constant(value)``                                    value
``inverse_time(init, decay_rate)``                     init / (1 + δ t): the notes' progressive decay
``step_decay(init, step_size, gamma)``                 init · γ^⌊t / step_size⌋ (staircase)
``multistep(init, milestones, gamma)``                 init · γ^(number of milestones ≤ t)
``exponential(init, gamma)``                           init · γᵗ
``linear(start, end, steps)``                          start + (end − start) · min(t, steps) / steps
                                                       (a linear warm-up: ``linear(0, ε, n)``)
``polynomial(init, steps, power, end=0)``              end + (init − end) · (1 − min(t, steps)/steps)^p
``cosine(init, steps, end=0)``                         end + (init − end) · (1 + cos(π t / steps)) / 2
``warm_restarts(init, T_0, T_mult=1, end=0)``          SGDR: the cosine over T_cur / T_i, restarted
                                                       when T_cur reaches T_i, then T_i ← T_mult · T_i
``cyclic(start, peak, step_size_up, ...)``             Smith's triangular cycles (CLR)
``one_cycle(peak, total_steps, ...)``                  the 1cycle policy: warm up to peak, then anneal
``join_schedules(schedules, boundaries)``              schedules[i](t − boundaries[i−1]) between
                                                       boundaries[i−1] and boundaries[i]
``warmup(steps, schedule, start=0)``                   linear from ``start`` to schedule(0) in ``steps``
                                                       steps, then schedule(t − steps)
=====================================================  ==============================================

``optim.lr_scheduler``'s classes (PyTorch's ``StepLR``, ``CosineAnnealingLR``, ...) are thin stateful
wrappers over these functions that keep PyTorch's protocol and numbers.
"""

import math
from bisect import bisect_right

from .hyperparameters import check_number

__all__ = ["constant", "inverse_time", "step_decay", "multistep", "exponential", "linear", "polynomial", "cosine",
           "warm_restarts", "restart_cycle", "cyclic", "one_cycle", "join_schedules", "warmup"]


def constant(value):
    """ε(t) = value."""
    check_number("value", value)
    return lambda t: value


def inverse_time(init, decay_rate):
    """ε(t) = init / (1 + δ t), δ = ``decay_rate`` ≥ 0 (the notes' 1/(1 + δt) decay)."""
    check_number("init", init)
    check_number("decay_rate", decay_rate, low=0.0)
    return lambda t: init * (1.0 / (1.0 + decay_rate * t))


def step_decay(init, step_size, gamma=0.1):
    """ε(t) = init · γ^⌊t / step_size⌋: multiplied by γ every ``step_size`` steps."""
    check_number("init", init)
    check_number("step_size", step_size, low=1, integer=True)
    check_number("gamma", gamma, low=0.0)
    return lambda t: init * gamma ** (t // step_size)


def multistep(init, milestones, gamma=0.1):
    """ε(t) = init · γ^k, k = the number of ``milestones`` ≤ t (a milestone listed twice counts twice)."""
    check_number("init", init)
    check_number("gamma", gamma, low=0.0)
    milestones = sorted(milestones)
    for m in milestones:
        check_number("milestone", m, low=0, integer=True)
    return lambda t: init * gamma ** bisect_right(milestones, t)


def exponential(init, gamma):
    """ε(t) = init · γᵗ (e.g. γ = 0.999 per step)."""
    check_number("init", init)
    check_number("gamma", gamma, low=0.0)
    return lambda t: init * gamma ** t


def linear(start, end, steps):
    """ε(t) = start + (end − start) · min(t, steps) / steps: from ``start`` to ``end`` in ``steps``
    steps, then ``end`` (a warm-up when start < end)."""
    check_number("start", start)
    check_number("end", end)
    check_number("steps", steps, low=1, integer=True)
    return lambda t: start + (end - start) * min(steps, t) / steps


def polynomial(init, steps, power=1.0, end=0.0):
    """ε(t) = end + (init − end) · (1 − min(t, steps)/steps)^power: to ``end`` in ``steps`` steps."""
    check_number("init", init)
    check_number("steps", steps, low=1, integer=True)
    check_number("power", power, low=0.0)
    check_number("end", end)
    return lambda t: end + (init - end) * (1.0 - min(steps, t) / steps) ** power


def cosine(init, steps, end=0.0):
    """ε(t) = end + (init − end) · (1 + cos(π t / steps)) / 2: half a cosine from ``init`` down to
    ``end`` in ``steps`` steps (past them it follows the cosine back up, as PyTorch's)."""
    check_number("init", init)
    check_number("steps", steps, low=0.0, low_open=True)
    check_number("end", end)
    return lambda t: end + (init - end) * ((1 + math.cos(math.pi * t / steps)) / 2)


def restart_cycle(t, T_0, T_mult=1):
    """Where SGDR's t falls: (T_cur, T_i), the position in the current cycle and its length. Cycles
    last T_0, T_0·T_mult, T_0·T_mult², ... steps; t may be fractional."""
    T_i = T_0
    if T_mult == 1:
        return (t % T_0 if t >= T_0 else t), T_0
    while t >= T_i:
        t = t - T_i
        T_i = T_i * T_mult
    return t, T_i


def warm_restarts(init, T_0, T_mult=1, end=0.0):
    """SGDR (Loshchilov & Hutter 2017): ε(t) = end + (init − end) · (1 + cos(π T_cur / T_i)) / 2 with
    (T_cur, T_i) = :func:`restart_cycle` (t): the cosine restarts at ``init`` every cycle, each cycle
    ``T_mult`` times as long as the last."""
    check_number("init", init)
    check_number("T_0", T_0, low=1, integer=True)
    check_number("T_mult", T_mult, low=1, integer=True)
    check_number("end", end)

    def schedule(t):
        T_cur, T_i = restart_cycle(t, T_0, T_mult)
        return end + (init - end) * (1 + math.cos(math.pi * T_cur / T_i)) / 2

    return schedule


_CYCLE_SCALES = {
    "triangular": (lambda gamma: lambda x: 1.0, "cycle"),
    "triangular2": (lambda gamma: lambda x: 1 / (2.0 ** (x - 1)), "cycle"),
    "exp_range": (lambda gamma: lambda x: gamma ** x, "iterations"),
}


def cyclic(start, peak, step_size_up=2000, step_size_down=None, mode="triangular", gamma=1.0, scale_fn=None,
           scale_mode="cycle"):
    """Cyclical learning rates (Smith 2017): up from ``start`` to ``peak`` in ``step_size_up`` steps and
    back in ``step_size_down`` (default: the same). With L = up + down, c = ⌊1 + t/L⌋ (the cycle),
    x = 1 + t/L − c, r = up/L and s = x/r if x ≤ r else (x − 1)/(r − 1)::

        ε(t) = start + (peak − start) · s · f

    f = 1 (``"triangular"``), 1/2^(c−1) (``"triangular2"``), γᵗ (``"exp_range"``), or ``scale_fn`` of c
    (``scale_mode="cycle"``) or of t (``"iterations"``). With start > peak it cycles downwards (the
    momentum of PyTorch's ``CyclicLR``)."""
    check_number("start", start)
    check_number("peak", peak)
    check_number("step_size_up", step_size_up, low=0.0, low_open=True)
    if step_size_down is not None:
        check_number("step_size_down", step_size_down, low=0.0)
    if scale_fn is None:
        if mode not in _CYCLE_SCALES:
            raise ValueError(f"Invalid mode={mode!r}: expected 'triangular', 'triangular2' or 'exp_range' "
                             "(or give scale_fn)")
        check_number("gamma", gamma, low=0.0)
        make, scale_mode = _CYCLE_SCALES[mode]
        scale_fn = make(gamma)
    elif scale_mode not in ("cycle", "iterations"):
        raise ValueError(f"Invalid scale_mode={scale_mode!r}: expected 'cycle' or 'iterations'")
    up = float(step_size_up)
    down = float(step_size_down) if step_size_down is not None else up
    total = up + down
    ratio = up / total
    by_cycle = scale_mode == "cycle"

    def schedule(t):
        cycle = math.floor(1 + t / total)
        x = 1.0 + t / total - cycle
        s = x / ratio if x <= ratio else (x - 1) / (ratio - 1)
        return start + (peak - start) * s * scale_fn(cycle if by_cycle else t)

    return schedule


def _anneal(strategy):
    if strategy == "cos":
        return lambda start, end, pct: end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
    if strategy == "linear":
        return lambda start, end, pct: (end - start) * pct + start
    raise ValueError(f"Invalid anneal_strategy={strategy!r}: expected 'cos' or 'linear'")


def one_cycle(peak, total_steps, pct_start=0.3, anneal_strategy="cos", div_factor=25.0, final_div_factor=1e4,
              three_phase=False, start=None, floor=None):
    """The 1cycle policy (Smith & Topin 2018): from ``start`` (= peak / div_factor) up to ``peak`` over
    ``pct_start`` of ``total_steps``, then down to ``floor`` (= start / final_div_factor), annealing
    by half a cosine (``"cos"``) or linearly. ``three_phase``: up, back down to ``start`` symmetrically,
    then to ``floor``. Phases end at steps pct_start·N − 1, (2·pct_start·N − 2), N − 1 (PyTorch's).
    ``start`` and ``floor`` may be given instead of derived (for a momentum cycling inversely)."""
    check_number("peak", peak)
    check_number("total_steps", total_steps, low=1, integer=True)
    check_number("pct_start", pct_start, low=0.0, high=1.0)
    check_number("div_factor", div_factor, low=0.0, low_open=True)
    check_number("final_div_factor", final_div_factor, low=0.0, low_open=True)
    anneal = _anneal(anneal_strategy)
    start = peak / div_factor if start is None else check_number("start", start)
    floor = start / final_div_factor if floor is None else check_number("floor", floor)
    n = total_steps
    if three_phase:
        phases = [(float(pct_start * n) - 1, start, peak), (float(2 * pct_start * n) - 2, peak, start),
                  (n - 1, start, floor)]
    else:
        phases = [(float(pct_start * n) - 1, start, peak), (n - 1, peak, floor)]

    def schedule(t):
        begin = 0.0
        for i, (end_step, a, b) in enumerate(phases):
            if t <= end_step or i == len(phases) - 1:
                return anneal(a, b, (t - begin) / (end_step - begin))
            begin = end_step

    return schedule


def join_schedules(schedules, boundaries):
    """One schedule after another: ε(t) = ``schedules[i](t − boundaries[i−1])`` for boundaries[i−1] ≤ t <
    boundaries[i] (each schedule restarts from its own step 0). ``boundaries``: increasing, one fewer
    than ``schedules``."""
    schedules, boundaries = list(schedules), list(boundaries)
    if len(boundaries) != len(schedules) - 1:
        raise ValueError(f"join_schedules: {len(schedules)} schedules need {len(schedules) - 1} boundaries, "
                         f"got {len(boundaries)}")
    for b in boundaries:
        check_number("boundary", b, low=0)
    if any(b2 < b1 for b1, b2 in zip(boundaries, boundaries[1:])):
        raise ValueError(f"join_schedules: boundaries must increase, got {boundaries}")
    for i, s in enumerate(schedules):
        if not callable(s):
            raise TypeError(f"join_schedules: schedule {i} is a {type(s).__name__}, expected a function of the step")
    offsets = [0] + boundaries

    def schedule(t):
        i = bisect_right(boundaries, t)
        return schedules[i](t - offsets[i])

    return schedule


def warmup(steps, schedule, start=0.0):
    """A linear warm-up before ``schedule``: from ``start`` to schedule(0) in ``steps`` steps, then
    schedule(t − steps) (:func:`join_schedules` of :func:`linear` and ``schedule``)."""
    if not callable(schedule):
        raise TypeError(f"warmup: schedule is a {type(schedule).__name__}, expected a function of the step")
    return join_schedules([linear(start, schedule(0), steps), schedule], [steps])
