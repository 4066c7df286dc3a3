"""One optimizer step over 1,000,000 float32 parameters: descend vs torch.optim (default implementation).

Cases: one tensor of 1,000,000 and 100 tensors of 10,000, for SGD+momentum, Adam, AdamW, RMSprop,
Adagrad. The steps are timed after warm-up (state already created), so they measure the update
itself, by :func:`timing.compare`. Prints ``case: descend X ms, torch Y ms, ratio X/Y = R``.
"""

import numpy as np
from timing import compare, line

import descend as dc
from descend import optim

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None

N = 1_000_000
LAYOUTS = {"1x1M": [N], "100x10k": [10_000] * 100}
OPTS = {
    "SGD+momentum": (lambda lib, p: lib.SGD(p, lr=0.01, momentum=0.9)),
    "Adam": (lambda lib, p: lib.Adam(p, lr=1e-3)),
    "AdamW": (lambda lib, p: lib.AdamW(p, lr=1e-3)),
    "RMSprop": (lambda lib, p: lib.RMSprop(p, lr=1e-3)),
    "Adagrad": (lambda lib, p: lib.Adagrad(p, lr=1e-2)),
}
def bench_descend(make, sizes, rng):
    params = []
    for n in sizes:
        p = dc.tensor(rng.standard_normal(n, dtype=np.float32), dtype=dc.float32, requires_grad=True)
        p.grad = dc.tensor(rng.standard_normal(n, dtype=np.float32) * 0.01, dtype=dc.float32)
        params.append(p)
    return make(optim, params).step


def bench_torch(make, sizes, rng):
    params = []
    for n in sizes:
        p = torch.tensor(rng.standard_normal(n, dtype=np.float32), requires_grad=True)
        p.grad = torch.tensor(rng.standard_normal(n, dtype=np.float32) * 0.01)
        params.append(p)
    opt = make(torch.optim, params)

    def step():
        with torch.no_grad():
            opt.step()

    return step


def main():
    rng = np.random.default_rng(0)
    for threads in ([None, 1] if torch is not None else [None]):
        if threads is not None:
            # context for a loaded machine: torch's thread pool suffers when the cores are busy
            default = torch.get_num_threads()
            torch.set_num_threads(threads)
        for layout, sizes in LAYOUTS.items():
            for name, make in OPTS.items():
                fns = {"descend": bench_descend(make, sizes, rng)}
                if torch is not None:
                    fns["torch"] = bench_torch(make, sizes, rng)
                t = compare(fns, rounds=4)
                case = f"{name} {layout}" + ("" if threads is None else f" (torch {threads} thread)")
                print(line(case, t["descend"], t.get("torch")))
        if threads is not None:
            torch.set_num_threads(default)


if __name__ == "__main__":
    main()
