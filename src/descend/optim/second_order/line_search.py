"""Line searches along a direction d: find a step t > 0 so that θ + t·d is a good enough point.

With φ(t) = f(θ + t·d) and φ'(t) = ∇f(θ + t·d)ᵀd (so φ'(0) = gᵀd < 0 for a descent direction):

- **Armijo** (sufficient decrease):  φ(t) ≤ φ(0) + c₁ t φ'(0);
- **strong Wolfe** adds the curvature condition  |φ'(t)| ≤ c₂ |φ'(0)|,  0 < c₁ < c₂ < 1.

:func:`backtracking` tries t, then shrinks it (safeguarded quadratic interpolation of φ(0),
φ'(0), φ(t), clamped to [0.1 t, 0.5 t]) until Armijo holds. :func:`strong_wolfe` is a faithful
port of ``torch.optim.lbfgs._strong_wolfe`` (itself minFunc / torch7 ``lswolfe.lua``):
a bracketing phase that grows t by cubic interpolation clamped to [t + 0.01(t − t_prev), 10 t]
until an interval containing a strong-Wolfe point is found, then a zoom phase that shrinks it by
cubic interpolation (:func:`cubic_interpolate`), moved to 0.1 × the bracket width from a
boundary when progress stalls. On finite values it makes exactly PyTorch's choices.

Safety (beyond PyTorch): a trial point whose loss or gradient is NaN or ±Inf counts as φ = +∞.
It is never accepted: it becomes the upper end of the bracket and the search backs off (by
bisection, since a cubic through ∞ means nothing). If the search is exhausted without a better
point, it returns t = 0 (θ unchanged, finite) and says why in ``reason``.

Both take ``phi(t) -> (f, g)`` (loss and flat gradient at θ + t·d) and return a
:class:`LineSearchResult` (t, f, g, evals, reason, success).
"""

import math
from typing import NamedTuple

import numpy as np

__all__ = ["LineSearchResult", "cubic_interpolate", "strong_wolfe", "backtracking"]


class LineSearchResult(NamedTuple):
    """What a line search found: step ``t``, f and flat g at θ + t·d, ``evals`` (calls of φ),
    ``reason`` (why it stopped) and ``success`` (whether the requested conditions hold at t)."""

    t: float
    f: float
    g: np.ndarray
    evals: int
    reason: str
    success: bool


def _finite(f, g):
    return math.isfinite(f) and bool(np.isfinite(g).all())


def cubic_interpolate(x1, f1, g1, x2, f2, g2, bounds=None):
    """The minimiser of the cubic through (x₁, f₁, f₁'=g₁) and (x₂, f₂, f₂'=g₂), clamped to ``bounds``.

    d₁ = g₁ + g₂ − 3 (f₁ − f₂)/(x₁ − x₂),  d₂ = √(d₁² − g₁g₂),
    t = x₂ − (x₂ − x₁)(g₂ + d₂ − d₁)/(g₂ − g₁ + 2d₂)  (for x₁ ≤ x₂);
    the midpoint of the bounds when d₁² < g₁g₂ (no real minimiser) or a value is not finite.
    """
    if bounds is not None:
        xmin_bound, xmax_bound = bounds
    else:
        xmin_bound, xmax_bound = (x1, x2) if x1 <= x2 else (x2, x1)
    if not all(math.isfinite(v) for v in (f1, g1, f2, g2)):
        return (xmin_bound + xmax_bound) / 2.0
    d1 = g1 + g2 - 3 * (f1 - f2) / (x1 - x2)
    d2_square = d1 ** 2 - g1 * g2
    if d2_square >= 0:
        d2 = math.sqrt(d2_square)
        if x1 <= x2:
            min_pos = x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        else:
            min_pos = x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2))
        if not math.isfinite(min_pos):
            return (xmin_bound + xmax_bound) / 2.0
        return min(max(min_pos, xmin_bound), xmax_bound)
    return (xmin_bound + xmax_bound) / 2.0


def _check(t, f, gtd, where):
    if not (isinstance(t, (int, float, np.floating)) and t > 0 and math.isfinite(t)):
        raise ValueError(f"{where}: initial step t={t!r}; expected a finite number > 0")
    if not math.isfinite(f):
        raise ValueError(f"{where}: the loss at the starting point is {f}; the search needs a finite start")
    if not gtd < 0:
        raise ValueError(f"{where}: gᵀd = {gtd}; the direction must be a descent direction (gᵀd < 0)")


def strong_wolfe(phi, t, d, f, g, gtd, c1=1e-4, c2=0.9, tolerance_change=1e-9, max_ls=25):
    """Strong-Wolfe line search (PyTorch's ``_strong_wolfe``) from the step ``t`` along ``d``.

    ``phi(t)`` returns (f, g) at θ + t·d; ``f``, ``g`` and ``gtd`` = gᵀd are φ(0), ∇f(θ) and
    φ'(0); ``max_ls`` bounds the number of calls of φ. Returns a :class:`LineSearchResult`; its
    ``t`` is 0 (θ unchanged) if no trial point was better than the start.
    """
    _check(t, f, gtd, "strong_wolfe")
    if not 0 < c1 < c2 < 1:
        raise ValueError(f"strong_wolfe: c1={c1}, c2={c2}; expected 0 < c1 < c2 < 1")
    inf = math.inf
    d_norm = float(np.abs(d).max())
    g = g.copy()

    def evaluate(step):
        fn, gn = phi(step)
        gn = np.asarray(gn)
        gtdn = float(gn.dot(d))
        if not (_finite(fn, gn) and math.isfinite(gtdn)):
            return inf, gn, inf
        return float(fn), gn, gtdn

    f_new, g_new, gtd_new = evaluate(t)
    ls_func_evals = 1
    t_prev, f_prev, g_prev, gtd_prev = 0.0, f, g, gtd
    done = False
    ls_iter = 0
    reason = "max_ls"
    bracket_gtd = None
    while ls_iter < max_ls:
        if f_new > (f + c1 * t * gtd) or (ls_iter > 1 and f_new >= f_prev):
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        if abs(gtd_new) <= -c2 * gtd:
            bracket, bracket_f, bracket_g = [t], [f_new], [g_new]
            done = True
            break
        if gtd_new >= 0:
            bracket, bracket_f = [t_prev, t], [f_prev, f_new]
            bracket_g, bracket_gtd = [g_prev, g_new.copy()], [gtd_prev, gtd_new]
            break
        # extrapolate: cubic interpolation clamped to [t + 0.01 (t - t_prev), 10 t]
        min_step = t + 0.01 * (t - t_prev)
        max_step = t * 10
        tmp = t
        t = cubic_interpolate(t_prev, f_prev, gtd_prev, t, f_new, gtd_new, bounds=(min_step, max_step))
        t_prev, f_prev, g_prev, gtd_prev = tmp, f_new, g_new.copy(), gtd_new
        f_new, g_new, gtd_new = evaluate(t)
        ls_func_evals += 1
        ls_iter += 1

    if ls_iter == max_ls:
        bracket, bracket_f, bracket_g = [0.0, t], [f, f_new], [g, g_new]

    insuf_progress = False
    low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[-1] else (1, 0)
    while not done and ls_iter < max_ls:
        if abs(bracket[1] - bracket[0]) * d_norm < tolerance_change:
            reason = "bracket_small"
            break
        t = cubic_interpolate(bracket[0], bracket_f[0], bracket_gtd[0], bracket[1], bracket_f[1], bracket_gtd[1])
        eps = 0.1 * (max(bracket) - min(bracket))
        if min(max(bracket) - t, t - min(bracket)) < eps:
            if insuf_progress or t >= max(bracket) or t <= min(bracket):
                if abs(t - max(bracket)) < abs(t - min(bracket)):
                    t = max(bracket) - eps
                else:
                    t = min(bracket) + eps
                insuf_progress = False
            else:
                insuf_progress = True
        else:
            insuf_progress = False
        f_new, g_new, gtd_new = evaluate(t)
        ls_func_evals += 1
        ls_iter += 1
        if f_new > (f + c1 * t * gtd) or f_new >= bracket_f[low_pos]:
            bracket[high_pos], bracket_f[high_pos] = t, f_new
            bracket_g[high_pos], bracket_gtd[high_pos] = g_new.copy(), gtd_new
            low_pos, high_pos = (0, 1) if bracket_f[0] <= bracket_f[1] else (1, 0)
        else:
            if abs(gtd_new) <= -c2 * gtd:
                done = True
            elif gtd_new * (bracket[high_pos] - bracket[low_pos]) >= 0:
                bracket[high_pos], bracket_f[high_pos] = bracket[low_pos], bracket_f[low_pos]
                bracket_g[high_pos], bracket_gtd[high_pos] = bracket_g[low_pos], bracket_gtd[low_pos]
            bracket[low_pos], bracket_f[low_pos] = t, f_new
            bracket_g[low_pos], bracket_gtd[low_pos] = g_new.copy(), gtd_new

    t = bracket[low_pos]
    f_new = bracket_f[low_pos]
    g_new = bracket_g[low_pos]
    if done:
        reason = "strong_wolfe"
    if not math.isfinite(f_new):  # only possible when every trial failed: stay at the start
        t, f_new, g_new = 0.0, f, g
    if t == 0:
        f_new, g_new = f, g
        reason = "no_decrease_" + reason
    return LineSearchResult(t, f_new, g_new, ls_func_evals, reason, done)


def backtracking(phi, t, d, f, g, gtd, c1=1e-4, shrink=0.5, max_ls=25):
    """Backtracking Armijo line search: the first t in t₀, t₁, ... with φ(t) ≤ φ(0) + c₁ t φ'(0).

    Each rejected t is replaced by the minimiser of the quadratic through φ(0), φ'(0), φ(t),
    clamped to [0.1 t, ``shrink``·t] (plain t ← ``shrink``·t when φ(t) is not finite).
    Returns a :class:`LineSearchResult`; ``t`` = 0 (θ unchanged) if ``max_ls`` trials fail.
    """
    _check(t, f, gtd, "backtracking")
    if not 0 < c1 < 1:
        raise ValueError(f"backtracking: c1={c1}; expected 0 < c1 < 1")
    if not 0 < shrink < 1:
        raise ValueError(f"backtracking: shrink={shrink}; expected 0 < shrink < 1")
    for k in range(1, max_ls + 1):
        f_new, g_new = phi(t)
        g_new = np.asarray(g_new)
        finite = _finite(f_new, g_new)
        if finite and f_new <= f + c1 * t * gtd:
            return LineSearchResult(t, float(f_new), g_new, k, "armijo", True)
        if finite:
            denom = 2.0 * (f_new - f - gtd * t)
            t_q = -gtd * t * t / denom if denom > 0 else shrink * t
            t = min(max(t_q, 0.1 * t), shrink * t)
        else:
            t = shrink * t
    return LineSearchResult(0.0, f, g, max_ls, "no_decrease_max_ls", False)
