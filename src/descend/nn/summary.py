"""``summary(model, input_shape)``: the table of a network's layers, as torchinfo and Keras print it.

One forward pass of zeros of ``input_shape`` (batch dimension included, as torchinfo's
``input_size``) runs in eval mode without recording a graph; a forward hook on every module
notes its output shape. The table lists each module in call order, indented by depth, with its
output shape and the number of parameters it owns directly (a container's row counts only its own);
the footer gives the totals. A parameter shared by two layers is counted once.
"""

from dataclasses import dataclass, field

import numpy as np

from descend.autodiff import no_grad, zeros

from .module import Module


@dataclass
class LayerRow:
    """One line of the summary: dotted name, class name, depth, output shape, parameters owned."""

    name: str
    kind: str
    depth: int
    output_shape: object
    parameters: int


@dataclass
class ModelSummary:
    """The result of :func:`summary`: ``rows`` (LayerRow), ``total_params``, ``trainable_params``,
    ``input_shape``; ``str()`` gives the printable table."""

    input_shape: tuple
    rows: list = field(default_factory=list)
    total_params: int = 0
    trainable_params: int = 0

    @property
    def non_trainable_params(self):
        """Parameters that do not require gradients (frozen): total − trainable."""
        return self.total_params - self.trainable_params

    def __str__(self):
        head = ("Layer (type)", "Output shape", "Param #")
        body = [("  " * r.depth + f"{r.name or 'model'} ({r.kind})", _shape_text(r.output_shape), f"{r.parameters:,}")
                for r in self.rows]
        widths = [max(len(row[i]) for row in [head] + body) for i in range(3)]
        rule = "=" * (sum(widths) + 4)

        def fmt(row):
            return f"{row[0]:<{widths[0]}}  {row[1]:<{widths[1]}}  {row[2]:>{widths[2]}}"

        lines = [rule, fmt(head), rule] + [fmt(row) for row in body] + [rule]
        lines += [f"Input shape: {_shape_text(self.input_shape)}",
                  f"Total params: {self.total_params:,}",
                  f"Trainable params: {self.trainable_params:,}",
                  f"Non-trainable params: {self.non_trainable_params:,}", rule]
        return "\n".join(lines)

    __repr__ = __str__


def _shape_text(shape):
    if isinstance(shape, dict):
        return "{" + ", ".join(f"{k}: {_shape_text(v)}" for k, v in shape.items()) + "}"
    if isinstance(shape, list):
        return "[" + ", ".join(_shape_text(s) for s in shape) + "]"
    return "(" + ", ".join(str(d) for d in shape) + ")" if shape is not None else "-"


def _output_shape(out):
    if isinstance(out, dict):
        return {k: _output_shape(v) for k, v in out.items()}
    if isinstance(out, (tuple, list)):
        return [_output_shape(v) for v in out]
    return tuple(out.shape) if hasattr(out, "shape") else None


def summary(model, input_shape, dtype=None):
    """The :class:`ModelSummary` of ``model`` for inputs of ``input_shape`` (batch dimension first).

    ``print(dc.summary(model, (1, 784)))`` prints the table. The model is run once on zeros in
    eval mode under ``no_grad``; its training mode and parameters are left as they were.
    """
    if not isinstance(model, Module):
        raise TypeError(f"summary: model must be a descend.nn.Module, got {type(model).__name__}")
    if isinstance(input_shape, int):
        input_shape = (input_shape,)
    if not isinstance(input_shape, (tuple, list)) or not input_shape or \
            any(not isinstance(d, (int, np.integer)) or d < 1 for d in input_shape):
        raise ValueError(f"summary: input_shape={input_shape!r}; expected a tuple of positive integers with the batch "
                         "dimension first, e.g. (1, 784)")
    input_shape = tuple(int(d) for d in input_shape)
    first_call, shapes, handles = [], {}, []

    def entered(module, args):
        if id(module) not in shapes:
            first_call.append(module)
            shapes[id(module)] = None

    def left(module, args, out):
        shapes[id(module)] = _output_shape(out)

    for m in model.modules():
        handles.append(m.register_forward_pre_hook(entered))
        handles.append(m.register_forward_hook(left))
    was_training = model.training
    try:
        model.eval()
        with no_grad():
            model(zeros(*input_shape, dtype=dtype))
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    names = {id(m): name for name, m in model.named_modules()}
    counted, rows = set(), []
    for m in first_call:  # call order: a container before its children
        own = [p for _, p in m.named_parameters(recurse=False) if id(p) not in counted]
        counted.update(id(p) for p in own)
        name = names[id(m)]
        rows.append(LayerRow(name, type(m).__name__, name.count(".") + 1 if name else 0, shapes[id(m)],
                             int(sum(p.numel() for p in own))))
    params = list(model.parameters())
    return ModelSummary(input_shape, rows, int(sum(p.numel() for p in params)),
                        int(sum(p.numel() for p in params if p.requires_grad)))
