"""Engine benchmark: descend against PyTorch eager in one process.

(a) a chain of 1,000 small elementwise ops on 100-element tensors, forward + backward
    (the per-op overhead of the engine, in microseconds per op);
(b) a 3-layer MLP 784-512-256-10, forward + backward at batch 128, float32;
(c) the Hessian-vector product of that MLP's loss: descend's forward-over-reverse ``dc.hvp``
    against PyTorch's double backward.

Run: ``python bench/engine.py``. Prints ``case: descend X, torch Y, ratio X/Y = R`` lines
(timed with :func:`timing.versus`: alternating blocks, idle in between, best round's median).
"""

import numpy as np
from timing import line, versus

import descend as dc
import descend.nn.functional as F

try:
    import torch
except ImportError:  # the benchmark still reports descend's own numbers
    torch = None

CHAIN = 1000


# ----------------------------------------------------------------------------- (a) op chain
def chain_descend():
    x = dc.tensor(np.linspace(-1, 1, 100), requires_grad=True)
    y = x
    for i in range(CHAIN // 4):
        y = y * 0.999
        y = y + 0.001
        y = y.sin()
        y = y - 0.0005
    y.sum().backward()


def chain_torch():
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
    h = x
    n = len(params) // 2
    for i in range(n):
        h = F.linear(h, params[2 * i], params[2 * i + 1])
        if i < n - 1:
            h = h.relu()
    return F.cross_entropy(h, y)


def torch_loss(params, x, y):
    h = x
    n = len(params) // 2
    for i in range(n):
        h = torch.nn.functional.linear(h, params[2 * i], params[2 * i + 1])
        if i < n - 1:
            h = h.relu()
    return torch.nn.functional.cross_entropy(h, y)


def main():
    print(f"(a) chain of {CHAIN} elementwise ops on 100 elements, forward + backward")
    ours, theirs = versus(chain_descend, chain_torch if torch else None)
    print(line("per-op overhead (fwd+bwd)", ours / CHAIN, None if theirs is None else theirs / CHAIN, "us/op", 1e6))

    ws, bs, x, y = mlp_data()
    params = []
    for w, b in zip(ws, bs):
        params += [dc.tensor(w, requires_grad=True), dc.tensor(b, requires_grad=True)]
    xd, yd = dc.tensor(x), dc.tensor(y)

    def step_descend():
        for p in params:
            p.grad = None
        descend_loss(params, xd, yd).backward()

    if torch:
        tparams = [torch.tensor(p.data, requires_grad=True) for p in params]
        xt, yt = torch.tensor(x), torch.tensor(y)

        def step_torch():
            for p in tparams:
                p.grad = None
            torch_loss(tparams, xt, yt).backward()

    print(f"(b) MLP {'-'.join(map(str, SIZES))} forward + backward, batch {BATCH}, float32")
    print(line("mlp fwd+bwd", *versus(step_descend, step_torch if torch else None)))

    vs = [dc.tensor(np.random.default_rng(1).standard_normal(p.shape).astype(np.float32)) for p in params]

    def hvp_descend():
        dc.hvp(lambda *ps: descend_loss(ps, xd, yd), tuple(p.detach() for p in params), tuple(vs))

    if torch:
        tvs = [torch.tensor(v.data) for v in vs]

        def hvp_torch():
            loss = torch_loss(tparams, xt, yt)
            gs = torch.autograd.grad(loss, tparams, create_graph=True)
            dot = sum((g * v).sum() for g, v in zip(gs, tvs))
            torch.autograd.grad(dot, tparams)

    print("(c) Hessian-vector product of the MLP loss (descend forward-over-reverse, torch double backward)")
    print(line("mlp hvp", *versus(hvp_descend, hvp_torch if torch else None)))


if __name__ == "__main__":
    main()
