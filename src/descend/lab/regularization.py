"""Lab ``regularization``: L1 makes exact zeros with a proximal step, L2 only shrinks; both lower the test error.

Claim. Adding λ Ω(w) to the training loss trades fit for simplicity. With Ω = ‖w‖₂² (L2, weight
decay) the gradient 2λw shrinks every weight in proportion to its size, so weights get small
but none becomes exactly zero. With Ω = ‖w‖₁ (L1) the penalty pulls every weight towards 0 with
the same force λ, and the proximal step w ← sign(w) max(|w| − ελ, 0) (soft thresholding) sets
weights whose gradient cannot overcome λ exactly to zero: a sparse solution that selects features.
Plain (sub)gradient descent on λ‖w‖₁ only makes them oscillate around zero. Chosen by validation,
either penalty reduces the test error of a model that overfits.

Experiment: sparse linear regression, y = x·w* + ε with d = 100 features x ~ N(0, I), only 10 of
the w*ⱼ non-zero (|w*ⱼ| ∈ [1, 2]), noise σ = 2; 200 training, 200 validation and 2000 test examples.
With so few examples per feature, least squares fits the noise. The models are the outputs of one
``nn.Linear(100, R)`` in float64, one output per value of λ (the penalized losses
Σᵣ [mean (y − x·wᵣ − bᵣ)² + λᵣ Ω(wᵣ)] are independent, so one backward pass trains all R). Three
methods, each by full-batch gradient descent with step ε = 1/L (L the Lipschitz constant of the
gradient) for the same number of steps, from w = 0, over the same grid λ ∈ {0} ∪ [10⁻³, 3]:
- L2: the loss plus λ ``nn.regularizers.l2_penalty``;
- L1, proximal (ISTA): a gradient step on the squared error, then soft thresholding of the weights;
- L1, subgradient: the loss plus λ ``nn.regularizers.l1_penalty``, plain gradient steps.
Measured for each λ: the weights that are exactly 0.0, ‖w‖, the validation and test errors. λ is
chosen per method by the validation error. Checks of convergence: the L2 weights against the
closed-form ridge solution, the L1 weights against the lasso's optimality conditions.

Criterion: at its validation-chosen λ the proximal L1 solution has at least half of the 90
irrelevant weights exactly zero, while L2 has no exact zero at any λ > 0 and its ‖w‖ falls as λ
grows, and the subgradient L1 has fewer than a tenth as many exact zeros as the proximal one; L1
and L2 at their validation-chosen λ both have a lower test error than λ = 0.
"""

import numpy as np

import descend as dc
from descend import nn, optim
from descend.nn.regularizers import l1_penalty, l2_penalty

from .base import lab

D_FEATURES, RELEVANT, NOISE = 100, 10, 2.0


def _problem(rng):
    w = np.zeros(D_FEATURES)
    w[:RELEVANT] = rng.choice([-1.0, 1.0], RELEVANT) * rng.uniform(1.0, 2.0, RELEVANT)

    def draw(n):
        x = rng.normal(size=(n, D_FEATURES))
        return x, x @ w + NOISE * rng.normal(size=n)

    return w, draw(200), draw(200), draw(2000)


def _fit(method, lams, x, y, lipschitz, steps):
    """R models (one per λ) trained together; returns the (R, d) weights and (R,) biases."""
    dc.manual_seed(0)
    layer = nn.Linear(D_FEATURES, len(lams), dtype=dc.float64)
    nn.init.zeros_(layer.weight)
    lr = 1.0 / (lipschitz + (2 * max(lams) if method == "l2" else 0.0))
    opt = optim.SGD(layer.parameters(), lr=lr)
    thresholds = dc.tensor(lr * np.asarray(lams)[:, None], dtype=dc.float64)
    for _ in range(steps):
        opt.zero_grad()
        loss = ((layer(x) - y) ** 2).mean(dim=0).sum()          # Σᵣ mean squared error of model r
        if method == "l2":
            loss = loss + sum(lam * l2_penalty(w, filter=None) for lam, w in zip(lams, layer.weight) if lam > 0)
        elif method == "l1_subgradient":
            loss = loss + sum(lam * l1_penalty(w, filter=None) for lam, w in zip(lams, layer.weight) if lam > 0)
        loss.backward()
        opt.step()
        if method == "l1_proximal":                             # w ← sign(w) max(|w| − ελ, 0)
            with dc.no_grad():
                w = layer.weight
                w.copy_(w.sign() * (w.abs() - thresholds).clamp(min=0.0))
    return layer.weight.numpy().copy(), layer.bias.numpy().copy()


def _mse(w, b, data):
    x, y = data
    return np.mean((x @ w.T + b - y[:, None]) ** 2, axis=0)


@lab("regularization", order=310,
     claim="An L1 penalty, minimized with a proximal step, sets many weights exactly to zero (a sparse model); an "
           "L2 penalty only shrinks them; chosen by validation, both reduce the test error of a model that overfits.",
     source="Notes, regularization: L2 and L1 penalties, sparsity and the proximal step")
def experiment(ctx):
    """Run the ``regularization`` experiment described in the module docstring (``ctx.quick``: the short run);
    return (confirmed, numbers): the verdict by the stated criterion and the measured values it rests on."""
    rng = np.random.default_rng(ctx.seed)
    w_star, train, val, test = _problem(rng)
    lams = [0.0] + list(np.logspace(-3, 0.5, 8 if ctx.quick else 15))
    steps = 800 if ctx.quick else 2000
    xs, ys = train
    n = len(ys)
    lipschitz = 2 * float(np.linalg.eigvalsh(xs.T @ xs / n).max())    # of ∇ mean (y − x·w)²
    x, y = dc.tensor(xs, dtype=dc.float64), dc.tensor(ys[:, None], dtype=dc.float64)

    numbers, fits = {"lambdas": lams, "irrelevant_weights": D_FEATURES - RELEVANT}, {}
    for method in ("l2", "l1_proximal", "l1_subgradient"):
        w, b = _fit(method, lams, x, y, lipschitz, steps)
        val_err, test_err = _mse(w, b, val), _mse(w, b, test)
        best = int(np.argmin(val_err))
        fits[method] = (w, b, test_err, best)
        numbers[f"{method}_exact_zeros"] = (w == 0).sum(axis=1)
        numbers[f"{method}_weight_norm"] = np.linalg.norm(w, axis=1)
        numbers[f"{method}_test_mse"] = test_err
        numbers[f"{method}_chosen_lambda"] = lams[best]
        numbers[f"{method}_chosen_test_mse"] = float(test_err[best])
        numbers[f"{method}_chosen_irrelevant_exact_zeros"] = int((w[best, RELEVANT:] == 0).sum())
        numbers[f"{method}_chosen_relevant_kept"] = int((w[best, :RELEVANT] != 0).sum())
    numbers["unregularized_test_mse"] = float(fits["l2"][2][0])
    numbers["noise_variance"] = NOISE ** 2

    # convergence: ridge's closed form, and the lasso's optimality conditions at the chosen λ
    w2, _, _, best2 = fits["l2"]
    xc, yc = xs - xs.mean(0), ys - ys.mean()
    lam2 = lams[best2]
    ridge = np.linalg.solve(xc.T @ xc / n + lam2 * np.eye(D_FEATURES), xc.T @ yc / n)
    numbers["l2_distance_to_closed_form"] = float(np.max(np.abs(w2[best2] - ridge)))
    w1, b1, _, best1 = fits["l1_proximal"]
    lam1 = lams[best1]
    grad = -2 * xs.T @ (ys - xs @ w1[best1] - b1[best1]) / n
    active = w1[best1] != 0
    violation = np.concatenate([np.abs(grad[active] + lam1 * np.sign(w1[best1][active])),
                                np.maximum(np.abs(grad[~active]) - lam1, 0.0)])
    numbers["l1_proximal_optimality_violation"] = float(violation.max())

    labels = {"l2": "L2 (gradient)", "l1_proximal": "L1 (proximal step)", "l1_subgradient": "L1 (subgradient)"}
    with ctx.figure("regularization.png", 1, 3, size=(15, 4.2)) as (fig, axes):
        positive = np.asarray(lams[1:])
        ax = axes[0]
        for method, label in labels.items():
            ax.semilogx(positive, numbers[f"{method}_test_mse"][1:], "o-", ms=3, label=label)
        ax.axhline(numbers["unregularized_test_mse"], color="k", ls="--", label="λ = 0")
        ax.axhline(NOISE ** 2, color="k", ls=":", label="noise variance σ²")
        ax.set(title="Test error against λ", xlabel="λ", ylabel="test mean squared error",
               ylim=(0, 2.5 * numbers["unregularized_test_mse"]))
        ax.legend(fontsize=8)
        ax = axes[1]
        for method, label in labels.items():
            ax.semilogx(positive, numbers[f"{method}_exact_zeros"][1:], "o-", ms=3, label=label)
        ax.axhline(D_FEATURES - RELEVANT, color="k", ls=":", label="irrelevant features (90)")
        ax.set(title="Weights exactly 0.0", xlabel="λ", ylabel="number of exact zeros")
        ax.legend(fontsize=8)
        ax = axes[2]
        j = np.arange(D_FEATURES)
        ax.plot(j, w_star, "k_", ms=8, mew=2, label="true w*")
        for method, marker in (("l2", "o"), ("l1_proximal", "x")):
            w, _, _, best = fits[method]
            ax.plot(j, w[best], marker, ms=4, label=f"{labels[method]}, λ = {lams[best]:.3g}")
        ax.set(title="Weights at the validation-chosen λ", xlabel="feature j", ylabel="wⱼ")
        ax.legend(fontsize=8)

    l2_norm = numbers["l2_weight_norm"]
    confirmed = (numbers["l1_proximal_chosen_irrelevant_exact_zeros"] >= (D_FEATURES - RELEVANT) // 2
                 and int(numbers["l2_exact_zeros"][1:].max()) == 0
                 and all(np.diff(l2_norm) < 0)
                 and numbers["l1_subgradient_exact_zeros"].max() < numbers["l1_proximal_exact_zeros"].max() / 10
                 and numbers["l1_proximal_chosen_test_mse"] < numbers["unregularized_test_mse"]
                 and numbers["l2_chosen_test_mse"] < numbers["unregularized_test_mse"])
    return confirmed, numbers
