"""PNG plots: per problem, cold compile and call time against size, log-log."""

from __future__ import annotations

from pathlib import Path

PANELS = (("cold", "cold compile (s)"), ("call", "time per call (s)"))


def _series(records, tool, what):
    xs, ys, lo, hi = [], [], [], []
    for r in records:
        stat = r.get(what)
        if r["tool"] == tool and r.get("status") == "ok" and isinstance(stat, dict):
            xs.append(r["size"])
            ys.append(stat["median"])
            lo.append(stat["median"] - stat["min"])
            hi.append(stat["max"] - stat["median"])
    return xs, ys, [lo, hi]


def write(results: dict, out: Path) -> list:
    """One ``<problem>.png`` per problem in ``out``; returns their paths ([] without matplotlib)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import matplotlib.ticker
    except ImportError:
        return []
    from . import format as fmt
    from .problems import PROBLEMS
    written = []
    order = {name: i for i, name in enumerate(PROBLEMS)}
    for name in sorted({r["problem"] for r in results["records"]}, key=lambda n: order.get(n, 99)):
        records = [r for r in results["records"] if r["problem"] == name]
        tools = list(dict.fromkeys(r["tool"] for r in records))
        problem = PROBLEMS.get(name)
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
        for ax, (what, label) in zip(axes, PANELS):
            for tool in tools:
                if tool == "floor" and what == "cold":
                    continue        # the floor has no compile figure worth showing
                xs, ys, err = _series(records, tool, what)
                if xs:
                    style = dict(linestyle="--", color="black") if tool == "floor" else {}
                    ax.errorbar(xs, ys, yerr=err, marker="o", capsize=3, label=tool, **style)
            ax.set_xscale("log")
            ax.set_yscale("log")
            sizes = sorted({r["size"] for r in records})
            ax.set_xticks(sizes, [fmt.size(v) for v in sizes])
            ax.xaxis.set_minor_locator(matplotlib.ticker.NullLocator())
            ax.set_xlabel(problem.size_label if problem else "size")
            ax.set_ylabel(label)
            ax.grid(True, which="both", alpha=0.3)
        axes[1].legend(fontsize="small")
        fig.suptitle(f"{name}: {problem.title if problem else ''} (missing points: see "
                     "results.md)", fontsize="medium")
        fig.tight_layout()
        path = Path(out) / f"{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written
