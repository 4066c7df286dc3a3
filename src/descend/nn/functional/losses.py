"""Loss functions l(f(x; θ), y) of empirical risk minimization, with PyTorch's names and reductions.

Every loss takes ``reduction`` in {"mean", "sum", "none"} ("none" keeps one loss per element or
per sample). Bad input raises at the call: a class label out of range names the label and the
number of classes; float labels where class indices are expected raise TypeError; a target
whose shape differs from the prediction raises ValueError instead of broadcasting.

``cross_entropy`` is one fused primitive (log-softmax and negative log-likelihood together,
from the logits through log-sum-exp); its gradient (softmax(a) − onehot(y))/N is a primitive of
its own, whose derivative (the softmax's Jacobian) makes the loss twice differentiable.
"""

import math

import numpy as np

from descend.autodiff import Function, Tensor, where
from descend.autodiff.extend import array_op

from ._util import as_tensor, check_float, check_reduction, const, elementwise_target, reduce, same_dtype, same_shape
from .activations import SoftplusCore


# --------------------------------------------------------------------------- regression losses
def mse_loss(input, target, reduction="mean"):
    """l = (ŷ − y)², averaged over all elements by default. Shapes: input and target equal."""
    target = elementwise_target(input, target, reduction, "mse_loss")
    d = input - target
    return reduce(d * d, reduction)


def l1_loss(input, target, reduction="mean"):
    """l = |ŷ − y| (gradient sign(ŷ − y), 0 at 0). Shapes: input and target equal."""
    target = elementwise_target(input, target, reduction, "l1_loss")
    return reduce((input - target).abs(), reduction)


def huber_loss(input, target, reduction="mean", delta=1.0):
    """l = ½ d² if |d| < δ else δ(|d| − ½δ), d = ŷ − y (PyTorch's HuberLoss). Shapes equal."""
    target = elementwise_target(input, target, reduction, "huber_loss")
    if delta <= 0:
        raise ValueError(f"huber_loss: delta={delta}; expected delta > 0")
    d = input - target
    a = d.abs()
    loss = where(array_op(np.less, a.data, delta), d * d * 0.5, (a - 0.5 * delta) * delta)
    return reduce(loss, reduction)


def smooth_l1_loss(input, target, reduction="mean", beta=1.0):
    """l = ½ d²/β if |d| < β else |d| − ½β (PyTorch's SmoothL1Loss; equals huber_loss/β)."""
    target = elementwise_target(input, target, reduction, "smooth_l1_loss")
    d = input - target
    a = d.abs()
    if beta == 0:
        return reduce(a, reduction)
    loss = where(array_op(np.less, a.data, beta), d * d * (0.5 / beta), a - 0.5 * beta)
    return reduce(loss, reduction)


def _clamp_offset(var, eps):
    """max(σ², ε) − σ², after checking σ² ≥ 0 (an ``array_op``: a compiled step checks each batch)."""
    if (var < 0).any():
        raise ValueError("gaussian_nll_loss: var has negative entries; variances must be non-negative")
    return np.maximum(var, var.dtype.type(eps)) - var


def gaussian_nll_loss(input, target, var, full=False, eps=1e-6, reduction="mean"):
    """l = ½ (log max(σ², ε) + (ŷ − y)² / max(σ², ε)) (+ ½ log 2π if ``full``), PyTorch's GaussianNLLLoss.

    ``var`` has the input's shape, or that shape with a last dimension of 1, or one dimension
    fewer (one variance per sample). The clamp at ε lets the gradient through unchanged, as in PyTorch.
    """
    check_float(input, "gaussian_nll_loss")
    target = as_tensor(target, "gaussian_nll_loss", input)
    var = as_tensor(var, "gaussian_nll_loss", input)
    check_reduction(reduction, "gaussian_nll_loss")
    same_shape(input, target, "gaussian_nll_loss")
    if var.shape != input.shape:
        if input.ndim >= 1 and var.shape == input.shape[:-1]:
            var = var.unsqueeze(-1)
        elif not (input.ndim >= 1 and var.shape == input.shape[:-1] + (1,)):
            raise ValueError(f"gaussian_nll_loss: var has shape {tuple(var.shape)}; expected the input's shape "
                             f"{tuple(input.shape)}, or it with a last dimension of 1 or one dimension fewer")
    # max(σ², ε) as σ² plus a constant: the derivative passes through unchanged (also the tangent of σ²)
    v = var + const(array_op(_clamp_offset, var.data, eps))
    d = input - target
    loss = (v.log() + d * d / v) * 0.5
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return reduce(loss, reduction)


# --------------------------------------------------------------------------- classification helpers
def _classes_last(input, target, name):
    """(M, C) view of the logits and the per-sample shape; checks the target's shape."""
    if input.ndim == 0:
        raise ValueError(f"{name}: input must have a class dimension, got a scalar")
    C = input.shape[0] if input.ndim == 1 else input.shape[1]
    if input.ndim == 1:
        x2, sample_shape = input.reshape(1, C), ()
    elif input.ndim == 2:
        x2, sample_shape = input, (input.shape[0],)
    else:
        perm = (0,) + tuple(range(2, input.ndim)) + (1,)
        x2 = input.permute(*perm).reshape(-1, C)
        sample_shape = (input.shape[0],) + tuple(input.shape[2:])
    return x2, C, sample_shape


def _labels(target, sample_shape, C, ignore_index, name):
    """Validated integer labels as a flat int64 array."""
    y = target.data if isinstance(target, Tensor) else np.asarray(target)
    if y.dtype.kind == "f":
        raise TypeError(f"{name}: target has floating dtype {y.dtype} and shape {y.shape}; "
                        "class indices must be integers (convert with .long()), "
                        "or pass class probabilities with the input's shape")
    if y.dtype.kind not in "iu":
        raise TypeError(f"{name}: target must hold integer class indices, got dtype {y.dtype}")
    if tuple(y.shape) != tuple(sample_shape):
        raise ValueError(f"{name}: target shape {tuple(y.shape)} does not match the input: "
                         f"expected {tuple(sample_shape)} (the input's shape without its class dimension)")
    return array_op(_labels_in_range, y, C, ignore_index, name)   # a compiled step checks each batch


def _labels_in_range(y, C, ignore_index, name):
    """y as a flat int64 copy (the backward pass reads the labels); ValueError naming the first label
    outside 0..C−1 that is not ``ignore_index``."""
    y = y.reshape(-1).astype(np.int64)
    bad = ((y < 0) | (y >= C)) & (y != ignore_index)
    if bad.any():
        label = int(y[bad][0])
        raise ValueError(f"{name}: label {label} is out of range for {C} classes (expected 0 <= label < {C}"
                         f"{'' if ignore_index is None else f', or ignore_index={ignore_index}'})")
    return y


def _class_weight(weight, C, like, name):
    if weight is None:
        return None
    w = weight.data if isinstance(weight, Tensor) else np.asarray(weight)
    if w.shape != (C,):
        raise ValueError(f"{name}: weight has shape {w.shape}; expected ({C},), one weight per class")
    if w.dtype.kind not in "biuf":
        raise TypeError(f"{name}: weight must hold numbers, got dtype {w.dtype}")
    return w.astype(like.dtype)  # a copy: the backward pass reads the weights


class CrossEntropyFn(Function):
    """Fused log-softmax + NLL with class weights, ignore_index and label smoothing (PyTorch's formula).

    Per sample i with label yᵢ (ε = label smoothing, w class weights, C classes):
    lᵢ = (1 − ε) w_yᵢ (−log pᵢ,yᵢ) + (ε/C) Σ_c w_c (−log pᵢ,c), p = softmax(a);
    "mean" divides Σᵢ lᵢ by Σᵢ w_yᵢ over non-ignored samples. ∂lᵢ/∂aᵢ = Aᵢ pᵢ − Bᵢ with
    Aᵢ = (1 − ε) w_yᵢ + (ε/C) Σ_c w_c and Bᵢ = (1 − ε) w_yᵢ onehot(yᵢ) + (ε/C) w (:class:`CrossEntropyGrad`).
    """

    saved_inputs = (0,)

    def forward(self, x, y, weight, ignore_index, smoothing, reduction):
        M, C = x.shape
        dt = x.dtype.type
        valid = y != ignore_index
        all_valid = bool(valid.all())
        ys = y if all_valid else np.where(valid, y, 0)
        m = x.max(axis=1, keepdims=True)
        z = x - m
        e = np.exp(z)
        s = e.sum(axis=1, keepdims=True)
        logs = np.log(s)
        rows = np.arange(M)
        nll = logs[:, 0] - z[rows, ys]
        if weight is None:
            wy = valid.astype(x.dtype)
            wsum = dt(C)
        else:
            wy = weight[ys] * valid
            wsum = weight.sum(dtype=x.dtype)
        loss = nll * (wy * dt(1 - smoothing)) if smoothing else nll * wy
        if smoothing:
            logp = z - logs
            smooth = -(logp.sum(axis=1) if weight is None else logp @ weight)
            loss += dt(smoothing / C) * smooth * valid
        self.p = e / s
        self.ys, self.rows, self.valid, self.all_valid = ys, rows, valid, all_valid
        self.wy, self.wsum, self.weight, self.smoothing, self.reduction = wy, wsum, weight, smoothing, reduction
        if reduction == "none":
            self.scale = None
            return loss
        if reduction == "sum":
            self.scale = dt(1)
            return np.asarray(loss.sum(dtype=x.dtype))
        denom = wy.sum(dtype=x.dtype)
        self.scale = dt(1) / denom if denom != 0 else dt(np.nan)
        return np.asarray(loss.sum(dtype=x.dtype) * self.scale)

    def coefficients(self):
        """Aᵢ (M, 1) and the dense Bᵢ (M, C) of ∂lᵢ/∂aᵢ = Aᵢ pᵢ − Bᵢ."""
        eps, C = self.smoothing, self.p.shape[1]
        dt = self.p.dtype.type
        A = self.wy * dt(1 - eps)
        B = np.zeros_like(self.p)
        B[self.rows, self.ys] = A
        if eps:
            A = A + dt(eps / C) * self.wsum * self.valid
            w = np.ones(C, dtype=self.p.dtype) if self.weight is None else self.weight
            B += dt(eps / C) * w * self.valid[:, None]
        return A[:, None], B

    def grad_array(self):
        """∂lᵢ/∂aᵢ = Aᵢ pᵢ − Bᵢ (M, C) from the softmax of the forward pass, as a fresh array."""
        if self.smoothing == 0 and self.weight is None and self.all_valid:
            G = self.p.copy()
            G[self.rows, self.ys] -= self.p.dtype.type(1)
            return G
        A, B = self.coefficients()
        G = self.p * A
        G -= B
        return G

    def upstream(self, gy):
        """The factor s of ā = s ⊙ (A p − B): ȳ as a column (M, 1) for "none", else ȳ times the
        reduction's scale (1 for "sum", 1/Σ w_y for "mean")."""
        return gy.unsqueeze(1) if self.reduction == "none" else gy * float(self.scale)

    def backward(self, gy):
        return (CrossEntropyGrad.apply(self.inputs[0], gy, ce=self),)

    def jvp(self, tx):
        x = self.inputs[0]
        ones = const(np.ones(x.shape[0] if self.reduction == "none" else (), dtype=x.dtype))
        d = CrossEntropyGrad.apply(x, ones, ce=self) * tx
        return d.sum(dim=1) if self.reduction == "none" else d.sum()


class CrossEntropyGrad(Function):
    """ā = s ⊙ (A p − B), p = softmax(a): the gradient of :class:`CrossEntropyFn` for upstream ȳ
    (s = :meth:`CrossEntropyFn.upstream`). Its derivative in a is the softmax's Jacobian,
    U ↦ p ⊙ (v − Σ_c v p) with v = s A U; in ȳ it is U ↦ Σ_c U ⊙ (A p − B) (times the scale)."""

    def forward(self, x, gy, ce):
        self.ce = ce
        G = ce.grad_array()  # x is the loss's own input: its softmax is the forward pass's p
        if ce.reduction == "none":
            G *= gy[:, None]
        else:
            G *= gy * ce.scale
        return G

    def _parts(self):
        ce, (x, gy) = self.ce, self.inputs
        A, B = ce.coefficients()
        return x.softmax(dim=1), const(A), const(B), ce.upstream(gy)

    def _dgy(self, u, p, A, B):
        """Σ_c u ⊙ (A p − B) per sample, or its sum times the scale."""
        d = (u * (p * A - B)).sum(dim=1)
        return d if self.ce.reduction == "none" else d.sum() * float(self.ce.scale)

    def backward(self, u):
        x, gy = self.inputs
        p, A, B, s = self._parts()
        gx = ggy = None
        if x.requires_grad:
            v = u * s * A
            gx = p * (v - (v * p).sum(dim=1, keepdim=True))
        if gy.requires_grad:
            ggy = self._dgy(u, p, A, B)
        return gx, ggy

    def jvp(self, tx, tgy):
        p, A, B, s = self._parts()
        out = None
        if tx is not None:
            out = s * A * p * (tx - (tx * p).sum(dim=1, keepdim=True))
        if tgy is not None:
            part = self.ce.upstream(tgy) * (p * A - B)
            out = part if out is None else out + part
        return out


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    """Cross-entropy from logits a: l = −log softmax(a)_y (computed with log-sum-exp), PyTorch's F.cross_entropy.

    Shapes: input (N, C) (or (C,), or (N, C, d₁, ...)); target either integer labels (N,)
    (resp. (), (N, d₁, ...)) in [0, C), or class probabilities with the input's shape.
    ``weight`` (C,) weighs classes ("mean" then divides by Σ w_y); samples whose label is
    ``ignore_index`` are left out; ``label_smoothing`` ε mixes the target with the uniform
    distribution: (1 − ε) onehot + ε/C.
    """
    name = "cross_entropy"
    check_float(input, name)
    check_reduction(reduction, name)
    if not 0.0 <= label_smoothing <= 1.0:
        raise ValueError(f"{name}: label_smoothing={label_smoothing}; expected a value in [0, 1]")
    x2, C, sample_shape = _classes_last(input, target, name)
    w = _class_weight(weight, C, input, name)
    tdata = target.data if isinstance(target, Tensor) else np.asarray(target)
    if tdata.dtype.kind == "f" and tuple(tdata.shape) == tuple(input.shape):
        return _soft_cross_entropy(input, as_tensor(target, name, input), x2, C, sample_shape, w, reduction,
                                   label_smoothing)
    y = _labels(target, sample_shape, C, ignore_index, name)
    out = CrossEntropyFn.apply(x2, y=y, weight=w, ignore_index=ignore_index, smoothing=float(label_smoothing),
                               reduction=reduction)
    if reduction == "none":
        return out.reshape(*sample_shape)
    return out


def _soft_cross_entropy(input, target, x2, C, sample_shape, w, reduction, eps):
    same_dtype(input, target, "cross_entropy")
    t2, _, _ = _classes_last(target, None, "cross_entropy")
    if eps:
        t2 = t2 * (1 - eps) + eps / C
    logp = x2.log_softmax(dim=1)
    if w is not None:
        logp = logp * const(w)
    loss = -(t2 * logp).sum(dim=1)
    if reduction == "none":
        return loss.reshape(*sample_shape)
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / float(x2.shape[0])


def nll_loss(input, target, weight=None, ignore_index=-100, reduction="mean"):
    """Negative log-likelihood l = −w_y · input_y of log-probabilities (e.g. from log_softmax).

    Shapes as :func:`cross_entropy` with integer labels; "mean" divides by Σ w_y over
    non-ignored samples.
    """
    name = "nll_loss"
    check_float(input, name)
    check_reduction(reduction, name)
    x2, C, sample_shape = _classes_last(input, target, name)
    w = _class_weight(weight, C, input, name)
    y = _labels(target, sample_shape, C, ignore_index, name)
    ys = array_op(_picked_labels, y, ignore_index)
    wy = array_op(_label_weights, y, ys, w, ignore_index, input.data.dtype)
    picked = x2[array_op(np.arange, len(y)), ys]
    loss = -picked * const(wy)
    if reduction == "none":
        return loss.reshape(*sample_shape)
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / const(array_op(_total, wy))


def _total(w):
    """Σ w as a 0-d array (the divisor of the "mean" reduction)."""
    return np.asarray(w.sum())


def _other_classes(y, C, w, dt):
    """(M, C): 1 (or the class weight w_y) in every column but the label's, 0 there."""
    mask = np.ones((len(y), C), dtype=dt)
    mask[np.arange(len(y)), y] = 0
    if w is not None:
        mask *= w[y][:, None]
    return mask


def _picked_labels(y, ignore_index):
    """The label of each sample, 0 for an ignored one (any valid index: its weight is 0)."""
    return np.where(y != ignore_index, y, 0)


def _label_weights(y, ys, w, ignore_index, dt):
    """w_y per sample (1 without class weights), 0 for an ignored sample, in dtype ``dt``."""
    wy = (np.ones(len(y), dtype=dt) if w is None else w[ys]) * (y != ignore_index)
    return wy.astype(dt, copy=False)


# --------------------------------------------------------------------------- binary classification
class BinaryCrossEntropyFn(Function):
    """l = −(y log p + (1 − y) log(1 − p)) with each log clamped at −100 (PyTorch);
    ∂l/∂p = (p − y) / max(p(1 − p), 1e-12), ∂l/∂y = log(1 − p) − log p (clamped)."""

    def forward(self, p, y):
        with np.errstate(divide="ignore"):
            lp = np.maximum(np.log(p), -100)
            l1p = np.maximum(np.log1p(-p), -100)
        return -(y * lp + (1 - y) * l1p)

    def _dp(self):
        p, y = self.inputs
        return (p - y) / (p * (1 - p)).clamp(min=1e-12)

    def _dy(self):
        p = self.inputs[0]
        with np.errstate(divide="ignore"):
            return (-p).log1p().clamp(min=-100) - p.log().clamp(min=-100)

    def backward(self, gy):
        p, y = self.inputs
        return (gy * self._dp() if p.requires_grad else None), (gy * self._dy() if y.requires_grad else None)

    def jvp(self, tp, ty):
        out = None if tp is None else tp * self._dp()
        if ty is not None:
            part = ty * self._dy()
            out = part if out is None else out + part
        return out


def _check_probabilities(p, name):
    if ((p < 0) | (p > 1)).any():
        raise ValueError(f"{name}: input must hold probabilities in [0, 1], found values from {p.min()} to "
                         f"{p.max()}; use binary_cross_entropy_with_logits for logits")


def binary_cross_entropy(input, target, weight=None, reduction="mean"):
    """l = −w (y log p + (1 − y) log(1 − p)) for probabilities p ∈ [0, 1] (logs clamped at −100, as PyTorch).

    Shapes: input and target equal; ``weight`` broadcasts to them.
    """
    name = "binary_cross_entropy"
    target = elementwise_target(input, target, reduction, name)
    array_op(_check_probabilities, input.data, name)   # (each batch, also in a compiled step)
    loss = BinaryCrossEntropyFn.apply(input, target)
    if weight is not None:
        loss = loss * as_tensor(weight, name, input)
    return reduce(loss, reduction)


def binary_cross_entropy_with_logits(input, target, weight=None, reduction="mean", pos_weight=None):
    """l = −w [π y log σ(a) + (1 − y) log(1 − σ(a))], computed stably from the logits a.

    With π = ``pos_weight`` (broadcast over the last dimension, one per class):
    l = (1 − y) a + (1 + (π − 1) y) softplus(−a), softplus stable; ∂l/∂a = σ(a) − y for π = 1.
    Shapes: input and target equal.
    """
    name = "binary_cross_entropy_with_logits"
    target = elementwise_target(input, target, reduction, name)
    sp = SoftplusCore.apply(-input)
    if pos_weight is None:
        loss = (1 - target) * input + sp
    else:
        pw = as_tensor(pos_weight, name, input)
        loss = (1 - target) * input + (1 + (pw - 1) * target) * sp
    if weight is not None:
        loss = loss * as_tensor(weight, name, input)
    return reduce(loss, reduction)


def _signs(t, dt, name):
    """The targets in dtype ``dt``, after checking each is −1 or +1 (an ``array_op``: checked at each batch)."""
    if not np.isin(t, (-1, 1)).all():
        bad = t[~np.isin(t, (-1, 1))].reshape(-1)[0]
        raise ValueError(f"{name}: target value {bad} is not -1 or +1; the hinge loss needs targets t in {{-1, +1}}")
    return t.astype(dt)


def hinge_loss(input, target, margin=1.0, reduction="mean"):
    """The notes' hinge loss l = max(0, 1 − t·y) for targets t ∈ {−1, +1} and scores y (``margin`` replaces 1).

    Shapes: input and target equal. Gradient −t where t·y < margin, else 0.
    """
    name = "hinge_loss"
    check_float(input, name)
    check_reduction(reduction, name)
    t = target.data if isinstance(target, Tensor) else np.asarray(target)
    same_shape(input, const(t), name)
    t = const(array_op(_signs, t, input.data.dtype, name))
    return reduce((margin - t * input).relu(), reduction)


def multi_margin_loss(input, target, p=1, margin=1.0, weight=None, reduction="mean"):
    """Multi-class hinge (PyTorch's MultiMarginLoss): lᵢ = Σ_{j≠y} w_y max(0, margin − a_y + a_j)^p / C.

    Shapes: input (N, C) or (C,); target (N,) or () integer labels; p is 1 or 2.
    """
    name = "multi_margin_loss"
    check_float(input, name)
    check_reduction(reduction, name)
    if p not in (1, 2):
        raise ValueError(f"{name}: p={p}; expected 1 or 2")
    if input.ndim not in (1, 2):
        raise ValueError(f"{name}: input must have shape (N, C) or (C,), got {tuple(input.shape)}")
    x2, C, sample_shape = _classes_last(input, target, name)
    w = _class_weight(weight, C, input, name)
    y = _labels(target, sample_shape, C, None, name)
    M = len(y)
    xy = x2[array_op(np.arange, M), y].reshape(M, 1)
    z = (x2 - xy + margin).relu()
    if p == 2:
        z = z * z
    loss = (z * const(array_op(_other_classes, y, C, w, input.data.dtype))).sum(dim=1) / float(C)
    if reduction == "none":
        return loss.reshape(*sample_shape)
    return reduce(loss, reduction)


def kl_div(input, target, reduction="mean", log_target=False):
    """KL divergence in PyTorch's convention: input holds log q, target holds p (or log p if ``log_target``).

    Pointwise l = p (log p − log q) (0 where p = 0). reduction "batchmean" divides the sum by the
    batch size (the mathematical KL per sample); "mean" divides by the number of elements.
    Shapes: input and target equal.
    """
    name = "kl_div"
    target = elementwise_target(input, target, reduction, name, extra=("batchmean",))
    if log_target:
        loss = target.exp() * (target - input)
    else:
        pos = array_op(np.greater, target.data, 0)
        safe = where(pos, target, const(np.ones((), dtype=input.data.dtype)))
        loss = target * safe.log() - target * input
    if reduction == "batchmean":
        n = input.shape[0] if input.ndim else 1
        return loss.sum() / float(n)
    return reduce(loss, reduction)
