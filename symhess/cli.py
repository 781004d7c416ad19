"""The ``symhess`` command line."""

from __future__ import annotations

import argparse
import sys


def _demo(args) -> int:
    from .demo import run
    run()
    return 0


def main(argv=None) -> int:
    """Entry point of the ``symhess`` command."""
    parser = argparse.ArgumentParser(prog="symhess", description="symbolic Hessian compiler")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("demo", help="compile a Hessian, print its closed form and time it").set_defaults(run=_demo)
    args = parser.parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
