"""Lab ``adagrad-decay``: Adagrad's steps shrink like 1/√t; RMSProp forgets, and ρ sets how fast.

The claim (notes, adaptive learning rates): Adagrad divides each step by the root of the sum of
all past squared gradients, r ← r + g ⊙ g, θ ← θ − ε g / (δ + √r); with gradients of a steady
scale, r grows like t and the step shrinks like ε/√t, and a change of the gradients' scale late
in training is never forgotten. RMSProp keeps an exponentially decaying average instead,
r ← ρ r + (1 − ρ) g ⊙ g, so it adapts to the new scale within about 1/(1 − ρ) steps.

Experiment. d = 1000 parameters receive the gradient of the linear loss f_t(θ) = g_tᵀθ with
g_t ~ N(0, G²) per coordinate, G = 1 for T₁ steps, then G = 0.1 for T₂ more (the same stream
for every optimizer). The step size is measured as the root mean square of Δθ over the
coordinates, in units of ε (= lr, 0.01): ``optim.Adagrad`` and ``optim.RMSprop`` (``alpha`` = ρ
∈ {0.9, 0.99}, and 0.999 in the full run).

Predictions. Adagrad: RMS step ≈ ε/√t, a slope of −1/2 on log-log axes. RMSProp after the
drop: E r_{T₁+k} = ρᵏ r̄ + (1 − ρᵏ) G₂², so its step returns to 90% of its level before the
change when ρᵏ (G₁² − G₂²) = G₂² (1/0.81 − 1), i.e. after k = ln(0.2346 G₂²/(G₁² − G₂²)) / ln ρ
≈ 6.0/(1 − ρ) steps. Adagrad's sum keeps the old scale: its step falls tenfold and stays there.

Criterion: the fitted slope of Adagrad's step against t (t ≥ 10, first phase) lies in
[−0.55, −0.45]; at the end Adagrad's step is below 0.2 of its level before the change, every
RMSProp's within [0.8, 1.25] of its own level; and each measured recovery time lies within 20%
of the prediction.
"""

import numpy as np

import descend as dc
from descend import optim

from .base import lab

LR = 0.01
DROP = 0.1


def _rms_steps(make, grads):
    """RMS over the coordinates of each step Δθ_t / ε of the optimizer ``make([θ])`` fed ``grads`` (T, d)."""
    theta = dc.zeros(grads.shape[1], dtype=dc.float64, requires_grad=True)
    opt = make([theta])
    steps = np.empty(len(grads))
    for t, g in enumerate(grads):
        before = theta.numpy().copy()
        opt.zero_grad()
        loss = (dc.tensor(g, dtype=dc.float64) * theta).sum()   # f_t(θ) = g_tᵀθ, so ∇f_t = g_t
        loss.backward()
        opt.step()
        steps[t] = np.sqrt(np.mean((theta.numpy() - before) ** 2)) / LR
    return steps


def predicted_recovery(rho, drop=DROP, level=0.9):
    """Steps after the scale falls from 1 to ``drop`` until RMSProp's step is back at ``level`` of its old size."""
    return float(np.log((1 / level ** 2 - 1) * drop ** 2 / (1 - drop ** 2)) / np.log(rho))


@lab("adagrad-decay", order=220,
     claim="Adagrad's accumulated squared gradients make its steps shrink like 1/√t and never forget an old "
           "gradient scale; RMSProp's moving average adapts to a new scale within about 1/(1 − ρ) steps.",
     source="Notes, optimization: adaptive learning rates (AdaGrad, RMSProp)")
def experiment(ctx):
    """Run the ``adagrad-decay`` experiment described in the module docstring (``ctx.quick``: the short run);
    return (confirmed, numbers): the verdict by the stated criterion and the measured values it rests on."""
    rhos = (0.9, 0.99) if ctx.quick else (0.9, 0.99, 0.999)
    T1 = T2 = 1000 if ctx.quick else 10000
    rng = np.random.default_rng(ctx.seed)
    grads = rng.normal(size=(T1 + T2, 1000))
    grads[T1:] *= DROP

    steps = {"Adagrad": _rms_steps(lambda p: optim.Adagrad(p, lr=LR), grads)}
    for rho in rhos:
        steps[f"RMSProp ρ={rho}"] = _rms_steps(lambda p, rho=rho: optim.RMSprop(p, lr=LR, alpha=rho), grads)

    t = np.arange(1, T1 + 1)
    slope = float(np.polyfit(np.log(t[9:]), np.log(steps["Adagrad"][9:T1]), 1)[0])
    numbers = {"adagrad_step_slope_vs_t": slope}
    before = {k: float(s[T1 - 100:T1].mean()) for k, s in steps.items()}
    after = {k: float(s[-100:].mean()) for k, s in steps.items()}
    numbers["adagrad_step_after_over_before"] = after["Adagrad"] / before["Adagrad"]
    recovery_ok = True
    for rho in rhos:
        k = f"RMSProp ρ={rho}"
        back = steps[k][T1:] >= 0.9 * before[k]
        measured = int(np.argmax(back)) if back.any() else None
        predicted = predicted_recovery(rho)
        numbers[f"rmsprop_{rho}_step_after_over_before"] = after[k] / before[k]
        numbers[f"rmsprop_{rho}_recovery_steps"] = measured
        numbers[f"rmsprop_{rho}_recovery_steps_predicted"] = predicted
        recovery_ok &= measured is not None and abs(measured - predicted) <= 0.2 * predicted

    with ctx.figure("adagrad_decay.png", 1, 2) as (_, (ax1, ax2)):
        ax1.loglog(t, steps["Adagrad"][:T1], label="Adagrad")
        ax1.loglog(t, 1 / np.sqrt(t), "k:", label="1/√t")
        for rho in rhos:
            ax1.loglog(t, steps[f"RMSProp ρ={rho}"][:T1], label=f"RMSProp ρ = {rho}")
        ax1.set(title=f"gradient scale 1: Adagrad's slope {slope:.3f}", xlabel="step t", ylabel="RMS step / ε")
        ax1.legend(fontsize=7)
        tt = np.arange(1, T1 + T2 + 1)
        for k, s in steps.items():
            ax2.semilogy(tt, s, lw=1, label=k)
        ax2.axvline(T1, color="k", ls=":", lw=1)
        ax2.set(title=f"the gradient scale drops ×{DROP} at t = {T1}", xlabel="step t", ylabel="RMS step / ε")
        ax2.legend(fontsize=7)

    confirmed = (-0.55 <= slope <= -0.45 and numbers["adagrad_step_after_over_before"] < 0.2
                 and all(0.8 <= numbers[f"rmsprop_{rho}_step_after_over_before"] <= 1.25 for rho in rhos)
                 and recovery_ok)
    return confirmed, numbers
