"""Regularizers Ω(θ) for the penalized risk 1/T Σ l(f(x; θ), y) + λ Ω(θ), and magnitude pruning.

- ``l2_penalty``: Ω = Σ θ² (gradient 2θ; PyTorch's ``weight_decay=λ`` equals (λ/2)·Ω here);
- ``l1_penalty``: Ω = Σ |θ| (gradient sign θ, 0 at 0);
- ``prune_by_magnitude``: zero the smallest weights and keep them at zero, an approximation of
  the L0 penalty (count of non-zero weights) as the notes describe.

By default the penalties skip biases and normalization parameters: ``default_filter`` keeps a
parameter only if it has at least 2 dimensions and its name does not end in "bias".
"""

import numpy as np

from descend.autodiff import Tensor
from descend.autodiff.extend import inplace, wrap

from .module import Module


def default_filter(name, param):
    """True for weights (≥ 2 dimensions, name not ending in "bias"): biases and BatchNorm γ, β are skipped."""
    return param.ndim >= 2 and not name.endswith("bias")


def _select(params, filter):
    if isinstance(params, Module):
        named = list(params.named_parameters())
    elif isinstance(params, Tensor):
        named = [("", params)]
    else:
        named = []
        for i, item in enumerate(params):
            if isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str):
                named.append(item)
            elif isinstance(item, Tensor):
                named.append((str(i), item))
            else:
                raise TypeError(
                    f"regularizer: expected Tensors, (name, Tensor) pairs or a Module, got {type(item).__name__}"
                )
    if filter is None:
        return named
    return [(n, p) for n, p in named if filter(n, p)]


def l2_penalty(params, filter=default_filter):
    """Ω(θ) = Σ θ² over the selected parameters (a scalar Tensor; ∂Ω/∂θ = 2θ).

    ``params``: a Module, Tensors, or (name, Tensor) pairs; ``filter(name, param)`` selects
    (None keeps all).
    """
    chosen = _select(params, filter)
    if not chosen:
        raise ValueError(
            "l2_penalty: no parameter passed the filter (biases and 1-d parameters are skipped by default)"
        )
    total = None
    for _, p in chosen:
        term = (p * p).sum()
        total = term if total is None else total + term
    return total


def l1_penalty(params, filter=default_filter):
    """Ω(θ) = Σ |θ| over the selected parameters (a scalar Tensor; ∂Ω/∂θ = sign θ)."""
    chosen = _select(params, filter)
    if not chosen:
        raise ValueError(
            "l1_penalty: no parameter passed the filter (biases and 1-d parameters are skipped by default)"
        )
    total = None
    for _, p in chosen:
        term = p.abs().sum()
        total = term if total is None else total + term
    return total


class Pruning:
    """The masks made by :func:`prune_by_magnitude` and the hooks that keep pruned weights at zero.

    Two mechanisms keep θ ⊙ (1 − mask) = 0 during further training: a gradient hook on each
    pruned parameter multiplies its gradient by the mask (so plain SGD never moves a pruned
    weight), and a forward pre-hook on the module re-applies the masks before every forward pass
    (so optimizers with momentum, Adam or weight decay cannot revive them either). ``apply()``
    re-applies the masks by hand (e.g. after the last optimizer step); ``remove()`` detaches the hooks.
    """

    def __init__(self, module, masks, params):
        self.module, self.masks, self.params = module, masks, params
        self._handles = []
        for name, p in params.items():
            mask = masks[name]
            self._handles.append(p.register_hook(_grad_mask(mask)))
        self._handles.append(module.register_forward_pre_hook(lambda m, args: self.apply()))
        self.apply()

    def apply(self):
        """θ ← θ ⊙ mask for every pruned parameter (in place)."""
        params = list(self.params.values())
        with inplace(*params) as arrays:
            for a, name in zip(arrays, self.params):
                a *= self.masks[name]

    def remove(self):
        """Stop enforcing the masks (the weights keep their current values)."""
        for h in self._handles:
            h.remove()
        self._handles = []

    def sparsity(self):
        """The fraction of pruned (zero-masked) entries over all pruned parameters."""
        total = sum(m.size for m in self.masks.values())
        return float(sum((m == 0).sum() for m in self.masks.values()) / total)


def _grad_mask(mask):
    def hook(g):
        return wrap(g.data * mask)

    return hook


def prune_by_magnitude(module, amount=None, threshold=None, filter=default_filter, scope="global"):
    """Zero the weights of smallest magnitude and keep them at zero during further training.

    Give either ``amount`` (the fraction in [0, 1] of the selected weights to prune, chosen over
    all of them together with ``scope="global"`` or per parameter with ``scope="layer"``) or
    ``threshold`` (prune every weight with |θ| < threshold). Weights already at zero count as
    pruned candidates like any other. Returns a :class:`Pruning` holding the 0/1 ``masks``.
    """
    if (amount is None) == (threshold is None):
        raise ValueError("prune_by_magnitude: give exactly one of amount= (a fraction) or threshold= (a magnitude)")
    if amount is not None and not 0.0 <= amount <= 1.0:
        raise ValueError(f"prune_by_magnitude: amount={amount}; expected a fraction in [0, 1]")
    if threshold is not None and threshold < 0:
        raise ValueError(f"prune_by_magnitude: threshold={threshold}; expected a value >= 0")
    if scope not in ("global", "layer"):
        raise ValueError(f"prune_by_magnitude: scope={scope!r}; expected 'global' or 'layer'")
    if not isinstance(module, Module):
        raise TypeError(f"prune_by_magnitude: expected an nn.Module, got {type(module).__name__}")
    chosen = dict(_select(module, filter))
    if not chosen:
        raise ValueError("prune_by_magnitude: no parameter passed the filter")
    masks = {}
    if threshold is not None:
        for name, p in chosen.items():
            masks[name] = (np.abs(p.data) >= threshold).astype(p.data.dtype)
    elif scope == "global":
        mags = np.concatenate([np.abs(p.data).reshape(-1) for p in chosen.values()])
        k = int(round(amount * mags.size))
        order = np.argsort(mags, kind="stable")
        keep = np.ones(mags.size, dtype=bool)
        keep[order[:k]] = False
        start = 0
        for name, p in chosen.items():
            n = p.data.size
            masks[name] = keep[start : start + n].reshape(p.shape).astype(p.data.dtype)
            start += n
    else:
        for name, p in chosen.items():
            mags = np.abs(p.data).reshape(-1)
            k = int(round(amount * mags.size))
            keep = np.ones(mags.size, dtype=bool)
            keep[np.argsort(mags, kind="stable")[:k]] = False
            masks[name] = keep.reshape(p.shape).astype(p.data.dtype)
    return Pruning(module, masks, chosen)
