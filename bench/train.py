"""One epoch of an MNIST-shaped MLP (784-512-256-10, ReLU, cross-entropy, Adam 1e-3, batch 128, synthetic
60,000 x 784 float32 data) three ways: descend's Trainer.fit, a hand-written descend loop, and PyTorch.

Prints one line per case, ``case: descend X ms, torch Y ms, ratio X/Y = R``, plus the Trainer's own
overhead relative to the hand-written loop (goal: < 5%; total goal: <= 0.8x PyTorch).
"""

import time

import numpy as np

import descend as dc
from descend import data as D
from descend import nn, optim
from descend import train as T
from descend.nn import functional as F

N, D_IN, BATCH, ROUNDS = 60_000, 784, 128, 5


def make_data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(N, D_IN)).astype(np.float32)
    t = rng.integers(0, 10, size=N).astype(np.int64)
    return x, t


def descend_model():
    dc.manual_seed(0)
    return nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))


def run_trainer(x, t):
    model = descend_model()
    trainer = T.Trainer(model, F.cross_entropy, optim.Adam(model.parameters(), lr=1e-3), verbose=0)
    loader = D.DataLoader(D.TensorDataset(x, t), batch_size=BATCH, shuffle=True, seed=0)
    t0 = time.perf_counter()
    trainer.fit(loader, epochs=1)
    return time.perf_counter() - t0


def run_hand(x, t):
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


def main():
    x, t = make_data()
    cases = {"trainer": run_trainer, "hand": run_hand}
    try:
        import torch  # noqa: F401
        cases["torch"] = run_torch
    except ImportError:
        pass
    # epochs alternate, with idle time before each (the other library's worker threads spin for a while
    # after its last call), best of ROUNDS (the machine's load drifts); each run times its epoch only
    times = {k: float("inf") for k in cases}
    for _ in range(ROUNDS):
        for k, fn in cases.items():
            time.sleep(0.5)
            times[k] = min(times[k], fn(x, t))
    trainer, hand, ref = (1e3 * times.get(k, float("nan")) for k in ("trainer", "hand", "torch"))
    print(f"mnist_mlp_epoch Trainer.fit: descend {trainer:.0f} ms, torch {ref:.0f} ms, ratio X/Y = {trainer / ref:.2f}")
    print(f"mnist_mlp_epoch hand loop: descend {hand:.0f} ms, torch {ref:.0f} ms, ratio X/Y = {hand / ref:.2f}")
    print(f"trainer_overhead: Trainer.fit {trainer:.0f} ms vs hand-written loop {hand:.0f} ms, "
          f"overhead = {100 * (trainer / hand - 1):+.1f}%")


if __name__ == "__main__":
    main()
