"""One epoch of an MNIST-shaped MLP (784-512-256-10, ReLU, cross-entropy, Adam 1e-3, batch 128, synthetic
60,000 x 784 float32 data) three ways: descend's Trainer.fit, a hand-written descend loop, and PyTorch.

Each of the three runs in its own fresh process, the processes alternating over rounds (``--rounds``),
each timing its epoch twice from a fresh model (the first epoch warms the allocator and caches up);
the best epoch counts (bench/timing.py). Run: python bench/train.py [--rounds N].

Prints one line per case, ``case: descend X ms, torch Y ms, ratio X/Y = R``, plus the Trainer's own
overhead relative to the hand-written loop (goal: < 5%; total goal: <= 0.8x PyTorch).
"""

import argparse
import time

import numpy as np
from timing import alternate, installed, worker_main

N, D_IN, BATCH = 60_000, 784, 128


def make_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, D_IN)).astype(np.float32)
    t = rng.integers(0, 10, size=N).astype(np.int64)
    return x, t


def descend_model():
    import descend as dc
    from descend import nn

    dc.manual_seed(0)
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))


def run_trainer(x, t):
    from descend import data as D
    from descend import optim
    from descend import train as T
    from descend.nn import functional as F

    model = descend_model()
    trainer = T.Trainer(model, F.cross_entropy, optim.Adam(model.parameters(), lr=1e-3), verbose=0)
    loader = D.DataLoader(D.TensorDataset(x, t), batch_size=BATCH, shuffle=True, seed=0)
    t0 = time.perf_counter()
    trainer.fit(loader, epochs=1)
    return time.perf_counter() - t0


def run_hand(x, t):
    from descend import data as D
    from descend import optim
    from descend.nn import functional as F

    model = descend_model()
    opt = optim.Adam(model.parameters(), lr=1e-3)
    loader = D.DataLoader(D.TensorDataset(x, t), batch_size=BATCH, shuffle=True, seed=0)
    t0 = time.perf_counter()
    model.train()
    for xb, tb in loader:
        opt.zero_grad()
        loss = F.cross_entropy(model(xb), tb)
        loss.backward()
        opt.step()
        loss.item()
    return time.perf_counter() - t0


def run_torch(x, t):
    import torch
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 256),
                                torch.nn.ReLU(), torch.nn.Linear(256, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    xt, tt = torch.from_numpy(x), torch.from_numpy(t)
    g = torch.Generator().manual_seed(0)
    t0 = time.perf_counter()
    model.train()
    perm = torch.randperm(N, generator=g)
    for i in range(0, N, BATCH):
        idx = perm[i:i + BATCH]
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(xt[idx]), tt[idx])
        loss.backward()
        opt.step()
        loss.item()
    return time.perf_counter() - t0


RUNS = {"trainer": run_trainer, "hand": run_hand, "torch": run_torch}


def work(case, args):
    """Seconds of the best of ``args.epochs`` epochs of ``case`` (each from a fresh model), in this process."""
    x, t = make_data()
    seconds = float("inf")
    for _ in range(args.epochs):
        time.sleep(0.5)
        seconds = min(seconds, RUNS[case](x, t))
    return {"seconds": seconds}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2, help="alternating rounds of fresh processes (best kept)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs timed in each process (best kept)")
    args = worker_main(parser, work)
    if args is None:
        return
    cases = ["trainer", "hand"] + (["torch"] if installed("torch") else [])
    runs = alternate(__file__, cases, args.rounds, "--epochs", args.epochs)
    trainer, hand, ref = (1e3 * min((r["seconds"] for r in runs.get(k, [])), default=float("nan"))
                          for k in ("trainer", "hand", "torch"))
    for name, ours in (("Trainer.fit", trainer), ("hand loop", hand)):
        if "torch" in runs:
            print(f"mnist_mlp_epoch {name}: descend {ours:.0f} ms, torch {ref:.0f} ms, ratio X/Y = {ours / ref:.2f}")
        else:
            print(f"mnist_mlp_epoch {name}: descend {ours:.0f} ms, torch not installed")
    print(f"trainer_overhead: Trainer.fit {trainer:.0f} ms vs hand-written loop {hand:.0f} ms, "
          f"overhead = {100 * (trainer / hand - 1):+.1f}%")


if __name__ == "__main__":
    main()
