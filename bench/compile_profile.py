"""Where a compiled training step's time goes: each recorded operation timed (``CompiledStep.profile``).

    python bench/compile_profile.py [--workloads mlp128,mlp16,mlp1024,deep] [--calls 50]

For each workload of ``bench/compile.py`` (one step = forward, cross-entropy, backward, Adam), the
compiled step is recorded, then ``--calls`` profiled replays are timed operation by operation; the
table gives the median time per step of each kind of operation and its share of the median step
(an unprofiled replay). "replay loop" is the step minus the timed operations: the tape walk itself.
"""

import argparse
import collections

import numpy as np
from compile import WORKLOADS, cycle, descend_parts, time_calls

GROUPS = {
    "products (Linear: x Wᵀ + b)": ("LinearFn", "LinearGradWeight", "LinearGradInput", "BatchSum"),
    "elementwise (ReLU and its gradient)": ("Relu", "ReluGrad"),
    "loss (cross-entropy and its gradient)": ("CrossEntropyFn", "CrossEntropyGrad"),
    "optimizer (Adam.step, zero_grad)": ("Adam.step()", "Adam.zero_grad()"),
    "gradient writes into .grad": ("gradient into .grad",),
}
KINDS = {name: kind for kind, names in GROUPS.items() for name in names}   # operation name -> kind


def profile(workload, calls):
    import descend as dc
    step, batches = descend_parts(*WORKLOADS[workload])
    fn = dc.compile(step, strict=True)
    next_batch = cycle(batches)

    def call():
        return fn(*next_batch())

    seconds = time_calls(call, rounds=3)
    per_kind = collections.defaultdict(list)
    for i in range(calls):
        totals = collections.Counter()
        for name, t in fn.profile(*batches[i % len(batches)]):
            totals[KINDS.get(name, f"other ({name})")] += t
        for kind in set(KINDS.values()) | set(totals):
            per_kind[kind].append(totals[kind])
    rows = {kind: float(np.median(ts)) for kind, ts in per_kind.items()}
    rows["replay loop (the tape walk)"] = max(0.0, seconds - sum(rows.values()))
    return seconds, rows


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--workloads", default=",".join(WORKLOADS))
    p.add_argument("--calls", type=int, default=50)
    args = p.parse_args(argv)
    for w in args.workloads.split(","):
        seconds, rows = profile(w, args.calls)
        print(f"{w}: compiled step {seconds * 1e6:,.0f} us")
        for kind, t in sorted(rows.items(), key=lambda kv: -kv[1]):
            print(f"  {kind:<42} {t * 1e6:9,.0f} us  {100 * t / seconds:5.1f} %")


if __name__ == "__main__":
    main()
