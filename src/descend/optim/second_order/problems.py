"""Classic unconstrained test problems, written with descend Tensor operations.

Each function takes a Tensor x of shape (n,) and returns f(x) as a scalar Tensor, so that
``dc.grad``, ``dc.hessian`` and the optimizers' closures differentiate it. ``PROBLEMS`` lists the
ones the tests and the benchmark use, with the start x₀ and the minimum value f*.

- Rosenbrock (chained, SciPy's ``rosen``): f(x) = Σᵢ 100 (x_{i+1} − xᵢ²)² + (1 − xᵢ)²,
  minimum 0 at (1, ..., 1). 2-D from the classic start (−1.2, 1); 10-D from
  (−1.2, ..., −1.2). (From the alternating start (−1.2, 1, ..., −1.2, 1) the chained 10-D
  function leads to its local minimiser near (−1, 1, ..., 1), f ≈ 3.99, where SciPy's own BFGS
  stops; the all −1.2 start has every SciPy method reach the global minimum.)
- Beale: f(x, y) = (1.5 − x + xy)² + (2.25 − x + xy²)² + (2.625 − x + xy³)², minimum 0 at
  (3, 0.5), start (1, 1).
- Quadratic: f(x) = ½ xᵀAx − bᵀx with A = Q diag(λ) Qᵀ, λ log-spaced in [1, κ] (condition
  number κ), Q a random rotation; minimum f* = −½ bᵀA⁻¹b at A⁻¹b, start 0.
"""

import numpy as np

from ...autodiff.extend import wrap

__all__ = ["rosenbrock", "beale", "Quadratic", "PROBLEMS", "MINIMIZERS"]


def rosenbrock(x):
    """f(x) = Σ_{i<n} 100 (x_{i+1} − x_i²)² + (1 − x_i)² for x of shape (n,), n ≥ 2."""
    a, b = x[:-1], x[1:]
    return (100.0 * (b - a * a) ** 2 + (1.0 - a) ** 2).sum()


def beale(x):
    """f(x) = (1.5 − x₀ + x₀x₁)² + (2.25 − x₀ + x₀x₁²)² + (2.625 − x₀ + x₀x₁³)², x of shape (2,)."""
    u, v = x[0], x[1]
    return (1.5 - u + u * v) ** 2 + (2.25 - u + u * v ** 2) ** 2 + (2.625 - u + u * v ** 3) ** 2


class Quadratic:
    """f(x) = ½ xᵀAx − bᵀx, A (n, n) symmetric positive definite with condition number ``cond``.

    Eigenvalues log-spaced in [1, cond], eigenvectors from the QR of a Gaussian matrix drawn with
    ``numpy.random.default_rng(seed)``; b ~ N(0, I). ``A``, ``b``, ``x_star`` = A⁻¹b and ``f_star``
    are NumPy arrays / floats.
    """

    def __init__(self, n=20, cond=100.0, seed=0, dtype=np.float64):
        rng = np.random.default_rng(seed)
        q, _ = np.linalg.qr(rng.normal(size=(n, n)))
        self.A = ((q * np.logspace(0, np.log10(cond), n)) @ q.T).astype(dtype)
        self.A = (self.A + self.A.T) / 2
        self.b = rng.normal(size=n).astype(dtype)
        self.x_star = np.linalg.solve(self.A, self.b)
        self.f_star = float(-0.5 * self.b @ self.x_star)
        self._A = wrap(self.A)
        self._b = wrap(self.b)

    def __call__(self, x):
        return 0.5 * (x * (self._A @ x)).sum() - (self._b * x).sum()


def _problems():
    quad = Quadratic(20, 100.0, seed=0)
    return {
        "rosenbrock-2": (rosenbrock, np.array([-1.2, 1.0]), 0.0),
        "rosenbrock-10": (rosenbrock, np.full(10, -1.2), 0.0),
        "beale": (beale, np.array([1.0, 1.0]), 0.0),
        "quadratic-20": (quad, np.zeros(20), quad.f_star),
    }


#: name → (f, x₀ (float64), f*): Rosenbrock 2-D and 10-D, Beale, the 20-D quadratic with κ = 100.
PROBLEMS = _problems()

#: name → the minimiser x* (float64) of each problem in ``PROBLEMS``
MINIMIZERS = {"rosenbrock-2": np.ones(2), "rosenbrock-10": np.ones(10), "beale": np.array([3.0, 0.5]),
              "quadratic-20": PROBLEMS["quadratic-20"][0].x_star}
