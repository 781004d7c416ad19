"""``python -m benchmarks``: run the suite (see `benchmarks.cli`)."""

from .cli import main

raise SystemExit(main())
