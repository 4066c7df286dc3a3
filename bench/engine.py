"""Engine benchmark: descend against PyTorch eager (and JAX, jitted, where installed), each in its own process.

(a) a chain of 1,000 small elementwise ops on 100-element tensors, forward + backward
    (the per-op overhead of the engine, in microseconds per op);
(b) a 3-layer MLP 784-512-256-10, forward + backward at batch 128, float32 (and against
    ``jax.jit(jax.grad(loss))`` of the same function, the way JAX users run it);
(c) the Hessian-vector product of that MLP's loss: descend's forward-over-reverse ``dc.hvp``
    against PyTorch's double backward.

Run: ``python bench/engine.py [--rounds N]``. Prints ``case: descend X, torch Y, ratio X/Y = R`` lines.
Each framework runs in a fresh process, alternating over rounds, and times its functions with
:func:`timing.compare`; each function's best round counts (bench/timing.py).
"""


import numpy as np
from timing import installed, line, time_frameworks

CHAIN = 1000


# ----------------------------------------------------------------------------- (a) op chain
def chain_descend():
    import descend as dc

    x = dc.tensor(np.linspace(-1, 1, 100), requires_grad=True)
    y = x
    for i in range(CHAIN // 4):
        y = y * 0.999
        y = y + 0.001
        y = y.sin()
        y = y - 0.0005
    y.sum().backward()


def chain_torch():
    import torch

    x = torch.linspace(-1, 1, 100, requires_grad=True)
    y = x
    for i in range(CHAIN // 4):
        y = y * 0.999
        y = y + 0.001
        y = y.sin()
        y = y - 0.0005
    y.sum().backward()


# ----------------------------------------------------------------------------- (b), (c) MLP
SIZES = (784, 512, 256, 10)
BATCH = 128


def mlp_data(seed=0):
    rng = np.random.default_rng(seed)
    ws, bs = [], []
    for fan_in, fan_out in zip(SIZES[:-1], SIZES[1:]):
        bound = np.sqrt(6 / (fan_in + fan_out))
        ws.append(rng.uniform(-bound, bound, (fan_out, fan_in)).astype(np.float32))
        bs.append(np.zeros(fan_out, np.float32))
    x = rng.standard_normal((BATCH, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], BATCH)
    return ws, bs, x, y


def descend_loss(params, x, y):
    import descend.nn.functional as F

    h = x
    n = len(params) // 2
    for i in range(n):
        h = F.linear(h, params[2 * i], params[2 * i + 1])
        if i < n - 1:
            h = h.relu()
    return F.cross_entropy(h, y)


def torch_loss(params, x, y):
    import torch

    h = x
    n = len(params) // 2
    for i in range(n):
        h = torch.nn.functional.linear(h, params[2 * i], params[2 * i + 1])
        if i < n - 1:
            h = h.relu()
    return torch.nn.functional.cross_entropy(h, y)


def descend_worker():
    import descend as dc

    ws, bs, x, y = mlp_data()
    params = []
    for w, b in zip(ws, bs):
        params += [dc.tensor(w, requires_grad=True), dc.tensor(b, requires_grad=True)]
    xd, yd = dc.tensor(x), dc.tensor(y)
    vs = [dc.tensor(v) for v in tangents(ws, bs)]

    def step():
        for p in params:
            p.grad = None
        descend_loss(params, xd, yd).backward()

    def hvp():
        dc.hvp(lambda *ps: descend_loss(ps, xd, yd), tuple(p.detach() for p in params), tuple(vs))

    return {"chain": chain_descend, "mlp": step, "hvp": hvp}


def torch_worker():
    import torch

    ws, bs, x, y = mlp_data()
    params = []
    for w, b in zip(ws, bs):
        params += [torch.tensor(w, requires_grad=True), torch.tensor(b, requires_grad=True)]
    xt, yt = torch.tensor(x), torch.tensor(y)
    vs = [torch.tensor(v) for v in tangents(ws, bs)]

    def step():
        for p in params:
            p.grad = None
        torch_loss(params, xt, yt).backward()

    def hvp():
        loss = torch_loss(params, xt, yt)
        gs = torch.autograd.grad(loss, params, create_graph=True)
        dot = sum((g * v).sum() for g, v in zip(gs, vs))
        torch.autograd.grad(dot, params)

    return {"chain": chain_torch, "mlp": step, "hvp": hvp}


def jax_worker():
    import jax
    import jax.numpy as jnp

    ws, bs, x, y = mlp_data()
    params = [jnp.asarray(a) for w, b in zip(ws, bs) for a in (w, b)]
    xj, yj = jnp.asarray(x), jnp.asarray(y)

    def loss(params, x, y):
        h = x
        n = len(params) // 2
        for i in range(n):
            h = h @ params[2 * i].T + params[2 * i + 1]
            if i < n - 1:
                h = jax.nn.relu(h)
        logp = jax.nn.log_softmax(h, axis=1)
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    grad = jax.jit(jax.grad(loss))

    def step():
        jax.block_until_ready(grad(params, xj, yj))

    return {"mlp": step}


def tangents(ws, bs):
    """The HVP's direction v, one array per parameter (seeded, shared by the frameworks)."""
    rng = np.random.default_rng(1)
    return [rng.standard_normal(a.shape).astype(np.float32) for w, b in zip(ws, bs) for a in (w, b)]


def main():
    frameworks = ["descend"] + [fw for fw in ("torch", "jax") if installed(fw)]
    cases = {"descend": descend_worker, "torch": torch_worker, "jax": jax_worker}
    t = time_frameworks(__file__, __doc__, frameworks, lambda framework: cases[framework]())
    if t is None:
        return
    d, th, jx = t["descend"], t.get("torch", {}), t.get("jax")
    print(f"(a) chain of {CHAIN} elementwise ops on 100 elements, forward + backward")
    print(line("per-op overhead (fwd+bwd)", d["chain"] / CHAIN, th["chain"] / CHAIN if th else None, "us/op", 1e6))
    print(f"(b) MLP {'-'.join(map(str, SIZES))} forward + backward, batch {BATCH}, float32")
    print(line("mlp fwd+bwd", d["mlp"], th.get("mlp")))
    if jx:
        print(line("mlp fwd+bwd (jax.jit of jax.grad)", d["mlp"], jx["mlp"], other="jax"))
    print("(c) Hessian-vector product of the MLP loss (descend forward-over-reverse, torch double backward)")
    print(line("mlp hvp", d["hvp"], th.get("hvp")))


if __name__ == "__main__":
    main()
