"""The suite: every (problem, size, tool) in its own subprocess, with a timeout.

For each combination the runner starts fresh processes (`benchmarks.worker`):

1. cold: an empty cache folder; the first of these also times calls, memory and accuracy;
   further cold repeats each get their own empty folder;
2. warm: fresh processes reusing the first cold run's folder, for tools with a disk cache.

JAX runs first at every size, so that its Hessian is there for the others to compare with. A
tool that times out or is n/a at one size is not run at larger sizes of the same problem. The
results are appended to ``results.json`` after every combination, so an interrupted run keeps
what it measured.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from . import peers
from .problems import PROBLEMS
from .timing import summary

REPO_ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Settings:
    """What to run and how hard to measure it."""

    problems: list
    tools: list
    sizes: dict                     # problem name -> sizes
    out: Path
    repeats: int = 3                # fresh processes per cold and per warm figure
    timeout_s: float = 60.0         # per subprocess
    call_repeats: int = 7           # timed loops per call figure
    min_loop_s: float = 0.05
    call_budget_s: float = 3.0
    long_compile_s: float = 10.0    # a first result slower than this is not repeated
    dense_limit_bytes: int = 256 * 2**20
    quick: bool = False


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class Spawner:
    """Runs worker subprocesses in a scratch folder and kills any that outlive the timeout."""

    def __init__(self, settings: Settings, scratch: Path):
        self.settings = settings
        self.scratch = scratch
        self.count = 0

    def new_cache(self) -> Path:
        return Path(tempfile.mkdtemp(prefix="cache-", dir=self.scratch))

    def run(self, spec: dict, cache: Path) -> dict:
        self.count += 1
        stem = self.scratch / f"run{self.count}"
        spec = dict(spec, cache_dir=str(cache), result=f"{stem}.result.json")
        Path(f"{stem}.spec.json").write_text(json.dumps(spec))
        env = dict(os.environ, SYMHESS_CACHE_DIR=str(cache / "symhess"),
                   NUMBA_CACHE_DIR=str(cache / "numba"), JAX_PLATFORMS="cpu",
                   JAX_ENABLE_X64="1")
        with open(f"{stem}.log", "w") as log:
            # A new session, so that a timeout kills the worker's children (gcc) as well.
            proc = subprocess.Popen([sys.executable, "-m", "benchmarks.worker",
                                     f"{stem}.spec.json"], cwd=REPO_ROOT, env=env,
                                    stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
            try:
                proc.wait(timeout=self.settings.timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                return {"status": "timeout",
                        "reason": f"no result within {self.settings.timeout_s:g} s"}
        try:
            return json.loads(Path(spec["result"]).read_text())
        except (FileNotFoundError, json.JSONDecodeError):
            tail = Path(f"{stem}.log").read_text().strip().splitlines()[-1:] or [""]
            why = f"killed by signal {-proc.returncode}" if proc.returncode < 0 else \
                f"exit code {proc.returncode}"
            return {"status": "failed", "reason": f"worker died ({why}) {tail[0][:120]}"}


def _plan(settings: Settings, problem, size, tool, blocked: dict) -> dict | None:
    """A record that settles the combination without running it, or None to run it."""
    base = {"problem": problem.name, "size": size, "tool": tool}
    if (problem.name, tool) in blocked:
        return dict(base, **blocked[problem.name, tool])
    peer = peers.load(tool)
    if not getattr(peer, "applies", lambda problem: True)(problem):
        return {}           # not a row at all
    if not problem.batched and problem.output_bytes(size) > settings.dense_limit_bytes:
        dense_gb = problem.output_bytes(size) / 2**30
        if peer.DENSE and not (problem.elements and getattr(peer, "ELEMENTS", False)):
            return dict(base, status="skipped",
                        reason=f"dense Hessian needs {dense_gb:.3g} GiB")
    return None


def measure_one(settings: Settings, spawner: Spawner, problem, size, tool, reference) -> dict:
    """Cold repeats, then warm repeats, of one (problem, size, tool)."""
    peer = peers.load(tool)
    sparse = (problem.sparse and not problem.batched
              and problem.output_bytes(size) > settings.dense_limit_bytes)
    spec = {"problem": problem.name, "size": size, "tool": tool, "sparse": sparse,
            "reference": str(reference), "repeats": settings.call_repeats,
            "min_loop_s": settings.min_loop_s, "budget_s": settings.call_budget_s}
    record = {"problem": problem.name, "size": size, "tool": tool}
    first_cache = spawner.new_cache()
    first = spawner.run(dict(spec, mode="cold"), first_cache)
    record.update({k: first.get(k) for k in ("status", "reason", "note", "call", "rss_mb",
                                              "max_abs_diff", "import_s")})
    if first["status"] != "ok":
        shutil.rmtree(first_cache, ignore_errors=True)
        return record
    slow = first["first_result_s"] > settings.long_compile_s
    cold = [first["first_result_s"]]
    for _ in range(0 if slow else settings.repeats - 1):
        cache = spawner.new_cache()
        again = spawner.run(dict(spec, mode="compile"), cache)
        shutil.rmtree(cache, ignore_errors=True)
        if again["status"] == "ok":
            cold.append(again["first_result_s"])
    record["cold"] = summary(cold)
    if peer.CACHE == "disk" and tool != peers.FLOOR:
        warm = []
        for _ in range(1 if slow else settings.repeats):
            again = spawner.run(dict(spec, mode="compile"), first_cache)
            if again["status"] != "ok":
                record["warm_error"] = again.get("reason") or again["status"]
                break
            warm.append(again["first_result_s"])
        record["warm"] = summary(warm) if warm else None
    else:
        record["warm"] = "no cache"
    shutil.rmtree(first_cache, ignore_errors=True)
    return record


def _describe(record: dict) -> str:
    if record.get("status") != "ok":
        return f"{record.get('status')}: {record.get('reason')}"
    call = record["call"]["median"]
    return (f"cold {record['cold']['median']:.3g} s, call {call:.3g} s, "
            f"diff {record.get('max_abs_diff')}")


def available_tools(tools) -> dict:
    """``{tool: version or None}``, importing each tool once in this process."""
    out = {}
    for tool in tools:
        try:
            out[tool] = peers.load(tool).version()
        except ImportError:
            out[tool] = None
    return out


def _portable(path: Path) -> str:
    """A path relative to the repository when it lies inside it: results name no machine."""
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return path.name


def run_suite(settings: Settings, meta: dict, keep=()) -> dict:
    """Run every combination; write ``results.json`` as it goes and return the results.

    ``keep``: records of an earlier run (other problems) to carry over into the file.
    """
    settings.out.mkdir(parents=True, exist_ok=True)
    results_path = settings.out / "results.json"
    versions = meta["versions"]
    results = {"meta": meta, "settings": {k: _portable(v) if isinstance(v, Path) else v
                                          for k, v in asdict(settings).items()},
               "records": list(keep)}
    scratch = Path(tempfile.mkdtemp(prefix="symhess-bench-"))
    spawner = Spawner(settings, scratch)
    blocked = {}
    try:
        for name in settings.problems:
            problem = PROBLEMS[name]
            tools = [t for t in settings.tools if t != peers.FLOOR]
            tools.sort(key=lambda t: t != "jax")      # JAX first: it is the reference
            if peers.load(peers.FLOOR).applies(problem):
                tools.append(peers.FLOOR)
            for size in settings.sizes[name]:
                reference = scratch / f"ref-{name}-{size}.npy"
                for tool in tools:
                    if tool != peers.FLOOR and versions.get(tool) is None:
                        record = {"problem": name, "size": size, "tool": tool,
                                  "status": "skipped", "reason": "not installed"}
                    else:
                        record = _plan(settings, problem, size, tool, blocked)
                        if record == {}:
                            continue
                        if record is None:
                            record = measure_one(settings, spawner, problem, size, tool,
                                                 reference)
                    if record["status"] in ("timeout", "n/a") and (name, tool) not in blocked:
                        why = "timed out at a smaller size" if record["status"] == "timeout" \
                            else record["reason"]
                        blocked[name, tool] = {"status": record["status"], "reason": why}
                    record["run"] = meta["date"]
                    _log(f"{name} {problem.size_label}={size} {tool}: {_describe(record)}")
                    results["records"].append(record)
                    results_path.write_text(json.dumps(results, indent=1))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return results
