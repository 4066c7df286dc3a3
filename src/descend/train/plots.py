"""PNG plots of a run: the loss with the learning rate, the accuracy, and the layer statistics of LayerMonitor
(matplotlib)."""

import io
import os

from .files import atomic_write


def plot_run(run_dir, history, layer_records, out=print):
    """Write ``plots/loss.png`` (training and validation loss per epoch, log scale, with the learning rate ``lr`` on a
    second axis), ``plots/accuracy.png`` (when accuracy is logged) and ``plots/layers.png``; returns the paths
    written.

    Without matplotlib, prints one line saying so and writes nothing. Each PNG is replaced atomically.
    """
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        out("plots skipped: matplotlib is not installed (pip install matplotlib)")
        return []
    d = os.path.join(run_dir, "plots")
    os.makedirs(d, exist_ok=True)
    epochs = list(range(1, len(history.get("loss", [])) + 1))
    written = []
    for metric in ("loss", "accuracy"):
        if metric not in history:
            continue
        fig, ax = plt.subplots(figsize=(6, 4))
        ax.plot(epochs, history[metric], label=f"train {metric}")
        if f"val_{metric}" in history:
            ax.plot(epochs, history[f"val_{metric}"], label=f"validation {metric}")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        if metric == "loss":
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
        handles, labels = ax.get_legend_handles_labels()
        if metric == "loss" and history.get("lr"):
            lr_ax = ax.twinx()
            lr_ax.step(epochs, history["lr"], where="post", color="tab:gray", linestyle="--", label="learning rate")
            lr_ax.set_ylabel("learning rate")
            lr = [v for v in history["lr"] if v > 0]
            if lr and max(lr) > 10 * min(lr):
                lr_ax.set_yscale("log")
            more = lr_ax.get_legend_handles_labels()
            handles, labels = handles + more[0], labels + more[1]
        ax.legend(handles, labels)
        fig.tight_layout()
        path = os.path.join(d, f"{metric}.png")
        _save(fig, path)
        written.append(path)
    params = [r for r in layer_records if r.get("kind") == "parameter"]
    acts = [r for r in layer_records if r.get("kind") == "activation"]
    if params or acts:
        fig, axes = plt.subplots(1, 3, figsize=(15, 4))
        for key, ax, rows, title in (("grad_norm", axes[0], params, "gradient norm ‖g‖"),
                                     ("update_ratio", axes[1], params, "update / weight ‖Δθ‖/‖θ‖"),
                                     ("act_std", axes[2], acts, "activation std")):
            for layer in dict.fromkeys(r["layer"] for r in rows):
                pts = [(r["step"], r[key]) for r in rows if r["layer"] == layer and key in r]
                if pts:
                    ax.plot(*zip(*pts), label=layer)
            ax.set_title(title)
            ax.set_xlabel("step")
            ax.set_yscale("log")
            ax.grid(alpha=0.3)
            if rows:
                ax.legend(fontsize=7)
        fig.tight_layout()
        path = os.path.join(d, "layers.png")
        _save(fig, path)
        written.append(path)
    return written


def _save(fig, path):
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator
    for ax in fig.axes:
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    buf = io.BytesIO()
    fig.savefig(buf, dpi=100, format="png")
    plt.close(fig)
    atomic_write(path, buf.getvalue())
