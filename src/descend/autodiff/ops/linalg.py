"""Matrix products: y = a @ b for vectors, matrices and batched stacks (NumPy's matmul rules).

For matrices, ∂L/∂a = ȳ bᵀ and ∂L/∂b = aᵀ ȳ. A vector operand is treated as a one-row (left) or
one-column (right) matrix and the gradient is squeezed back; batch dimensions broadcast, and
the engine sums their gradients back to each operand's shape.
"""

import numpy as np

from ..function import Function
from .convert import pair


class MatMul(Function):
    """y = a @ b;  ā = ȳ bᵀ, b̄ = aᵀ ȳ (with vectors promoted to matrices)."""

    def forward(self, a, b):
        if a.ndim == 0 or b.ndim == 0:
            raise ValueError(f"matmul: both operands need at least one dimension, got shapes {a.shape} and {b.shape}")
        if a.shape[-1] != b.shape[-2 if b.ndim > 1 else 0]:
            raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not match: "
                             f"{a.shape[-1]} columns against {b.shape[-2 if b.ndim > 1 else 0]} rows")
        return np.matmul(a, b)

    def backward(self, gy):
        a, b = self.inputs
        va, vb = a.ndim == 1, b.ndim == 1
        if va and vb:
            return (gy * b if a.requires_grad else None), (gy * a if b.requires_grad else None)
        A = a.unsqueeze(0) if va else a
        B = b.unsqueeze(-1) if vb else b
        G = gy.unsqueeze(-1) if vb else gy
        if va:
            G = G.unsqueeze(-2)
        ga = gb = None
        if a.requires_grad:
            ga = G @ B.mT
            if va:
                ga = ga.squeeze(-2)
        if b.requires_grad:
            gb = A.mT @ G
            if vb:
                gb = gb.squeeze(-1)
        return ga, gb

    def jvp(self, ta, tb):
        a, b = self.inputs
        out = None if ta is None else MatMul.apply(ta, b)
        if tb is not None:
            tb_part = MatMul.apply(a, tb)
            out = tb_part if out is None else out + tb_part
        return out


def matmul(a, b):
    """a @ b: vector·vector, matrix·vector, matrix·matrix, or batched stacks of matrices."""
    a, b = pair(a, b, "matmul")
    return MatMul.apply(a, b)


def outer(a, b):
    """The outer product a bᵀ of two vectors."""
    return a.reshape(-1, 1) * b.reshape(1, -1)
