"""results.md: headline tables, then one detailed table per problem.

Ratios compare figures of the same run: ``peer / symhess`` (above 1: symhess is faster) and,
for batched problems, ``tool / floor`` (the memory-bandwidth floor measured alongside).
"""

from __future__ import annotations

from pathlib import Path

from . import format as fmt
from .problems import PROBLEMS

SUBJECT = "symhess"
FLOOR = "floor"


def _median(stat):
    return stat["median"] if isinstance(stat, dict) else None


def _index(records):
    return {(r["problem"], r["size"], r["tool"]): r for r in records}


def _ok(record):
    return record is not None and record.get("status") == "ok"


def _headline_size(problem, sizes, index):
    """The largest size symhess managed, else the largest JAX managed, else the first."""
    for tool in (SUBJECT, "jax"):
        done = [s for s in sizes if _ok(index.get((problem, s, tool)))]
        if done:
            return done[-1]
    return sizes[0]


def _problems(records) -> list:
    """The problems of ``records`` in the suite's order."""
    order = {name: i for i, name in enumerate(PROBLEMS)}
    return sorted({r["problem"] for r in records}, key=lambda n: order.get(n, len(order)))


def _tools(records):
    seen = []
    for r in records:
        if r["tool"] not in seen and r["tool"] != FLOOR:
            seen.append(r["tool"])
    return seen


def _headline(results, what: str) -> list:
    """One row per problem at its headline size; a cell per tool with its ratio to symhess."""
    records = results["records"]
    index, tools = _index(records), _tools(records)
    problems = _problems(records)
    lines = ["| problem | size | " + " | ".join(tools) + " |",
             "| --- | --- | " + " | ".join("---" for _ in tools) + " |"]
    for name in problems:
        sizes = sorted({r["size"] for r in records if r["problem"] == name})
        size = _headline_size(name, sizes, index)
        subject = index.get((name, size, SUBJECT))
        base = _median(subject.get(what)) if _ok(subject) else None
        floor = index.get((name, size, FLOOR))
        floor_time = _median(floor.get("call")) if _ok(floor) and what == "call" else None
        cells = []
        for tool in tools:
            r = index.get((name, size, tool))
            if r is None:
                cells.append("—")
            elif not _ok(r):
                cells.append(r["status"])
            else:
                value = _median(r.get(what))
                cell = fmt.seconds(value)
                if tool != SUBJECT and base:
                    cell += f" ({fmt.ratio(value, base)})"
                if floor_time:
                    cell += f"; {fmt.ratio(value, floor_time)} floor"
                cells.append(cell)
        label = PROBLEMS[name].size_label if name in PROBLEMS else "size"
        lines.append(f"| {name} | {label}={fmt.size(size)} | " + " | ".join(cells) + " |")
    return lines


MISMATCH = 1e-6     # a difference to JAX above this is flagged: one of the two is wrong


def _diff(tool, diff) -> str:
    if diff is None:
        return "—"
    if tool == "jax":
        return "reference"
    return f"{diff:.2g}" + (" (mismatch)" if diff > MISMATCH else "")


def _detail(results, name) -> list:
    """Every size and tool of one problem."""
    records = [r for r in results["records"] if r["problem"] == name]
    index = _index(records)
    problem = PROBLEMS.get(name)
    batched = problem.batched if problem else False
    floored = any(r["tool"] == FLOOR for r in records)
    call = "batch call" if batched else "call"
    head = ["size", "tool", "import", "cold compile", "warm compile", call, "vs symhess (call)",
            "vs symhess (cold)"] + (["vs floor"] if floored else []) + \
        ["peak RSS", "max abs diff vs JAX", "note"]
    lines = [f"### {name}: {problem.title if problem else ''}", "",
             "| " + " | ".join(head) + " |", "| " + " | ".join("---" for _ in head) + " |"]
    for r in records:
        subject = index.get((name, r["size"], SUBJECT))
        floor = index.get((name, r["size"], FLOOR))
        row = [fmt.size(r["size"]), r["tool"]]
        if not _ok(r):
            row += [fmt.status(r)] + ["—"] * (len(head) - 3)
        else:
            is_floor = r["tool"] == FLOOR
            imported = r.get("import_s")
            row += ["—" if imported is None else fmt.seconds(imported),
                    "—" if is_floor else fmt.spread(r.get("cold")),
                    "—" if is_floor else fmt.spread(r.get("warm")),
                    fmt.spread(r.get("call"))]
            for what in ("call", "cold"):
                base = _median(subject.get(what)) if _ok(subject) else None
                own = _median(r.get(what))
                row.append("—" if is_floor or r["tool"] == SUBJECT else fmt.ratio(own, base))
            if floored:
                row.append(fmt.ratio(_median(r.get("call")), _median(floor.get("call")))
                           if _ok(floor) and not is_floor else "—")
            diff = r.get("max_abs_diff")
            row += [f"{r['rss_mb']:.0f} MiB" if r.get("rss_mb") else "—",
                    _diff(r["tool"], diff),
                    (r.get("note") or "") + (f" warm: {r['warm_error']}" if r.get("warm_error")
                                             else "")]
        lines.append("| " + " | ".join(str(c).replace("|", "/") for c in row) + " |")
    return lines + [""]


def write(results: dict, out: Path) -> Path:
    """Write ``results.md`` in ``out`` and return its path."""
    meta = results["meta"]
    settings = results.get("settings", {})
    libraries = ", ".join(f"{k} {v}" for k, v in meta["libraries"].items() if v)
    missing = [k for k, v in meta["versions"].items() if v is None]
    lines = [
        "# symhess benchmarks", "",
        f"- date: {meta['date']}",
        f"- CPU: {meta['cpu']}, {meta['cores']} usable cores; {meta['os']}; Python "
        f"{meta['python']}",
        f"- libraries: {libraries}"
        + (f" (symhess from revision {meta['revision']})"
           if meta.get("revision") and not meta.get("earlier_runs") else ""),
        ]
    if missing:
        lines.append(f"- not installed, skipped: {', '.join(missing)}")
    runs = sorted({r["run"] for r in results["records"] if r.get("run")})
    if len(runs) > 1:
        revisions = {m["date"]: m.get("revision") for m in meta.get("earlier_runs", [])}
        revisions[meta["date"]] = meta.get("revision")
        described = [f"{run} (revision {revisions.get(run) or '?'}): "
                     + ", ".join(_problems([r for r in results["records"] if r.get("run") == run]))
                     for run in runs]
        lines.append(f"- measured in {len(runs)} runs, each problem entirely within one run: "
                     + "; ".join(described))
    merged = len({r.get("run") for r in results["records"]}) > 1
    lines += [
        f"- settings: {'quick' if settings.get('quick') else 'full'} run, "
        f"{settings.get('repeats')} fresh process(es) per compile figure, timeout "
        f"{settings.get('timeout_s')} s per process"
        + (f", total wall time {meta['wall_s'] / 60:.1f} min"
           if meta.get("wall_s") and not merged else ""),
        "",
        "Figures are `median [min–max]` over repeats. `(Nx)` is the peer's time divided by "
        "symhess's in the same run (above 1: symhess is faster). `floor` is the hardware's bound "
        "measured in the same run: for batched problems the time to write the same output bytes "
        "with a parallel fill, for logistic regression BLAS's `dsyrk` of the data matrix. See "
        "benchmarks/README.md for every column.",
        "", "## Headline: time per call (single point, or whole batch)", "",
        *_headline(results, "call"),
        "", "## Headline: cold compile (fresh process, empty caches, to first result)", "",
        *_headline(results, "cold"), "", "## Details", ""]
    for name in _problems(results["records"]):
        lines += _detail(results, name)
    path = Path(out) / "results.md"
    path.write_text("\n".join(lines) + "\n")
    return path
