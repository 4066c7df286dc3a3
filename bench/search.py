"""The cost of a search: a 16-trial random search of 3-epoch digits MLPs (hidden [64], [128] or [256], learning
rate log-uniform in [1e-4, 1e-1], the default augmentation), on 1 and 2 local workers and on a two-worker Dask
LocalCluster.

Each case runs in a fresh process, as ``descend search`` would, and is repeated (``--repeat``, default 2).
For each it prints the wall time of ``search.run`` (worker start, scheduling, the database, the final test
and the study's files included; no plots), the trials' own time (Σ of each run's time in its worker) and
the search's overhead until the last trial ends: W · t_last − Σ trials, the core-seconds not spent in a
trial (worker start, scheduling, storage, and the idle tail while the last trials finish), relative to
Σ trials; then its parts: the start (until the first trial runs in a worker), the time between and after
the trials, and, apart, the final test with the study's files (the protocol's one test, not overhead).
Goals: 2 workers ≥ 1.6x faster than 1; overhead ≤ 5%. Timings on a shared machine are noisy: the ranges
over the repeats are printed.

    PYTHONPATH=src python bench/search.py [--repeat N]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

CASES = {"local-1": ("local", 1), "local-2": ("local", 2), "dask-2": ("dask", 2)}
TRIALS, EPOCHS = 16, 3


def one(case, out):
    """Run the study of ``case`` in this process; return its timings and its trials' results."""
    from descend import search
    from descend.train.config import load_config
    executor, workers = CASES[case]
    config = load_config(None, [f"training.epochs={EPOCHS}", "output.plots=false", "output.progress=false"])
    space = {"optimizer.lr": search.loguniform(1e-4, 1e-1), "model.hidden": search.choice([[64], [128], [256]])}
    t0, clock = time.perf_counter(), time.time()
    study = search.run(config, space, method="random", trials=TRIALS, workers=workers, executor=executor,
                       out=out, seed=0, verbose=False)
    wall = time.perf_counter() - t0
    trials = sum(t.seconds for t in study.trials)
    first = min(t.finished - t.seconds for t in study.trials) - clock     # the first trial starts in a worker
    last = max(t.finished for t in study.trials) - clock                  # the last trial ends
    return {"wall": wall, "trials": trials, "workers": workers, "startup": first, "end": wall - last,
            "between": workers * (last - first) - trials,
            "results": [[t.params, t.seed, t.value, [{k: v for k, v in r.items() if k != "time"}
                                                     for r in t.metrics]] for t in study.trials]}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=2)
    p.add_argument("--case", choices=list(CASES), help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.case:
        print(json.dumps(one(args.case, args.out)))
        return
    runs = {case: [] for case in CASES}
    with tempfile.TemporaryDirectory() as tmp:
        for r in range(args.repeat):
            for case in CASES:
                out = os.path.join(tmp, f"{case}-{r}")
                done = subprocess.run([sys.executable, __file__, "--case", case, "--out", out], capture_output=True,
                                      text=True, check=True)
                runs[case].append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"search: {TRIALS}-trial random search of {EPOCHS}-epoch digits MLPs, {len(os.sched_getaffinity(0))} "
          f"cores, {args.repeat} runs per case (min-max)")

    def span(xs, fmt):
        return f"{fmt.format(min(xs))}-{fmt.format(max(xs))}" if len(xs) > 1 else fmt.format(xs[0])

    base = [r["wall"] for r in runs["local-1"]]
    for case, rs in runs.items():
        w = rs[0]["workers"]
        over = [(w * (r["wall"] - r["end"]) - r["trials"]) / r["trials"] for r in rs]
        line = (f"{case:<8} wall {span([r['wall'] for r in rs], '{:.1f}')} s, "
                f"trials {span([r['trials'] for r in rs], '{:.1f}')} s, "
                f"overhead {span([100 * o for o in over], '{:.1f}')}%")
        if case != "local-1":
            line += f", speed-up over 1 worker {span([min(base) / r['wall'] for r in rs], '{:.2f}')}x"
        print(line)
        print(f"{'':<8} of which: start {span([r['startup'] for r in rs], '{:.2f}')} s, between and after the "
              f"trials {span([100 * r['between'] / r['trials'] for r in rs], '{:.1f}')}% of trial time, final "
              f"test and files {span([r['end'] for r in rs], '{:.2f}')} s")
    first = runs["local-1"][0]["results"]
    same = all(r["results"] == first for rs in runs.values() for r in rs)
    print(f"identical trial results (hyperparameters, seeds, metrics) in every case: {same}")


if __name__ == "__main__":
    main()
