"""Benchmark the second-order machinery against PyTorch on the MLP 784-256-10 (float32).

Run: python bench/second_order.py [--batch N] [--repeats N]. Prints one line per case:
``case: descend X ms, torch Y ms, ratio X/Y = R`` (same process, torch's default thread count,
timed by :func:`timing.compare`), then the cost of a Hessian-vector product relative to a gradient.

Cases:
- ``gradient``: one closure call (forward + backward) = the unit of cost;
- ``hvp forward-over-reverse``: ``dc.hvp`` (one ∇f pass carrying the tangent v) vs
  ``torch.func.jvp(grad(f))``;
- ``hvp double-backward``: ``autograd_grad(f, θ, create_graph=True)`` then ``autograd_grad(gᵀv, θ)``
  in both frameworks;
- ``hvp closure (Oracle)``: descend's optimizer path, the user's closure run inside one
  forward-mode pass (what Newton and HessianFree use) vs torch double backward;
- ``LBFGS iteration``: ``optim.LBFGS`` vs ``torch.optim.LBFGS`` (no line search, 10 iterations per
  ``step``), time per iteration.
Goals: an HVP costs at most 3 gradients; an L-BFGS iteration no slower than PyTorch's.
"""

import argparse
import time

import numpy as np
from timing import compare

import descend as dc
from descend import optim
from descend.optim.second_order.oracle import Oracle


def _line(case, a, b):
    print(f"{case}: descend {a:.2f} ms, torch {b:.2f} ms, ratio X/Y = {a / b:.2f}")


def _problem(batch, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((batch, 784)).astype(np.float32)
    labels = rng.integers(0, 10, size=batch)
    Y = np.eye(10, dtype=np.float32)[labels]
    init = [rng.standard_normal((784, 256)).astype(np.float32) / 28, np.zeros(256, np.float32),
            rng.standard_normal((256, 10)).astype(np.float32) / 16, np.zeros(10, np.float32)]
    v = [rng.standard_normal(a.shape).astype(np.float32) for a in init]
    return X, Y, init, v


def _descend(X, Y, init, v):
    Xd, Yd = dc.tensor(X), dc.tensor(Y)
    ps = [dc.tensor(a, requires_grad=True) for a in init]
    vs = [dc.tensor(a) for a in v]
    n = X.shape[0]

    def f(W1, b1, W2, b2):
        z = dc.relu(Xd @ W1 + b1) @ W2 + b2
        return -(Yd * dc.log_softmax(z, dim=1)).sum() / n

    def closure():
        for p in ps:
            p.grad = None
        loss = f(*ps)
        loss.backward()
        return loss

    def hvp_for():
        return dc.hvp(f, tuple(p.detach() for p in ps), tuple(vs))

    def hvp_double():
        g = dc.autograd_grad(f(*ps), ps, create_graph=True)
        gv = sum((gi * vi).sum() for gi, vi in zip(g, vs))
        return dc.autograd_grad(gv, ps)

    oracle = Oracle(ps, closure)
    flat_v = np.concatenate([a.reshape(-1) for a in v])

    def hvp_oracle():
        return oracle.hvp(flat_v)

    return ps, f, closure, hvp_for, hvp_double, hvp_oracle


def _torch(torch, X, Y, init, v):
    Xt, Yt = torch.tensor(X), torch.tensor(Y)
    ps = [torch.tensor(a, requires_grad=True) for a in init]
    vs = [torch.tensor(a) for a in v]
    n = X.shape[0]

    def f(W1, b1, W2, b2):
        z = torch.relu(Xt @ W1 + b1) @ W2 + b2
        return -(Yt * torch.log_softmax(z, dim=1)).sum() / n

    def closure():
        for p in ps:
            p.grad = None
        loss = f(*ps)
        loss.backward()
        return loss

    def hvp_double():
        g = torch.autograd.grad(f(*ps), ps, create_graph=True)
        gv = sum((gi * vi).sum() for gi, vi in zip(g, vs))
        return torch.autograd.grad(gv, ps)

    def hvp_for():
        from torch.func import grad, jvp

        primals = tuple(p.detach() for p in ps)
        return jvp(lambda *a: grad(lambda *b: f(*b), argnums=(0, 1, 2, 3))(*a), primals, tuple(vs))

    return ps, f, closure, hvp_for, hvp_double


def _check(torch, d, t):
    """The HVPs agree (so the timings compare the same computation)."""
    hd = d[3]()[1]
    ht = t[3]()[1]
    err = max(float(np.abs(a.numpy() - b.detach().numpy()).max()) for a, b in zip(hd, ht))
    scale = max(float(np.abs(b.detach().numpy()).max()) for b in ht)
    assert err <= 1e-3 * scale, f"HVP mismatch {err} (scale {scale})"
    hv_oracle = d[5]()[0]
    flat_t = np.concatenate([b.detach().numpy().reshape(-1) for b in ht])
    assert np.abs(hv_oracle - flat_t).max() <= 1e-3 * scale


def _lbfgs_iteration(torch, X, Y, init, repeats, iters=10):
    ds = _descend(X, Y, init, init)
    ts = _torch(torch, X, Y, init, init)
    opt_d = optim.LBFGS(ds[0], lr=0.2, max_iter=iters, history_size=10, tolerance_change=0.0)
    opt_t = torch.optim.LBFGS(ts[0], lr=0.2, max_iter=iters, history_size=10, tolerance_change=0.0)
    done = {"d": 0, "t": 0}

    def run_d():
        before = opt_d.state[ds[0][0]].get("n_iter", 0)
        opt_d.step(ds[2])
        done["d"] += opt_d.state[ds[0][0]]["n_iter"] - before

    def run_t():
        before = opt_t.state[ts[0][0]].get("n_iter", 0)
        opt_t.step(ts[2])
        done["t"] += opt_t.state[ts[0][0]]["n_iter"] - before

    for f in (run_d, run_t):
        f()
    done["d"] = done["t"] = 0
    times = {"d": 0.0, "t": 0.0}
    for _ in range(max(3, repeats // 4)):
        for key, f in (("d", run_d), ("t", run_t)):
            t0 = time.perf_counter()
            f()
            times[key] += time.perf_counter() - t0
    a, b = 1e3 * times["d"] / done["d"], 1e3 * times["t"] / done["t"]
    _line(f"LBFGS iteration (784-256-10, history 10, {done['d']} vs {done['t']} iterations)", a, b)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=20, help="L-BFGS steps timed")
    ap.add_argument("--rounds", type=int, default=4, help="alternating timing rounds (the best is kept)")
    args = ap.parse_args()
    import torch

    X, Y, init, v = _problem(args.batch)
    d = _descend(X, Y, init, v)
    t = _torch(torch, X, Y, init, v)
    _check(torch, d, t)
    names = ["g_d", "f_d", "b_d", "o_d", "g_t", "f_t", "b_t"]
    ms = compare(dict(zip(names, [d[2], d[3], d[4], d[5], t[2], t[3], t[4]])), rounds=args.rounds)
    g_d, f_d, b_d, o_d, g_t, f_t, b_t = (1e3 * ms[n] for n in names)
    _line(f"gradient (784-256-10, batch {args.batch})", g_d, g_t)
    _line("hvp forward-over-reverse (dc.hvp / torch.func jvp∘grad)", f_d, f_t)
    _line("hvp double-backward (autograd_grad twice)", b_d, b_t)
    _line("hvp closure (descend Oracle.hvp / torch double-backward)", o_d, b_t)
    print(f"hvp/gradient cost: descend forward-over-reverse {f_d / g_d:.2f}x, double-backward {b_d / g_d:.2f}x, "
          f"closure oracle {o_d / g_d:.2f}x; torch forward-over-reverse {f_t / g_t:.2f}x, "
          f"double-backward {b_t / g_t:.2f}x (goal: descend <= 3x)")
    _lbfgs_iteration(torch, X, Y, init, args.repeats)


if __name__ == "__main__":
    main()
