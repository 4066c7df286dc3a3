"""One training step (forward, cross-entropy, backward, Adam) in every framework, each in its own process.

    python bench/compile.py [--rounds 3] [--workloads mlp128,mlp16,mlp1024,deep]
    python bench/compile.py --epoch [--rounds 3] [--epochs 2]

Frameworks: the BLAS floor (only the step's matrix products, in NumPy), descend eager, descend
compiled (``dc.compile``), PyTorch eager and JAX ``jit`` (where installed). Each step takes the next
of ``BATCHES`` batches (the same arrays in every framework), as training does. Each runs in a fresh
Python process, so that no library's spinning worker threads slow another's; in that process the
step is warmed up, then timed in blocks of calls, ``--rounds`` times, and the time is the best
round's median. Prints the table of the issue and the ratios descend/PyTorch, descend/JAX and
descend/floor (one line per workload and framework pair, ``ratio X/Y = R``).

Workloads (float32, MNIST-shaped inputs, 10 classes, ReLU):
  mlp128   784-512-256-10, batch 128        mlp16   the same, batch 16
  mlp1024  the same, batch 1024             deep    784, 20 hidden layers of 64, 10; batch 64

One epoch (``--epoch``, or the workload ``epoch``; not in the default list, it takes minutes): the MNIST
MLP recipe of issue 15 on 60,000 synthetic MNIST-shaped examples (float32 N(0, 1) inputs, labels 0..9,
seed 0: the same arrays in every framework), 784-512-256-10 ReLU, cross-entropy, Adam(lr=1e-3), batch
128 reshuffled every epoch (468 full batches and one of 96). In each fresh process one model is built,
one warm-up epoch runs (it traces and compiles, fills allocators and caches), then ``--epochs`` epochs
are timed, each from its first batch's gather to its last step's end, and the best counts; the
processes alternate over ``--rounds`` rounds, best kept. What each framework's epoch includes:

- descend, descend-compiled: ``Trainer(model, F.cross_entropy, Adam, batch_size=128, verbose=0,
  compile=False/True).fit((X, T), epochs=...)`` as a user writes it: the Trainer's shuffling loader,
  the step, the epoch's loss and accuracy (metrics="auto"), the callbacks; timed from
  ``on_epoch_start`` to ``on_epoch_end``. Both must log the same epoch losses (compile changes no
  number): the parent checks it;
- torch: ``DataLoader(TensorDataset(X, T), batch_size=128, shuffle=True)``, then per batch
  ``zero_grad()``, forward, ``cross_entropy``, ``backward()``, ``step()`` and ``loss.item()`` summed
  for the epoch's loss (no accuracy);
- jax: a NumPy permutation per epoch, batches gathered with NumPy fancy indexing, the jitted step of
  ``jax_step`` (forward, loss, grad, Adam), the losses summed at the epoch's end (JAX's asynchronous
  dispatch overlaps the next gather with the step), the epoch ends when the last step's result is ready.

The libraries' thread pools are left at their defaults. On a 2-core machine shared with other jobs
the default (two BLAS threads, PyTorch's two OpenMP threads) makes epochs 3-10x slower and erratic
whenever another process takes a core; for repeatable numbers there, give every library one thread:
``OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 XLA_FLAGS="--xla_cpu_multi_thread_eigen=false
intra_op_parallelism_threads=1" python bench/compile.py --epoch``.
"""

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np

WORKLOADS = {
    "mlp128": ([784, 512, 256, 10], 128),
    "mlp16": ([784, 512, 256, 10], 16),
    "mlp1024": ([784, 512, 256, 10], 1024),
    "deep": ([784] + [64] * 20 + [10], 64),
}
FRAMEWORKS = ("floor", "descend", "descend-compiled", "torch", "jax")
LR = 1e-3
EPOCH_N, EPOCH_SIZES, EPOCH_BATCH = 60_000, [784, 512, 256, 10], 128
EPOCH_FRAMEWORKS = ("descend", "descend-compiled", "torch", "jax")


#: each step takes the next of this many batches in turn, as a training loop does (a compiled step
#: that saw only one batch would check each call that the batch is unchanged, which training never needs)
BATCHES = 4


def data(batch, n_in):
    """``BATCHES`` (inputs, labels) pairs, the same in every framework."""
    rng = np.random.default_rng(0)
    return [(rng.standard_normal((batch, n_in)).astype(np.float32), rng.integers(0, 10, batch).astype(np.int64))
            for _ in range(BATCHES)]


def cycle(batches):
    """A function returning the next batch of ``batches`` at each call, round and round."""
    state = [0]

    def next_batch():
        state[0] = (state[0] + 1) % len(batches)
        return batches[state[0]]

    return next_batch


def time_calls(step, rounds, block=0.25, min_calls=10):
    """Best round's median seconds per call of ``step()`` (after warm-up calls)."""
    for _ in range(3):
        step()
    best = float("inf")
    for _ in range(rounds):
        times = []
        end = time.perf_counter() + block
        while len(times) < min_calls or time.perf_counter() < end:
            t0 = time.perf_counter()
            step()
            times.append(time.perf_counter() - t0)
        best = min(best, float(np.median(times)))
        time.sleep(0.1)
    return best


# ---------------------------------------------------------------------------- the frameworks' steps
def floor_step(sizes, batch):
    """Only the products of a step: Y = X Wᵀ per layer, then dW = dYᵀ X and dX = dY W (not for the input)."""
    rng = np.random.default_rng(1)
    ws = [rng.standard_normal((o, i)).astype(np.float32) for i, o in zip(sizes[:-1], sizes[1:])]
    xs = [rng.standard_normal((batch, i)).astype(np.float32) for i in sizes[:-1]]
    dys = [rng.standard_normal((batch, o)).astype(np.float32) for o in sizes[1:]]

    def step():
        for w, x in zip(ws, xs):
            x @ w.T
        for k, (w, x, dy) in enumerate(zip(ws, xs, dys)):
            dy.T @ x
            if k:
                dy @ w

    return step


def _descend_model(sizes):
    import descend as dc
    from descend import nn
    dc.manual_seed(0)
    layers = []
    for i, o in zip(sizes[:-2], sizes[1:-1]):
        layers += [nn.Linear(i, o), nn.ReLU()]
    return nn.Sequential(*layers, nn.Linear(sizes[-2], sizes[-1]))


def descend_parts(sizes, batch):
    """(step, batches): descend's training step function step(x, t) on a fresh model and Adam, and
    the ``BATCHES`` batches as Tensors."""
    import descend as dc
    from descend import optim
    from descend.nn import functional as F
    model = _descend_model(sizes)
    opt = optim.Adam(model.parameters(), lr=LR)

    def step(x, t):
        opt.zero_grad()
        loss = F.cross_entropy(model(x), t)
        loss.backward()
        opt.step()
        return loss

    return step, [(dc.from_numpy(x), dc.from_numpy(t)) for x, t in data(batch, sizes[0])]


def descend_step(sizes, batch, compiled=False):
    import descend as dc
    step, batches = descend_parts(sizes, batch)
    fn = dc.compile(step) if compiled else step
    next_batch = cycle(batches)
    return lambda: fn(*next_batch())


def torch_step(sizes, batch):
    import torch
    torch.manual_seed(0)
    layers = []
    for i, o in zip(sizes[:-2], sizes[1:-1]):
        layers += [torch.nn.Linear(i, o), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers, torch.nn.Linear(sizes[-2], sizes[-1]))
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    batches = cycle([(torch.from_numpy(x), torch.from_numpy(t)) for x, t in data(batch, sizes[0])])

    def step():
        x, t = batches()
        opt.zero_grad()
        loss = torch.nn.functional.cross_entropy(model(x), t)
        loss.backward()
        opt.step()

    return step


def jax_step(sizes, batch):
    import jax.numpy as jnp
    step, state = _jax_parts(sizes)
    batches = cycle([(jnp.asarray(x), jnp.asarray(t)) for x, t in data(batch, sizes[0])])

    def run():
        state[0], state[1], state[2], state[3], loss = step(*state, *batches())
        loss.block_until_ready()

    return run


def _jax_parts(sizes):
    """(the jitted step (params, m, v, count, x, t) -> (params, m, v, count, loss), the initial state list)."""
    import jax
    import jax.numpy as jnp
    key = jax.random.PRNGKey(0)
    params = []
    for i, o in zip(sizes[:-1], sizes[1:]):
        key, k1, k2 = jax.random.split(key, 3)
        bound = 1 / np.sqrt(i)
        params.append((jax.random.uniform(k1, (o, i), minval=-bound, maxval=bound),
                       jax.random.uniform(k2, (o,), minval=-bound, maxval=bound)))

    def loss_fn(params, x, t):
        h = x
        for w, b in params[:-1]:
            h = jax.nn.relu(h @ w.T + b)
        w, b = params[-1]
        z = h @ w.T + b
        return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(z), t[:, None], axis=1))

    b1, b2, eps = 0.9, 0.999, 1e-8

    @jax.jit
    def step(params, m, v, count, x, t):
        loss, g = jax.value_and_grad(loss_fn)(params, x, t)
        count = count + 1
        m = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, m, g)
        v = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * g * g, v, g)
        c1, c2 = 1 - b1 ** count, 1 - b2 ** count
        params = jax.tree_util.tree_map(lambda p, m, v: p - LR * (m / c1) / (jnp.sqrt(v / c2) + eps), params, m, v)
        return params, m, v, count, loss

    zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
    return step, [params, zeros, zeros, jnp.zeros((), jnp.float32)]


# ---------------------------------------------------------------------------- one epoch (--epoch)
def epoch_data():
    """The epoch's 60,000 examples: float32 N(0, 1) inputs (N, 784) and int64 labels 0..9, seed 0."""
    rng = np.random.default_rng(0)
    return (rng.standard_normal((EPOCH_N, EPOCH_SIZES[0]), dtype=np.float32),
            rng.integers(0, 10, EPOCH_N).astype(np.int64))


def descend_epochs(x, t, compiled):
    """A function running one more epoch of ``Trainer(compile=compiled)``; it returns (seconds, epoch loss)."""
    from descend import optim
    from descend import train as T
    from descend.nn import functional as F

    class Clock(T.Callback):
        def on_epoch_start(self, trainer, epoch):
            self.t0 = time.perf_counter()

        def on_epoch_end(self, trainer, epoch, logs):
            self.seconds = time.perf_counter() - self.t0

    model = _descend_model(EPOCH_SIZES)
    clock = Clock()
    trainer = T.Trainer(model, F.cross_entropy, optim.Adam(model.parameters(), lr=LR), callbacks=[clock],
                        batch_size=EPOCH_BATCH, seed=0, verbose=0, compile=compiled)
    train = (x, t)

    def epoch():
        history = trainer.fit(train, epochs=1)
        return clock.seconds, history["loss"][-1]

    return epoch


def torch_epochs(x, t):
    import torch
    torch.manual_seed(0)
    sizes = EPOCH_SIZES
    layers = []
    for i, o in zip(sizes[:-2], sizes[1:-1]):
        layers += [torch.nn.Linear(i, o), torch.nn.ReLU()]
    model = torch.nn.Sequential(*layers, torch.nn.Linear(sizes[-2], sizes[-1]))
    opt = torch.optim.Adam(model.parameters(), lr=LR)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.from_numpy(x), torch.from_numpy(t)),
                                         batch_size=EPOCH_BATCH, shuffle=True)

    def epoch():
        t0 = time.perf_counter()
        total, n = 0.0, 0
        for xb, tb in loader:
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(xb), tb)
            loss.backward()
            opt.step()
            total += loss.item() * len(xb)
            n += len(xb)
        return time.perf_counter() - t0, total / n

    return epoch


def jax_epochs(x, t):
    import jax
    import jax.numpy as jnp
    step, state = _jax_parts(EPOCH_SIZES)
    rng = np.random.default_rng(0)

    def epoch():
        t0 = time.perf_counter()
        order = rng.permutation(len(x))
        losses = []
        for i in range(0, len(x), EPOCH_BATCH):
            idx = order[i:i + EPOCH_BATCH]
            state[0], state[1], state[2], state[3], loss = step(*state, x[idx], t[idx])
            losses.append(loss * len(idx))
        mean = float(jnp.sum(jnp.stack(losses))) / len(x)
        jax.block_until_ready(state[0])
        return time.perf_counter() - t0, mean

    return epoch


def epoch_worker(framework, epochs):
    """{"seconds": best timed epoch, "losses": every epoch's mean loss, warm-up first} in this process."""
    x, t = epoch_data()
    make = {"descend": lambda: descend_epochs(x, t, False), "descend-compiled": lambda: descend_epochs(x, t, True),
            "torch": lambda: torch_epochs(x, t), "jax": lambda: jax_epochs(x, t)}[framework]
    try:
        epoch = make()
    except ImportError as e:
        return {"error": f"not installed ({e.name})"}
    _, loss = epoch()  # the warm-up epoch
    seconds, losses = [], [loss]
    for _ in range(epochs):
        time.sleep(0.5)
        s, loss = epoch()
        seconds.append(s)
        losses.append(loss)
    return {"seconds": min(seconds), "all": seconds, "losses": losses}


def epoch_main(frameworks, rounds, epochs):
    """Alternate fresh processes over ``rounds``; print each framework's best epoch and the ratios."""
    frameworks = [f for f in frameworks if f in EPOCH_FRAMEWORKS]
    runs = {f: [] for f in frameworks}
    for r in range(rounds):
        for f in frameworks:
            time.sleep(1.0)
            runs[f].append(measure(f, "epoch", 1, epochs))
            got = runs[f][-1]
            times = ", ".join(f"{s * 1e3:,.0f}" for s in got["all"]) if "all" in got else got["error"]
            print(f"  round {r + 1} {f}: epochs {times} ms", flush=True)
    res = {}
    for f, rs in runs.items():
        ok = [r for r in rs if "seconds" in r]
        res[f] = {"seconds": min(r["seconds"] for r in ok), "losses": ok[0]["losses"]} if ok else rs[0]
    row = "  ".join(f"{f} {r['seconds'] * 1e3:,.0f} ms" if "seconds" in r else f"{f} ({r['error']})"
                    for f, r in res.items())
    print(f"epoch: {row}", flush=True)
    a, b = res.get("descend", {}).get("losses"), res.get("descend-compiled", {}).get("losses")
    if a and b:
        same = a == b
        print(f"epoch descend vs descend-compiled: epoch losses {'identical' if same else 'DIFFER'} "
              f"({', '.join(f'{v:.6f}' for v in b)})")
    pairs = [("descend-compiled", "descend"), ("descend-compiled", "torch"), ("descend-compiled", "jax"),
             ("descend", "torch"), ("descend", "jax")]
    for ours, theirs in pairs:
        if "seconds" in res.get(ours, {}) and "seconds" in res.get(theirs, {}):
            x, y = res[ours]["seconds"], res[theirs]["seconds"]
            print(f"epoch {ours} vs {theirs}: {ours} {x * 1e3:,.0f} ms, {theirs} {y * 1e3:,.0f} ms, "
                      f"ratio X/Y = {x / y:.2f}")


def worker(framework, workload, rounds):
    if workload == "epoch":
        return epoch_worker(framework, rounds)
    sizes, batch = WORKLOADS[workload]
    make = {"floor": floor_step, "descend": descend_step, "torch": torch_step, "jax": jax_step,
            "descend-compiled": lambda s, b: descend_step(s, b, compiled=True)}[framework]
    try:
        step = make(sizes, batch)
    except ImportError as e:
        return {"error": f"not installed ({e.name})"}
    except AttributeError as e:
        return {"error": f"not available ({e})"}
    return {"seconds": time_calls(step, rounds)}


# ---------------------------------------------------------------------------- the driver
def measure(framework, workload, rounds, epochs=2):
    cmd = [sys.executable, os.path.abspath(__file__), "--worker", framework, "--workloads", workload,
           "--rounds", str(rounds), "--epochs", str(epochs)]
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        return {"error": (r.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(r.stdout.strip().splitlines()[-1])


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--workloads", default=",".join(WORKLOADS))
    p.add_argument("--frameworks", default=",".join(FRAMEWORKS))
    p.add_argument("--epoch", action="store_true", help="time one MNIST epoch per framework (the workload 'epoch')")
    p.add_argument("--epochs", type=int, default=2, help="epochs timed in each process after the warm-up (--epoch)")
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        count = args.epochs if args.workloads == "epoch" else args.rounds
        print(json.dumps(worker(args.worker, args.workloads, count)))
        return
    frameworks = args.frameworks.split(",")
    workloads = ["epoch"] if args.epoch else args.workloads.split(",")
    if "epoch" in workloads:
        workloads.remove("epoch")
        epoch_main(frameworks, args.rounds, args.epochs)
    results = {}
    for w in workloads:
        results[w] = {f: measure(f, w, args.rounds) for f in frameworks}
        row = "  ".join(f"{f} {r['seconds'] * 1e6:,.0f} us" if "seconds" in r else f"{f} ({r['error']})"
                        for f, r in results[w].items())
        print(f"{w}: {row}", flush=True)
    for w, res in results.items():
        for ours in ("descend", "descend-compiled"):
            for theirs in ("torch", "jax", "floor"):
                if "seconds" in res.get(ours, {}) and "seconds" in res.get(theirs, {}):
                    a, b = res[ours]["seconds"], res[theirs]["seconds"]
                    print(f"{w} {ours} vs {theirs}: {ours} {a * 1e6:,.0f} us, {theirs} {b * 1e6:,.0f} us, "
                          f"ratio X/Y = {a / b:.2f}")


if __name__ == "__main__":
    main()
