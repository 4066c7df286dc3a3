"""``sanity_check``: the classic babysitting checks to run before a long training.

1. Initial loss: with C classes and small random weights the softmax is near uniform, so the
   cross-entropy should start near ln C.
2. Gradients: after one backward pass every parameter's gradient is finite and not all zero.
3. Overfit a tiny batch: a network that cannot drive the loss on ~``tiny`` examples near zero has a
   bug (wrong labels, wrong loss, a detached graph) before it has a generalisation problem.
The model's weights and descend's random state are restored afterwards.
"""

import math

import numpy as np

from ..autodiff import get_rng_state, no_grad, set_rng_state
from ..autodiff.extend import wrap
from ..data import as_arrays
from .state import copy_state, load_model_state


class SanityReport:
    """The checks' results: ``checks`` = list of (name, passed, detail); ``passed`` if all passed."""

    def __init__(self):
        self.checks = []

    def add(self, name, passed, detail):
        """Record one check's result."""
        self.checks.append((name, bool(passed), detail))

    @property
    def passed(self):
        """Whether every check passed."""
        return all(p for _, p, _ in self.checks)

    def __getitem__(self, name):
        return next(c for c in self.checks if c[0] == name)

    def __str__(self):
        return "\n".join(f"[{'ok' if p else 'FAIL'}] {n}: {d}" for n, p, d in self.checks)


def _batch(data, n):
    if isinstance(data, tuple):
        arrays = tuple(getattr(a, "data", np.asarray(a)) for a in data)
    else:
        arrays = as_arrays(getattr(data, "dataset", data))
    return tuple(wrap(np.ascontiguousarray(a[:n])) for a in arrays)


def sanity_check(model, loss, data, batch_size=64, tiny=8, steps=300, lr=1e-2, tolerance=0.25, verbose=True):
    """Run the three checks on ``data`` (Dataset, DataLoader or (X, T)); returns a :class:`SanityReport`.

    The initial-loss check applies to classifiers with C > 1 outputs: |L₀ - ln C| ≤ tolerance · ln C.
    """
    from .. import optim
    saved, rng = copy_state(model), get_rng_state()
    was_training = getattr(model, "training", True)
    report = SanityReport()
    try:
        x, t = _batch(data, batch_size)[:2]
        if hasattr(model, "eval"):
            model.eval()
        with no_grad():
            out = model(x)
            l0 = float(loss(out, t).data)
        c = out.shape[1] if out.ndim == 2 else 1
        if c > 1:
            ok = abs(l0 - math.log(c)) <= tolerance * math.log(c)
            report.add("initial loss", ok, f"{l0:.4f} vs ln({c}) = {math.log(c):.4f}" +
                       ("" if ok else "; the initial weights are too large or the output layer is wrong"))
        if hasattr(model, "train"):
            model.train()
        params = list(model.named_parameters()) if hasattr(model, "named_parameters") else \
            [(f"param{i}", p) for i, p in enumerate(model.parameters())]
        for _, p in params:
            p.grad = None
        loss(model(x), t).backward()
        bad = [n for n, p in params if p.grad is None or not np.isfinite(p.grad.data).all()
               or not np.any(p.grad.data)]
        report.add("gradients", not bad, "finite and non-zero in every parameter" if not bad else
                   f"zero, missing or non-finite gradient in {', '.join(bad)}")
        xs, ts = _batch((x, t), tiny)
        opt = optim.Adam([p for _, p in params], lr=lr)
        first = last = None
        for _ in range(steps):
            opt.zero_grad()
            value = loss(model(xs), ts)
            value.backward()
            opt.step()
            last = float(value.data)
            first = last if first is None else first
            if last < 1e-3:
                break
        ok = last < 0.1 * first or last < 1e-2
        report.add("overfit tiny batch", ok, f"loss on {len(xs.data)} examples went {first:.4f} -> {last:.4f}" +
                   ("" if ok else "; the model cannot fit a few examples: check labels, loss and graph"))
    finally:
        load_model_state(model, saved)
        set_rng_state(rng)
        for p in model.parameters():
            p.grad = None
        if hasattr(model, "train"):
            model.train(was_training)
    if verbose:
        print(report)
    return report
