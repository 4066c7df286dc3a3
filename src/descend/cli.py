"""The ``descend`` command.

    descend train [CONFIG] [--set key=value ...] [--out DIR] [--overwrite]
    descend train --resume RUN_DIR
    descend evaluate RUN_DIR
    descend predict RUN_DIR INPUT [--out FILE]
    descend info RUN_DIR
    descend config            (prints the default configuration)
    descend search CONFIG [--set key=value ...] [--out DIR] [--workers N | --dask ADDRESS | --dask-local N]
    descend search --resume STUDY_DIR

With no arguments ``descend train`` trains the default MLP on the embedded digits data and prints the
run directory; ``--set model.type=cnn`` trains a small convolutional network instead, and
``--set data.name=csv --set data.path=my.csv`` (or ``npz``) trains on your own file. A user error (a
bad key or value, a run directory in use, a missing file, an unusable cell of a data file) is one line
on stderr and exit status 2, before anything is created; a diverged run exits with 1; Ctrl-C exits
with 130 and says how to resume. Output into a closed pipe (``descend info RUN | head``) ends quietly.
"""

import argparse
import os
import sys


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit status 2)."""

    def error(self, message):
        print(f"{self.prog}: error: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def _parser():
    p = _Parser(prog="descend", description="descend: train neural networks from a TOML config.")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)
    t = sub.add_parser("train", help="train a network (default: an MLP on the embedded digits data)")
    t.add_argument("config", nargs="?", help="TOML configuration file (default: the built-in one)")
    t.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set optimizer.lr=0.01 (repeatable)")
    t.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its last checkpoint")
    t.add_argument("--out", metavar="DIR", help="the run directory (default: output.dir/output.name or a timestamp)")
    t.add_argument("--overwrite", action="store_true", help="replace the run already in the run directory")
    e = sub.add_parser("evaluate", help="evaluate a run's model on its train/val/test data")
    e.add_argument("run_dir")
    r = sub.add_parser("predict", help="predict the label (or value) of each row of a CSV, .npy or .npz file with a "
                                       "run's model")
    r.add_argument("run_dir")
    r.add_argument("input", help="CSV (one example per row, optional header line, with or without the label "
                                 "column), .npy (N, features) or .npz (the run's data.x array)")
    r.add_argument("--out", metavar="FILE", help="write the labels (values) here, one row per line (.npy: an array); "
                                                  "default: print them")
    i = sub.add_parser("info", help="describe a run directory, with its model's table of layers")
    i.add_argument("run_dir")
    sub.add_parser("config", help="print the default configuration (TOML)")
    from .search.cli import add_parser as add_search_parser
    add_search_parser(sub)
    from .lab.cli import add_parser as add_lab_parser
    add_lab_parser(sub)
    from .analyze import add_parser as add_analyze_parser
    add_analyze_parser(sub)
    return p


class _Output:
    """Print lines to stdout (through tqdm.write while a progress bar may be shown); once the reader has gone
    (a closed pipe), send the rest to /dev/null instead of failing."""

    def __init__(self, bar_aware=False):
        self.write = print
        if bar_aware:
            try:
                from tqdm.auto import tqdm
                self.write = tqdm.write
            except ImportError:
                pass

    def __call__(self, text):
        try:
            self.write(text)
            sys.stdout.flush()
        except BrokenPipeError:
            _silence_stdout()


def _silence_stdout():
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _train(args):
    from .train import run as R
    from .train.config import ConfigError, load_config
    out = _Output(bar_aware=True)
    if args.resume:
        if args.config or args.overrides or args.out or args.overwrite:
            raise ConfigError("--resume continues a run with its saved config.toml; do not pass CONFIG, --set, "
                              "--out or --overwrite with it")
        R.run(R.load_run_config(args.resume), run_dir=args.resume, resume=True, out=out)
    else:
        R.run(load_config(args.config, args.overrides), run_dir=args.out, out=out, overwrite=args.overwrite)


def _dispatch(args):
    from .train import run as R
    if args.command == "train":
        _train(args)
    elif args.command == "evaluate":
        R.evaluate_run(args.run_dir, out=_Output())
    elif args.command == "predict":
        R.predict_run(args.run_dir, args.input, args.out, out=_Output())
    elif args.command == "info":
        R.info_run(args.run_dir, out=_Output())
    elif args.command == "config":
        from .train.config import DEFAULT_TOML
        _Output()(DEFAULT_TOML.rstrip("\n"))
    elif args.command == "analyze":
        from .analyze import main as analyze_main
        return analyze_main(args)
    elif args.command == "search":
        from .search.cli import main as search_main
        return search_main(args)
    elif args.command == "lab":
        from .lab.cli import main as lab_main
        return lab_main(args)
    return 0


def main(argv=None):
    """Entry point of the ``descend`` console script; returns the exit status."""
    args = _parser().parse_args(argv)
    from .train.checkpoint import CheckpointError
    from .train.config import ConfigError
    from .train.run import Interrupted, TrainingDiverged
    from .train.rundir import RunError
    prefix = f"descend {args.command}: error:"
    try:
        return _dispatch(args)
    except BrokenPipeError:
        _silence_stdout()
        return 141
    except (ConfigError, RunError, CheckpointError, OSError) as e:
        print(prefix, " ".join(str(e).split()), file=sys.stderr)
        return 2
    except TrainingDiverged as e:
        print(prefix, e, file=sys.stderr)
        return 1
    except Interrupted as e:
        print(f"interrupted; continue with `descend train --resume {e.run_dir}`", file=sys.stderr)
        return 130
    except KeyboardInterrupt:
        print("interrupted before the run started; nothing was changed" if args.command == "train" else
              "interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
