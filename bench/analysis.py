"""The top eigenvalue of an MLP's Hessian: descend against PyHessian's method in PyTorch.

Problem: the MLP 784-512-256-10 (ReLU, cross-entropy, float32, 535,818 parameters) on a batch of
1,000 MNIST-shaped random inputs, weights and data from one seeded NumPy generator. Both
frameworks run the same Lanczos (three-term recurrence, then full reorthogonalization, twice
when the first pass removed more than half of the vector; the same start vector; stop when the top
Ritz pair's residual |β_m s_m| ≤ 1e-4·‖T‖); PyTorch makes its
Hessian-vector products as PyHessian does (the gradient computed once with create_graph=True,
then H v = autograd.grad(g, θ, v, retain_graph=True) per product); descend with
hessian_eigenvalues' two methods, forward-over-reverse (the default) and double-backward.

Each framework runs in its own fresh Python process (so neither's threads or memory affect the
other), in alternating rounds with the machine left idle in between; the best round counts.
Inside a process, one gradient and one product are timed with bench/timing.py, and the whole
eigenvalue computation (graph included) as the best of three runs. A float64 run of descend
with tol 1e-10 gives the reference value for the accuracy of each.

Run: python bench/analysis.py [--rounds 2]. Prints lines ``case: descend X ms, torch Y ms, ratio
X/Y = R``, then the products each needed and the relative error of each eigenvalue.
Goals: the eigenvalue in ≤ 0.8× PyTorch's time; one product ≤ 2.5× one gradient.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SIZES = (784, 512, 256, 10)
BATCH = 1000
TOL = 1e-4
METHODS = ("forward-over-reverse", "double-backward")


def problem(dtype=np.float32):
    """Weights [(W (out, in), b (out,))...], inputs X (BATCH, 784), labels (BATCH,), start vector q₁."""
    rng = np.random.default_rng(0)
    layers = []
    for a, b in zip(SIZES[:-1], SIZES[1:]):
        bound = 1 / np.sqrt(a)  # PyTorch's default Linear initialization
        layers.append((rng.uniform(-bound, bound, (b, a)).astype(dtype), rng.uniform(-bound, bound, b).astype(dtype)))
    X = rng.standard_normal((BATCH, SIZES[0])).astype(dtype)
    labels = rng.integers(0, SIZES[-1], BATCH)
    n = sum(W.size + b.size for W, b in layers)
    start = np.random.default_rng(1).standard_normal(n)
    return layers, X, labels, start


def ritz_history(alpha, beta):
    """The top Ritz value after each step, from T's coefficients."""
    out = []
    for m in range(1, len(alpha) + 1):
        T = np.diag(alpha[:m]) + np.diag(beta[:m - 1], 1) + np.diag(beta[:m - 1], -1)
        out.append(float(np.linalg.eigvalsh(T)[-1]))
    return out


# ---------------------------------------------------------------------------------------- descend
def descend_worker(reference=False):
    sys.path.insert(0, HERE)
    from timing import compare

    import descend as dc
    import descend.nn.functional as F
    from descend import nn
    from descend.analysis.eigen import run_lanczos
    from descend.analysis.hessian import HessianOperator

    dtype = np.float64 if reference else np.float32
    layers, X, labels, start = problem(dtype)
    mods = []
    for W, b in layers:
        lin = nn.Linear(W.shape[1], W.shape[0])
        lin.weight, lin.bias = nn.Parameter(dc.tensor(W, dtype=dtype)), nn.Parameter(dc.tensor(b, dtype=dtype))
        mods += [lin, nn.ReLU()]
    model = nn.Sequential(*mods[:-1])
    x, t = dc.tensor(X, dtype=dtype), dc.tensor(labels)
    params = list(model.parameters())

    def loss_fn():
        return F.cross_entropy(model(x), t)

    def eigen(method, tol):
        """The top eigenvalue's Lanczos run from the benchmark's start vector (shared with PyTorch)."""
        op = HessianOperator(loss_fn, params, "bench", method)
        return run_lanczos(op, 1, "largest", tol, 200, 0, "bench", start=start)[0]

    if reference:
        lz = eigen("forward-over-reverse", 1e-10)
        return {"eigenvalue": float(lz.ritz()[0][-1]), "products": lz.m}

    def grad():
        return dc.autograd_grad(loss_fn(), params)

    ops = {m: HessianOperator(loss_fn, params, "bench", m) for m in METHODS}
    v = start.astype(dtype)
    fns = {"gradient": grad, **{m: (lambda o=ops[m]: o.matvec(v)) for m in METHODS}}
    times = compare(fns, rounds=3, block=0.3, settle=0.2, min_calls=5)
    out = {"gradient": times["gradient"], "hvp": {m: times[m] for m in METHODS}, "lanczos": {}}
    for m in METHODS:
        best, lz = float("inf"), None
        for _ in range(3):
            time.sleep(0.2)
            t0 = time.perf_counter()
            lz = eigen(m, TOL)
            best = min(best, time.perf_counter() - t0)
        out["lanczos"][m] = {"seconds": best, "products": lz.m, "eigenvalue": float(lz.ritz()[0][-1]),
                             "ritz": ritz_history(np.array(lz.alpha), np.array(lz.beta))}
    return out


# ------------------------------------------------------------------------------------------ torch
def torch_worker():
    sys.path.insert(0, HERE)
    import torch
    from timing import compare

    layers, X, labels, start = problem()
    mods = []
    for W, b in layers:
        lin = torch.nn.Linear(W.shape[1], W.shape[0])
        with torch.no_grad():
            lin.weight.copy_(torch.from_numpy(W))
            lin.bias.copy_(torch.from_numpy(b))
        mods += [lin, torch.nn.ReLU()]
    model = torch.nn.Sequential(*mods[:-1])
    x, t = torch.from_numpy(X), torch.from_numpy(labels)
    params = list(model.parameters())
    q1 = torch.from_numpy(start.astype(np.float32))

    def split(v):
        out, off = [], 0
        for p in params:
            out.append(v[off:off + p.numel()].view_as(p))
            off += p.numel()
        return out

    def gradient_graph():
        loss = torch.nn.functional.cross_entropy(model(x), t)
        return torch.autograd.grad(loss, params, create_graph=True)

    def hvp(gradsH, v):  # PyHessian's hessian_vector_product
        hv = torch.autograd.grad(gradsH, params, grad_outputs=split(v), only_inputs=True, retain_graph=True)
        return torch.cat([h.reshape(-1) for h in hv])

    def lanczos(tol):
        """The same Lanczos as descend's: the three-term recurrence, then full reorthogonalization (twice
        if the first pass removed more than half of w), stopping at top Ritz residual ≤ tol·‖T‖."""
        gradsH = gradient_graph()
        n = q1.numel()
        Q = torch.empty((200, n))
        q = q1 / torch.linalg.norm(q1)
        alpha, beta, scale = [], [], 0.0
        for j in range(200):
            Q[j] = q
            w = hvp(gradsH, q)
            a = float(torch.dot(q.double(), w.double()))
            w = w - a * q - (beta[-1] * Q[j - 1] if j else 0)
            before = float(torch.linalg.norm(w))
            w = w - Q[:j + 1].T @ (Q[:j + 1] @ w)
            if float(torch.linalg.norm(w)) < before / np.sqrt(2):
                w = w - Q[:j + 1].T @ (Q[:j + 1] @ w)
            b = float(torch.linalg.norm(w.double()))
            alpha.append(a)
            beta.append(b)
            scale = max(scale, abs(a), b)
            T = np.diag(alpha) + np.diag(beta[:-1], 1) + np.diag(beta[:-1], -1)
            theta, S = np.linalg.eigh(T)
            if abs(b * S[-1, -1]) <= tol * scale:
                return alpha, beta, float(theta[-1])
            q = w / b
        return alpha, beta, float(theta[-1])

    def grad():
        loss = torch.nn.functional.cross_entropy(model(x), t)
        return torch.autograd.grad(loss, params)

    gH = gradient_graph()
    v = q1.clone()
    times = compare({"gradient": grad, "hvp": lambda: hvp(gH, v)}, rounds=3, block=0.3, settle=0.2, min_calls=5)
    best = float("inf")
    for _ in range(3):
        time.sleep(0.2)
        t0 = time.perf_counter()
        alpha, beta, value = lanczos(TOL)
        best = min(best, time.perf_counter() - t0)
    return {"gradient": times["gradient"], "hvp": times["hvp"],
            "lanczos": {"seconds": best, "products": len(alpha), "eigenvalue": value,
                        "ritz": ritz_history(np.array(alpha), np.array(beta))},
            "threads": torch.get_num_threads()}


# ----------------------------------------------------------------------------------------- driver
def spawn(kind):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.path.join(os.path.dirname(HERE), "src") + os.pathsep + env.get("PYTHONPATH", "")
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--worker", kind], capture_output=True, text=True,
                         env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def first_within(ritz, ref, rel):
    return next((i + 1 for i, r in enumerate(ritz) if abs(r - ref) <= rel * abs(ref)), None)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds of fresh processes (best kept)")
    ap.add_argument("--worker", choices=["descend", "torch", "reference"], help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker:
        result = {"descend": descend_worker, "torch": torch_worker,
                  "reference": lambda: descend_worker(reference=True)}[args.worker]()
        print(json.dumps(result))
        return
    ref = spawn("reference")
    d_runs, t_runs = [], []
    for _ in range(args.rounds):
        time.sleep(1.0)
        d_runs.append(spawn("descend"))
        time.sleep(1.0)
        t_runs.append(spawn("torch"))
    t = min(t_runs, key=lambda r: r["lanczos"]["seconds"])
    g_d, g_t = min(r["gradient"] for r in d_runs), min(r["gradient"] for r in t_runs)
    h_t = min(r["hvp"] for r in t_runs)
    lam = ref["eigenvalue"]
    print(f"MLP 784-512-256-10, batch {BATCH}, float32; reference λ_max = {lam:.8g} (float64, tol 1e-10, "
          f"{ref['products']} products); torch threads {t['threads']}")
    print(f"gradient: descend {1e3 * g_d:.2f} ms, torch {1e3 * g_t:.2f} ms, ratio X/Y = {g_d / g_t:.2f}")
    for m in METHODS:
        h_d = min(r["hvp"][m] for r in d_runs)
        print(f"hvp ({m} / torch double-backward, retained graph): descend {1e3 * h_d:.2f} ms, torch "
              f"{1e3 * h_t:.2f} ms, ratio X/Y = {h_d / h_t:.2f}; hvp/gradient: descend {h_d / g_d:.2f}x, "
              f"torch {h_t / g_t:.2f}x (goal: descend <= 2.5x)")
    tl = t["lanczos"]
    for m in METHODS:
        dl = min((r["lanczos"][m] for r in d_runs), key=lambda x: x["seconds"])
        print(f"top eigenvalue, Lanczos to residual {TOL:g} ({m} / PyHessian's products): descend "
              f"{1e3 * dl['seconds']:.1f} ms, torch {1e3 * tl['seconds']:.1f} ms, ratio X/Y = "
              f"{dl['seconds'] / tl['seconds']:.2f} (goal <= 0.8)")
        print(f"  products: descend {dl['products']}, torch {tl['products']}; relative error of λ: descend "
              f"{abs(dl['eigenvalue'] - lam) / lam:.1e}, torch {abs(tl['eigenvalue'] - lam) / lam:.1e}; first "
              f"step within 1e-4 of λ: descend {first_within(dl['ritz'], lam, 1e-4)}, torch "
              f"{first_within(tl['ritz'], lam, 1e-4)}")


if __name__ == "__main__":
    main()
