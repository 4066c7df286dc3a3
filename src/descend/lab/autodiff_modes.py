"""Lab ``autodiff-modes``: reverse mode's cost does not grow with the inputs, forward mode's does;
finite differences' error is U-shaped in ε.

Claim. For a scalar function f: ℝⁿ → ℝ, reverse mode (backpropagation) gets the whole gradient
∇f from one forward pass and one backward pass through the flow graph, a small constant times the
cost of evaluating f, whatever n. Forward mode (dual numbers) gets one directional derivative
J·v per pass, so the gradient takes n passes: its cost grows like n. Finite differences also need
n + 1 (forward) or 2n (central) evaluations, and their error is U-shaped in the step ε: the
truncation error falls with ε (like ε for forward, ε² for central differences) while the rounding
error grows like u|f|/ε (u = 2⁻⁵³ in float64), so the best ε is about √u (forward) or u^(1/3)
(central).

Experiment, on f(x) = (Σᵢ softplus(aᵢ xᵢ)) · (1 + mean(cos x)) in float64:
1. Cost counted, not timed: softplus is written as a user-defined ``dc.Function`` box that counts
   how often the engine calls its forward, backward and jvp. The gradient by ``dc.grad`` (reverse),
   by ``dc.jacobian(mode="forward")`` (one ``dc.jvp`` per input) and by central differences, for
   n = 2 ... 2048: box calls per gradient against n.
2. Wall time of each gradient divided by the time of one evaluation of f, against n (reported
   and drawn; timing on a shared machine is too noisy to decide a verdict).
3. Agreement: reverse and forward mode give the same gradient to rounding.
4. Forward and central differences at n = 10 for ε = 10⁻¹ ... 10⁻¹⁴: the relative error
   max|g_fd − ∇f| / max|∇f|, with ∇f from reverse mode (``descend.analysis.finite_difference_errors``;
   step 1's central differences are ``descend.analysis.finite_difference`` with ε = 10⁻⁵).

Criterion: reverse mode's box calls per gradient are the same for every n; forward mode's and
finite differences' grow in proportion to n (at least n calls, and a log-log slope in n of at
least 0.9); the two modes agree to 1e-12;
each difference quotient's error is at least 100 times its minimum at both ends of the ε range,
with the minimum for forward differences in [1e-10, 1e-6] and for central ones in [1e-7, 1e-3].
"""

import time

import numpy as np

import descend as dc
from descend import analysis as A

from .base import lab


class CountedSoftplus(dc.Function):
    """y = log(1 + eˣ), elementwise, counting the engine's calls of forward, backward and jvp."""

    calls = {"forward": 0, "backward": 0, "jvp": 0}

    def forward(self, x):
        """y = log(1 + eˣ) on the array x (counted)."""
        CountedSoftplus.calls["forward"] += 1
        return np.logaddexp(0.0, x)

    def backward(self, gy):
        """∂L/∂x = ∂L/∂y · σ(x) (counted)."""
        CountedSoftplus.calls["backward"] += 1
        (x,) = self.inputs
        return (gy * x.sigmoid(),)

    def jvp(self, tx):
        """ẏ = σ(x) · ẋ (counted)."""
        CountedSoftplus.calls["jvp"] += 1
        (x,) = self.inputs
        return tx * x.sigmoid()


def _function(a):
    """f(x) = (Σᵢ softplus(aᵢ xᵢ)) · (1 + mean(cos x))."""
    def f(x):
        return CountedSoftplus.apply(x * a).sum() * (1.0 + x.cos().mean())
    return f


def _methods(f):
    return {"reverse mode (dc.grad)": lambda x: dc.grad(f)(x).numpy(),
            "forward mode (n × dc.jvp)": lambda x: dc.jacobian(f, mode="forward")(x).numpy(),
            "central differences": lambda x: A.finite_difference(f, x, 1e-5, scheme="central")}


def _count(method, x):
    """Box calls (forward + backward + jvp) the engine makes for one gradient."""
    for k in CountedSoftplus.calls:
        CountedSoftplus.calls[k] = 0
    method(x)
    return sum(CountedSoftplus.calls.values())


def _seconds(fn, budget=0.05, reps=5):
    """The fastest of ``reps`` timings of fn, each repeating it enough to last about ``budget`` s."""
    t0 = time.perf_counter()
    fn()
    once = max(time.perf_counter() - t0, 1e-7)
    inner = max(1, int(budget / once))
    best = float("inf")
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        best = min(best, (time.perf_counter() - t0) / inner)
    return best


def _slope(x, y):
    return float(np.polyfit(np.log(x), np.log(y), 1)[0])


@lab("autodiff-modes", order=60,
     claim="Reverse mode computes the gradient of a scalar function at a small multiple of the cost of "
           "evaluating it, whatever the number of inputs; forward mode needs one pass per input, so its cost grows "
           "with the number of inputs. Finite differences' error is U-shaped in the step ε.",
     source="Notes, backpropagation and the flow graph: forward and reverse mode automatic differentiation")
def experiment(ctx):
    """Run the ``autodiff-modes`` experiment described in the module docstring (``ctx.quick``: the short run);
    return (confirmed, numbers): the verdict by the stated criterion and the measured values it rests on."""
    rng = np.random.default_rng(ctx.seed)
    sizes = [2, 8, 32, 128, 512] + ([] if ctx.quick else [2048])
    calls = {k: [] for k in _methods(None)}
    ratios = {k: [] for k in _methods(None)}
    agreement = 0.0
    for n in sizes:
        a = dc.tensor(rng.normal(size=n), dtype=dc.float64)
        x = dc.tensor(rng.normal(size=n), dtype=dc.float64)
        f = _function(a)
        methods = _methods(f)
        for name, method in methods.items():
            calls[name].append(_count(method, x))
        g_rev = methods["reverse mode (dc.grad)"](x)
        g_fwd = methods["forward mode (n × dc.jvp)"](x)
        agreement = max(agreement, float(np.max(np.abs(g_rev - g_fwd)) / np.max(np.abs(g_rev))))

        def evaluate(f=f, x=x):
            with dc.no_grad():
                f(x)

        t_f = _seconds(evaluate, budget=0.01 if ctx.quick else 0.05)
        for name, method in methods.items():
            ratios[name].append(_seconds(lambda method=method, x=x: method(x), budget=0.01 if ctx.quick else 0.05,
                                         reps=3 if ctx.quick else 5) / t_f)

    # finite differences against ε, at n = 10
    a = dc.tensor(rng.normal(size=10), dtype=dc.float64)
    x = dc.tensor(rng.normal(size=10), dtype=dc.float64)
    f = _function(a)
    exact = dc.grad(f)(x).numpy()
    epsilons = 10.0 ** -np.arange(1, 15 if ctx.quick else 15.01, 1 if ctx.quick else 0.5)
    fd_error = {f"{scheme} differences": A.finite_difference_errors(f, x, epsilons, scheme=scheme, exact=exact)[1]
                for scheme in ("forward", "central")}

    numbers = {"sizes": sizes}
    rev, fwd, cen = calls.values()
    numbers["reverse_box_calls_per_gradient"] = rev
    numbers["forward_box_calls_per_gradient"] = fwd
    numbers["central_differences_box_calls_per_gradient"] = cen
    numbers["reverse_forward_max_relative_difference"] = agreement
    for name, key in zip(ratios, ("reverse", "forward", "central_differences")):
        numbers[f"{key}_time_over_eval_time"] = ratios[name]
        numbers[f"{key}_time_ratio_slope_in_n"] = _slope(sizes, ratios[name])
    numbers["epsilons"] = epsilons
    u_shaped = True
    for name, errs, window in (("forward", fd_error["forward differences"], (1e-10, 1e-6)),
                               ("central", fd_error["central differences"], (1e-7, 1e-3))):
        best = int(np.argmin(errs))
        numbers[f"{name}_differences_relative_error"] = errs
        numbers[f"{name}_differences_best_eps"] = float(epsilons[best])
        numbers[f"{name}_differences_best_error"] = errs[best]
        u_shaped &= (errs[0] >= 100 * errs[best] and errs[-1] >= 100 * errs[best]
                     and window[0] <= epsilons[best] <= window[1])
    numbers["unit_roundoff_sqrt"] = float(np.sqrt(np.finfo(np.float64).eps / 2))
    numbers["unit_roundoff_cbrt"] = float(np.cbrt(np.finfo(np.float64).eps / 2))

    with ctx.figure("modes.png", 1, 3, size=(15, 4.2)) as (fig, axes):
        ax = axes[0]
        for name, c in calls.items():
            ax.loglog(sizes, c, "o-", label=name)
        ax.set(title="Primitive calls per gradient (counted)", xlabel="inputs n", ylabel="softplus box calls")
        ax.legend(fontsize=8)
        ax = axes[1]
        for name, r in ratios.items():
            ax.loglog(sizes, r, "o-", label=name)
        ax.set(title="Time of a gradient / time of f (measured)", xlabel="inputs n", ylabel="cost in evaluations of f")
        ax.legend(fontsize=8)
        ax = axes[2]
        for name, errs in fd_error.items():
            ax.loglog(epsilons, np.maximum(errs, 1e-17), "o-", ms=3, label=name)
        ax.axvline(numbers["unit_roundoff_sqrt"], color="C0", ls=":", label="√u")
        ax.axvline(numbers["unit_roundoff_cbrt"], color="C1", ls=":", label="u^(1/3)")
        ax.set(title="Finite differences: relative error against ε (float64)", xlabel="ε",
               ylabel="max |g_fd − ∇f| / max |∇f|")
        ax.invert_xaxis()
        ax.legend(fontsize=8)

    numbers["forward_box_calls_slope_in_n"] = _slope(sizes, fwd)
    numbers["central_differences_box_calls_slope_in_n"] = _slope(sizes, cen)
    constant_reverse = len(set(rev)) == 1
    linear_forward = all(min(c / n for c, n in zip(counts, sizes)) >= 1 and _slope(sizes, counts) >= 0.9
                         for counts in (fwd, cen))
    confirmed = constant_reverse and linear_forward and agreement < 1e-12 and u_shaped
    return confirmed, numbers
