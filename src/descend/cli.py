"""The ``descend`` command.

    descend train [CONFIG] [--set key=value ...] [--resume RUN_DIR] [--out DIR]
    descend evaluate RUN_DIR
    descend info RUN_DIR
    descend config            (prints the default configuration)

With no arguments ``descend train`` trains the default MLP on the embedded digits data and prints the
run directory at the end.
"""

import argparse
import sys


def _parser():
    p = argparse.ArgumentParser(prog="descend", description="descend: train neural networks from a TOML config.")
    sub = p.add_subparsers(dest="command", required=True)
    t = sub.add_parser("train", help="train a network (default: an MLP on the embedded digits data)")
    t.add_argument("config", nargs="?", help="TOML configuration file (default: the built-in one)")
    t.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override a config key, e.g. --set optimizer.lr=0.01 (repeatable)")
    t.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR from its last checkpoint")
    t.add_argument("--out", metavar="DIR", help="the run directory (default: output.dir/<timestamp>)")
    e = sub.add_parser("evaluate", help="evaluate a finished run's model on its train/val/test data")
    e.add_argument("run_dir")
    i = sub.add_parser("info", help="describe a run directory")
    i.add_argument("run_dir")
    sub.add_parser("config", help="print the default configuration (TOML)")
    from .lab.cli import add_parser as add_lab_parser
    add_lab_parser(sub)
    from .analyze import add_parser as add_analyze_parser
    add_analyze_parser(sub)
    return p


def main(argv=None):
    """Entry point of the ``descend`` console script; returns the exit status."""
    args = _parser().parse_args(argv)
    from .train import run as R
    from .train.config import ConfigError, load_config
    try:
        if args.command == "train":
            if args.resume:
                if args.config or args.overrides:
                    raise ConfigError("--resume continues a run with its saved config.toml; do not pass CONFIG or --set")
                config = R.load_run_config(args.resume)
                R.run(config, run_dir=args.resume, resume=True)
            else:
                config = load_config(args.config, args.overrides)
                R.run(config, run_dir=args.out)
        elif args.command == "evaluate":
            R.evaluate_run(args.run_dir)
        elif args.command == "info":
            R.info_run(args.run_dir)
        elif args.command == "analyze":
            from .analyze import main as analyze_main
            return analyze_main(args)
        elif args.command == "lab":
            from .lab.cli import main as lab_main
            return lab_main(args)
        elif args.command == "config":
            from .configs import DEFAULT_TOML
            print(DEFAULT_TOML, end="")
    except (ConfigError, FileNotFoundError) as e:
        print(f"descend {args.command}: error: {e}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
