"""3×3 stride-1 convolution by Winograd's minimal filtering F(2×2, 3×3) (Numba, optional).

Each 2×2 block of outputs y of the cross-correlation of a 4×4 tile d of the padded input with a
3×3 kernel g is (Lavin & Gray, 2016)

    Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A,

    Bᵀ = [[1, 0, −1, 0], [0, 1, 1, 0], [0, −1, 1, 0], [0, 1, 0, −1]],
    G  = [[1, 0, 0], [½, ½, ½], [½, −½, ½], [0, 0, 1]],
    Aᵀ = [[1, 1, 1, 0], [0, 1, −1, −1]].

With channels, the product ⊙ summed over the input channels c is, for each of the 16 positions
k = (ξ, ν) of the transformed tile, one matrix product M_k (tiles, O) = V_k (tiles, C) · U_k (C, O):
16 products with 16·C·O multiplications per tile of 4 outputs instead of 9·C·O per output, 2.25×
fewer than the column-matrix (im2col) product. The transforms (V = Bᵀ d B, Y = Aᵀ M A) have only
±1 entries and run as compiled loops over the tiles, channels innermost; the products are BLAS
calls over blocks of a few images so that V and M stay in the cache.

The numbers differ from the column-matrix product by rounding only (the transforms add and
subtract at most four terms twice; G's halves are exact), about as far from the exact result as
that product is: ``tests/nn/test_conv_fast.py`` checks both against float64.

Numba is an optional extra (``pip install descend[compile]``). Without it, or with
``DESCEND_FUSED=0`` in the environment, :func:`available` is False and the convolution uses the
column matrix (:mod:`descend.nn.functional.conv`). Kernels are compiled on first use and cached on
disk.
"""

import os

import numpy as np

from descend.autodiff.extend import NUM_THREADS as _CORES
from descend.autodiff.extend import in_parts, scratch

#: the filter transform G (4×3)
G = np.array([[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]])

#: row u of Bᵀ is e_{ROW_A[u]} + ROW_SIGN[u]·e_{ROW_B[u]}
ROW_A, ROW_B, ROW_SIGN = (0, 1, 2, 1), (2, 2, 1, 3), (-1, 1, -1, -1)

#: fewer input or output channels than this: the column-matrix product is faster (its one product
#: has 9·C inner terms; Winograd's 16 have C each)
MIN_CHANNELS = 8

#: values of V (or M) per block of images: a block stays in the cache between its transform and
#: its 16 products
BLOCK_VALUES = 1 << 18

#: False switches the Winograd path off (tests compare both paths)
ENABLED = True

_STATE = {"tried": False, "kernels": None}

#: threads the images are split among (tests change it)
NUM_THREADS = _CORES




def _compile():
    """(input transform, output transform) compiled by Numba, or None without Numba or with
    DESCEND_FUSED=0."""
    if _STATE["tried"]:
        return _STATE["kernels"]
    _STATE["tried"] = True
    if os.environ.get("DESCEND_FUSED", "1") == "0":
        return None
    try:
        import numba
    except ImportError:
        return None

    @numba.njit(nogil=True, cache=True, fastmath=False, error_model="numpy")
    def transform_input(xp, V, th, tw):  # pragma: no cover - compiled
        # V[t, 4u + v, c] = (Bᵀ d B)[u, v] for tile t = (n, i, j), d = xp[n, 2i:2i+4, 2j:2j+4, c]:
        # (d[a_u, a_v] ± d[b_u, a_v]) ± (d[a_u, b_v] ± d[b_u, b_v]), one loop over the channels per
        # (u, v) (short loops with four inputs vectorize; one loop writing all 16 does not)
        C = xp.shape[3]
        for n in range(xp.shape[0]):
            for i in range(th):
                r = 2 * i
                for j in range(tw):
                    s = 2 * j
                    t = (n * th + i) * tw + j
                    for k in range(16):
                        u = k // 4
                        v = k - 4 * u
                        p1 = xp[n, r + ROW_A[u], s + ROW_A[v]]
                        p2 = xp[n, r + ROW_B[u], s + ROW_A[v]]
                        p3 = xp[n, r + ROW_A[u], s + ROW_B[v]]
                        p4 = xp[n, r + ROW_B[u], s + ROW_B[v]]
                        out = V[t, k]
                        if ROW_SIGN[u] > 0:
                            if ROW_SIGN[v] > 0:
                                for c in range(C):
                                    out[c] = (p1[c] + p2[c]) + (p3[c] + p4[c])
                            else:
                                for c in range(C):
                                    out[c] = (p1[c] + p2[c]) - (p3[c] + p4[c])
                        elif ROW_SIGN[v] > 0:
                            for c in range(C):
                                out[c] = (p1[c] - p2[c]) + (p3[c] - p4[c])
                        else:
                            for c in range(C):
                                out[c] = (p1[c] - p2[c]) - (p3[c] - p4[c])

    @numba.njit(nogil=True, cache=True, fastmath=False, error_model="numpy")
    def transform_output(M, y, th, tw, b):  # pragma: no cover - compiled
        # y[n, 2i:2i+2, 2j:2j+2, o] = Aᵀ M[t, :, o] A + b[o] (the positions inside y): the rows
        # S = Aᵀ M first (S₀ = M₀ + M₁ + M₂, S₁ = M₁ − M₂ − M₃ over the rows of M), then the columns
        H, W, O = y.shape[1], y.shape[2], y.shape[3]
        S = np.empty((2, 4, O), dtype=M.dtype)
        for n in range(y.shape[0]):
            for i in range(th):
                r = 2 * i
                for j in range(tw):
                    s = 2 * j
                    m = M[(n * th + i) * tw + j]
                    for v in range(4):
                        m0, m1, m2, m3 = m[v], m[4 + v], m[8 + v], m[12 + v]
                        s0, s1 = S[0, v], S[1, v]
                        for o in range(O):
                            s0[o] = m0[o] + m1[o] + m2[o]
                        for o in range(O):
                            s1[o] = m1[o] - m2[o] - m3[o]
                    for a in range(2):
                        if r + a < H:
                            q0, q1, q2, q3 = S[a, 0], S[a, 1], S[a, 2], S[a, 3]
                            out = y[n, r + a, s]
                            for o in range(O):
                                out[o] = q0[o] + q1[o] + q2[o] + b[o]
                            if s + 1 < W:
                                out = y[n, r + a, s + 1]
                                for o in range(O):
                                    out[o] = q1[o] - q2[o] - q3[o] + b[o]

    @numba.njit(nogil=True, cache=True, fastmath=False, error_model="numpy")
    def transform_gradient(gy, Z, th, tw):  # pragma: no cover - compiled
        # Z[t, 4ξ + ν, o] = (A Ȳ Aᵀ)[ξ, ν] for tile t = (n, i, j), Ȳ = gy[n, 2i:2i+2, 2j:2j+2, o]
        O = gy.shape[3]
        for n in range(gy.shape[0]):
            for i in range(th):
                r = 2 * i
                for j in range(tw):
                    s = 2 * j
                    t = (n * th + i) * tw + j
                    for o in range(O):
                        y00 = gy[n, r, s, o]
                        y01 = gy[n, r, s + 1, o]
                        y10 = gy[n, r + 1, s, o]
                        y11 = gy[n, r + 1, s + 1, o]
                        # rows: A Ȳ = [Ȳ₀; Ȳ₀ + Ȳ₁; Ȳ₀ − Ȳ₁; −Ȳ₁]
                        p0, p1 = y00 + y10, y01 + y11
                        m0, m1 = y00 - y10, y01 - y11
                        # columns: (A Ȳ) Aᵀ
                        Z[t, 0, o] = y00
                        Z[t, 1, o] = y00 + y01
                        Z[t, 2, o] = y00 - y01
                        Z[t, 3, o] = -y01
                        Z[t, 4, o] = p0
                        Z[t, 5, o] = p0 + p1
                        Z[t, 6, o] = p0 - p1
                        Z[t, 7, o] = -p1
                        Z[t, 8, o] = m0
                        Z[t, 9, o] = m0 + m1
                        Z[t, 10, o] = m0 - m1
                        Z[t, 11, o] = -m1
                        Z[t, 12, o] = -y10
                        Z[t, 13, o] = -(y10 + y11)
                        Z[t, 14, o] = -(y10 - y11)
                        Z[t, 15, o] = y11

    _STATE["kernels"] = (transform_input, transform_output, transform_gradient)
    return _STATE["kernels"]


def applies(x, w_shape, geo):
    """Whether :func:`conv3x3` (and :func:`grad_weight3x3`) compute this convolution of x with a
    kernel of shape ``w_shape``: 3×3, stride 1, no dilation, float32/float64, at least
    MIN_CHANNELS input and output channels, and the kernels available."""
    O, C, kh, kw = w_shape
    return (ENABLED and kh == 3 and kw == 3 and geo.stride == (1, 1) and geo.dilation == (1, 1)
            and min(C, O) >= MIN_CHANNELS and x.dtype in (np.float32, np.float64) and _compile() is not None)


def filter_transform(w):
    """U (16, C, O): U[4ξ + ν, c, o] = (G W[o, c] Gᵀ)[ξ, ν], in W's dtype."""
    O, C = w.shape[:2]
    g = G.astype(w.dtype)
    u = np.matmul(np.matmul(g, w), g.T)  # (O, C, 4, 4)
    return np.ascontiguousarray(u.transpose(2, 3, 1, 0)).reshape(16, C, O)


def _padded_blocks(x, padding, th, tw, step):
    """Yield (n0, n1, xp) for blocks of ``step`` images of x (N, C, H, W): xp (n1 − n0, 2t_h + 2,
    2t_w + 2, C) is the block zero-padded channels-last (the padding, then zeros to whole 4×4
    tiles), in one buffer whose border is zeroed once and whose inside each block overwrites."""
    N, C, H, W = x.shape
    ph, pw = padding
    xp = scratch("padded", (min(step, N), 2 * th + 2, 2 * tw + 2, C), x.dtype)
    xp[...] = 0
    for n0 in range(0, N, step):
        n1 = min(N, n0 + step)
        xp[:n1 - n0, ph:ph + H, pw:pw + W, :] = x[n0:n1].transpose(0, 2, 3, 1)
        yield n0, n1, xp[:n1 - n0]


def _in_parts(N, per_image, part):
    """[part(n0, n1) for consecutive parts of the images], one part per thread
    (:func:`descend.autodiff.extend.in_parts`).

    Every part runs whole (padding, transforms, products) in its own thread: the compiled loops
    release the GIL and the small products run single-threaded inside BLAS, so the threads do not
    wait for each other. Fewer than two blocks of work: one part."""
    return in_parts(N, per_image, part, BLOCK_VALUES, NUM_THREADS)


def conv3x3(x, w, padding, b=None):
    """y = W ⋆ x (+ b) for a 3×3 kernel, stride 1: x (N, C, H, W), W (O, C, 3, 3), zero padding
    (p_h, p_w) → y (N, O, H + 2p_h − 2, W + 2p_w − 2), a channels-last array seen as NCHW."""
    transform_input, transform_output = _compile()[:2]
    N, C, H, W = x.shape
    O = w.shape[0]
    ph, pw = padding
    Ho, Wo = H + 2 * ph - 2, W + 2 * pw - 2
    th, tw = (Ho + 1) // 2, (Wo + 1) // 2
    per = th * tw
    U = filter_transform(w)
    y = np.empty((N, Ho, Wo, O), dtype=x.dtype)
    bias = np.zeros(O, dtype=x.dtype) if b is None else np.ascontiguousarray(b, dtype=x.dtype)
    step = max(1, BLOCK_VALUES // (16 * per * max(C, O)))

    def part(a, z):
        V = scratch("V", (min(step, z - a) * per, 16, C), x.dtype)
        M = scratch("M", (min(step, z - a) * per, 16, O), x.dtype)
        for n0, n1, xp in _padded_blocks(x[a:z], padding, th, tw, step):
            rows = (n1 - n0) * per
            transform_input(xp, V[:rows], th, tw)
            np.matmul(V[:rows].transpose(1, 0, 2), U, out=M[:rows].transpose(1, 0, 2))
            transform_output(M[:rows], y[a + n0:a + n1], th, tw, bias)

    _in_parts(N, 16 * per * max(C, O), part)
    return y.transpose(0, 3, 1, 2)


def grad_weight3x3(x, gy, padding):
    """W̄ (O, C, 3, 3) of y = W ⋆ x (3×3, stride 1, zero padding (p_h, p_w)) for ȳ (N, O, Hₒ, Wₒ).

    Each 2×2 block Ȳ of ȳ reaches U = G W Gᵀ through M = U ⊙ V (V = Bᵀ d B of its input tile), so
    Ū = Σ_tiles V ⊙ (A Ȳ Aᵀ), summed over the tiles as 16 products Ū_k (C, O) = V_kᵀ Z_k, and
    W̄ = Gᵀ Ū G."""
    transform_input, _, transform_gradient = _compile()
    N, C = x.shape[:2]
    O, Ho, Wo = gy.shape[1:]
    th, tw = (Ho + 1) // 2, (Wo + 1) // 2
    per = th * tw
    step = max(1, BLOCK_VALUES // (16 * per * max(C, O)))
    gl = gy.transpose(0, 2, 3, 1)
    whole = (Ho, Wo) == (2 * th, 2 * tw) and gl.flags.c_contiguous

    def part(a, z):
        V = scratch("V", (min(step, z - a) * per, 16, C), x.dtype)
        Z = scratch("M", (min(step, z - a) * per, 16, O), x.dtype)
        if not whole:  # whole 2×2 blocks of ȳ: zeros past the edge
            gp = scratch("gradient", (min(step, z - a), 2 * th, 2 * tw, O), gy.dtype)
            gp[...] = 0
        u = np.zeros((16, C, O), dtype=x.dtype)
        prod = np.empty_like(u)
        for n0, n1, xp in _padded_blocks(x[a:z], padding, th, tw, step):
            rows = (n1 - n0) * per
            g = gl[a + n0:a + n1]
            if not whole:
                gp[:n1 - n0, :Ho, :Wo, :] = g
                g = gp[:n1 - n0]
            transform_input(xp, V[:rows], th, tw)
            transform_gradient(g, Z[:rows], th, tw)
            np.matmul(V[:rows].transpose(1, 2, 0), Z[:rows].transpose(1, 0, 2), out=prod)
            u += prod
        return u

    u = sum(_in_parts(N, 16 * per * max(C, O), part))
    G_ = G.astype(x.dtype)
    # W̄[o, c] = Gᵀ Ū[:, :, c, o] G
    ut = u.reshape(4, 4, C, O).transpose(3, 2, 0, 1)  # (O, C, 4, 4)
    return np.ascontiguousarray(np.matmul(np.matmul(G_.T, ut), G_))
