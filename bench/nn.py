"""Benchmark descend.nn against PyTorch: forward + backward of an MLP and a small CNN.

Run: python bench/nn.py [--repeats N]. Prints one line per case:
``case: descend X ms, torch Y ms, ratio X/Y = R`` (median of timed runs, same process,
float32, torch's default thread count). Goals: MLP ≤ 0.9×, CNN ≤ 1.5× PyTorch.
"""

import argparse
import time

import numpy as np

import descend as dc
import descend.nn as nn
import descend.nn.functional as F


def _interleaved_ms(fn_a, fn_b, repeats, rounds=4, block_time=0.15):
    """Median times (ms) of two functions timed in alternating blocks.

    Blocks (not single calls) alternate so that both see the same machine load, while neither
    pays for the other's idle worker threads that keep spinning for a moment after each call.
    """
    ta, tb = [], []
    per_round = max(1, repeats // rounds)
    for _ in range(rounds):
        for f, out in ((fn_a, ta), (fn_b, tb)):
            f()
            f()
            t_end = time.perf_counter() + block_time
            n = 0
            while n < per_round or time.perf_counter() < t_end:
                t0 = time.perf_counter()
                f()
                out.append(time.perf_counter() - t0)
                n += 1
                if n >= 500:
                    break
    return 1e3 * float(np.median(ta)), 1e3 * float(np.median(tb))


def _median_ms(fn, repeats):
    return _interleaved_ms(fn, lambda: None, repeats)[0]


def mlp_case(batch, repeats, torch):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 784)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    dc.manual_seed(0)
    model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))
    xd, yd = dc.from_numpy(x), dc.from_numpy(y)

    def run_dc():
        model.zero_grad()
        F.cross_entropy(model(xd), yd).backward()

    if torch is None:
        return _median_ms(run_dc, repeats), None
    tm = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 256), torch.nn.ReLU(),
                             torch.nn.Linear(256, 10))
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def run_torch():
        tm.zero_grad()
        torch.nn.functional.cross_entropy(tm(xt), yt).backward()

    return _interleaved_ms(run_dc, run_torch, repeats)


def cnn_case(batch, repeats, torch):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((batch, 1, 28, 28)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    dc.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32 * 14 * 14, 10))
    xd, yd = dc.from_numpy(x), dc.from_numpy(y)

    def run_dc():
        model.zero_grad()
        F.cross_entropy(model(xd), yd).backward()

    if torch is None:
        return _median_ms(run_dc, repeats), None
    tm = torch.nn.Sequential(torch.nn.Conv2d(1, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(32, 32, 3, padding=1),
                             torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(32 * 14 * 14, 10))
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def run_torch():
        tm.zero_grad()
        torch.nn.functional.cross_entropy(tm(xt), yt).backward()

    return _interleaved_ms(run_dc, run_torch, repeats)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        torch = None
    cases = [(f"mlp 784-512-256-10 fwd+bwd batch {b}", lambda b=b: mlp_case(b, args.repeats, torch)) for b in (16, 128, 1024)]
    cases.append(("cnn 2x conv3x3(32) 28x28 fwd+bwd batch 64", lambda: cnn_case(64, args.repeats, torch)))
    for name, case in cases:
        t_dc, t_torch = case()
        if t_torch is None:
            print(f"{name}: descend {t_dc:.3f} ms, torch not installed")
        else:
            print(f"{name}: descend {t_dc:.3f} ms, torch {t_torch:.3f} ms, ratio X/Y = {t_dc / t_torch:.2f}")


if __name__ == "__main__":
    main()
