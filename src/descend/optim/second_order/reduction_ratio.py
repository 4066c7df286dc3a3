"""The reduction ratio ρ and the damping / trust-radius rules built on it.

A step p proposed by minimising a quadratic model q(p) = gᵀp + ½ pᵀ B p of f around θ is judged by

    ρ = (f(θ + p) − f(θ)) / (q(p) − q(0)),

the actual reduction over the predicted one (ρ ≈ 1: the model is trustworthy; ρ small or
negative: it is not). One rule, two uses:

- Levenberg-Marquardt / Martens damping λ (Newton, Hessian-free; Martens 2010, §4.1):
  λ ← λ·``increase`` (3/2) if ρ < 1/4, λ ← λ·``decrease`` (2/3) if ρ > 3/4, else unchanged.
- Trust-region radius Δ (SciPy ``_trustregion.py``): Δ ← Δ/4 if ρ < 1/4; Δ ← min(2Δ, Δ_max)
  if ρ > 3/4 and the step reached the boundary.

A step whose f(θ + p) is NaN or ±Inf has ρ = −∞ (the worst possible).
"""

import math

__all__ = ["reduction_ratio", "update_damping", "update_radius"]


def reduction_ratio(f_old, f_new, predicted):
    """ρ = (f_new − f_old) / predicted, with predicted = q(p) − q(0) (< 0 for a useful model).

    Returns −∞ if f_new is not finite and 0 if the model predicts no decrease (predicted ≥ 0)
    while f did not decrease either.
    """
    if not math.isfinite(f_new):
        return -math.inf
    actual = f_new - f_old
    if predicted >= 0:
        return 1.0 if actual < 0 else 0.0
    return actual / predicted


def update_damping(lam, rho, increase=1.5, decrease=2.0 / 3.0, low=0.25, high=0.75, min_damping=0.0):
    """Martens' rule: λ·``increase`` if ρ < ``low``, λ·``decrease`` if ρ > ``high``, else λ.

    The result is at least ``min_damping``.
    """
    if rho < low:
        lam = lam * increase
    elif rho > high:
        lam = lam * decrease
    return max(lam, min_damping)


def update_radius(radius, rho, on_boundary, max_radius=1000.0):
    """SciPy's trust-region rule: Δ/4 if ρ < 1/4, min(2Δ, Δ_max) if ρ > 3/4 on the boundary."""
    if rho < 0.25:
        return 0.25 * radius
    if rho > 0.75 and on_boundary:
        return min(2.0 * radius, max_radius)
    return radius
