"""``descend search CONFIG [--set key=value ...] [--out DIR] [--workers N | --dask ADDRESS | --dask-local N]``
and ``descend search --resume STUDY_DIR``."""

import sys

from ..train.config import ConfigError


def add_parser(sub):
    """Add the ``search`` command to the ``descend`` argument parser's subcommands."""
    p = sub.add_parser("search", help="search hyperparameters: grid, random or successive halving",
                       description="Search the hyperparameters of a run: CONFIG is a run config plus [search] and "
                                   "[search.space] (see docs/search.md). Trials are selected on the validation "
                                   "split; the best configuration is tested once, at the end.")
    p.add_argument("config", nargs="?", help="the search file (TOML)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a key of the file, e.g. --set training.epochs=5 or --set search.trials=32")
    p.add_argument("--out", metavar="DIR", help="the study directory (default: output.dir/search-<time>)")
    p.add_argument("--resume", metavar="STUDY_DIR", help="continue the study in STUDY_DIR (after a kill)")
    p.add_argument("--workers", type=int, metavar="N", help="local worker processes (default: one per core)")
    p.add_argument("--dask", metavar="ADDRESS", help="run the trials on the Dask scheduler at ADDRESS "
                                                     "(tcp://host:8786)")
    p.add_argument("--dask-local", type=int, metavar="N", help="run the trials on a local Dask cluster of N workers")


def _execution(args):
    if sum(x is not None for x in (args.workers, args.dask, args.dask_local)) > 1:
        raise ConfigError("give one of --workers, --dask and --dask-local")
    for name in ("workers", "dask_local"):
        n = getattr(args, name)
        if n is not None and n < 1:
            raise ConfigError(f"--{name.replace('_', '-')} {n}: expected a positive number of workers")
    if args.dask is not None or args.dask_local is not None:
        return {"executor": "dask", "address": args.dask, "workers": args.dask_local}
    return {"executor": "local", "workers": args.workers}


def main(args, out=print):
    """Run the ``search`` command; returns the exit status: 0, 1 if no trial completed, 2 for a usage error
    (one line on stderr), 130 if interrupted."""
    from . import driver
    from .settings import SearchError, load
    directory = args.resume
    try:
        execution = _execution(args)
        if args.resume:
            if args.config or args.overrides or args.out:
                raise ConfigError("--resume continues a study with its saved settings; do not pass CONFIG, --set "
                                  "or --out")
            study = driver.resume(args.resume, **execution)
        else:
            if not args.config:
                raise ConfigError("give a search file (CONFIG) or --resume STUDY_DIR")
            config, space, settings = load(args.config, args.overrides)
            directory = args.out or driver.default_directory(config)
            study = driver.run(config, space, out=directory, **settings.to_dict(), **execution)
    except (ConfigError, SearchError) as e:
        print(f"descend search: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        hint = f"; continue with `descend search --resume {directory}`" if directory else ""
        print(f"descend search: interrupted{hint}", file=sys.stderr)
        return 130
    return show(study, out)


def show(study, out=print):
    """Print the table, the best trial, its test metrics and its configuration; returns the exit status."""
    from .report import compact_toml
    out(study.table(limit=20))
    try:
        best = study.best
    except ValueError as e:
        print(f"descend search: {e}", file=sys.stderr)
        return 1
    out(f"best: trial {best.index}, {study.metric} {best.value:.6g} on the validation split "
        f"({len(study.completed)} of {len(study.trials)} trials complete)")
    test = study.test_metrics
    how = "retrained on train + validation, then " if study.final["retrained"] else ""
    out(f"test, measured once on the best configuration ({how}never seen during the search): " +
        ", ".join(f"{k} {v:.4f}" for k, v in test.items()))
    out(f"the best configuration, ready for `descend train` (complete: {study.directory}/best.toml):")
    out(compact_toml(study.best_config()).rstrip())
    out(f"study directory: {study.directory}")
    return 0
