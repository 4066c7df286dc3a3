"""``LayerMonitor``: what the notes say to watch while a network learns, per layer.

Every ``every`` steps (default: the last step of each epoch) it records, as plain floats:
- activations a of each layer's output: mean, std; for ReLU outputs the fraction of dead units
  (a unit whose output is 0 for every example of the batch); for sigmoid/tanh the fraction of
  saturated outputs (σ < 0.01 or > 0.99; |tanh| > 0.99);
- gradients g of each parameter: mean, std, norm ‖g‖;
- the update-to-weight ratio ‖Δθ‖ / ‖θ‖ of the step (healthy around 1e-3).
It flags, in plain words, vanishing gradients (‖g‖ < ``vanishing`` or ratio < 1e-7), exploding
gradients (‖g‖ > ``exploding``), and stuck units (dead or saturated fraction > ``stuck``).
``records`` is a list of dicts {"epoch", "step", "layer", stat: float}; ``warnings`` the messages.
"""

import numpy as np
from tqdm.auto import tqdm

from .base import Callback

_RELU = ("ReLU", "LeakyReLU")
_SAT = {"Sigmoid": lambda a: (a < 0.01) | (a > 0.99), "Tanh": lambda a: np.abs(a) > 0.99}


class LayerMonitor(Callback):
    """Record per-layer activation, gradient and update statistics every ``every`` steps (None: once an epoch)."""

    def __init__(self, every=None, vanishing=1e-7, exploding=1e3, stuck=0.5, verbose=False):
        self.every = every
        self.vanishing, self.exploding, self.stuck = vanishing, exploding, stuck
        self.verbose = verbose
        self.records = []
        self.warnings = []
        self._handles = []
        self._active = False
        self._acts = {}
        self._before = None
        self._epoch_start_step = 0
        self._grads = {}

    # which step to record
    def _due(self, trainer):
        nxt = trainer.global_step + 1
        if self.every is not None:
            return nxt % self.every == 0
        loader = trainer.train_loader
        return loader is not None and (nxt - self._epoch_start_step) == len(loader)

    def on_fit_start(self, trainer):
        model = trainer.model
        self._model = model
        self._named = list(model.named_parameters()) if hasattr(model, "named_parameters") else \
            [(f"param{i}", p) for i, p in enumerate(model.parameters())]

    def _hook(self, name, kind):
        def hook(module, inputs, output):
            if self._active:
                a = getattr(output, "data", None)
                if isinstance(a, np.ndarray):
                    self._acts[name] = (kind, a)
        return hook

    def on_epoch_start(self, trainer, epoch):
        self._epoch_start_step = trainer.global_step

    def _attach(self):
        """Forward hooks on the leaf modules, only for a recorded step (so other steps stay hook-free)."""
        model = self._model
        modules = list(model.named_modules()) if hasattr(model, "named_modules") else []
        for name, m in modules:
            if name == "" or not hasattr(m, "register_forward_hook"):
                continue
            if list(getattr(m, "_modules", {}) or {}):
                continue  # containers: their children report
            self._handles.append(m.register_forward_hook(self._hook(name or type(m).__name__, type(m).__name__)))

    def _detach(self):
        for h in self._handles:
            h.remove()
        self._handles = []

    def on_batch_start(self, trainer, batch):
        self._active = self._due(trainer)
        self._acts = {}
        if self._active and not self._handles:
            self._attach()

    def needs_eager_step(self, trainer):
        return self._active

    def on_after_backward(self, trainer):
        if not self._active:
            return
        self._grads = {n: (None if p.grad is None else np.array(p.grad.data)) for n, p in self._named}
        self._before = {n: np.array(p.data) for n, p in self._named}

    def on_batch_end(self, trainer, batch, logs):
        if not self._active:
            return
        self._active = False
        self._detach()
        epoch, step = trainer.epoch + 1, trainer.global_step
        for name, (kind, a) in self._acts.items():
            rec = {"epoch": epoch, "step": step, "layer": name, "kind": "activation",
                   "act_mean": float(a.mean()), "act_std": float(a.std())}
            flat = a.reshape(len(a), -1) if a.ndim > 1 else a.reshape(-1, 1)
            if kind in _RELU:
                rec["dead_fraction"] = float((flat <= 0).all(axis=0).mean())
                if rec["dead_fraction"] > self.stuck:
                    self._warn(f"step {step}: {rec['dead_fraction']:.0%} of the ReLU units of layer {name} are dead "
                               f"(output 0 for the whole batch): stuck units; lower the learning rate or change init")
            elif kind in _SAT:
                rec["saturated_fraction"] = float(_SAT[kind](flat).mean())
                if rec["saturated_fraction"] > self.stuck:
                    self._warn(f"step {step}: {rec['saturated_fraction']:.0%} of the {kind} outputs of layer {name} "
                               f"are saturated: their gradients vanish; standardize inputs or scale the init down")
            self.records.append(rec)
        for name, p in self._named:
            g = self._grads.get(name)
            if g is None:
                continue
            norm = float(np.sqrt((g.astype(np.float64) ** 2).sum()))
            w = float(np.sqrt((self._before[name].astype(np.float64) ** 2).sum()))
            upd = float(np.sqrt(((p.data - self._before[name]).astype(np.float64) ** 2).sum()))
            ratio = upd / w if w > 0 else float("nan")
            rec = {"epoch": epoch, "step": step, "layer": name, "kind": "parameter", "grad_mean": float(g.mean()),
                   "grad_std": float(g.std()), "grad_norm": norm, "weight_norm": w, "update_ratio": ratio}
            self.records.append(rec)
            if not np.isfinite(norm) or norm > self.exploding:
                self._warn(f"step {step}: exploding gradient in {name} (norm {norm:.3g}); lower the learning rate or "
                           f"clip gradients")
            elif norm < self.vanishing or (np.isfinite(ratio) and 0 < ratio < 1e-7):
                self._warn(f"step {step}: vanishing gradient in {name} (norm {norm:.3g}, update/weight {ratio:.2g}); "
                           f"this layer is barely learning")
        self._grads, self._before, self._acts = {}, None, {}

    def _warn(self, msg):
        self.warnings.append(msg)
        if self.verbose:
            tqdm.write(msg)  # above a progress bar, if one is shown

    def on_fit_end(self, trainer):
        self._detach()

    def summary(self, epoch=None):
        """The last record of each layer (of ``epoch`` if given), as {layer: {stat: value}}."""
        out = {}
        for r in self.records:
            if epoch is None or r["epoch"] == epoch:
                out.setdefault(r["layer"], {}).update({k: v for k, v in r.items() if k not in ("layer",)})
        return out

    def state_dict(self):
        return {"records": self.records, "warnings": self.warnings}

    def load_state_dict(self, state):
        self.records, self.warnings = list(state["records"]), list(state["warnings"])
