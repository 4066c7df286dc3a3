"""``descend analyze RUN_DIR [--batch N] [--k K]``: the curvature and landscape of a trained run.

At the run's final weights (``model.npz``), on a fixed batch of N training examples (drawn with
the run's seed), in float64 and with dropout off (eval mode), it computes and prints

- the Hessian's K largest eigenvalues (Lanczos), its trace (Hutchinson) and its eigenvalue
  density (stochastic Lanczos quadrature);
- the loss along the segment from the initial to the final weights (Goodfellow et al. 2015);
- the loss on a plane through the final weights spanned by two filter-normalized random
  directions (Li et al. 2018), and on the plane of the trajectory's two principal directions,
  with the per-epoch weights that ``descend train`` kept (``trajectory/``) drawn as the path;

and writes ``RUN_DIR/analysis/analysis.json`` (strict JSON) and PNG figures beside it:
density.png, interpolation.png, surface.png, trajectory.png and graph.png (the flow graph).
"""

import os
import sys
import time

import numpy as np

GRID = 21  # points per side of the 2-D surfaces


def add_parser(sub):
    """Add the ``analyze`` command to the ``descend`` argument parser's subcommands."""
    p = sub.add_parser("analyze",
                       help="Hessian spectrum and loss landscape of a finished run (writes RUN_DIR/analysis/)")
    p.add_argument("run_dir", help="a run directory made by descend train")
    p.add_argument("--batch", type=int, default=1000, help="training examples the loss is computed on (default 1000)")
    p.add_argument("--k", type=int, default=5, help="how many of the Hessian's largest eigenvalues (default 5)")


def main(args, out=print):
    """Run ``descend analyze``; returns the exit status (2 with one line on stderr for a user error)."""
    try:
        analyze_run(args.run_dir, batch=args.batch, k=args.k, out=out)
    except (FileNotFoundError, ValueError) as e:
        print(f"descend analyze: error: {e}", file=sys.stderr)
        return 2
    return 0


def _load(run_dir, batch):
    """(spec, model at its final weights in float64 and eval mode, x, t, n_train)."""
    from . import autodiff as ad
    from .train.run import load_run
    spec, data, model = load_run(run_dir)
    model.double()
    model.eval()
    X, T = data.train.arrays[0], data.train.arrays[1]
    idx = np.random.default_rng(spec.training.seed).permutation(len(X))[:batch]
    x = ad.tensor(X[idx], dtype=ad.float64)
    t = ad.tensor(T[idx], dtype=ad.float64) if T.dtype.kind == "f" else ad.tensor(T[idx])
    return spec, model, x, t, len(X)


def _initial_weights(spec, model, snapshots, n_in, n_out):
    """θ₀ as arrays in ``model.named_parameters()`` order, and where it came from."""
    from . import autodiff as ad
    names = [n for n, _ in model.named_parameters()]
    if snapshots and snapshots[0][0] == 0:
        return [snapshots[0][1][n] for n in names], "trajectory/epoch-0000.npz"
    ad.manual_seed(spec.training.seed)  # as build_trainer does before building the model
    fresh = spec.model.build(n_in, n_out)
    return [p.numpy() for _, p in fresh.named_parameters()], "rebuilt from training.seed (no trajectory kept)"


def analyze_run(run_dir, batch=1000, k=5, out=print, trace_samples=100, density_steps=80, density_runs=4):
    """Analyze the run in ``run_dir`` (see the module docstring); returns the dict written to analysis.json."""
    from . import analysis as A
    from .train.callbacks.trajectory import list_snapshots, load_snapshot
    if batch < 1:
        raise ValueError(f"--batch {batch}: expected a positive number of examples")
    if k < 1:
        raise ValueError(f"--k {k}: expected a positive number of eigenvalues")
    t0 = time.perf_counter()
    spec, model, x, t, n_train = _load(run_dir, batch)
    criterion = spec.data.loss()
    params = list(model.parameters())
    names = [n for n, _ in model.named_parameters()]
    n = sum(p.data.size for p in params)
    if k > n:
        raise ValueError(f"--k {k}: the model has only {n} parameters")

    def loss_fn():
        return criterion(model(x), t)

    from . import autodiff as ad
    loss = loss_fn()
    grads = ad.autograd_grad(loss, params)
    result = {"run_dir": os.path.abspath(run_dir), "batch": len(t), "training_examples": n_train,
              "parameters": int(n), "dtype": "float64", "loss": float(loss.item()),
              "grad_norm": float(np.sqrt(sum(float((g.numpy() ** 2).sum()) for g in grads)))}
    out(f"analyzing {run_dir}: {n} parameters, loss {result['loss']:.4f} on a fixed batch of {len(t)} training "
        f"examples, gradient norm {result['grad_norm']:.3g}")

    # hundreds of products at one θ: keep ∇L's graph and make each product one reverse pass through it
    top = A.hessian_eigenvalues(loss_fn, params, k=k, hvp="double-backward", progress=True)
    trace, se = A.hessian_trace(loss_fn, params, samples=trace_samples, hvp="double-backward", progress=True)
    grid, density = A.spectral_density(loss_fn, params, steps=density_steps, runs=density_runs,
                                       hvp="double-backward", progress=True)
    result["hessian"] = {"top_eigenvalues": top, "trace": trace, "trace_standard_error": se,
                         "trace_samples": trace_samples}
    result["density"] = {"grid": grid, "density": density, "steps": density_steps, "runs": density_runs}
    out(f"Hessian: top {k} eigenvalues " + ", ".join(f"{v:.4g}" for v in top)
        + f"; trace {trace:.4g} ± {se:.2g} ({trace_samples} Hutchinson probes)")
    out(f"  density: {density_runs} probes × {density_steps} Lanczos steps, eigenvalues from {grid[0]:.3g} to "
        f"{grid[-1]:.3g}; mean eigenvalue tr(H)/n = {trace / n:.3g}")

    snapshots = [(e, load_snapshot(p)) for e, p in list_snapshots(os.path.join(run_dir, "trajectory"))]
    n_in, n_out = x.shape[1], int(model(x).shape[1])
    start, origin = _initial_weights(spec, model, snapshots, n_in, n_out)
    final = [p.numpy().copy() for p in params]
    alphas = np.linspace(-0.25, 1.25, 31)
    line = A.loss_interpolation(loss_fn, params, start, final, alphas, progress=True)
    result["interpolation"] = {"alphas": alphas, "loss": line, "initial_weights": origin}
    inner = line[5:26]  # α = 0, 0.05, ..., 1
    shape = ("decreases monotonically" if np.all(np.diff(inner) <= 0) else
             f"is not monotone (largest rise {np.diff(inner).max():.3g}, peak {inner.max():.4f} at α = "
             f"{alphas[5 + int(np.argmax(inner))]:.2f})")
    out(f"interpolation θ(α) = (1 − α) θ_initial + α θ_final: loss {line[5]:.4f} at α = 0, {line[25]:.4f} at α = 1; "
        f"it {shape} in between")

    d1 = A.random_directions(params, seed=0)
    d2 = A.random_directions(params, seed=1)
    ab = np.linspace(-1, 1, GRID)
    Z = A.loss_surface(loss_fn, params, d1, d2, ab, ab, progress=True)
    result["surface"] = {"alphas": ab, "betas": ab, "loss": Z,
                         "directions": "filter-normalized random (Li et al. 2018), seeds 0 and 1"}
    out(f"surface (filter-normalized random directions, ±1): loss {Z.min():.4f} to {Z.max():.4f}")

    result["trajectory"] = _trajectory(A, loss_fn, params, names, snapshots, final, out)
    result["figures"] = _figures(A, run_dir, result, loss_fn, model, x)
    result["seconds"] = time.perf_counter() - t0
    from .analysis.output import atomic_write, strict_json
    path = os.path.join(run_dir, "analysis", "analysis.json")
    atomic_write(path, strict_json(result).encode())
    out(f"wrote {path} and {len(result['figures'])} figures in {result['seconds']:.1f} s")
    return result


def _trajectory(A, loss_fn, params, names, snapshots, final, out):
    if len(snapshots) < 2:
        out("trajectory: none kept (the model is above output.trajectory_max_parameters, or fewer than 2 epochs)")
        return None
    epochs = [e for e, _ in snapshots]
    points = [np.concatenate([s[nm].reshape(-1) for nm in names]).astype(np.float64) for _, s in snapshots]
    flat_final = np.concatenate([a.reshape(-1) for a in final])
    restored = not np.allclose(points[-1], flat_final, rtol=0, atol=1e-6 * max(1.0, np.abs(flat_final).max()))
    if restored:  # e.g. early stopping restored the best epoch's weights: the path ends there
        points.append(flat_final)
    proj = A.trajectory_projection(np.array(points))
    c = proj.coordinates
    span = max(np.ptp(c[:, 0]), np.ptp(c[:, 1]), 1e-3)
    alphas = np.linspace(c[:, 0].min() - 0.2 * span, c[:, 0].max() + 0.2 * span, GRID)
    betas = np.linspace(c[:, 1].min() - 0.2 * span, c[:, 1].max() + 0.2 * span, GRID)
    Z = A.loss_surface(loss_fn, params, proj.directions[0], proj.directions[1], alphas, betas, progress=True)
    ratio = proj.explained_variance_ratio
    ends = ", then the restored best weights" if restored else ""
    out(f"trajectory: {len(epochs)} snapshots (epochs {epochs[0]}–{epochs[-1]}{ends}); its first two principal "
        f"directions explain {100 * ratio[0]:.1f}% and {100 * ratio[1]:.1f}% of its variance")
    return {"epochs": epochs, "ends_at_restored_weights": bool(restored), "coordinates": c,
            "explained_variance_ratio": ratio, "alphas": alphas, "betas": betas, "loss": Z}


def _levels(Z):
    """contourf's levels: log-spaced when the loss spans more than two decades (the valley shows)."""
    finite = Z[np.isfinite(Z)]
    lo, hi = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
    if lo > 0 and hi > 100 * lo:
        from matplotlib.colors import LogNorm
        return {"levels": np.geomspace(lo, hi, 30), "norm": LogNorm(lo, hi)}
    return {"levels": 30}


def _colorbar(fig, ax, cs, Z):
    """A colour bar for a loss surface, with a few readable ticks on a log scale."""
    from matplotlib.colors import LogNorm
    finite = Z[np.isfinite(Z)]
    if isinstance(cs.norm, LogNorm):
        ticks = np.geomspace(finite.min(), finite.max(), 6)
        fig.colorbar(cs, ax=ax, label="training loss (log scale)", ticks=ticks, format="%.3g")
    else:
        fig.colorbar(cs, ax=ax, label="training loss", format="%.3g")


def _figures(A, run_dir, r, loss_fn, model, x):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .analysis.output import save_figure
    d = os.path.join(run_dir, "analysis")
    os.makedirs(d, exist_ok=True)
    written = []

    def save(fig, name):
        fig.tight_layout()
        save_figure(fig, os.path.join(d, name))
        plt.close(fig)
        written.append(name)

    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    ax.semilogy(r["density"]["grid"], np.maximum(r["density"]["density"], 1e-12))
    for v in r["hessian"]["top_eigenvalues"]:
        ax.axvline(v, color="C3", lw=0.6, alpha=0.6)
    ax.set_ylim(bottom=max(1e-8, np.max(r["density"]["density"]) * 1e-7))
    ax.set_xlabel("eigenvalue λ of the Hessian")
    ax.set_ylabel("density (log scale)")
    ax.set_title("Hessian spectrum (red: top eigenvalues)", fontsize=10)
    save(fig, "density.png")

    fig, ax = plt.subplots(figsize=(5.5, 3.6))
    ax.semilogy(r["interpolation"]["alphas"], r["interpolation"]["loss"], marker=".")
    ax.axvline(0, color="gray", lw=0.6)
    ax.axvline(1, color="gray", lw=0.6)
    ax.set_xlabel("α   (θ = (1 − α) θ_initial + α θ_final)")
    ax.set_ylabel("training loss (log scale)")
    ax.set_title("loss from the initial to the final weights", fontsize=10)
    save(fig, "interpolation.png")

    s = r["surface"]
    fig, ax = plt.subplots(figsize=(5, 4.2))
    cs = ax.contourf(s["alphas"], s["betas"], s["loss"].T, cmap="viridis", **_levels(s["loss"]))
    _colorbar(fig, ax, cs, s["loss"])
    ax.plot([0], [0], "r*", ms=10, label="final weights")
    ax.set_xlabel("α along d₁ (filter-normalized)")
    ax.set_ylabel("β along d₂ (filter-normalized)")
    ax.legend(loc="upper right", fontsize=8)
    save(fig, "surface.png")

    tr = r["trajectory"]
    if tr is not None:
        fig, ax = plt.subplots(figsize=(5, 4.2))
        cs = ax.contourf(tr["alphas"], tr["betas"], tr["loss"].T, cmap="viridis", **_levels(tr["loss"]))
        _colorbar(fig, ax, cs, tr["loss"])
        c = tr["coordinates"]
        ax.plot(c[:, 0], c[:, 1], "w.-", lw=1, ms=4)
        ax.plot(c[0, 0], c[0, 1], "wo", ms=6, label="initial")
        ax.plot(c[-1, 0], c[-1, 1], "r*", ms=10, label="final")
        ev = tr["explained_variance_ratio"]
        ax.set_xlabel(f"1st principal direction ({100 * ev[0]:.0f}% of the path's variance)")
        ax.set_ylabel(f"2nd principal direction ({100 * ev[1]:.0f}%)")
        ax.legend(loc="upper right", fontsize=8)
        save(fig, "trajectory.png")

    A.draw_graph(loss_fn(), os.path.join(d, "graph.png"), model=model, names={"x": x})
    written.append("graph.png")
    return written
