"""The notes' exact update formulations, as pure in-place functions over NumPy arrays.

The optimizer classes follow PyTorch's equations (see each module); where the notes write an
algorithm with a different scaling or constant placement, the notes' version is here so both
can be used and compared. Notation: θ parameters, g gradient, ε learning rate, α momentum,
ρ decay rates, δ small constant, v velocity, r accumulated squared gradients, s first moment.

==========================  =================================  ===================================
function                    the notes' rule                    PyTorch counterpart
==========================  =================================  ===================================
``sgd_step``                θ ← θ − ε g                         ``SGD(lr=ε)``
``momentum_step``           v ← α v − ε g; θ ← θ + v            ``SGD(lr=ε, momentum=α)`` (b = −v/ε;
                                                                equal while ε is constant)
``ema_momentum_step``       m ← ρ m + (1 − ρ) g; θ ← θ − ε m     ``SGD(momentum=ρ, dampening=ρ)``
                                                                (torch's first buffer is g itself)
``nesterov_step``           θ̃ = θ + α v; g = ∇L(θ̃);             ``SGD(nesterov=True)`` is the
                            v ← α v − ε g; θ ← θ + v            reparametrisation at θ
``adagrad_step``            r ← r + g²; θ ← θ − ε g / (δ + √r)   ``Adagrad(eps=δ)`` (same)
``rmsprop_step``            r ← ρ r + (1 − ρ) g²;                ``RMSprop`` puts δ outside
                            θ ← θ − ε g / √(δ + r)              the root
``rmsprop_nesterov_step``   θ̃ = θ + α v; g = ∇L(θ̃);             ``RMSprop(nesterov=True)`` (the
                            r ← ρ r + (1 − ρ) g²;                reparametrised form)
                            v ← α v − ε g / √(δ + r); θ ← θ + v
``adam_step``               s, r moments; ŝ = s/(1 − ρ₁ᵗ),       ``Adam`` (same)
                            r̂ = r/(1 − ρ₂ᵗ); θ ← θ − ε ŝ/(√r̂ + δ)
``adadelta_step``           Zeiler's rule, ε = 1                 ``Adadelta(lr=1)`` (same)
``perceptron_update``       θ ← θ − α (o − y) x (misclassified)  —
==========================  =================================  ===================================

All functions update their array arguments in place; ``grad_fn(θ̃)`` (for the look-ahead forms)
returns the gradient array at θ̃.
"""

import numpy as np

from ..autodiff.extend import inplace
from ..autodiff.tensor import Tensor
from .hyperparameters import check_number

__all__ = ["sgd_step", "momentum_step", "ema_momentum_step", "nesterov_step", "adagrad_step", "rmsprop_step",
           "rmsprop_nesterov_step", "adam_step", "adadelta_step", "perceptron_update"]


def sgd_step(theta, g, lr):
    """θ ← θ − ε g (in place)."""
    theta -= lr * g


def momentum_step(theta, v, g, lr, alpha):
    """Classical momentum with a velocity: v ← α v − ε g; θ ← θ + v (in place)."""
    v *= alpha
    v -= lr * g
    theta += v


def ema_momentum_step(theta, m, g, lr, rho):
    """Momentum as an exponential moving average of gradients: m ← ρ m + (1 − ρ) g; θ ← θ − ε m."""
    m *= rho
    m += (1.0 - rho) * g
    theta -= lr * m


def nesterov_step(theta, v, grad_fn, lr, alpha):
    """Nesterov momentum with the gradient at the look-ahead point θ̃ = θ + α v:
    v ← α v − ε ∇L(θ̃); θ ← θ + v. Returns ∇L(θ̃)."""
    g = np.asarray(grad_fn(theta + alpha * v))
    v *= alpha
    v -= lr * g
    theta += v
    return g


def adagrad_step(theta, r, g, lr, delta=1e-7):
    """AdaGrad: r ← r + g ⊙ g; θ ← θ − ε / (δ + √r) ⊙ g."""
    r += g * g
    theta -= lr * g / (delta + np.sqrt(r))


def rmsprop_step(theta, r, g, lr, rho=0.9, delta=1e-6):
    """RMSProp as in the notes: r ← ρ r + (1 − ρ) g ⊙ g; θ ← θ − ε / √(δ + r) ⊙ g (δ inside)."""
    r *= rho
    r += (1.0 - rho) * g * g
    theta -= lr * g / np.sqrt(delta + r)


def rmsprop_nesterov_step(theta, r, v, grad_fn, lr, rho=0.9, alpha=0.9, delta=1e-6):
    """RMSProp with Nesterov momentum: θ̃ = θ + α v; g = ∇L(θ̃); r ← ρ r + (1 − ρ) g ⊙ g;
    v ← α v − ε / √(δ + r) ⊙ g; θ ← θ + v. (The notes write √r; δ inside the root keeps the
    first steps finite where r = 0.) Returns g."""
    g = np.asarray(grad_fn(theta + alpha * v))
    r *= rho
    r += (1.0 - rho) * g * g
    v *= alpha
    v -= lr * g / np.sqrt(delta + r)
    theta += v
    return g


def adam_step(theta, s, r, g, t, lr=1e-3, rho1=0.9, rho2=0.999, delta=1e-8):
    """Adam as in the notes (t from 1): s ← ρ₁ s + (1 − ρ₁) g; r ← ρ₂ r + (1 − ρ₂) g ⊙ g;
    ŝ = s / (1 − ρ₁ᵗ); r̂ = r / (1 − ρ₂ᵗ); θ ← θ − ε ŝ / (√r̂ + δ)."""
    s *= rho1
    s += (1.0 - rho1) * g
    r *= rho2
    r += (1.0 - rho2) * g * g
    s_hat = s / (1.0 - rho1 ** t)
    r_hat = r / (1.0 - rho2 ** t)
    theta -= lr * s_hat / (np.sqrt(r_hat) + delta)


def adadelta_step(theta, eg2, edx2, g, rho=0.95, delta=1e-6):
    """AdaDelta (Zeiler 2012): E[g²] ← ρ E[g²] + (1 − ρ) g²; Δθ = −√(E[Δθ²] + δ) / √(E[g²] + δ) ⊙ g;
    E[Δθ²] ← ρ E[Δθ²] + (1 − ρ) Δθ²; θ ← θ + Δθ."""
    eg2 *= rho
    eg2 += (1.0 - rho) * g * g
    dx = -np.sqrt(edx2 + delta) / np.sqrt(eg2 + delta) * g
    edx2 *= rho
    edx2 += (1.0 - rho) * dx * dx
    theta += dx


def perceptron_update(theta, x, y, lr=1.0):
    """The perceptron learning rule on a batch, in place: with o = 1[x θ > 0] (the unit's output),
    θ ← θ − α Σᵢ (oᵢ − yᵢ) xᵢ, so only misclassified samples move θ.

    ``theta``: (d,) float array (append a column of ones to ``x`` for a bias); ``x``: (n, d) or
    (d,); ``y``: (n,) or scalar labels in {0, 1}; α = ``lr`` > 0. Returns the number of
    misclassified samples (0 means the batch is separated)."""
    is_tensor = isinstance(theta, Tensor)
    theta_arr = theta.data if is_tensor else theta
    x = np.atleast_2d(np.asarray(x.data if hasattr(x, "data") and not isinstance(x, np.ndarray) else x))
    y = np.atleast_1d(np.asarray(y.data if hasattr(y, "data") and not isinstance(y, np.ndarray) else y))
    if theta_arr.ndim != 1:
        raise ValueError(f"perceptron_update: theta must be a vector (d,), got shape {theta_arr.shape}")
    if x.ndim != 2 or x.shape[1] != theta_arr.shape[0]:
        raise ValueError(f"perceptron_update: x of shape {x.shape} does not match theta of shape {theta_arr.shape}")
    if y.shape != (x.shape[0],):
        raise ValueError(f"perceptron_update: y of shape {y.shape} does not match {x.shape[0]} samples")
    if not np.all((y == 0) | (y == 1)):
        raise ValueError(f"perceptron_update: labels must be 0 or 1, got {np.unique(y)[:5]}")
    check_number("lr", lr, low=0.0, low_open=True)
    o = (x @ theta_arr > 0).astype(theta_arr.dtype)
    err = o - y.astype(theta_arr.dtype)
    if is_tensor:
        with inplace(theta) as (arr,):
            arr -= lr * (err @ x)
    else:
        theta_arr -= lr * (err @ x)
    return int(np.count_nonzero(err))
