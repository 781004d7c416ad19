"""Command line of ``python -m benchmarks``."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from . import peers, plots, report, sysinfo
from .problems import PROBLEMS
from .runner import Settings, available_tools, run_suite

DEFAULT_OUT = Path(__file__).resolve().parent / "results"


def _csv(text):
    return [t.strip() for t in text.split(",") if t.strip()]


def _size_overrides(items):
    """``name=10,100`` pairs into ``{name: [10, 100]}``."""
    out = {}
    for item in items or []:
        name, _, values = item.partition("=")
        if name not in PROBLEMS or not values:
            raise SystemExit(f"--sizes {item!r}: expected PROBLEM=N[,N...] with PROBLEM one of "
                             f"{', '.join(PROBLEMS)}")
        out[name] = [int(float(v)) for v in _csv(values)]
    return out


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m benchmarks",
        description="symhess against JAX, PyTorch, CasADi, SymEngine and SymPy.")
    p.add_argument("--problems", type=_csv, default=list(PROBLEMS),
                   help=f"comma-separated, from: {', '.join(PROBLEMS)} (default: all)")
    p.add_argument("--peers", type=_csv, default=list(peers.TOOLS),
                   help=f"comma-separated, from: {', '.join(peers.TOOLS)} (default: all)")
    p.add_argument("--sizes", action="append", metavar="PROBLEM=N,N",
                   help="sizes of one problem, e.g. rosenbrock=10,100 (repeatable)")
    p.add_argument("--max-size", type=float, help="drop sizes above this from every problem")
    p.add_argument("--quick", action="store_true",
                   help="small sizes, one process per figure, short timing loops")
    p.add_argument("--repeats", type=int, help="fresh processes per compile figure "
                   "(default 3, quick 1)")
    p.add_argument("--timeout", type=float, help="seconds per subprocess (default 60, quick 30)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="folder for results.md, "
                   "results.json and the plots (default: benchmarks/results)")
    p.add_argument("--merge", action="store_true",
                   help="keep the other problems' records of DIR/results.json (re-run some "
                   "problems only); ratios stay within one run of a problem")
    p.add_argument("--report-only", action="store_true",
                   help="rewrite results.md and the plots from an existing results.json")
    return p


def settings_from(args) -> Settings:
    unknown = [n for n in args.problems if n not in PROBLEMS]
    unknown += [t for t in args.peers if t not in peers.TOOLS]
    if unknown:
        raise SystemExit(f"unknown problem or peer: {', '.join(unknown)}")
    sizes = {n: list(PROBLEMS[n].quick_sizes if args.quick else PROBLEMS[n].sizes)
             for n in args.problems}
    sizes.update({k: v for k, v in _size_overrides(args.sizes).items() if k in sizes})
    if args.max_size:
        sizes = {n: [s for s in v if s <= args.max_size] for n, v in sizes.items()}
    quick = dict(repeats=1, timeout_s=30.0, call_repeats=3, min_loop_s=0.01, call_budget_s=1.0)
    settings = Settings(problems=args.problems, tools=args.peers, sizes=sizes, out=args.out,
                        quick=args.quick, **(quick if args.quick else {}))
    if args.repeats:
        settings.repeats = args.repeats
    if args.timeout:
        settings.timeout_s = args.timeout
    return settings


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    if args.report_only:
        results = json.loads((args.out / "results.json").read_text())
    else:
        settings = settings_from(args)
        meta = sysinfo.describe(available_tools(settings.tools + [peers.FLOOR]))
        keep = []
        if args.merge and (args.out / "results.json").exists():
            old = json.loads((args.out / "results.json").read_text())
            keep = [r for r in old["records"] if r["problem"] not in settings.problems]
            for r in keep:
                r.setdefault("run", old["meta"]["date"])
            earlier = old["meta"].pop("earlier_runs", [])
            meta["earlier_runs"] = [{k: old["meta"].get(k) for k in ("date", "revision")}] + \
                earlier
        start = time.perf_counter()
        results = run_suite(settings, meta, keep)
        results["meta"]["wall_s"] = time.perf_counter() - start
        (args.out / "results.json").write_text(json.dumps(results, indent=1))
    report.write(results, args.out)
    written = plots.write(results, args.out)
    print(f"wrote {args.out / 'results.md'}, {args.out / 'results.json'} and "
          f"{len(written)} plot(s)", file=sys.stderr)
    return 0
