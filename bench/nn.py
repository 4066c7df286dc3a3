"""Benchmark descend.nn against PyTorch (and JAX where installed): forward + backward of an MLP and a small CNN.

Run: python bench/nn.py [--rounds N] [--cases WORD]. ``--cases cnn`` (or ``mlp``) times only the cases whose
name contains that word. Prints one line per case:
``case: descend X ms, torch Y ms, ratio X/Y = R`` (float32, each framework in its own fresh process
with its default thread count, alternating over rounds, best round kept; bench/timing.py); then
``case (dc.compile): descend X ms, torch Y ms, ...`` for the same step compiled with ``dc.compile``
(as ``Trainer`` runs it by default); for the MLP cases where JAX is installed, also a
``(jax.jit of jax.grad)`` line against the jitted gradient of the same network. Goals: MLP ≤ 0.9×,
CNN ≤ 1.0× PyTorch (issue 15).
"""


import os
import sys

import numpy as np
from timing import installed, line, time_frameworks

MLP_BATCHES = (16, 128, 1024)
CNN_BATCH = 64


def mlp_name(batch):
    return f"mlp 784-512-256-10 fwd+bwd batch {batch}"


CNN_NAME = f"cnn 2x conv3x3(32) 28x28 fwd+bwd batch {CNN_BATCH}"


def data(shape, batch):
    rng = np.random.default_rng(0)
    return rng.standard_normal((batch, *shape)).astype(np.float32), rng.integers(0, 10, batch)


def descend_cases(compiled=False):
    import descend as dc
    import descend.nn as nn
    import descend.nn.functional as F

    def case(model, x, y):
        xd, yd = dc.from_numpy(x), dc.from_numpy(y)

        def run():
            model.zero_grad()
            F.cross_entropy(model(xd), yd).backward()

        return dc.compile(run, strict=True) if compiled else run

    dc.manual_seed(0)
    fns = {}
    for b in MLP_BATCHES:
        model = nn.Sequential(nn.Linear(784, 512), nn.ReLU(), nn.Linear(512, 256), nn.ReLU(), nn.Linear(256, 10))
        fns[mlp_name(b)] = case(model, *data((784,), b))
    model = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, padding=1), nn.ReLU(),
                          nn.MaxPool2d(2), nn.Flatten(), nn.Linear(32 * 14 * 14, 10))
    fns[CNN_NAME] = case(model, *data((1, 28, 28), CNN_BATCH))
    return fns


def torch_cases():
    import torch

    def case(model, x, y):
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)

        def run():
            model.zero_grad()
            torch.nn.functional.cross_entropy(model(xt), yt).backward()

        return run

    torch.manual_seed(0)
    fns = {}
    for b in MLP_BATCHES:
        model = torch.nn.Sequential(torch.nn.Linear(784, 512), torch.nn.ReLU(), torch.nn.Linear(512, 256),
                                    torch.nn.ReLU(), torch.nn.Linear(256, 10))
        fns[mlp_name(b)] = case(model, *data((784,), b))
    model = torch.nn.Sequential(torch.nn.Conv2d(1, 32, 3, padding=1), torch.nn.ReLU(),
                                torch.nn.Conv2d(32, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.MaxPool2d(2),
                                torch.nn.Flatten(), torch.nn.Linear(32 * 14 * 14, 10))
    fns[CNN_NAME] = case(model, *data((1, 28, 28), CNN_BATCH))
    return fns


def jax_cases():
    """The MLP's parameter gradient as JAX users run it: jax.jit of jax.grad, results blocked on."""
    import jax
    import jax.numpy as jnp

    def loss(params, x, y):
        h = x
        for i, (W, b) in enumerate(params):
            h = h @ W + b
            if i < len(params) - 1:
                h = jax.nn.relu(h)
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(h, axis=1), y[:, None], axis=1))

    grad = jax.jit(jax.grad(loss))
    rng = np.random.default_rng(0)
    params = [(jnp.asarray(rng.uniform(-1, 1, (a, b)).astype(np.float32) / np.sqrt(a)), jnp.zeros(b, jnp.float32))
              for a, b in ((784, 512), (512, 256), (256, 10))]
    fns = {}
    for b in MLP_BATCHES:
        x, y = (jnp.asarray(a) for a in data((784,), b))
        fns[mlp_name(b)] = lambda x=x, y=y: jax.block_until_ready(grad(params, x, y))
    return fns


def selected(fns):
    """The cases of ``fns`` whose name contains $DESCEND_BENCH_CASES (all when unset)."""
    word = os.environ.get("DESCEND_BENCH_CASES", "")
    return {name: fn for name, fn in fns.items() if word in name}


def take_cases_option(argv):
    """Remove ``--cases WORD`` from ``argv`` and hand WORD to the workers through $DESCEND_BENCH_CASES."""
    if "--cases" in argv:
        i = argv.index("--cases")
        if i + 1 >= len(argv):
            raise SystemExit("bench/nn.py: --cases needs a word, e.g. --cases cnn")
        os.environ["DESCEND_BENCH_CASES"] = argv[i + 1]
        del argv[i:i + 2]


def main():
    take_cases_option(sys.argv)
    frameworks = ["descend", "descend-compiled"] + [fw for fw in ("torch", "jax") if installed(fw)]
    if not selected({mlp_name(b): None for b in MLP_BATCHES}):
        frameworks = [fw for fw in frameworks if fw != "jax"]  # JAX times only the MLP cases
    cases = {"descend": descend_cases, "descend-compiled": lambda: descend_cases(compiled=True),
             "torch": torch_cases, "jax": jax_cases}
    t = time_frameworks(__file__, __doc__, frameworks, lambda framework: selected(cases[framework]()))
    if t is None:
        return
    for name, ours in t["descend"].items():
        print(line(name, ours, t["torch"][name] if "torch" in t else None))
        if name in t.get("jax", {}):
            print(line(f"{name} (jax.jit of jax.grad)", ours, t["jax"][name], other="jax"))
    for name, ours in t["descend-compiled"].items():
        print(line(f"{name} (dc.compile)", ours, t["torch"][name] if "torch" in t else None))


if __name__ == "__main__":
    main()
