"""Timing shared by the benchmarks: each framework in its own fresh process, alternating, best round kept.

Two things make naive timings on a small machine wrong by up to 3x:

- after a call, each library's worker threads keep spinning for a while (OpenBLAS's for NumPy,
  OpenMP's for PyTorch, XLA's for JAX) and take a core from whatever runs next, and two libraries'
  thread pools in one process disturb each other; so each framework runs in its own fresh Python
  process (:func:`spawn`), the machine is left idle between processes, and inside a process every
  timed function gets ``settle`` seconds of idle machine before its block (:func:`compare`);
- the machine's speed drifts (other tenants of the host); so the processes alternate over rounds
  (descend, torch, descend, torch, ...; :func:`alternate`), and each function's time is the median
  of its calls in its best block over all rounds (:func:`best`).

The protocol: ``python bench/X.py --worker FRAMEWORK [options]`` builds and times that framework's
functions only and prints one JSON line (the last line of its stdout); the same script without
``--worker`` is the parent: it collects the workers' results with :func:`alternate`, cross-checks
values they pass back, and prints ``case: descend X ms, torch Y ms, ratio X/Y = R`` lines (:func:`line`).
"""

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.join(os.path.dirname(HERE), "src")


def compare(fns, rounds=2, block=0.1, settle=0.2, min_calls=5):
    """Seconds per call of each function of the dict ``fns`` (name → callable without arguments).

    Each round runs every function in turn: ``settle`` seconds idle, two warm-up calls, then
    calls for ``block`` seconds (at least ``min_calls``). Returns {name: best round's median}."""
    best_ = {name: float("inf") for name in fns}
    for _ in range(rounds):
        for name, fn in fns.items():
            time.sleep(settle)
            fn()
            fn()
            times = []
            end = time.perf_counter() + block
            while len(times) < min_calls or time.perf_counter() < end:
                t0 = time.perf_counter()
                fn()
                times.append(time.perf_counter() - t0)
            best_[name] = min(best_[name], float(np.median(times)))
    return best_


def installed(module):
    """Whether ``module`` can be imported (checked without importing it, so the parent starts no threads)."""
    return importlib.util.find_spec(module) is not None


def spawn(script, *args):
    """Run ``python script *args`` in a fresh process with this environment (descend's ``src`` first on
    PYTHONPATH) and return the JSON value of the last line of its stdout."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (SRC, env.get("PYTHONPATH")) if p)
    cmd = [sys.executable, os.path.abspath(script), *map(str, args)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=env)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        tail = "\n".join(done.stderr.strip().splitlines()[-15:])
        raise RuntimeError(f"worker {' '.join(cmd[1:])} failed with exit code {done.returncode}, expected one JSON "
                           f"line on stdout; its stderr ends:\n{tail}")
    return json.loads(lines[-1])


def alternate(script, frameworks, rounds, *args, settle=1.0):
    """{framework: [result of each round]}: for each of ``rounds`` rounds, each framework in turn runs
    ``python script --worker FRAMEWORK *args`` in a fresh process (:func:`spawn`), after ``settle``
    seconds idle (the previous process's threads are gone, the machine's caches cool)."""
    runs = {fw: [] for fw in frameworks}
    for _ in range(rounds):
        for fw in frameworks:
            time.sleep(settle)
            runs[fw].append(spawn(script, "--worker", fw, *args))
    return runs


def best(runs, key="times"):
    """{name: least seconds over the rounds} of the dicts ``run[key]`` of the rounds ``runs``."""
    out = {}
    for run in runs:
        for name, seconds in run[key].items():
            out[name] = min(out.get(name, float("inf")), seconds)
    return out


def line(case, ours, theirs, unit="ms", scale=1e3, digits=3, other="torch"):
    """``case: descend X unit, torch Y unit, ratio X/Y = R`` (times in seconds); when ``theirs`` is None,
    ``case: descend X unit, torch not installed``. ``other`` names the other framework."""
    if theirs is None:
        return f"{case}: descend {ours * scale:.{digits}f} {unit}, {other} not installed"
    return (f"{case}: descend {ours * scale:.{digits}f} {unit}, {other} {theirs * scale:.{digits}f} {unit}, "
            f"ratio X/Y = {ours / theirs:.2f}")


def worker_main(parser, work):
    """Shared ``main`` of a benchmark script: ``parser`` (argparse, with the script's options) gains the
    hidden ``--worker FRAMEWORK``; with it, print ``json.dumps(work(framework, args))`` and return None;
    without it, return the parsed arguments for the parent."""
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(work(args.worker, args)))
        return None
    return args


def time_frameworks(script, doc, frameworks, cases):
    """Shared ``main`` of a script whose workers time a dict of callables: the command line takes
    ``--rounds`` (alternating rounds of fresh processes) and ``--inner`` (timing rounds inside each
    process, :func:`compare`); a worker (``--worker FRAMEWORK``) times ``cases(FRAMEWORK)`` and prints
    them, returning None; the parent runs ``frameworks`` (:func:`alternate`) and returns
    {framework: {case: best seconds per call}}."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds of fresh processes (best kept)")
    parser.add_argument("--inner", type=int, default=2, help="timing rounds inside each process")
    args = worker_main(parser, lambda framework, args: {"times": compare(cases(framework), rounds=args.inner)})
    if args is None:
        return None
    runs = alternate(script, frameworks, args.rounds, "--inner", args.inner)
    return {fw: best(runs[fw]) for fw in frameworks}
