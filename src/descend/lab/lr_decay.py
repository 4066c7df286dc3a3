"""Lab ``lr-decay``: with a fixed rate SGD hovers at a noise floor; with ε_t = ε/(1 + δt) it converges.

The claim (notes, learning-rate schedules): the stochastic gradient does not vanish at the
minimum, so SGD with a fixed rate ε never settles: it hovers around the minimum at a distance
that grows with ε. Convergence needs a decreasing rate with Σ ε_t = ∞ (to get anywhere) and
Σ ε_t² < ∞ (to average the noise away) — the Robbins–Monro conditions — which the progressive
decay ε_t = ε₀/(1 + δt) meets.

Experiment. Streaming linear regression: fresh samples x ~ N(0, I₁₀), y = w*ᵀx + σξ (σ = 0.5)
at every step; the excess risk is E(w) = ½‖w − w*‖² exactly. Each schedule runs 128 independent
replicas (one row each of a (128, 10) weight, one sample each per step, shared across schedules):
``optim.SGD`` with ε = 0.05 fixed, ε/4 fixed, ``lr_scheduler.InverseTimeDecay(δ = 0.01)`` from
ε₀ = 0.05, and — to show the first condition — ε₀/(1 + δt)² (``LambdaLR``), whose Σ ε_t is finite.

Prediction for a fixed rate (isotropic Gaussian inputs): the stationary covariance of
e = w − w* is s I with s = εσ²/(2 − ε(d + 2)), so the floor is E = d s/2 (0.0446 for ε = 0.05,
0.0084 for ε/4). With ε_t ≈ c/t, c = ε₀/δ = 5, E(w_t) ≈ d c²σ²/(2(2c − 1) t): slope −1 in t.

Criterion: each fixed rate's mean excess risk over the last fifth of the run is within 25% of its
predicted floor and within 25% of its own mean over the middle fifth (it hovers, neither rising nor
falling); the 1/(1 + δt) run ends five times below the smaller floor, and its mean over the last
fifth is within 25% of ln(5/4)/ln(3/2) = 0.55 times its mean over the middle fifth (the ratio for an
excess risk ∝ 1/t).
"""

import numpy as np

import descend as dc
from descend import optim

from .base import lab

D, SIGMA, LR, DELTA, REPLICAS = 10, 0.5, 0.05, 0.01, 128


def floor(lr, d=D, sigma=SIGMA):
    """The stationary excess risk d s / 2, s = εσ²/(2 − ε(d + 2)), of fixed-rate SGD on isotropic least squares."""
    return d / 2 * lr * sigma ** 2 / (2 - lr * (d + 2))


@lab("lr-decay", order=250,
     claim="With a fixed learning rate SGD keeps hovering around the minimum, because its gradient estimate stays "
           "noisy there; a rate decaying like ε₀/(1 + δt), which satisfies Σε_t = ∞ and Σε_t² < ∞, converges.",
     source="Notes, optimization: stochastic gradient descent and learning-rate decay (Robbins–Monro)")
def experiment(ctx):
    """Run the ``lr-decay`` experiment described in the module docstring (``ctx.quick``: the short run);
    return (confirmed, numbers): the verdict by the stated criterion and the measured values it rests on."""
    T = 5000 if ctx.quick else 40000
    rng = np.random.default_rng(ctx.seed)
    w_star = rng.normal(size=D)
    schedules = {
        f"fixed ε = {LR}": lambda opt: None,
        f"fixed ε = {LR / 4}": lambda opt: None,
        f"ε₀/(1 + δt), δ = {DELTA}": lambda opt: optim.lr_scheduler.InverseTimeDecay(opt, decay_rate=DELTA),
        "ε₀/(1 + δt)² (Σε finite)": lambda opt: optim.lr_scheduler.LambdaLR(opt, lambda t: 1 / (1 + DELTA * t) ** 2),
    }
    rates = [LR, LR / 4, LR, LR]
    weights = [dc.zeros(REPLICAS, D, dtype=dc.float64, requires_grad=True) for _ in schedules]
    opts = [optim.SGD([w], lr=lr) for w, lr in zip(weights, rates)]
    scheds = [make(opt) for make, opt in zip(schedules.values(), opts)]
    excess = np.empty((T, len(weights), REPLICAS))
    for t in range(T):
        x = rng.normal(size=(REPLICAS, D))
        y = x @ w_star + SIGMA * rng.normal(size=REPLICAS)
        xt, yt = dc.tensor(x, dtype=dc.float64), dc.tensor(y, dtype=dc.float64)
        for opt in opts:
            opt.zero_grad()
        prediction = (dc.stack(weights) * xt).sum(2)      # (schedules, replicas): each row of w sees its own x
        loss = 0.5 * ((prediction - yt) ** 2).sum()       # a sum of independent losses, one per schedule and replica
        loss.backward()
        for opt, sched in zip(opts, scheds):
            opt.step()
            if sched is not None:
                sched.step()
        for i, w in enumerate(weights):
            excess[t, i] = 0.5 * ((w.numpy() - w_star) ** 2).sum(1)

    mean = excess.mean(2)                             # over the replicas
    fifth = T // 5
    middle, last = mean[2 * fifth:3 * fifth].mean(0), mean[-fifth:].mean(0)
    names = list(schedules)
    numbers = {}
    for i, lr in ((0, LR), (1, LR / 4)):
        numbers[f"fixed_{lr:g}_floor_measured"] = float(last[i])
        numbers[f"fixed_{lr:g}_floor_predicted"] = floor(lr)
        numbers[f"fixed_{lr:g}_last_over_middle"] = float(last[i] / middle[i])
    c = LR / DELTA                                    # ε_t ≈ c/t for large t
    numbers["inverse_time_final_excess"] = float(last[2])
    numbers["inverse_time_predicted_final_excess"] = float(np.mean(
        D * c ** 2 * SIGMA ** 2 / (2 * (2 * c - 1) * np.arange(T - fifth + 1, T + 1))))
    numbers["inverse_time_last_over_middle"] = float(last[2] / middle[2])
    numbers["inverse_time_last_over_middle_predicted"] = float(np.log(5 / 4) / np.log(3 / 2))   # of c/t
    numbers["inverse_square_final_excess"] = float(last[3])
    numbers["inverse_square_last_over_middle"] = float(last[3] / middle[3])

    with ctx.figure("lr_decay.png") as (_, ax):
        steps = np.arange(1, T + 1)
        for i, name in enumerate(names):
            ax.loglog(steps, mean[:, i], lw=1, label=name)
        for i, lr in ((0, LR), (1, LR / 4)):
            ax.axhline(floor(lr), color=f"C{i}", ls=":", lw=1)
        c = LR / DELTA
        late = steps[steps >= 100]
        ax.loglog(late, D * c ** 2 * SIGMA ** 2 / (2 * (2 * c - 1) * late), "C2:", lw=1)
        ax.set(title=f"SGD on streaming least squares (mean of {REPLICAS} runs)\ndotted: predicted floors and c/t",
               xlabel="step t", ylabel="excess risk ½‖w − w*‖²")
        ax.legend(fontsize=7)

    confirmed = (all(abs(numbers[f"fixed_{lr:g}_floor_measured"] / floor(lr) - 1) < 0.25
                     and abs(numbers[f"fixed_{lr:g}_last_over_middle"] - 1) < 0.25 for lr in (LR, LR / 4))
                 and last[2] < numbers[f"fixed_{LR / 4:g}_floor_measured"] / 5
                 and abs(numbers["inverse_time_last_over_middle"]
                         / numbers["inverse_time_last_over_middle_predicted"] - 1) < 0.25)
    return confirmed, numbers
