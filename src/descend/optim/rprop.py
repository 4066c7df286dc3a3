"""Resilient backpropagation (Rprop): per-weight step sizes driven by the sign of g only.

Notes' notation: Δ the per-weight step size (starts at ε = ``lr``), η⁻, η⁺ = ``etas``,
[Δmin, Δmax] = ``step_sizes``, g_prev the previous (stored) gradient; g negated when ``maximize``.

``variant="irprop-"`` (default; exactly ``torch.optim.Rprop``, Igel & Hüsken 2000)::

    s = sign(g ⊙ g_prev)
    Δ ← clip(Δ · (η⁺ if s > 0, η⁻ if s < 0, 1 if s = 0), Δmin, Δmax)
    g ← 0 where s < 0                     (no weight backtracking)
    θ ← θ − sign(g) ⊙ Δ;  g_prev ← g

``variant="rprop+"`` (Riedmiller & Braun 1993, with weight backtracking; beyond PyTorch)::

    same Δ; where s < 0: Δθ = −Δθ_prev (undo the last move) and g_prev ← 0;
    elsewhere Δθ = −sign(g) Δ and g_prev ← g;  θ ← θ + Δθ

``variant="irprop+"`` (Igel & Hüsken 2000; beyond PyTorch): as rprop+, but the last move is undone
where s < 0 only if the loss went up (L_t > L_{t−1}); it needs ``step(closure)``.

Rprop uses only the sign of the gradient, so it is meant for full-batch training: with
mini-batches the sign flips from noise and the step sizes collapse.
"""

import numpy as np

from .hyperparameters import Choice, Flag, Hyperparameters, Number, Pair
from .optimizer import Optimizer

__all__ = ["Rprop", "rprop_update"]

VARIANTS = ("irprop-", "rprop+", "irprop+")


def rprop_update(param, grad, prev, step_size, etaminus=0.5, etaplus=1.2, step_size_min=1e-6, step_size_max=50.0,
                 maximize=False, variant="irprop-", prev_update=None, loss_increased=True):
    """One Rprop step in place on ``param``, ``prev`` (g_prev), ``step_size`` (Δ) and, for the
    "+" variants, ``prev_update`` (Δθ_prev). ``loss_increased`` (L_t > L_{t−1}) is used by irprop+."""
    g = -grad if maximize else grad
    s = np.sign(g * prev)
    factor = np.where(s > 0, etaplus, np.where(s < 0, etaminus, 1.0)).astype(param.dtype, copy=False)
    step_size *= factor
    np.clip(step_size, step_size_min, step_size_max, out=step_size)
    neg = s < 0
    gz = np.where(neg, 0.0, g).astype(param.dtype, copy=False)
    if variant == "irprop-":
        param -= np.sign(gz) * step_size
    else:
        upd = -np.sign(gz) * step_size
        if variant == "rprop+" or loss_increased:
            upd = np.where(neg, -prev_update, upd).astype(param.dtype, copy=False)
        param += upd
        prev_update[...] = upd
    prev[...] = gz


def step_sizes_ordered(group, owner=None):
    """Rule: step_sizes = (Δmin, Δmax) with Δmin ≤ Δmax."""
    low, high = group["step_sizes"]
    if high < low:
        raise ValueError(f"Invalid step_sizes[1] (maximal step size)={high!r}: expected >= step_sizes[0] = {low!r}")


class Rprop(Optimizer):
    """Rprop (see the module docstring). State: ``step``, ``prev``, ``step_size`` (and
    ``prev_update``, ``prev_loss`` for the "+" variants). ``variant="irprop+"`` needs ``step(closure)``."""

    hyperparameters = Hyperparameters(
        Number("lr", 1e-2, low=0.0, label="learning rate lr", doc="Δ₀, the initial step size of every weight"),
        Pair("etas", (0.5, 1.2),
             Number("etaminus", low=0.0, high=1.0, low_open=True, high_open=True, label="etaminus etas[0]"),
             Number("etaplus", low=1.0, low_open=True, label="etaplus etas[1]"),
             doc="η⁻, η⁺: the step-size factors on a sign change and on agreement"),
        Pair("step_sizes", (1e-6, 50),
             Number("step_size_min", low=0.0, label="step_sizes[0] (minimal step size)"),
             Number("step_size_max", low=0.0, label="step_sizes[1] (maximal step size)"),
             doc="Δmin, Δmax: the step sizes are clipped into [Δmin, Δmax]"),
        Flag("maximize", False, keyword_only=True, doc="ascend instead of descend"),
        Choice("variant", "irprop-", choices=VARIANTS, keyword_only=True,
               doc="irprop- (PyTorch's), rprop+ or irprop+ (with weight backtracking)"),
        rules=[step_sizes_ordered])

    def _update_group(self, group, grads, loss):
        etaminus, etaplus = group["etas"]
        smin, smax = group["step_sizes"]
        variant = group["variant"]
        if loss is None and any(g["variant"] == "irprop+" for g in self.param_groups):   # before any group moves
            raise ValueError('Rprop(variant="irprop+") needs the loss: call step(closure)')
        for p, g in grads:
            st = self.state[p]
            if not st:
                st["step"] = 0
                st["prev"] = np.zeros_like(p.data)
                st["step_size"] = np.full_like(p.data, group["lr"])
            if variant != "irprop-" and "prev_update" not in st:
                st["prev_update"] = np.zeros_like(p.data)
            st["step"] += 1
            increased = True
            if variant == "irprop+":
                prev_loss = st.get("prev_loss")
                increased = prev_loss is not None and float(loss.item()) > prev_loss
                st["prev_loss"] = float(loss.item())
            rprop_update(p.data, g, st["prev"], st["step_size"], etaminus, etaplus, smin, smax, group["maximize"],
                         variant, st.get("prev_update"), increased)
