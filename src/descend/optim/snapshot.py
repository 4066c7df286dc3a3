"""Snapshot ensembles (Huang et al. 2017): one training run, many models.

Train with a cyclic or warm-restart schedule (``CosineAnnealingWarmRestarts``, ``CyclicLR``): at
the end of each cycle the rate is at its minimum and the weights sit in a local minimum; then the
rate jumps up and training leaves it for another. ``SnapshotEnsemble`` keeps a copy of the weights
θ⁽ᵏ⁾ at each cycle end, and predicts with the average of the snapshots' outputs,

    ŷ(x) = (1/K) Σₖ T(f(x; θ⁽ᵏ⁾))

with T an optional transform of each output (e.g. softmax, so that probabilities are averaged).

Usage::

    ens = SnapshotEnsemble(model, scheduler)       # or cycle_length=steps per cycle
    for batch in ...:
        opt.step(); scheduler.step(); ens.step()   # snapshots at each cycle end
    y = ens.predict(x, transform=lambda o: o.softmax(-1))

Cycle ends: for ``CosineAnnealingWarmRestarts``, when T_cur wraps to 0; for ``CyclicLR``, when
``last_epoch`` is a multiple of the cycle length; otherwise every ``cycle_length`` calls.
The model is duck-typed: ``state_dict()``, ``load_state_dict()``, calling it.
"""

import copy

import numpy as np

from ..autodiff.extend import wrap
from ..autodiff.mode import no_grad
from ..autodiff.tensor import Tensor
from .hyperparameters import check_number
from .lr_scheduler import CosineAnnealingWarmRestarts, CyclicLR

__all__ = ["SnapshotEnsemble"]


def _copy_state(sd):
    return {k: (v.data.copy() if isinstance(v, Tensor) else np.array(v, copy=True)) for k, v in sd.items()}


class SnapshotEnsemble:
    """Collect weight snapshots at cycle ends and average the snapshots' predictions.

    ``model``: the model being trained. ``scheduler``: a ``CosineAnnealingWarmRestarts`` or
    ``CyclicLR`` (cycle ends detected from it), or None with ``cycle_length`` (calls to
    :meth:`step` per cycle). ``max_snapshots``: keep only the most recent ones (None = all).
    ``snapshots``: list of state dicts (NumPy arrays)."""

    def __init__(self, model, scheduler=None, cycle_length=None, max_snapshots=None):
        if scheduler is None and cycle_length is None:
            raise ValueError("SnapshotEnsemble needs a scheduler (CosineAnnealingWarmRestarts or CyclicLR) "
                             "or cycle_length (steps per cycle)")
        if scheduler is not None and cycle_length is None and not isinstance(
                scheduler, (CosineAnnealingWarmRestarts, CyclicLR)):
            raise ValueError(f"cannot tell the cycle ends of {type(scheduler).__name__}: give cycle_length")
        if cycle_length is not None:
            check_number("cycle_length", cycle_length, low=1, integer=True)
        if max_snapshots is not None:
            check_number("max_snapshots", max_snapshots, low=1, integer=True)
        self.model = model
        self.scheduler = scheduler
        self.cycle_length = cycle_length
        self.max_snapshots = max_snapshots
        self.snapshots = []
        self.num_steps = 0

    def __len__(self):
        return len(self.snapshots)

    def cycle_ended(self):
        """Whether the step just taken completed a cycle."""
        s = self.scheduler
        if self.cycle_length is not None:
            return self.num_steps % self.cycle_length == 0
        if isinstance(s, CosineAnnealingWarmRestarts):
            return s.last_epoch > 0 and s.T_cur == 0
        return s.last_epoch > 0 and s.last_epoch % s.total_size == 0

    def step(self):
        """Call after ``scheduler.step()``: takes a snapshot if a cycle just ended; returns
        whether it did."""
        self.num_steps += 1
        if self.cycle_ended():
            self.snapshot()
            return True
        return False

    def snapshot(self):
        """Store a copy of the model's current weights."""
        self.snapshots.append(_copy_state(self.model.state_dict()))
        if self.max_snapshots is not None and len(self.snapshots) > self.max_snapshots:
            self.snapshots.pop(0)

    def predict(self, *inputs, transform=None):
        """(1/K) Σₖ T(model(*inputs) with the weights of snapshot k), as a Tensor; the model's own
        weights are restored afterwards."""
        if not self.snapshots:
            raise ValueError("SnapshotEnsemble.predict: no snapshot taken yet (no cycle has ended)")
        current = _copy_state(self.model.state_dict())
        total = None
        try:
            with no_grad():
                for sd in self.snapshots:
                    self.model.load_state_dict(sd)
                    out = self.model(*inputs)
                    if transform is not None:
                        out = transform(out)
                    arr = out.data if isinstance(out, Tensor) else np.asarray(out)
                    total = arr.copy() if total is None else total + arr
        finally:
            self.model.load_state_dict(current)
        return wrap(total / len(self.snapshots))

    def state_dict(self):
        """The snapshots taken so far and the step count, for a checkpoint."""
        return {"snapshots": copy.deepcopy(self.snapshots), "num_steps": self.num_steps}

    def load_state_dict(self, state_dict):
        """Restore what ``state_dict`` returned."""
        self.snapshots = copy.deepcopy(state_dict["snapshots"])
        self.num_steps = int(state_dict["num_steps"])
