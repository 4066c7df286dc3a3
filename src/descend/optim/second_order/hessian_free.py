r"""Hessian-free optimization (Martens 2010): truncated Newton by conjugate gradient on B v products.

Around θ the loss is modelled by the damped quadratic

    q(p) = gᵀp + ½ pᵀ(B + λI)p,   B = H = ∇²f(θ)  (``curvature="hessian"``)
                                  or B = G = Jᵀ H_ℓ J  (``curvature="gauss-newton"``),

and q is minimised by linear conjugate gradient on (B + λI) p = −g, which touches B only
through products B v — a Hessian-vector product by forward-over-reverse through the closure
(:meth:`~.oracle.Oracle.hvp`), or a Gauss-Newton-vector product J v (forward mode) → H_ℓ J v
(``dc.hvp`` of the loss of the outputs) → Jᵀ(H_ℓ J v) (one reverse pass)
(:meth:`~.oracle.Oracle.gnvp`). B is never formed: memory O(n), each product a few gradients.

Inner CG (x₀ = ``cg_decay``·p_prev, Martens' warm start; x₀ = 0 if that makes q positive):
  r₀ = −g − (B + λI)x₀, d₀ = r₀;  αᵢ = rᵢᵀrᵢ / dᵢᵀ(B + λI)dᵢ;  xᵢ₊₁ = xᵢ + αᵢdᵢ;
  rᵢ₊₁ = rᵢ − αᵢ(B + λI)dᵢ;  dᵢ₊₁ = rᵢ₊₁ + (rᵢ₊₁ᵀrᵢ₊₁ / rᵢᵀrᵢ) dᵢ,
stopped at ``max_cg_iters``, at ‖r‖₁ ≤ min(½, √‖g‖₁)·‖g‖₁ (SciPy Newton-CG's forcing rule, so
convergence is superlinear near a minimum), by Martens' progress test (i > k, q(xᵢ) < 0,
(q(xᵢ) − q(x_{i−k}))/q(xᵢ) < k·5·10⁻⁴, k = max(10, ⌈i/10⌉)), or on negative curvature
dᵀ(B + λI)d ≤ 0 (only possible with B = H; then the last iterate, or −g/max(1, ‖g‖) if there
is none, is used). q(xᵢ) = −½ xᵢᵀ(rᵢ − g) comes for free.

**CG backtracking**: the iterates x_⌈1.3ʲ⌉ and the last one are kept; f(θ + x) is tried from
the last backwards and the first that decreases f (Armijo, c₁ = 10⁻⁴) is taken — earlier
iterates are shorter, more conservative steps. (Martens walks back while f keeps decreasing;
trying the last first costs one evaluation when it is good, the usual case.) If none does, an
Armijo backtracking line search (c₁ = 10⁻², as Martens) runs along the shortest one.

**Damping** (Martens' Levenberg-Marquardt heuristic, :func:`~.reduction_ratio.update_damping`):
ρ = (f(θ + p_N) − f(θ)) / q(p_N) for the final CG iterate p_N (before backtracking);
λ × 3/2 if ρ < 1/4, λ × 2/3 if ρ > 3/4. If CG met negative curvature dᵀ(B + λI)d ≤ 0, λ also
rises to at least 1.5·(λ − dᵀ(B + λI)d/dᵀd), past the most negative curvature seen. A step that
fails is rejected (θ unchanged) and the iteration repeats with the larger λ.

**Mini-batches** (Martens: gradient on a large batch, curvature on a smaller one): the closure
gives f and g; ``step(closure, curvature_closure=...)`` takes the Hessian-vector products from
another closure (e.g. on a sub-batch), and for Gauss-Newton ``output_fn``/``loss_fn`` may use a
sub-batch too. Use ``max_iter=1`` and a new batch per ``step``; λ and p_prev carry over.

``step(closure, curvature_closure=None, output_fn=None, loss_fn=None)``: ``output_fn()`` returns
the network outputs z and ``loss_fn(z)`` the loss of them (needed for Gauss-Newton, where
f = loss_fn(output_fn()) plus terms whose curvature the damping stands in for).
"""

import math

import numpy as np

from ..hyperparameters import Choice, Flag, Hyperparameters, Integer, Number
from .base import ClosureOptimizer, Move, is_finite, stopping
from .line_search import backtracking
from .reduction_ratio import reduction_ratio, update_damping

__all__ = ["HessianFree", "truncated_cg"]

_CURVATURES = ("hessian", "gauss-newton")


def truncated_cg(Av, b, x0=None, max_iters=250, tol=None, progress_eps=5e-4, gamma=1.3):
    """Approximately solve A x = b (A = B + λI) by CG, Martens-style, minimising q(x) = ½xᵀAx − bᵀx.

    ``Av(v)`` returns A v for v of shape (n,). Returns a dict: ``x`` (last iterate), ``saved``
    (list of (i, xᵢ, q(xᵢ)) at i = ⌈γʲ⌉ and the last), ``iters`` (products done),
    ``reason`` and ``negative_curvature`` (False, or the Rayleigh quotient dᵀAd/dᵀd ≤ 0 found).
    """
    n = b.shape[0]
    if x0 is not None and np.any(x0):
        r = b - Av(x0)
        products = 1
        if -0.5 * float(x0.dot(b + r)) >= 0:  # the warm start is no better than 0
            x, r = np.zeros(n, dtype=b.dtype), b.copy()
        else:
            x = x0.copy()
    else:
        x, r, products = np.zeros(n, dtype=b.dtype), b.copy(), 0
    d = r.copy()
    rr = float(r.dot(r))
    tol = tol if tol is not None else 0.0
    bnorm1 = float(np.abs(b).sum())
    qs = [-0.5 * float(x.dot(b + r))]
    save_at = 1
    saved = []
    reason, neg = "max_cg_iters", False
    i = 0
    while i < max_iters:
        if float(np.abs(r).sum()) <= tol * bnorm1:
            reason = "residual"
            break
        Ad = Av(d)
        products += 1
        dAd = float(d.dot(Ad))
        if not dAd > 0 or not math.isfinite(dAd):
            reason, neg = "negative_curvature", dAd / float(d.dot(d))
            break
        alpha = rr / dAd
        x = x + alpha * d
        r = r - alpha * Ad
        i += 1
        q = -0.5 * float(x.dot(b + r))
        qs.append(q)
        if i >= save_at:
            saved.append((i, x.copy(), q))
            while save_at <= i:
                save_at = math.ceil(save_at * gamma)
        k = max(10, math.ceil(0.1 * i))
        if i > k and q < 0 and (q - qs[i - k]) / q < k * progress_eps:
            reason = "progress"
            break
        rr_new = float(r.dot(r))
        d = r + (rr_new / rr) * d
        rr = rr_new
    q_last = qs[-1]
    if not saved or saved[-1][0] != i:
        if i > 0 or np.any(x):
            saved.append((i, x.copy(), q_last))
    return {"x": x, "saved": saved, "iters": products, "reason": reason, "negative_curvature": neg}


class HessianFree(ClosureOptimizer):
    """Hessian-free (truncated Newton-CG) with Martens' damping and CG backtracking (see module docstring).
    ``params``: one group. State: ``damping`` (λ) and ``cg_solution`` (the warm start), carried across steps."""

    hyperparameters = Hyperparameters(
        *stopping(),
        Number("damping", 1.0, low=0.0, doc="λ, the initial damping"),
        Flag("adaptive_damping", True, doc="Martens' rule: λ × 3/2 if ρ < 1/4, × 2/3 if ρ > 3/4"),
        Number("min_damping", 0.0, low=0.0, doc="λ never falls below it"),
        Choice("curvature", "hessian", choices=_CURVATURES, doc="B = H or the Gauss-Newton G = Jᵀ H_ℓ J"),
        Integer("max_cg_iters", 250, low=1, doc="products B v per CG run at most"),
        Number("cg_tolerance", None, low=0.0, high=1.0, high_open=True, optional=True,
               doc="relative residual to stop CG (None: min(½, √‖g‖₁))"),
        Number("cg_decay", 0.95, low=0.0, high=1.0, doc="CG starts at cg_decay · the previous solution"))

    def _check_options(self, options):
        """``curvature_closure`` (Hessian products), ``output_fn`` and ``loss_fn`` (Gauss-Newton)."""
        unknown = set(options) - {"curvature_closure", "output_fn", "loss_fn"}
        if unknown:
            raise TypeError(f"HessianFree.step() got unexpected options {sorted(unknown)}; it takes curvature_closure, "
                            "output_fn and loss_fn")
        output_fn, loss_fn = options.get("output_fn"), options.get("loss_fn")
        if self.param_groups[0]["curvature"] == "gauss-newton":
            if output_fn is None or loss_fn is None:
                raise ValueError("HessianFree(curvature='gauss-newton') needs step(closure, output_fn=..., "
                                 "loss_fn=...): output_fn() returns the network outputs z and loss_fn(z) the loss "
                                 "of them")
            if options.get("curvature_closure") is not None:
                raise ValueError("curvature_closure is for curvature='hessian'; with Gauss-Newton, evaluate "
                                 "output_fn/loss_fn on the curvature batch instead")
        elif output_fn is not None or loss_fn is not None:
            raise ValueError("output_fn/loss_fn are used only with curvature='gauss-newton'")

    def _start(self, run, f, g):
        run.state.setdefault("damping", run.group["damping"])

    def _product(self, run, v):
        """(B + λI) v with B = H (Hessian-vector product) or G (Gauss-Newton-vector product)."""
        opts = run.options
        if run.group["curvature"] == "hessian":
            bv = run.oracle.hvp(v, opts.get("curvature_closure"))[0]
        else:
            bv = run.oracle.gnvp(v, opts["output_fn"], opts["loss_fn"])
        return bv + run.state["damping"] * v

    def _direction(self, run, f, g):
        """Truncated CG on (B + λI) p = −g from the warm start; returns its result (the iterates)."""
        group, state = run.group, run.state
        tol = group["cg_tolerance"]
        if tol is None:   # SciPy Newton-CG's forcing rule
            tol = min(0.5, math.sqrt(float(np.abs(g).sum())))
        p_prev = state.get("cg_solution")
        x0 = group["cg_decay"] * p_prev if p_prev is not None and p_prev.shape == g.shape else None
        return truncated_cg(lambda v: self._product(run, v), -g, x0, group["max_cg_iters"], tol)

    def _move(self, run, f, g, cg, last):
        """Try the kept CG iterates from the last backwards (the first that decreases f is taken), else
        an Armijo search along the shortest; then Martens' damping update from ρ of the last iterate.
        A step that fails is rejected (θ unchanged), or ends the step without adaptive damping."""
        group, state, flat, oracle = run.group, run.state, run.flat, run.oracle
        x = flat.get()
        candidates = cg["saved"]
        if not candidates:  # negative curvature at once: steepest descent
            sd = -g / max(1.0, float(np.linalg.norm(g)))
            candidates = [(0, sd, float(g.dot(sd)))]
        accepted, rho = None, -math.inf
        for k, (_, p, q) in enumerate(reversed(candidates)):
            if oracle.func_evals >= run.max_eval:
                break
            gtp = float(g.dot(p))
            f_new, g_new = oracle.evaluate_at(x + p)
            finite = is_finite(f_new, g_new)
            if k == 0:  # Martens: ρ of the final CG iterate p_N
                rho = reduction_ratio(f, f_new if finite else math.inf, q)
            if finite and f_new < f and (gtp >= 0 or f_new <= f + 1e-4 * gtp):
                accepted = (p, 1.0, f_new, g_new)
                break
        if accepted is None and oracle.func_evals < run.max_eval:
            p = candidates[0][1]
            gtp = float(g.dot(p))
            if gtp < 0:
                res = backtracking(oracle.directional(x, p), group["lr"], p, f, g, gtp, c1=1e-2,
                                   shrink=0.8, max_ls=max(1, min(30, run.max_eval - oracle.func_evals)))
                if res.t > 0:
                    accepted = (p, res.t, res.f, res.g)
        if accepted is None:
            flat.set(x)
        else:
            p, t, f_new, g_new = accepted
        noise = accepted is not None and abs(f_new - f) <= 1e-14 * max(1.0, abs(f))  # ρ meaningless
        if group["adaptive_damping"] and not noise:
            lam_cg = state["damping"]
            lam = update_damping(lam_cg, rho, min_damping=group["min_damping"])
            if cg["negative_curvature"] is not False:  # B + λI was indefinite: damp past it
                lam = max(lam, 1.5 * (lam_cg - cg["negative_curvature"]))
            state["damping"] = lam
        if accepted is None:
            state["cg_solution"] = None
            if group["adaptive_damping"]:
                return Move(0.0, outcome="rejected")
            return Move(0.0, outcome="max_eval" if oracle.func_evals >= run.max_eval else "no_decrease")
        step = t * p
        flat.set(x + step)
        state["cg_solution"] = cg["x"]
        return Move(t, f_new, g_new, step)

    def _report(self, run):
        return {"damping": run.state.get("damping", run.group["damping"]), "cg_iters": run.oracle.hvp_evals}
