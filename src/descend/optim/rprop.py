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

from .optimizer import Optimizer, check_bool, check_number

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


class Rprop(Optimizer):
    """Rprop (see the module docstring). ``Rprop(params, lr=1e-2, etas=(0.5, 1.2),
    step_sizes=(1e-6, 50), *, maximize=False, variant="irprop-")``; state: ``step``, ``prev``,
    ``step_size`` (and ``prev_update``, ``prev_loss`` for the "+" variants)."""

    def __init__(self, params, lr=1e-2, etas=(0.5, 1.2), step_sizes=(1e-6, 50), *, maximize=False,
                 variant="irprop-"):
        super().__init__(params, dict(lr=lr, etas=etas, step_sizes=step_sizes, maximize=maximize, variant=variant))

    def _check_group(self, group):
        super()._check_group(group)
        etas, sizes = group["etas"], group["step_sizes"]
        if not isinstance(etas, (tuple, list)) or len(etas) != 2:
            raise ValueError(f"Invalid etas={etas!r}: expected a pair (etaminus, etaplus) with 0 < etaminus < 1 < etaplus")
        check_number("etaminus etas[0]", etas[0], low=0.0, high=1.0, low_open=True, high_open=True)
        check_number("etaplus etas[1]", etas[1], low=1.0, low_open=True)
        if not isinstance(sizes, (tuple, list)) or len(sizes) != 2:
            raise ValueError(f"Invalid step_sizes={sizes!r}: expected a pair (min, max) with 0 <= min <= max")
        check_number("step_sizes[0] (minimal step size)", sizes[0], low=0.0)
        check_number("step_sizes[1] (maximal step size)", sizes[1], low=float(sizes[0]))
        check_bool("maximize", group["maximize"])
        if group["variant"] not in VARIANTS:
            raise ValueError(f"Invalid variant={group['variant']!r}: expected one of {VARIANTS}")

    def step(self, closure=None):
        """One Rprop step; ``closure`` (re-evaluating the loss) is required by variant "irprop+"."""
        loss = self._evaluate(closure)
        self._check_groups()
        for group in self.param_groups:
            if group["variant"] == "irprop+" and loss is None:
                raise ValueError('Rprop(variant="irprop+") needs the loss: call step(closure)')
            self._update_group(group, None if loss is None else float(loss.item() if hasattr(loss, "item") else loss))
        return loss

    def _update_group(self, group, loss=None):
        etaminus, etaplus = group["etas"]
        smin, smax = group["step_sizes"]
        variant = group["variant"]
        for p, g in self._grads(group):
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
                increased = prev_loss is not None and loss > prev_loss
                st["prev_loss"] = loss
            rprop_update(p.data, g, st["prev"], st["step_size"], etaminus, etaplus, smin, smax, group["maximize"],
                         variant, st.get("prev_update"), increased)
            p.bump_version()
