"""One optimizer step over 1,000,000 float32 parameters: descend vs torch.optim (default implementation).

Cases: one tensor of 1,000,000 and 100 tensors of 10,000, for SGD+momentum, Adam, AdamW, RMSprop,
Adagrad. Each timing is the median of several steps after warm-up (state already created), so
it measures the update itself. Prints ``case: descend X ms, torch Y ms, ratio X/Y = R``.
"""

import statistics
import time

import numpy as np

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
REPEATS = 15


def time_steps(step):
    for _ in range(3):
        step()
    ts = []
    for _ in range(REPEATS):
        t0 = time.perf_counter()
        step()
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts) * 1e3


def bench_descend(make, sizes, rng):
    params = []
    for n in sizes:
        p = dc.tensor(rng.standard_normal(n, dtype=np.float32), dtype=dc.float32, requires_grad=True)
        p.grad = dc.tensor(rng.standard_normal(n, dtype=np.float32) * 0.01, dtype=dc.float32)
        params.append(p)
    opt = make(optim, params)
    return time_steps(opt.step)


def bench_torch(make, sizes, rng):
    params = []
    for n in sizes:
        p = torch.tensor(rng.standard_normal(n, dtype=np.float32), requires_grad=True)
        p.grad = torch.tensor(rng.standard_normal(n, dtype=np.float32) * 0.01)
        params.append(p)
    opt = make(torch.optim, params)
    with torch.no_grad():
        return time_steps(opt.step)


def main():
    rng = np.random.default_rng(0)
    results = {}
    for layout, sizes in LAYOUTS.items():
        for name, make in OPTS.items():
            ours = bench_descend(make, sizes, rng)
            results[name, layout] = ours
            if torch is not None:
                ref = bench_torch(make, sizes, rng)
                print(f"{name} {layout}: descend {ours:.3f} ms, torch {ref:.3f} ms, ratio X/Y = {ours / ref:.2f}")
            else:
                print(f"{name} {layout}: descend {ours:.3f} ms")
    if torch is not None:
        # context for a loaded machine: torch's thread pool suffers when the cores are busy
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        for layout, sizes in LAYOUTS.items():
            for name, make in OPTS.items():
                ours = results[name, layout]
                ref = bench_torch(make, sizes, rng)
                print(f"{name} {layout} (torch 1 thread): descend {ours:.3f} ms, torch {ref:.3f} ms, "
                      f"ratio X/Y = {ours / ref:.2f}")
        torch.set_num_threads(threads)


if __name__ == "__main__":
    main()
