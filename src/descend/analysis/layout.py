"""A layered drawing of a flow graph (Sugiyama, Tagawa & Toda 1981), with matplotlib.

1. Layers: each box one layer below the lowest of its inputs (longest path from the leaves);
   each leaf one layer above its first reader, so that parameters sit next to their layer.
2. An edge that spans several layers is cut into unit steps through invisible dummy nodes.
3. Order within layers: barycentre sweeps (each node at the mean position of its neighbours in
   the layer above, then below), keeping the order with the fewest edge crossings.
4. Coordinates: each node is pulled to the mean x of its neighbours; the positions closest to
   those wishes (least squares) that keep the order and a minimum gap are found exactly by
   isotonic regression (pool adjacent violators).
5. Drawing: rounded boxes for operations, ellipses for leaves, arrows down the layers.
"""

import numpy as np

__all__ = ["layout", "render"]

FONT = 9.0  # points
CHAR = 0.62 * FONT  # approximate width of a character, points
LINE = 1.3 * FONT
GAP = 18.0  # horizontal gap between nodes, points
LAYER = 62.0  # vertical distance between layers, points


def _layers(n, edges, is_box):
    preds = [[] for _ in range(n)]
    succs = [[] for _ in range(n)]
    for s, t in edges:
        preds[t].append(s)
        succs[s].append(t)
    order = _topological(n, preds, succs)
    layer = [0] * n
    for v in order:
        if preds[v]:
            layer[v] = 1 + max(layer[u] for u in preds[v])
    for v in order:
        if not is_box[v] and succs[v]:
            layer[v] = min(layer[w] for w in succs[v]) - 1
    lo = min(layer)
    return [x - lo for x in layer]


def _topological(n, preds, succs):
    indeg = [len(set(p)) for p in preds]
    ready = [v for v in range(n) if indeg[v] == 0]
    order = []
    seen = [False] * n
    while ready:
        v = ready.pop()
        order.append(v)
        for w in dict.fromkeys(succs[v]):
            indeg[w] -= 1
            if indeg[w] == 0 and not seen[w]:
                seen[w] = True
                ready.append(w)
    return order


def _split_long_edges(n, edges, layer):
    """Edges between consecutive layers only (dummy nodes inserted); returns (node count, layer list,
    unit edges, chains: for each original edge, its list of nodes from source to target)."""
    layer = list(layer)
    unit, chains = [], []
    count = n
    for s, t in dict.fromkeys(edges):
        chain = [s]
        for k in range(layer[s] + 1, layer[t]):
            layer.append(k)
            chain.append(count)
            count += 1
        chain.append(t)
        unit += list(zip(chain[:-1], chain[1:]))
        chains.append(chain)
    return count, layer, unit, chains


def _crossings(rows, pos, down):
    total = 0
    for k in range(len(rows) - 1):
        pairs = sorted((pos[s], pos[t]) for s, t in down[k])
        targets = [t for _, t in pairs]
        for i in range(len(targets)):
            for j in range(i + 1, len(targets)):
                if targets[j] < targets[i]:
                    total += 1
    return total


def _order(count, layer, unit):
    depth = max(layer) + 1
    rows = [[] for _ in range(depth)]
    for v in range(count):
        rows[layer[v]].append(v)
    up = [[] for _ in range(count)]
    down_n = [[] for _ in range(count)]
    down = [[] for _ in range(depth)]
    for s, t in unit:
        up[t].append(s)
        down_n[s].append(t)
        down[layer[s]].append((s, t))
    pos = {v: i for row in rows for i, v in enumerate(row)}
    best, best_cross = [list(r) for r in rows], _crossings(rows, pos, down)
    for sweep in range(12):
        rng = range(1, depth) if sweep % 2 == 0 else range(depth - 2, -1, -1)
        for k in rng:
            nbrs = up if sweep % 2 == 0 else down_n
            keyed = []
            for v in rows[k]:
                ns = nbrs[v]
                keyed.append((np.mean([pos[u] for u in ns]) if ns else pos[v], pos[v], v))
            rows[k] = [v for _, _, v in sorted(keyed)]
            for i, v in enumerate(rows[k]):
                pos[v] = i
        c = _crossings(rows, pos, down)
        if c < best_cross:
            best, best_cross = [list(r) for r in rows], c
    return best, up, down_n


def _isotonic(wish, gaps):
    """x minimizing Σ (x_i − wish_i)² subject to x_{i+1} − x_i ≥ gaps_i (pool adjacent violators)."""
    offset = np.concatenate([[0.0], np.cumsum(gaps)])
    y = np.asarray(wish, dtype=float) - offset
    blocks = []  # [mean, weight]
    for v in y:
        blocks.append([v, 1])
        while len(blocks) > 1 and blocks[-2][0] > blocks[-1][0]:
            m2, w2 = blocks.pop()
            m1, w1 = blocks.pop()
            blocks.append([(m1 * w1 + m2 * w2) / (w1 + w2), w1 + w2])
    fitted = np.concatenate([[m] * w for m, w in blocks])
    return fitted + offset


def layout(labels, is_box, edges):
    """(x, y, width, height of each real node, chains of points of each edge): positions in points."""
    n = len(labels)
    widths = [max(len(line) for line in lab.split("\n")) * CHAR + 14 for lab in labels]
    heights = [len(lab.split("\n")) * LINE + 8 for lab in labels]
    layer = _layers(n, edges, is_box)
    count, layer, unit, chains = _split_long_edges(n, edges, layer)
    widths += [2.0] * (count - n)
    rows, up, down = _order(count, layer, unit)
    x = np.zeros(count)
    for row in rows:
        acc = 0.0
        for v in row:
            x[v] = acc + widths[v] / 2
            acc += widths[v] + GAP
    for sweep in range(8):
        seq = rows if sweep % 2 == 0 else rows[::-1]
        for row in seq:
            wish = [np.mean([x[u] for u in up[v] + down[v]]) if up[v] + down[v] else x[v] for v in row]
            gaps = [(widths[a] + widths[b]) / 2 + GAP for a, b in zip(row[:-1], row[1:])]
            x[row] = _isotonic(wish, gaps)
    x -= x.min() - max(widths) / 2
    y = np.array([-LAYER * layer[v] for v in range(count)])
    points = [[(x[v], y[v]) for v in chain] for chain in chains]
    return x[:n], y[:n], np.array(widths[:n]), np.array(heights), points


def render(g, path):
    """Draw the :class:`~descend.analysis.graph.FlowGraph` ``g`` to ``path`` (.svg, .png, .pdf)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Ellipse, FancyArrowPatch, FancyBboxPatch

    from .output import save_figure

    x, y, w, h, chains = layout(g.labels, g.is_box, g.edges)
    pad = 10.0
    bends = np.array([p for chain in chains for p in chain[1:-1]] or [(x[0], y[0])])
    left = min((x - w / 2).min(), bends[:, 0].min()) - pad
    right = max((x + w / 2).max(), bends[:, 0].max()) + pad
    bottom, top = (y - h / 2).min() - pad, (y + h / 2).max() + pad
    fig = plt.figure(figsize=((right - left) / 72, (top - bottom) / 72))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(left, right)
    ax.set_ylim(bottom, top)
    ax.set_axis_off()
    for chain in chains:
        (x0, y0), (x1, y1) = chain[0], chain[-1]
        pts = [(x0, y0 - h[_index(x, y, x0, y0)] / 2)] + chain[1:-1] + [(x1, y1 + h[_index(x, y, x1, y1)] / 2)]
        xs, ys = zip(*pts)
        if len(pts) > 2:
            ax.plot(xs[:-1], ys[:-1], color="#555555", lw=0.8, zorder=1)
        ax.add_patch(FancyArrowPatch(pts[-2], pts[-1], arrowstyle="-|>", mutation_scale=8, color="#555555", lw=0.8,
                                     shrinkA=0, shrinkB=0, zorder=1))
    for i, label in enumerate(g.labels):
        if g.is_box[i]:
            patch = FancyBboxPatch((x[i] - w[i] / 2, y[i] - h[i] / 2), w[i], h[i],
                                   boxstyle="round,pad=0,rounding_size=4",
                                   facecolor="#dbe9f6", edgecolor="#2b5d8a", lw=0.9, zorder=2)
        else:
            patch = Ellipse((x[i], y[i]), w[i] * 1.08, h[i], facecolor="#fde9c9" if g.is_param[i] else "#eeeeee",
                            edgecolor="#8a6d2b" if g.is_param[i] else "#777777", lw=0.9, zorder=2)
        ax.add_patch(patch)
        ax.text(x[i], y[i], label, ha="center", va="center", fontsize=FONT, family="DejaVu Sans", zorder=3,
                linespacing=1.15)
    save_figure(fig, path, dpi=144)
    plt.close(fig)


def _index(x, y, px, py):
    return int(np.argmin((x - px) ** 2 + (y - py) ** 2))
