"""Benchmark the second-order machinery against PyTorch on the MLP 784-256-10 (float32).

Run: python bench/second_order.py [--batch N] [--repeats N] [--rounds N]. Prints one line per case:
``case: descend X ms, torch Y ms, ratio X/Y = R`` (each framework in its own fresh process with its
default thread count, alternating over rounds, timed by :func:`timing.compare`, best round kept;
the processes pass their Hessian-vector products back in a .npz and the parent checks they agree),
then the cost of a Hessian-vector product relative to a gradient.

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
import os
import tempfile
import time

import numpy as np
from timing import alternate, best, compare, installed, line, worker_main


def _line(case, a, b):
    """Print the line of ``case`` (descend ``a`` ms, torch ``b`` ms or None)."""
    print(line(case, a, b, scale=1, digits=2))


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
    import descend as dc
    from descend.optim.second_order.oracle import Oracle

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


def _torch(X, Y, init, v):
    import torch

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


def _check(d, t):
    """The HVPs agree (so the timings compare the same computation): the arrays each worker saved."""
    ht = [t[f"hvp{i}"] for i in range(4)]
    err = max(float(np.abs(d[f"hvp{i}"] - b).max()) for i, b in enumerate(ht))
    scale = max(float(np.abs(b).max()) for b in ht)
    assert err <= 1e-3 * scale, f"HVP mismatch between descend and torch: max error {err}, expected <= 1e-3 x {scale}"
    flat_t = np.concatenate([b.reshape(-1) for b in ht])
    err = float(np.abs(d["oracle"] - flat_t).max())
    assert err <= 1e-3 * scale, f"Oracle.hvp differs from torch's HVP: max error {err}, expected <= 1e-3 x {scale}"


def _lbfgs_iteration(framework, X, Y, init, repeats, iters=10):
    """(milliseconds per L-BFGS iteration, iterations timed) after one warm-up step."""
    if framework == "descend":
        from descend import optim

        ps, _, closure = _descend(X, Y, init, init)[:3]
    else:
        import torch

        optim = torch.optim
        ps, _, closure = _torch(X, Y, init, init)[:3]
    opt = optim.LBFGS(ps, lr=0.2, max_iter=iters, history_size=10, tolerance_change=0.0)
    opt.step(closure)
    done, seconds = 0, 0.0
    for _ in range(max(3, repeats // 4)):
        before = opt.state[ps[0]]["n_iter"]
        time.sleep(0.2)
        t0 = time.perf_counter()
        opt.step(closure)
        seconds += time.perf_counter() - t0
        done += opt.state[ps[0]]["n_iter"] - before
    return 1e3 * seconds / done, done


def work(framework, args):
    """This framework's times (ms) and L-BFGS iteration; its HVPs saved to ``args.out``/framework.npz."""
    X, Y, init, v = _problem(args.batch)
    if framework == "descend":
        ps, f, closure, hvp_for, hvp_double, hvp_oracle = _descend(X, Y, init, v)
        saved = {f"hvp{i}": h.numpy() for i, h in enumerate(hvp_for()[1])}
        saved["oracle"] = np.asarray(hvp_oracle()[0])
        fns = {"gradient": closure, "forward": hvp_for, "double": hvp_double, "oracle": hvp_oracle}
    else:
        ps, f, closure, hvp_for, hvp_double = _torch(X, Y, init, v)
        saved = {f"hvp{i}": h.detach().numpy() for i, h in enumerate(hvp_for()[1])}
        fns = {"gradient": closure, "forward": hvp_for, "double": hvp_double}
    np.savez(os.path.join(args.out, f"{framework}.npz"), **saved)
    times = {k: 1e3 * s for k, s in compare(fns, rounds=args.inner).items()}
    times["lbfgs"], iterations = _lbfgs_iteration(framework, X, Y, init, args.repeats)
    return {"times": times, "iterations": iterations}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=20, help="L-BFGS steps timed (a quarter of it per process, >= 3)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating rounds of fresh processes (best kept)")
    ap.add_argument("--inner", type=int, default=2, help="timing rounds inside each process")
    ap.add_argument("--out", help=argparse.SUPPRESS)
    args = worker_main(ap, work)
    if args is None:
        return
    frameworks = ["descend"] + (["torch"] if installed("torch") else [])
    with tempfile.TemporaryDirectory() as tmp:
        runs = alternate(__file__, frameworks, args.rounds, "--batch", args.batch, "--repeats", args.repeats,
                         "--inner", args.inner, "--out", tmp)
        saved = {fw: dict(np.load(os.path.join(tmp, f"{fw}.npz"))) for fw in frameworks}
    if "torch" in saved:
        _check(saved["descend"], saved["torch"])
    d = best(runs["descend"])
    t = best(runs["torch"]) if "torch" in runs else {}
    _line(f"gradient (784-256-10, batch {args.batch})", d["gradient"], t.get("gradient"))
    _line("hvp forward-over-reverse (dc.hvp / torch.func jvp∘grad)", d["forward"], t.get("forward"))
    _line("hvp double-backward (autograd_grad twice)", d["double"], t.get("double"))
    _line("hvp closure (descend Oracle.hvp / torch double-backward)", d["oracle"], t.get("double"))
    cost = (f"hvp/gradient cost: descend forward-over-reverse {d['forward'] / d['gradient']:.2f}x, double-backward "
            f"{d['double'] / d['gradient']:.2f}x, closure oracle {d['oracle'] / d['gradient']:.2f}x")
    if t:
        cost += (f"; torch forward-over-reverse {t['forward'] / t['gradient']:.2f}x, "
                 f"double-backward {t['double'] / t['gradient']:.2f}x")
    print(cost + " (goal: descend <= 3x)")
    its = {fw: runs[fw][0]["iterations"] for fw in frameworks}
    case = f"LBFGS iteration (784-256-10, history 10, {its['descend']} vs {its.get('torch', 0)} iterations)"
    _line(case, d["lbfgs"], t.get("lbfgs"))


if __name__ == "__main__":
    main()
