"""``descend lab list`` and ``descend lab run NAME|--all [--quick] [--seed N] [--out DIR]``."""

import sys


def add_parser(sub):
    """Add the ``lab`` command to the ``descend`` argument parser's subcommands."""
    p = sub.add_parser("lab", help="run the experiments that show the notes' claims")
    lsub = p.add_subparsers(dest="lab_command", required=True)
    lsub.add_parser("list", help="one line per lab: its name and claim")
    r = lsub.add_parser("run", help="run a lab (or --all) and write DIR/NAME/result.json and its figures")
    r.add_argument("name", nargs="?", help="the lab to run (see `descend lab list`)")
    r.add_argument("--all", action="store_true", help="run every lab")
    r.add_argument("--quick", action="store_true", help="the short version (<= 30 s a lab) that still decides")
    r.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    r.add_argument("--out", default="labs", help="output directory (default: ./labs)")


def main(args, out=print):
    """Run the ``lab`` command; returns the exit status (2 for a usage error, printed as one line)."""
    try:
        return _main(args, out)
    except UsageError as e:
        print(f"descend lab: error: {e}", file=sys.stderr)
        return 2


class UsageError(ValueError):
    """A mistake on the ``descend lab`` command line."""


def _main(args, out):
    from . import base
    if args.lab_command == "list":
        for name in base.names():
            out(f"{name:<26} {base.get(name).claim}")
        return 0
    if args.all == (args.name is not None):
        raise UsageError("lab run: give one lab NAME or --all (not both)")
    if args.all:
        todo = base.names()
    else:
        try:
            todo = [base.get(args.name).name]
        except ValueError as e:
            raise UsageError(str(e)) from None
    bar = None
    if args.all:
        try:
            from tqdm.auto import tqdm
            bar = tqdm(total=len(todo), desc="labs", file=sys.stderr)
        except ImportError:
            pass
    for name in todo:
        result = base.run(name, quick=args.quick, seed=args.seed, out=args.out)
        _report(result, out if bar is None else bar.write)
        if bar is not None:
            bar.update(1)
    if bar is not None:
        bar.close()
    return 0


def _report(result, out):
    out(f"{result['name']}: {result['claim']}")
    out(f"  source: {result['source']}")
    for k, v in result["numbers"].items():
        out(f"  {k} = {v}")
    verdict = "confirmed" if result["confirmed"] else "not confirmed here"
    out(f"  verdict: {verdict} ({result['seconds']:.1f} s; figures: {', '.join(result['figures']) or 'none'})")
