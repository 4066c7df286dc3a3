"""The study's plots (PNG, matplotlib), in ``<study>/plots/``:

- ``metric_vs_params.png``: the metric against each hyperparameter, one panel each (log axes for
  log-uniform ones and for grids or choices of positive values spanning two decades or more; categories
  side by side);
- ``learning_curves.png``: the training loss and the metric per epoch of every trial, overlaid, coloured by
  the first numeric hyperparameter (a grid over ``optimizer.lr`` gives the notes' "impact of the learning
  rate" figure);
- ``rungs.png`` (successive halving): the metric of each trial at each rung's budget, pruned trials in grey.
"""

import os

from .report import fmt, short_names
from .trial import COMPLETE, FAILED, PRUNED


def _numeric(values):
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _log_axis(dist):
    """Log-uniform axes, and grids or choices of positive numbers spanning two decades or more."""
    if dist.log:
        return True
    values = dist.candidates() if dist.finite else []
    return bool(values) and _numeric(values) and min(values) > 0 and max(values) >= 100 * min(values)


def _first_numeric(study):
    for path, dist in study.space.items():
        values = [t.params[path] for t in study.trials]
        if _numeric(values):
            return path, _log_axis(dist)
    return None, False


def _colors(study, trials):
    """A colour per trial from the first numeric hyperparameter (viridis, log scale where its axis is log)."""
    from matplotlib import cm, colors
    path, log = _first_numeric(study)
    if path is None:
        return {t.index: cm.tab10(i % 10) for i, t in enumerate(trials)}, None, None
    values = [t.params[path] for t in trials] or [1.0]
    lo, hi = min(values), max(values)
    norm = (colors.LogNorm if log else colors.Normalize)(lo, hi if hi > lo else lo * 1.0001 + 1e-12)
    return {t.index: cm.viridis(norm(t.params[path])) for t in trials}, norm, path


def metric_vs_params(study, fig):
    """One panel per hyperparameter: the metric of each finished trial against its value."""
    paths = list(study.space)
    axes = fig.subplots(1, len(paths), squeeze=False)[0]
    best = study.best.index if study.completed else None
    for ax, path in zip(axes, paths):
        dist = study.space[path]
        shown = [t for t in study.trials if t.value is not None and t.state in (COMPLETE, PRUNED)]
        values = [t.params[path] for t in shown]
        if _numeric(values):
            xs = values
            if _log_axis(dist):
                ax.set_xscale("log")
        else:
            labels = list(dict.fromkeys(fmt(v) for v in dist.candidates() + values))
            xs = [labels.index(fmt(v)) for v in values]
            ax.set_xticks(range(len(labels)))
            ax.set_xticklabels(labels, rotation=30 if len(labels) > 4 else 0)
            ax.set_xlim(-0.5, len(labels) - 0.5)
        for x, t in zip(xs, shown):
            style = dict(color="tab:blue", marker="o") if t.state == COMPLETE else dict(color="0.7", marker=".")
            if t.index == best:
                style = dict(color="tab:red", marker="*", markersize=14)
            ax.plot([x], [t.value], linestyle="none", **style)
        ax.set_xlabel(path)
        ax.set_ylabel(study.metric)
        ax.grid(alpha=0.3)
    fig.suptitle(f"{study.metric} of each trial (best: red star; grey: pruned)")


def learning_curves(study, fig):
    """Training loss and the metric per epoch for every trial, coloured by the first numeric hyperparameter;
    the axes fit the trials that did not fail, so a diverging trial leaves through the top."""
    trials = [t for t in study.trials if t.metrics]
    colour, norm, path = _colors(study, trials)
    panels = ["loss"] + ([study.metric] if study.metric != "loss" else [])
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, key in zip(axes, panels):
        kept = []
        for t in trials:
            pts = [(r["epoch"], r[key]) for r in t.metrics if r.get(key) is not None]
            if not pts:
                continue
            label = f"{short_names([path])[path]}={fmt(t.params[path])}" if path else f"trial {t.index}"
            ax.plot(*zip(*pts), color=colour[t.index], alpha=0.9 if t.state == COMPLETE else 0.5,
                    label=label + (" (failed)" if t.state == FAILED else ""), marker="." if len(pts) < 15 else None)
            if t.state != FAILED:
                kept += [y for _, y in pts]
        log = key.endswith("loss") and kept and min(kept) > 0
        if log:
            ax.set_yscale("log")
        if kept:
            lo, hi = min(kept), max(kept)
            ax.set_ylim((lo / 1.5, hi * 1.5) if log else (lo - 0.05 * (hi - lo + 1e-12), hi + 0.05 * (hi - lo + 1e-12)))
        ax.set_xlabel("epoch")
        ax.set_ylabel(key if key != "loss" else "training loss")
        ax.grid(alpha=0.3)
    if 0 < len(trials) <= 10:
        axes[-1].legend(fontsize=8)
    elif norm is not None:
        from matplotlib import cm
        fig.colorbar(cm.ScalarMappable(norm=norm, cmap="viridis"), ax=list(axes), label=path)
    fig.suptitle(f"learning curves of {len(trials)} trials" + (f", coloured by {path}" if path else ""))


def rungs(study, fig, budgets):
    """Successive halving: each trial's metric at the rungs it reached."""
    ax = fig.subplots()
    best = study.best.index if study.completed else None
    for t in study.trials:
        if not t.rungs:
            continue
        style = dict(color="tab:blue", alpha=0.9) if t.state == COMPLETE else dict(color="0.6", alpha=0.6)
        if t.index == best:
            style = dict(color="tab:red", linewidth=2.5)
        ax.plot(budgets[:len(t.rungs)], t.rungs, marker="o", **style)
    ax.set_xscale("log", base=budgets[1] / budgets[0] if len(budgets) > 1 and budgets[1] > budgets[0] else 10)
    ax.set_xticks(budgets)
    ax.set_xticklabels([str(b) for b in budgets])
    ax.set_xlabel("epochs (rung budget)")
    ax.set_ylabel(study.metric)
    ax.grid(alpha=0.3)
    ax.set_title(f"successive halving, η = {study.settings.eta}: pruned in grey, best in red")


def plot_study(study, out=print):
    """Write the study's plots to ``<study>/plots/``; returns their paths. Without matplotlib, one line says
    so and nothing is written."""
    try:
        from matplotlib.figure import Figure
    except ImportError:
        out("plots skipped: matplotlib is not installed (pip install matplotlib)")
        return []
    from .settings import rung_epochs
    directory = os.path.join(study.directory, "plots")
    os.makedirs(directory, exist_ok=True)
    todo = [("metric_vs_params.png", (max(4.5, 4 * len(study.space)), 4), metric_vs_params, ()),
            ("learning_curves.png", (11, 4.5), learning_curves, ())]
    s = study.settings
    if s.method == "halving":
        todo.append(("rungs.png", (6.5, 4.5), rungs, (rung_epochs(s.min_epochs, s.eta,
                                                                  study.config["training"]["epochs"]),)))
    written = []
    for name, size, draw, args in todo:
        fig = Figure(figsize=size, layout="constrained")
        draw(study, fig, *args)
        path = os.path.join(directory, name)
        fig.savefig(path, dpi=90)
        written.append(path)
    return written
