"""One optimizer step over 1,000,000 float32 parameters: descend vs torch.optim (default implementation).

Cases: one tensor of 1,000,000 and 100 tensors of 10,000, and the 42 tensors (129,930 values) of a
deep narrow MLP (784, 20 hidden layers of 64, 10: the per-tensor cost of a step shows), for
SGD+momentum, Adam, AdamW, RMSprop, Adagrad. PyTorch's default on CPU tensors is its
one-tensor-at-a-time loop (its multi-tensor "foreach" one is the default on CUDA only; with
``foreach=True`` its Adam on the deep MLP took 0.70 ms where the default took 1.14 ms, one thread).
The steps are timed after warm-up (state already created), so they measure the update itself. Each
framework runs in its own fresh process (PyTorch twice: with its default thread count, and on one
thread, the context of a loaded machine), alternating over rounds, timed by
:func:`timing.compare`, best round kept. Run: python bench/optim.py [--rounds N].
Prints ``case: descend X ms, torch Y ms, ratio X/Y = R``.
"""


import numpy as np
from timing import installed, line, time_frameworks

N = 1_000_000
_DEEP = [784] + [64] * 20 + [10]
LAYOUTS = {"1x1M": [(N,)], "100x10k": [(10_000,)] * 100,   # shapes of the tensors
           "42 tensors deep MLP": [s for i, o in zip(_DEEP[:-1], _DEEP[1:]) for s in ((o, i), (o,))]}
OPTS = {
    "SGD+momentum": (lambda lib, p: lib.SGD(p, lr=0.01, momentum=0.9)),
    "Adam": (lambda lib, p: lib.Adam(p, lr=1e-3)),
    "AdamW": (lambda lib, p: lib.AdamW(p, lr=1e-3)),
    "RMSprop": (lambda lib, p: lib.RMSprop(p, lr=1e-3)),
    "Adagrad": (lambda lib, p: lib.Adagrad(p, lr=1e-2)),
}


def bench_descend(make, shapes, rng):
    import descend as dc
    from descend import optim

    params = []
    for shape in shapes:
        p = dc.tensor(rng.standard_normal(shape, dtype=np.float32), dtype=dc.float32, requires_grad=True)
        p.grad = dc.tensor(rng.standard_normal(shape, dtype=np.float32) * 0.01, dtype=dc.float32)
        params.append(p)
    return make(optim, params).step


def bench_torch(make, shapes, rng):
    import torch

    params = []
    for shape in shapes:
        p = torch.tensor(rng.standard_normal(shape, dtype=np.float32), requires_grad=True)
        p.grad = torch.tensor(rng.standard_normal(shape, dtype=np.float32) * 0.01)
        params.append(p)
    opt = make(torch.optim, params)

    def step():
        with torch.no_grad():
            opt.step()

    return step


def cases(framework):
    """Every case's step, in this process: framework "descend", "torch" or "torch1" (one thread)."""
    if framework == "torch1":
        import torch

        torch.set_num_threads(1)
    make_step = bench_descend if framework == "descend" else bench_torch
    rng = np.random.default_rng(0)
    return {f"{name} {layout}": make_step(make, shapes, rng) for layout, shapes in LAYOUTS.items()
            for name, make in OPTS.items()}


def main():
    frameworks = ["descend"] + (["torch", "torch1"] if installed("torch") else [])
    t = time_frameworks(__file__, __doc__, frameworks, cases)
    if t is None:
        return
    for theirs, suffix in (("torch", ""), ("torch1", " (torch 1 thread)")):
        if theirs not in t and suffix:
            continue
        for case, ours in t["descend"].items():
            print(line(case + suffix, ours, t[theirs][case] if theirs in t else None))


if __name__ == "__main__":
    main()
