"""Reverse accumulation: the bprop pass over the flow graph.

Given an output y and a seed ȳ (= ∂L/∂y, 1 for a scalar loss), every box is visited once, after
all boxes that consume its output, in an iterative topological order (Kahn's algorithm, so
graphs of any depth work without recursion). A box receives the sum of the gradients from all
its consumers (a reused intermediate accumulates) and hands each input xᵢ its share
ȳᵀ ∂y/∂xᵢ. A gradient that reaches an input in a broadcast shape is summed back to that input's
shape here, in one place, not in each primitive. Leaves accumulate into ``.grad``.

The backward rules run under ``no_grad`` (they cost no graph) unless ``create_graph=True``,
which records them so that the result can be differentiated again. After the pass, the graph
is freed unless ``retain_graph=True`` (default: the value of ``create_graph``).
"""

import numpy as np

from .function import _check_anomaly
from .mode import not_replayable, state
from .ops.shape import sum_to
from .tensor import Tensor


def backward(root, grad=None, retain_graph=None, create_graph=False):
    """Accumulate d root / d leaf into ``leaf.grad`` (see :meth:`Tensor.backward`)."""
    if not root.requires_grad:
        raise RuntimeError("backward(): this tensor does not require grad and has no grad_fn; "
                           "did you make its inputs with requires_grad=True and compute it outside no_grad()?")
    seed = _seed(root, grad, "backward()")
    _run([root], [seed], create_graph if retain_graph is None else retain_graph, create_graph, None)


def tensor_backward(self, grad=None, retain_graph=None, create_graph=False):
    """Accumulate d self / d leaf into ``leaf.grad`` for every leaf that requires grad.

    ``grad`` is the vector v of the vector-Jacobian product vᵀ J; it may be omitted only for a
    one-element tensor (v = 1). The graph is freed afterwards unless ``retain_graph`` (default:
    ``create_graph``); ``create_graph=True`` records the backward pass itself so that it can be
    differentiated again.
    """
    backward(self, grad, retain_graph=retain_graph, create_graph=create_graph)


Tensor.backward = tensor_backward


def grad(outputs, inputs, grad_outputs=None, retain_graph=None, create_graph=False, allow_unused=False):
    """The gradients of ``outputs`` with respect to ``inputs``, returned, not accumulated.

    As ``torch.autograd.grad``: ``outputs`` and ``inputs`` are Tensors or sequences of them,
    ``grad_outputs`` the seeds (ones for scalars). Returns a tuple with one gradient per input;
    an input the outputs do not depend on raises unless ``allow_unused`` (then its entry is None).
    """
    outputs = (outputs,) if isinstance(outputs, Tensor) else tuple(outputs)
    single = isinstance(inputs, Tensor)
    inputs = (inputs,) if single else tuple(inputs)
    if grad_outputs is None or isinstance(grad_outputs, Tensor):
        grad_outputs = (grad_outputs,) * len(outputs) if grad_outputs is None else (grad_outputs,)
    if len(grad_outputs) != len(outputs):
        raise ValueError(f"grad(): {len(outputs)} outputs but {len(grad_outputs)} grad_outputs")
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor) or not x.requires_grad:
            raise RuntimeError(f"grad(): input {i} does not require grad; make it with requires_grad=True")
    roots, seeds = [], []
    for y, g in zip(outputs, grad_outputs):
        if not y.requires_grad:
            continue
        roots.append(y)
        seeds.append(_seed(y, g, "grad()"))
    capture = {}
    for i, x in enumerate(inputs):
        capture.setdefault(x._ctx if x._ctx is not None else id(x), []).append(i)
    found = [None] * len(inputs)
    if roots:
        _run(roots, seeds, create_graph if retain_graph is None else retain_graph, create_graph, (capture, found))
    for i, g in enumerate(found):
        if g is None and not allow_unused:
            raise RuntimeError(f"grad(): input {i} (shape {tuple(inputs[i].shape)}) was not used to compute the "
                               "outputs; pass allow_unused=True to get None for it")
    return found


def _seed(root, grad, where):
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(f"{where}: grad can be omitted only for a one-element output; this output has shape "
                               f"{tuple(root.shape)}, so pass grad= (the vector v of vᵀJ) of the same shape")
        return Tensor._make(np.ones_like(root.data))
    if not isinstance(grad, Tensor):
        grad = Tensor._make(np.asarray(grad, dtype=root.data.dtype))
    if grad.shape != root.shape:
        raise RuntimeError(f"{where}: grad has shape {tuple(grad.shape)} but the output has shape {tuple(root.shape)}")
    return grad


def _freed_error(node):
    return RuntimeError(
        f"trying to backward through the graph a second time: the graph of {type(node).__name__} was freed by "
        "an earlier backward. Pass retain_graph=True to the first backward() if you need to go through it twice."
    )


def _count_consumers(roots):
    """For every box reachable from the roots, how many recorded edges lead into it."""
    deps = {}
    stack = []
    for r in roots:
        c = r._ctx
        if c is not None and c not in deps:
            deps[c] = 0
            stack.append(c)
    while stack:
        node = stack.pop()
        if node._freed:
            raise _freed_error(node)
        for t in node.inputs:
            c = t._ctx
            if c is not None and t.requires_grad:
                if c in deps:
                    deps[c] += 1
                else:
                    deps[c] = 1
                    stack.append(c)
    return deps


def _run(roots, seeds, retain_graph, create_graph, capture):
    prev = state.grad_enabled
    state.grad_enabled = create_graph
    try:
        _propagate(roots, seeds, retain_graph, create_graph, capture)
    finally:
        state.grad_enabled = prev


def _propagate(roots, seeds, retain_graph, create_graph, capture):
    deps = _count_consumers(roots)
    anomaly = state.anomaly
    leaves = {}  # id(leaf) -> [leaf, summed gradient, whether that gradient is a fresh array of ours]
    grads = {}
    for r, g in zip(roots, seeds):
        c = r._ctx
        if c is None:
            _collect(leaves, r, g, False)
        else:
            grads[c] = grads[c] + g if c in grads else g
    ready = [c for c in grads if deps[c] == 0]
    while ready:
        node = ready.pop()
        g = grads.pop(node, None)
        inputs = node.inputs
        if g is not None:
            if node._hooks:
                not_replayable("a gradient hook (register_hook) runs inside the step")
                for hook in node._hooks:
                    new = hook(g)
                    if new is not None:
                        g = new
            if node._retained is not None:
                not_replayable("retain_grad() keeps the gradient of an intermediate tensor")
                out = node._retained()
                if out is not None:
                    mine = g if create_graph else Tensor._make(g.data.copy())
                    out.grad = mine if out.grad is None else out.grad + mine
            if capture is not None and node in capture[0]:
                for i in capture[0][node]:
                    capture[1][i] = g
            node._check_versions()
            if anomaly:
                # Check the box's own gradients, not the primitives its backward rule runs.
                state.anomaly = False
                try:
                    in_grads = node.backward(g)
                finally:
                    state.anomaly = True
                for gi in in_grads:
                    if gi is not None:
                        _check_anomaly(node, gi, "backward")
            else:
                in_grads = node.backward(g)
        else:
            in_grads = (None,) * len(inputs)
        for t, gi in zip(inputs, in_grads):
            if not t.requires_grad:
                continue
            if gi is not None and gi.data.shape != t.data.shape:
                gi = sum_to(gi, t.data.shape)
            c = t._ctx
            if c is None:
                if gi is not None:
                    _collect(leaves, t, gi, gi is not g)
                continue
            if gi is not None:
                grads[c] = grads[c] + gi if c in grads else gi
            deps[c] -= 1
            if deps[c] == 0:
                ready.append(c)
        if not retain_graph:
            node.release()
    fast = not create_graph and state.forward_tag is None
    handed = set()
    tracer = state.tracer if state.special else None
    for t, gi, fresh in leaves.values():
        if tracer is not None:
            tracer.leaf_begin(t, capture is not None or not fast)
        _to_leaf(t, gi, fresh, capture, fast, handed)
        if tracer is not None:
            tracer.leaf_end(t, gi.data)


def _collect(leaves, t, gi, fresh):
    entry = leaves.get(id(t))
    if entry is None:
        leaves[id(t)] = [t, gi, fresh]
    else:
        entry[1] = entry[1] + gi
        entry[2] = True


def _to_leaf(t, gi, fresh, capture, fast, handed):
    """Run the leaf's hooks once on its total gradient, then capture it or add it to ``.grad``."""
    if t._hooks:
        for hook in t._hooks:
            new = hook(gi)
            if new is not None:
                gi = new
                fresh = False
    if capture is not None:
        slots = capture[0].get(id(t))
        if slots is not None:
            for i in slots:
                capture[1][i] = gi
        return
    if t.grad is not None:
        t.grad = Tensor._make(t.grad.data + gi.data) if fast else t.grad + gi
        return
    # Own the array: a gradient that is some box's incoming one, a view, read-only, or already
    # given to another leaf is copied, so that in-place changes of one .grad never show in another.
    if not fresh or gi.data.base is not None or id(gi) in handed or not gi.data.flags.writeable:
        gi = Tensor._make(gi.data.copy()) if fast else gi * 1
    handed.add(id(gi))
    t.grad = gi
