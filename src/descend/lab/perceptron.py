"""Lab ``perceptron``: the perceptron rule converges on separable data (AND, OR), never on XOR.

Claim. The perceptron o = 1[θ·x̃ > 0], x̃ = (x, 1), trained by the notes' rule
θ ← θ − α (o − t) x̃ (only a misclassified example moves θ), stops making mistakes after a finite
number of updates whenever the data are linearly separable. Novikoff's bound: if a unit vector
θ* separates the data with margin γ = minᵢ yᵢ θ*·x̃ᵢ > 0 (yᵢ = 2tᵢ − 1) and R = maxᵢ ‖x̃ᵢ‖, the
number of updates is at most (R/γ)², whatever the order of the examples. On data that are not
separable, such as XOR, some example is misclassified in every epoch, for ever.

Experiment.
1. The gates AND, OR, NAND, NOR and XOR, examples in the fixed cyclic order, θ = 0, α = 1: the
   updates until an epoch without mistakes, against the bound (R/γ)² computed with the notes'
   hand-built unit for that gate (``nn.logic``) as θ* (any separator gives a valid bound). For
   XOR, θ at the start of each epoch is recorded: the rule is deterministic, so once a θ repeats
   after an epoch with mistakes, the perceptron cycles for ever (a proof, not a time-out).
2. The same gates in random order (``train.perceptron(mode="stochastic")``), several seeds.
3. Random separable data sets (100 points in [−1, 1]², a planted separator, points closer than γ
   to it removed, γ from 0.02 to 0.3): updates against the bound (R/γ)².

Criterion: every separable gate and every random separable set converges, with no more updates
than the bound; XOR cycles with mistakes in every epoch and never converges in random order.
"""

import numpy as np

from descend import data as D
from descend import nn
from descend import train as T
from descend.optim.functional import perceptron_update

from .base import lab

SEPARABLE = {"and": nn.logic.AND, "or": nn.logic.OR, "nand": nn.logic.NAND, "nor": nn.logic.NOR}


def _augmented(x):
    """x̃ = (x, 1): the bias as the last weight."""
    return np.hstack([np.asarray(x, dtype=np.float64), np.ones((len(x), 1))])


def _cyclic(xt, t, max_epochs):
    """The rule in the fixed order 0, 1, ..., N−1 from θ = 0, α = 1, for at most ``max_epochs`` epochs.

    Returns (updates per epoch, θ after every example, the first (earlier epoch, later epoch) that
    started from the same θ, or None). An epoch without updates ends training (converged).
    """
    theta = np.zeros(xt.shape[1])
    updates, path, seen, repeat = [], [], {}, None
    for epoch in range(max_epochs):
        key = theta.tobytes()
        if repeat is None and key in seen:
            repeat = (seen[key], epoch)
        seen.setdefault(key, epoch)
        count = 0
        for i in range(len(xt)):
            count += perceptron_update(theta, xt[i], t[i])
            path.append(theta.copy())
        updates.append(count)
        if count == 0:
            break
    return updates, path, repeat


def _margin(theta, xt, t):
    """γ = minᵢ yᵢ θ·x̃ᵢ / ‖θ‖ with yᵢ = 2tᵢ − 1 (positive iff θ separates the data)."""
    y = 2 * t - 1
    return float(np.min(y * (xt @ theta)) / np.linalg.norm(theta))


def _planted(rng, gamma, n=100):
    """n points in [−1, 1]² at distance ≥ γ (in the augmented space) from a random separator."""
    theta = rng.normal(size=3)
    theta[2] *= 0.3
    theta /= np.linalg.norm(theta)
    x = np.empty((0, 2))
    while len(x) < n:
        cand = rng.uniform(-1, 1, size=(4 * n, 2))
        keep = np.abs(_augmented(cand) @ theta) >= gamma
        x = np.vstack([x, cand[keep]])
    x = x[:n]
    t = (_augmented(x) @ theta > 0).astype(np.float64)
    return _augmented(x), t, theta


@lab("perceptron", order=20,
     claim="The perceptron learning rule converges in a finite number of updates on linearly separable data "
           "(AND, OR); on XOR, which is not separable, it never converges.",
     source="Notes, perceptrons: the perceptron learning rule and its convergence")
def experiment(ctx):
    """Run the ``perceptron`` experiment described in the module docstring (``ctx.quick``: the short run);
    return (confirmed, numbers): the verdict by the stated criterion and the measured values it rests on."""
    epochs = 200 if ctx.quick else 1000
    numbers, curves = {}, {}
    all_within_bound, all_converged = True, True
    for name in [*SEPARABLE, "xor"]:
        x, t = D.as_arrays(D.logic_gate(name))
        xt, t = _augmented(x), t.ravel().astype(np.float64)
        updates, path, repeat = _cyclic(xt, t, epochs)
        curves[name] = updates
        if name in SEPARABLE:
            unit = SEPARABLE[name]()
            theta_star = np.append(unit.weight.numpy().ravel(), unit.bias.numpy()).astype(np.float64)
            gamma = _margin(theta_star, xt, t)
            bound = (np.max(np.linalg.norm(xt, axis=1)) / gamma) ** 2
            total = int(sum(updates))
            numbers[f"{name}_updates"] = total
            numbers[f"{name}_novikoff_bound"] = float(bound)
            all_converged &= updates[-1] == 0
            all_within_bound &= total <= bound
        else:
            numbers["xor_cycle_found"] = repeat is not None
            numbers["xor_cycle_starts_at_epoch"] = repeat[0] + 1 if repeat else None
            numbers["xor_cycle_period_epochs"] = repeat[1] - repeat[0] if repeat else None
            numbers["xor_epochs_run"] = len(updates)
            numbers["xor_fewest_mistakes_in_an_epoch"] = int(min(updates))
            cycle = path[len(xt) * repeat[0]:len(xt) * repeat[1]] if repeat else []

    # Random order: the same gates, several seeds.
    seeds = range(ctx.seed * 100, ctx.seed * 100 + (5 if ctx.quick else 20))
    stochastic_epochs = 200 if ctx.quick else 1000
    separable_ok, xor_never = True, True
    for name in [*SEPARABLE, "xor"]:
        for s in seeds:
            result = T.perceptron(D.logic_gate(name), epochs=stochastic_epochs, mode="stochastic", seed=s)
            if name == "xor":
                xor_never &= not result.converged and min(result.errors) > 0
            else:
                separable_ok &= result.converged
    numbers["stochastic_separable_all_converged"] = bool(separable_ok)
    numbers["stochastic_xor_never_converged"] = bool(xor_never)
    numbers["stochastic_seeds"] = len(seeds)

    # Random separable sets: updates against (R/γ)².
    rng = np.random.default_rng(ctx.seed)
    gammas = [0.3, 0.2, 0.1, 0.05, 0.02] if ctx.quick else [0.3, 0.2, 0.15, 0.1, 0.07, 0.05, 0.03, 0.02, 0.01]
    reps = 3 if ctx.quick else 10
    planted = []
    for gamma in gammas:
        for _ in range(reps):
            xt, t, _ = _planted(rng, gamma)
            updates, _, _ = _cyclic(xt, t, 100_000)
            bound = (np.max(np.linalg.norm(xt, axis=1)) / gamma) ** 2
            planted.append((gamma, int(sum(updates)), float(bound), updates[-1] == 0))
    numbers["random_sets"] = len(planted)
    numbers["random_sets_all_converged"] = all(p[3] for p in planted)
    numbers["random_sets_all_within_bound"] = all(p[1] <= p[2] for p in planted)
    numbers["random_sets_largest_updates_to_bound_ratio"] = max(p[1] / p[2] for p in planted)

    with ctx.figure("perceptron.png", 1, 3, size=(15, 4.8)) as (fig, axes):
        ax = axes[0]
        for name, updates in curves.items():
            shown = updates[:30]
            ax.plot(np.arange(1, len(shown) + 1), shown, marker="o", ms=3, label=name.upper())
        ax.set(title="Mistakes (= updates) per epoch, cyclic order", xlabel="epoch", ylabel="updates in the epoch")
        ax.legend()
        ax = axes[1]
        g = np.linspace(-0.5, 1.5, 2)
        x, t = D.as_arrays(D.logic_gate("xor"))
        for k, th in enumerate(cycle):
            label = "XOR: θ in its cycle" if k == 0 else None
            if th[1] != 0:
                ax.plot(g, -(th[0] * g + th[2]) / th[1], "C3--", lw=1, label=label)
            elif th[0] != 0:
                ax.axvline(-th[2] / th[0], color="C3", ls="--", lw=1, label=label)
        for name, colour in (("and", "C0"), ("or", "C1")):
            ta = D.as_arrays(D.logic_gate(name))[1].ravel().astype(float)
            th = _cyclic(_augmented(x), ta, epochs)[1][-1]
            ax.plot(g, -(th[0] * g + th[2]) / th[1], colour, lw=2, label=f"{name.upper()}: learned line")
        xor_t = t.ravel() > 0.5
        ax.scatter(x[~xor_t, 0], x[~xor_t, 1], c="k", marker="o", s=50, zorder=3, label="XOR = 0")
        ax.scatter(x[xor_t, 0], x[xor_t, 1], c="w", edgecolors="k", marker="s", s=50, zorder=3, label="XOR = 1")
        ax.set(xlim=(-0.5, 1.5), ylim=(-0.5, 1.5), title="Learned lines; XOR's lines go round a cycle",
               xlabel="x1", ylabel="x2")
        ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=3)
        ax = axes[2]
        bounds = np.array([p[2] for p in planted])
        ax.loglog(bounds, [p[1] for p in planted], "o", label="random separable sets")
        lim = np.array([bounds.min() / 2, bounds.max() * 2])
        ax.loglog(lim, lim, "k--", label="updates = (R/γ)²")
        ax.set(title="Updates to convergence against Novikoff's bound", xlabel="(R/γ)²", ylabel="updates")
        ax.legend()

    confirmed = (all_converged and all_within_bound and numbers["xor_cycle_found"]
                 and numbers["xor_fewest_mistakes_in_an_epoch"] > 0 and separable_ok and xor_never
                 and numbers["random_sets_all_converged"] and numbers["random_sets_all_within_bound"])
    return confirmed, numbers
