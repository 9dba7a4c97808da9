"""The `graphkeras` command (also `python -m graphkeras`)."""

from __future__ import annotations

import argparse
import sys


def _demo(args) -> int:
    from .demo import run_demo

    return run_demo(epochs=args.epochs)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="graphkeras",
        description="The Keras API, compiled to native CPU code.",
    )
    sub = p.add_subparsers(dest="verb", metavar="VERB")
    d = sub.add_parser("demo", help="train a model on a shipped dataset",
                       description="Train an MLP on the shipped digits data, "
                       "print Keras-style progress, export ONNX.")
    d.add_argument("--epochs", type=int, default=20)
    d.set_defaults(func=_demo)
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (FileNotFoundError, ValueError) as e:
        print(f"graphkeras {args.verb}: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
