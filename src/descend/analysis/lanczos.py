"""Lanczos tridiagonalization with full reorthogonalization, on a symmetric operator v ↦ H v.

From a unit vector q₁, the Lanczos recurrence builds an orthonormal basis Q_m = [q₁ ... q_m] of
the Krylov space span{q₁, H q₁, ..., H^{m-1} q₁} in which H is tridiagonal:

    H q_j = β_{j-1} q_{j-1} + α_j q_j + β_j q_{j+1},      T_m = Q_mᵀ H Q_m = tridiag(β, α, β).

The eigenvalues θ_i of T_m (Ritz values) approach the extreme eigenvalues of H after a few
tens of products; with T_m = S Θ Sᵀ, the Ritz vector y_i = Q_m s_i has the residual

    ‖H y_i − θ_i y_i‖ = |β_m| |s_{m,i}|,

so there is an eigenvalue of H within that distance of θ_i (and, given a gap δ to the rest of
the spectrum, within |β_m s_{m,i}|²/δ). In floating point the q_j lose orthogonality as Ritz
values converge, so after the three-term recurrence every new vector is orthogonalized against
all earlier ones, and once more when that removed more than half of it (‖w‖ < ‖w₀‖/√2: the
criterion of Daniel, Gragg, Kaufman & Stewart 1976, "twice is enough"). When β_j vanishes the
Krylov space is invariant: the recurrence restarts from a random vector orthogonal to Q_j with
β_j = 0 (T becomes block diagonal), which is how repeated eigenvalues (and, after n steps, the
whole spectrum) are found.
"""

import numpy as np

__all__ = ["Lanczos", "default_tol"]


def default_tol(dtype):
    """The residual tolerance, relative to ‖H‖, that products in ``dtype`` can reach: 1e-10 in
    float64, 1e-4 in float32 (their rounding errors are about 1e-15 and 1e-7 of ‖H v‖)."""
    return 1e-10 if np.dtype(dtype).itemsize >= 8 else 1e-4


class Lanczos:
    """The Lanczos recurrence on ``matvec`` (v ↦ H v, shape (n,) → (n,)) from a random start.

    ``step()`` makes one product and extends T by one row; ``ritz()`` gives the Ritz values
    (ascending), the eigenvectors S of T and the residuals |β_m s_{m,i}|; ``vectors(S)`` the
    Ritz vectors Q_m S (shape (n, columns)). ``blocks`` lists where the recurrence restarted.
    Vectors are kept in ``dtype``; α, β and T in float64. With ``restart=False`` the recurrence
    stops at the first breakdown instead (``done`` turns true): T then holds q₁'s whole Krylov space.
    """

    def __init__(self, matvec, n, dtype, rng, start=None, restart=True):
        self.matvec = matvec
        self.n = n
        self.dtype = np.dtype(dtype)
        self.rng = rng
        self.Q = np.empty((min(n, 32), n), dtype=self.dtype)  # rows q_1..q_m (grown by doubling)
        self.alpha, self.beta = [], []  # beta[j] couples q_j and q_{j+1}; 0 where a block ends
        self.blocks = [0]  # index of the first vector of each block
        self.m = 0
        self.restart = restart
        self.invariant = False  # a breakdown happened and restart=False
        self.scale = 0.0  # max |α|, |β| so far: an estimate of ‖H‖ (‖T‖ ≤ ‖H‖)
        self.breakdown = np.finfo(self.dtype).eps ** (2 / 3)
        q = self.rng.standard_normal(n) if start is None else np.asarray(start, dtype=np.float64)
        self._next = self._unit(q)

    def _unit(self, q):
        norm = float(np.linalg.norm(q))
        if not norm > 0:
            raise ValueError("Lanczos: the start vector is zero")
        return (q / norm).astype(self.dtype)

    def _orthogonalize(self, w):
        """w minus its components along q_1..q_m (classical Gram-Schmidt, repeated once if it removed
        more than half of w)."""
        Q = self.Q[:self.m]
        before = np.linalg.norm(w)
        w -= Q.T @ (Q @ w)
        if np.linalg.norm(w) < before / np.sqrt(2):
            w -= Q.T @ (Q @ w)
        return w

    @property
    def exhausted(self):
        """True when the basis spans the whole space (m = n): T then has exactly H's eigenvalues."""
        return self.m >= self.n

    @property
    def done(self):
        """True when no further step is possible (``exhausted``, or a breakdown with restart=False)."""
        return self.exhausted or self.invariant

    def step(self):
        """One product H q_m and the next α, β (and q_{m+1}); a no-op once ``done``."""
        if self.done:
            return
        j = self.m
        if j == self.Q.shape[0]:
            grown = np.empty((min(self.n, 2 * j), self.n), dtype=self.dtype)
            grown[:j] = self.Q
            self.Q = grown
        q = self._next
        self.Q[j] = q
        w = np.asarray(self.matvec(q), dtype=self.dtype).copy()
        if not np.isfinite(w).all():
            raise FloatingPointError(f"Lanczos: the product H v has non-finite entries at step {j + 1}")
        a = float(np.dot(q.astype(np.float64), w.astype(np.float64)))
        w -= a * q  # the three-term recurrence w = H q_j − α_j q_j − β_{j−1} q_{j−1}, then the rounding
        if j > self.blocks[-1]:
            w -= self.beta[j - 1] * self.Q[j - 1]
        self.m = j + 1
        w = self._orthogonalize(w)
        b = float(np.linalg.norm(w.astype(np.float64)))
        self.alpha.append(a)
        self.scale = max(self.scale, abs(a), b)
        if self.exhausted:
            self.beta.append(0.0)
            self._next = None
        elif b <= self.breakdown * self.scale:
            # invariant subspace: restart from a random direction orthogonal to all q_j so far
            self.beta.append(0.0)
            if not self.restart:
                self.invariant, self._next = True, None
                return
            self.blocks.append(self.m)
            r = self._orthogonalize(self.rng.standard_normal(self.n).astype(self.dtype))
            self._next = self._unit(r)
        else:
            self.beta.append(b)
            self._next = (w / b).astype(self.dtype)

    def tridiagonal(self):
        """T_m (m×m, float64)."""
        m = self.m
        T = np.diag(np.asarray(self.alpha, dtype=np.float64))
        if m > 1:
            off = np.asarray(self.beta[:m - 1], dtype=np.float64)
            T[np.arange(m - 1), np.arange(1, m)] = off
            T[np.arange(1, m), np.arange(m - 1)] = off
        return T

    def ritz(self):
        """(θ ascending, S, residuals): T_m = S diag(θ) Sᵀ and residuals |β_m s_{m,i}| (shape (m,))."""
        theta, S = np.linalg.eigh(self.tridiagonal())
        residuals = abs(self.beta[self.m - 1]) * np.abs(S[-1, :])
        return theta, S, residuals

    def vectors(self, S):
        """Ritz vectors Q_m S (shape (n, S.shape[1])) in ``dtype``."""
        return self.Q[:self.m].T @ S.astype(self.dtype)

    def current_block(self):
        """The row indices of T's last block (the recurrence since its last restart)."""
        return range(self.blocks[-1], self.m)

