"""Lab ``saddle-points``: gradient descent started near a saddle point stalls there; noise escapes.

The claim (notes, optimization: local minima, saddle points and plateaus): in high dimension most
critical points with a high loss are saddles, points where the Hessian has eigenvalues of both
signs. Gradient descent is repelled by a saddle only along its negative-curvature directions, at a
rate set by that curvature: started close to the stable manifold it slows to a crawl near the
saddle (a plateau in the training loss whose length grows like ln(1/δ) with the distance δ from
that manifold), and started exactly on it, it converges to the saddle. Gradient noise, as in SGD,
pushes it off and it escapes.

Experiment. The smallest network with a saddle: one linear unit feeding one linear output,
ŷ = w₂w₁x, fitted to y = x for x = 1: f(w) = ½(1 − w₁w₂)². Its critical points: the saddle at 0
(Hessian [[0, −1], [−1, 0]], eigenvalues −1 and +1, f = ½) and the minima w₁w₂ = 1 (eigenvalues 0,
along the hyperbola, and w₁² + w₂²). Near the saddle the unstable coordinate u = (w₁ + w₂)/√2 grows
by (1 + ε) per step of gradient descent with rate ε, the stable one v = (w₁ − w₂)/√2 shrinks by
(1 − ε).

1. ``optim.SGD`` (ε = 0.1) from (0.5, −0.5), exactly on the stable manifold w₁ = −w₂;
2. from (0.5, −0.5) + δ(1, 1)/√2 for δ = 10⁻², 10⁻⁴, 10⁻⁶, 10⁻⁸: the steps until f < 0.25, against
   ln(1/δ)/ln(1 + ε);
3. from (0.5, −0.5) with gradient noise: the loss f(w) + ξ_tᵀw, ξ_t ~ N(0, σ²I), σ = 10⁻³, for 32
   independent runs at once (one row each of a (32, 2) weight);
4. ``descend.analysis.critical_point`` (the second-order test: ‖∇f‖ and the signs of the Hessian's
   eigenvalues) and ``descend.analysis.hessian_eigenvalues`` at the saddle and at the minima the noisy
   runs reach (after 200 more steps without noise, to settle on them).

Criterion: the noiseless run from the stable manifold ends within 10⁻⁸ of the saddle; the plateau
lengths grow with ln(1/δ) at a slope within 10% of 1/ln(1 + ε); every noisy run reaches f < 10⁻⁶
within the budget; the Hessian has eigenvalues −1 and 1 at the saddle (to 10⁻¹²) and, at every
minimum reached, one eigenvalue 0 (to 10⁻⁶) and one equal to w₁² + w₂² > 0; the second-order test
calls the origin a "saddle" and every minimum reached "degenerate" (a flat valley: the test cannot
decide there, since one eigenvalue is 0).
"""

import numpy as np

import descend as dc
from descend import analysis as A
from descend import optim

from .base import lab

LR = 0.1
START = np.array([0.5, -0.5])
UNSTABLE = np.array([1.0, 1.0]) / np.sqrt(2)


def two_layer_linear(w):
    """f(w) = ½ (1 − w₁w₂)² summed over the rows of w (..., 2): a one-unit linear network fitted to y = x."""
    return (0.5 * (1.0 - w[..., 0] * w[..., 1]) ** 2).sum()


def _descend(starts, steps, sigma=0.0, seed=0):
    """Gradient descent (optim.SGD) from each row of ``starts`` (R, 2); with σ > 0 each step's loss is
    f(w) + ξᵀw, ξ ~ N(0, σ²). Returns the paths (steps + 1, R, 2) and the noiseless f per row (steps + 1, R)."""
    rng = np.random.default_rng(seed)
    w = dc.tensor(starts, dtype=dc.float64, requires_grad=True)
    opt = optim.SGD([w], lr=LR)
    paths = [starts.copy()]
    for _ in range(steps):
        opt.zero_grad()
        loss = two_layer_linear(w)
        if sigma:
            loss = loss + (dc.tensor(sigma * rng.normal(size=starts.shape), dtype=dc.float64) * w).sum()
        loss.backward()
        opt.step()
        paths.append(w.numpy().copy())
    paths = np.array(paths)
    return paths, 0.5 * (1 - paths[..., 0] * paths[..., 1]) ** 2


def _loss_at(w):
    """(loss_fn, params) of f at the point w (2,), as ``descend.analysis`` takes them."""
    p = dc.tensor(np.asarray(w, dtype=np.float64), dtype=dc.float64, requires_grad=True)
    return (lambda: two_layer_linear(p)), [p]


def hessian_eigenvalues(w):
    """Both eigenvalues of ∇²f at w (2,), in increasing order (``descend.analysis.hessian_eigenvalues``)."""
    return A.hessian_eigenvalues(*_loss_at(w), k=2, which="smallest")


def critical_point(w):
    """The second-order test at w (2,): ``descend.analysis.critical_point``'s dict (kind, ‖∇f‖, λ_min, λ_max)."""
    return A.critical_point(*_loss_at(w))


@lab("saddle-points", order=290,
     claim="Gradient descent started near a saddle point stalls on a plateau whose length grows like the log of "
           "the inverse distance from the saddle's stable manifold, and converges to the saddle from on it; "
           "gradient noise makes it escape. At a saddle the Hessian has eigenvalues of both signs.",
     source="Notes, optimization: local minima, saddle points and plateaus")
def experiment(ctx):
    """Run the ``saddle-points`` experiment described in the module docstring (``ctx.quick``: the short run);
    return (confirmed, numbers): the verdict by the stated criterion and the measured values it rests on."""
    steps = 400 if ctx.quick else 1000
    numbers = {}
    on_manifold, f_on = _descend(START[None], steps)
    numbers["on_manifold_final_distance_to_saddle"] = float(np.linalg.norm(on_manifold[-1, 0]))
    numbers["on_manifold_final_f"] = float(f_on[-1, 0])

    deltas = np.array([1e-2, 1e-4, 1e-6, 1e-8])
    near, f_near = _descend(START + deltas[:, None] * UNSTABLE, steps)
    plateau = np.array([int(np.argmax(f_near[:, i] < 0.25)) if (f_near[:, i] < 0.25).any() else -1
                        for i in range(len(deltas))])
    slope = float(np.polyfit(np.log(1 / deltas), plateau, 1)[0])
    numbers["plateau_steps"] = plateau
    numbers["plateau_slope_per_e_fold"] = slope
    numbers["plateau_slope_predicted"] = 1 / np.log(1 + LR)

    runs = 32
    noisy, f_noisy = _descend(np.tile(START, (runs, 1)), steps, sigma=1e-3, seed=ctx.seed)
    escaped = f_noisy[-1] < 1e-6
    escape_steps = np.array([int(np.argmax(f_noisy[:, i] < 0.25)) for i in range(runs)])
    numbers["noisy_runs_escaped"] = int(escaped.sum())
    numbers["noisy_runs"] = runs
    numbers["noisy_median_steps_to_f_below_0.25"] = float(np.median(escape_steps[escaped])) if escaped.any() else None

    saddle_eigs = hessian_eigenvalues(np.zeros(2))
    settled, _ = _descend(noisy[-1][escaped], 200)     # the noise off: settle on the minimum nearby
    minima = settled[-1]
    minimum_eigs = np.array([hessian_eigenvalues(m) for m in minima])
    numbers["saddle_hessian_eigenvalues"] = saddle_eigs
    saddle = critical_point(np.zeros(2))
    kinds = [critical_point(m)["kind"] for m in minima]
    numbers["saddle_kind"] = saddle["kind"]
    numbers["saddle_negative_eigenvalues"] = saddle["negative_count"]
    numbers["minima_kinds"] = {k: kinds.count(k) for k in sorted(set(kinds))}
    numbers["minima_smallest_abs_eigenvalue_max"] = float(np.abs(minimum_eigs[:, 0]).max()) if len(minima) else None
    numbers["minima_largest_eigenvalue_rel_error_vs_norm2"] = float(
        np.abs(minimum_eigs[:, 1] / (minima ** 2).sum(1) - 1).max()) if len(minima) else None
    numbers["minima_max_abs_w1w2_minus_1"] = (float(np.abs(minima[:, 0] * minima[:, 1] - 1).max())
                                              if len(minima) else None)

    with ctx.figure("saddle_points.png", 1, 2) as (_, (ax1, ax2)):
        g = np.linspace(-1.8, 1.8, 181)
        X, Y = np.meshgrid(g, g)
        ax1.contour(X, Y, 0.5 * (1 - X * Y) ** 2, levels=[0.02, 0.1, 0.25, 0.4, 0.5, 0.6, 1, 2, 4],
                    colors="0.75", linewidths=0.7)
        for i in range(min(runs, 8)):
            ax1.plot(noisy[:, i, 0], noisy[:, i, 1], "C1-", lw=0.8, alpha=0.7,
                     label="GD + noise σ = 10⁻³" if i == 0 else None)
        ax1.plot(near[:, -1, 0], near[:, -1, 1], "C0--", lw=1.5, label="GD, δ = 10⁻⁸")
        ax1.plot(on_manifold[:, 0, 0], on_manifold[:, 0, 1], "k:", lw=2.5, label="GD on the stable manifold")
        ax1.plot(0, 0, "rX", ms=9, label="saddle (eigenvalues −1, 1)")
        ax1.set(title="f(w) = ½(1 − w₁w₂)²", xlabel="w₁", ylabel="w₂", aspect="equal")
        ax1.legend(fontsize=7, loc="lower left")
        s = np.arange(steps + 1)
        for i, d in enumerate(deltas):
            ax2.semilogy(s, np.maximum(f_near[:, i], 1e-17), color=f"C{i}", label=f"δ = {d:g}")
        ax2.semilogy(s, np.maximum(f_on[:, 0], 1e-17), "k-", lw=2, label="δ = 0 (on the manifold)")
        ax2.semilogy(s, np.maximum(np.median(f_noisy, 1), 1e-17), "C5--", label="noise σ = 10⁻³ (median of 32)")
        ax2.set(title=f"gradient descent, ε = {LR}: plateaus at f = ½", xlabel="step",
                ylabel="f(w)")
        ax2.legend(fontsize=7)

    confirmed = (numbers["on_manifold_final_distance_to_saddle"] < 1e-8
                 and (plateau > 0).all() and abs(slope * np.log(1 + LR) - 1) < 0.1
                 and escaped.all()
                 and np.allclose(saddle_eigs, [-1.0, 1.0], atol=1e-12)
                 and saddle["kind"] == "saddle" and kinds == ["degenerate"] * len(minima)
                 and numbers["minima_smallest_abs_eigenvalue_max"] < 1e-6
                 and numbers["minima_largest_eigenvalue_rel_error_vs_norm2"] < 1e-6)
    return confirmed, numbers
