"""The flow graph of a computation: one box per operation, arrows in the data's direction.

``draw_graph(loss)`` walks back from a Tensor through the boxes that made it (``t.grad_fn`` and
each box's ``inputs``) and returns the graph in Graphviz's DOT language: a box per operation,
labelled with its name and the shape of its output, an ellipse per leaf (a tensor the boxes did
not make: parameters, inputs, constants), labelled with its name where one is known
(``names=`` or ``model=``, e.g. "0.weight"), and an arrow from each input to the box that reads it.
The notes' f(x₁, x₂) = ln x₁ + x₁x₂ − sin x₂ has five boxes: ln, ×, sin, +, −.

With a ``path`` ending in .svg, .png or .pdf the picture is drawn too, by descend's own layered
layout (:mod:`descend.analysis.layout`) and matplotlib: no Graphviz needed.

Only recorded operations appear (computed with gradients on, from tensors that require them),
and backward() frees the graph: draw it before, or call backward(retain_graph=True).
"""

from dataclasses import dataclass, field

from ..autodiff import Tensor

__all__ = ["draw_graph", "FlowGraph", "flow_graph"]


@dataclass
class FlowGraph:
    """Nodes ``labels[i]`` (two lines: name, shape), ``is_box[i]``, ``is_param[i]`` (a leaf that
    requires grad) and edges (source, target) in the data's direction; ``root`` is the output."""

    labels: list = field(default_factory=list)
    is_box: list = field(default_factory=list)
    is_param: list = field(default_factory=list)
    edges: list = field(default_factory=list)
    root: int = 0


def _names(names, model):
    """{id(tensor): name} from a model's named_parameters()/named_buffers() and ``names``
    (a mapping name → Tensor or Tensor → name, or (name, Tensor) pairs)."""
    out = {}
    if model is not None:
        if not hasattr(model, "named_parameters"):
            raise TypeError(f"draw_graph: model must have named_parameters() (a Module), got {type(model).__name__}")
        pairs = list(model.named_parameters())
        if hasattr(model, "named_buffers"):
            pairs += list(model.named_buffers())
        out.update((id(t), n) for n, t in pairs)
    if names is not None:
        items = names.items() if hasattr(names, "items") else names
        for a, b in items:
            name, t = (b, a) if isinstance(a, Tensor) else (a, b)
            if not isinstance(t, Tensor) or not isinstance(name, str):
                raise TypeError("draw_graph: names must map names (str) to Tensors, or Tensors to names")
            out[id(t)] = name
    return out


def _op_name(box):
    name = type(box).__name__
    return name[:-2] if name.endswith("Fn") and len(name) > 2 else name


def _shape(t):
    return "(" + ", ".join(str(s) for s in t.shape) + ("," if t.ndim == 1 else "") + ")"


def _leaf_label(t, known):
    if id(t) in known:
        return known[id(t)]
    if t.data.size == 1 and not t.requires_grad:
        return f"{t.data.reshape(()).item():.4g}"
    return "parameter" if t.requires_grad else "tensor"


def flow_graph(tensor, names=None, model=None):
    """The :class:`FlowGraph` of the boxes that made ``tensor``."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"draw_graph: expected the Tensor whose graph to draw, got {type(tensor).__name__}")
    known = _names(names, model)
    g = FlowGraph()
    index = {}

    def node(key, label, box, param):
        if key not in index:
            index[key] = len(g.labels)
            g.labels.append(label)
            g.is_box.append(box)
            g.is_param.append(param)
        return index[key]

    def visit(t):
        """The node of tensor t (its box, or itself as a leaf); returns (index, box or None, new?)."""
        box = t.grad_fn
        if box is None:
            return node(("leaf", id(t)), f"{_leaf_label(t, known)}\n{_shape(t)}", False, t.requires_grad), None
        new = ("box", id(box)) not in index
        freed = "" if box.inputs else " (freed)"
        return node(("box", id(box)), f"{_op_name(box)}{freed}\n{_shape(t)}", True, False), (box if new else None)

    g.root, first = visit(tensor)
    stack = [] if first is None else [first]
    while stack:
        box = stack.pop()
        target = index[("box", id(box))]
        for t in box.inputs:
            source, new_box = visit(t)
            g.edges.append((source, target))
            if new_box is not None:
                stack.append(new_box)
    return g


def _quote(s):
    return '"' + s.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def to_dot(g):
    """Graphviz DOT source of a :class:`FlowGraph` (top to bottom, boxes for operations)."""
    lines = ["digraph flow_graph {", "  rankdir=TB;", '  node [fontname="Helvetica", fontsize=11];']
    for i, label in enumerate(g.labels):
        if g.is_box[i]:
            style = 'shape=box, style="rounded,filled", fillcolor="#dbe9f6"'
        elif g.is_param[i]:
            style = 'shape=ellipse, style=filled, fillcolor="#fde9c9"'
        else:
            style = 'shape=ellipse, style=filled, fillcolor="#eeeeee"'
        lines.append(f"  n{i} [label={_quote(label)}, {style}];")
    for s, t in g.edges:
        lines.append(f"  n{s} -> n{t};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def draw_graph(tensor, path=None, names=None, model=None):
    """The DOT source of the flow graph that produced ``tensor`` (a str); with ``path`` ending in
    .svg, .png or .pdf, also draws it there (or .dot/.gv: writes the DOT source).

    ``model`` (anything with ``named_parameters()``) and ``names`` (a mapping name → Tensor or
    Tensor → name) name the leaves; other leaves read "parameter" (if they require grad) or
    "tensor", or show their value if they are one-element constants.
    """
    g = flow_graph(tensor, names, model)
    dot = to_dot(g)
    if path is not None:
        import os
        ext = os.path.splitext(os.fspath(path))[1].lower()
        if ext in (".dot", ".gv"):
            from .output import atomic_write
            atomic_write(path, dot.encode())
        elif ext in (".svg", ".png", ".pdf"):
            from .layout import render
            render(g, path)
        else:
            raise ValueError(f"draw_graph: path {os.fspath(path)!r} must end in .svg, .png, .pdf, .dot or .gv")
    return dot
