"""``python -m symhess``: the same command line as ``symhess``."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
