"""Benchmark descend.nn against PyTorch: forward + backward of an MLP and a small CNN.

Run: python bench/nn.py [--rounds N]. Prints one line per case:
``case: descend X ms, torch Y ms, ratio X/Y = R`` (same process, float32, torch's default thread
count, timed by :func:`timing.versus`). Goals: MLP ≤ 0.9×, CNN ≤ 1.5× PyTorch.
"""

import argparse

import numpy as np
from timing import versus

import descend as dc
import descend.nn as nn
import descend.nn.functional as F


def _ms(run_dc, run_torch, rounds):
    """(descend ms, torch ms or None) per call."""
    ours, theirs = versus(run_dc, run_torch, rounds=rounds)
    return 1e3 * ours, (None if theirs is None else 1e3 * theirs)


def mlp_case(batch, torch, rounds):
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
        return _ms(run_dc, None, rounds)
    tm = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 256), torch.nn.ReLU(),
                             torch.nn.Linear(256, 10))
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def run_torch():
        tm.zero_grad()
        torch.nn.functional.cross_entropy(tm(xt), yt).backward()

    return _ms(run_dc, run_torch, rounds)


def cnn_case(batch, torch, rounds):
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
        return _ms(run_dc, None, rounds)
    tm = torch.nn.Sequential(torch.nn.Conv2d(1, 32, 3, padding=1), torch.nn.ReLU(),
                             torch.nn.Conv2d(32, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                             torch.nn.Flatten(), torch.nn.Linear(32 * 14 * 14, 10))
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)

    def run_torch():
        tm.zero_grad()
        torch.nn.functional.cross_entropy(tm(xt), yt).backward()

    return _ms(run_dc, run_torch, rounds)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=6, help="alternating rounds per case (the best is kept)")
    args = parser.parse_args()
    try:
        import torch
    except ImportError:
        torch = None
    cases = [
        (f"mlp 784-512-256-10 fwd+bwd batch {b}", lambda b=b: mlp_case(b, torch, args.rounds)) for b in (16, 128, 1024)
    ]
    cases.append(("cnn 2x conv3x3(32) 28x28 fwd+bwd batch 64", lambda: cnn_case(64, torch, args.rounds)))
    for name, case in cases:
        t_dc, t_torch = case()
        if t_torch is None:
            print(f"{name}: descend {t_dc:.3f} ms, torch not installed")
        else:
            print(f"{name}: descend {t_dc:.3f} ms, torch {t_torch:.3f} ms, ratio X/Y = {t_dc / t_torch:.2f}")


if __name__ == "__main__":
    main()
