"""SIGKILL drill: kill real ``descend train`` processes at random and aimed moments, resume every time, and check
that every resumed run finishes bit-identical to the uninterrupted one.

Aimed kills use the ``DESCEND_KILL_AT="<point>:<k>"`` hook (descend.train.files.kill_point): the process
SIGKILLs itself the k-th time it reaches the point, e.g. ``last.safetensors:partial`` (half of a
checkpoint written), ``last.safetensors:renamed`` (the new checkpoint renamed into place, the directory
not yet synced), ``metrics.jsonl:append`` (half a line appended), ``run:publish`` (the run directory
prepared but not yet published). Random kills come at a random time between a process's first line of
output (the run directory exists) and the end the uninterrupted run took.

A scenario is a list of kills on one run: each kill's process is the continuation of the previous one
(``descend train --resume``, or a fresh start when the run directory was never published); after the
last kill the run is resumed to its end and compared with the uninterrupted run: the final model's
arrays, metrics.jsonl and layers.jsonl (without times), and the summary's metrics. Nothing may be left
over (no temporary file in the run, no temporary directory beside it).

    python bench/kill_drill.py [--random 14] [--seed 0]

prints one line per scenario and the figures ``kills K, resumed R, identical I, lost L``.
"""

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "src"), PYTHONHASHSEED="0")
ARGS = ["--set", "model.hidden=[16]", "--set", "model.dropout=0.2", "--set", "training.epochs=4",
        "--set", "data.batch_size=128", "--set", "training.monitor_every=3", "--set", "output.progress=false",
        "--set", "output.plots=false", "--set", "training.early_stopping.patience=100"]

AIMED = [["run:publish:1"],
         ["last.safetensors:partial:1"], ["last.safetensors:written:2"], ["last.safetensors:renamed:1"],
         ["last.safetensors:partial:4"], ["last.safetensors:renamed:4"],
         ["metrics.jsonl:append:1"], ["metrics.jsonl:append:3"], ["layers.jsonl:append:2"],
         ["model.safetensors:partial:1"], ["model.safetensors:written:1"], ["model.safetensors:renamed:1"],
         ["summary.json:partial:1"], ["summary.json:written:1"], ["summary.json:renamed:1"],
         ["last.safetensors:written:2", "metrics.jsonl:partial:1"],      # then inside the resume's own cleanup
         ["metrics.jsonl:append:2", "layers.jsonl:renamed:1", "last.safetensors:partial:1"]]


def launch(run_dir, kill_at=None, kill_after=None):
    """Start (or resume, if ``run_dir`` exists) the drill's run; kill it at the aimed point, or ``kill_after``
    seconds after its first line of output (the run directory exists then). Returns (return code, stderr,
    seconds from the first line to the end)."""
    args = ["--resume", run_dir] if os.path.exists(run_dir) else ["--out", run_dir] + ARGS
    env = dict(ENV, DESCEND_KILL_AT=kill_at) if kill_at else ENV
    p = subprocess.Popen([sys.executable, "-m", "descend.cli", "train", *args], env=env, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    p.stdout.readline()
    t0 = time.perf_counter()
    try:
        _, err = p.communicate(timeout=kill_after if kill_after is not None else 300)
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGKILL)
        _, err = p.communicate(timeout=60)
    return p.returncode, err, time.perf_counter() - t0


def fingerprint(run_dir):
    """What must be bit-identical: the final model's arrays, the epoch and layer records, the summary's metrics."""
    sys.path.insert(0, os.path.join(ROOT, "src"))
    from descend.train.checkpoint import load_checkpoint

    def rows(name):
        with open(os.path.join(run_dir, name)) as f:
            return [{k: v for k, v in json.loads(line).items() if k != "time"} for line in f]
    with open(os.path.join(run_dir, "summary.json")) as f:
        summary = json.load(f)
    model = load_checkpoint(os.path.join(run_dir, "model"))["model"]
    return {"model": {k: (v.dtype.str, v.shape, v.tobytes()) for k, v in model.items()},
            "metrics": rows("metrics.jsonl"), "layers": rows("layers.jsonl"),
            "summary": {k: v for k, v in summary.items() if "time" not in k and k != "run_dir"}}


def leftovers(run_dir):
    """Temporary files in the run and temporary directories beside it."""
    found = [n for n in os.listdir(os.path.dirname(run_dir)) if n.startswith(".descend-")]
    for sub in ("", "checkpoints", "plots"):
        d = os.path.join(run_dir, sub)
        if os.path.isdir(d):
            found += [os.path.join(sub, n) for n in os.listdir(d) if n.endswith(".tmp")]
    return found


def scenario(run_dir, kills, reference):
    """Run the kills of one scenario (aimed points, or floats = seconds until a random kill), resume to the end,
    compare. Returns (kills that hit, finished, identical, description)."""
    hits, notes = 0, []
    for k in kills:
        rc, err, _ = launch(run_dir, kill_at=None if isinstance(k, float) else k,
                            kill_after=k if isinstance(k, float) else None)
        if rc == -signal.SIGKILL:
            hits += 1
            notes.append(f"{k:.2f}s" if isinstance(k, float) else k)
        elif rc != 0:
            return hits, False, False, f"{kills}: exit {rc} {err.strip().splitlines()[-1:]}"
        elif not isinstance(k, float):
            return hits, False, False, f"{kills}: the aimed point {k} was never reached"
    rc, err, _ = launch(run_dir)
    if rc != 0:
        return hits, False, False, f"{notes}: resume exit {rc} {err.strip().splitlines()[-1:]}"
    left = leftovers(run_dir)
    same = fingerprint(run_dir) == reference and not left
    return hits, True, same, f"{' -> '.join(notes) or 'no kill'}: {'identical' if same else 'DIFFERENT'}" + (
        f" leftovers {left}" if left else "")


def drill(workdir, scenarios, log=print):
    """Run ``scenarios`` (lists of kills) in ``workdir``; returns the figures
    {kills, resumed, identical, lost, scenarios, seconds_per_run} (a float kill is a fraction of the reference's
    seconds from its first line of output to its end)."""
    rc, err, seconds = launch(os.path.join(workdir, "reference"))
    if rc != 0:
        raise RuntimeError(f"the uninterrupted run failed: {err}")
    reference = fingerprint(os.path.join(workdir, "reference"))
    figures = {"kills": 0, "resumed": 0, "identical": 0, "lost": 0, "scenarios": len(scenarios),
               "seconds_per_run": seconds}
    for i, kills in enumerate(scenarios):
        kills = [k * seconds if isinstance(k, float) else k for k in kills]
        hits, finished, same, note = scenario(os.path.join(workdir, f"run{i}"), kills, reference)
        figures["kills"] += hits
        figures["resumed"] += hits if finished else 0
        figures["identical"] += hits if same else 0
        figures["lost"] += 0 if finished else max(hits, 1)
        log(f"  {note}")
    return figures


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--random", type=int, default=14, help="scenarios with kills at random times (default 14)")
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    rng = random.Random(a.seed)
    randoms = [[rng.uniform(0.0, 1.0) for _ in range(rng.choice((1, 1, 2, 3)))] for _ in range(a.random)]
    with tempfile.TemporaryDirectory() as work:
        f = drill(work, AIMED + randoms)
    print(f"kill_drill: kills {f['kills']}, resumed {f['resumed']}, identical {f['identical']}, lost {f['lost']} "
          f"({f['scenarios']} scenarios, {sum(map(len, AIMED))} aimed kills, {f['seconds_per_run']:.1f} s of training "
          f"per run)")


if __name__ == "__main__":
    main()
