"""One measurement in a fresh process: ``python -m benchmarks.worker SPEC.json``.

The spec names a problem, size, tool and mode:

- ``cold``: the first build in this cache folder. Times from after imports to the first
  result; then the per-call time, the peak memory and the difference to JAX's Hessian (the JAX
  run itself saves that reference).
- ``compile``: a cold or warm start that only times the first result (repeats).

The result is written as JSON next to the spec; the runner enforces the timeout.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback

import numpy as np

from . import peers
from .problems import BATCH_CHECK_POINTS, PROBLEMS
from .timing import measure, peak_rss_mb

COMPARE_LIMIT_BYTES = 256 * 2**20     # larger Hessians are not converted for comparison


def _short(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(error).__name__}: {first[:160]}"


def _compare(problem, size, tool, result, prepared, spec) -> float | None:
    """Max abs difference to the saved JAX Hessian, or None when there is none to compare."""
    checked = min(size, BATCH_CHECK_POINTS) if problem.batched else size
    if problem.output_bytes(checked) > COMPARE_LIMIT_BYTES:
        return None
    dense = prepared.to_numpy(result)
    if dense is None:
        return None
    if problem.batched:
        dense = dense[:BATCH_CHECK_POINTS]
    ref_path = spec["reference"]
    if tool == "jax":
        np.save(ref_path, dense)
        return 0.0
    if not os.path.exists(ref_path):
        return None
    reference = np.load(ref_path)
    return float(np.max(np.abs(dense.reshape(reference.shape) - reference)))


def run(spec: dict) -> dict:
    problem = PROBLEMS[spec["problem"]]
    size, tool = spec["size"], spec["tool"]
    peer = peers.load(tool)
    if problem.tools is not None and tool.split("-")[0] not in problem.tools:
        raise peers.NotApplicable(f"{problem.name} is written for {', '.join(problem.tools)}")
    args = problem.inputs(size)
    # Compile figures start after the tool is imported (its version() imports it), as a user's
    # first call comes after their imports; the import is recorded on its own.
    begin = time.perf_counter()
    peer.version()
    imported = time.perf_counter() - begin
    start = time.perf_counter()
    if problem.batched:
        prepared = peer.build_batched(problem, args, spec["cache_dir"])
    elif problem.hvp:
        if not hasattr(peer, "build_hvp"):
            raise peers.NotApplicable("no Hessian-vector product in this peer")
        prepared = peer.build_hvp(problem, args, spec["cache_dir"])
    else:
        prepared = peer.build(problem, args, spec["cache_dir"], sparse=spec.get("sparse", False))
    result = prepared.call()
    first = time.perf_counter() - start
    out = {"status": "ok", "first_result_s": first, "import_s": imported, "note": prepared.note}
    if spec["mode"] == "cold":
        out["call"] = measure(prepared.call, repeats=spec["repeats"],
                              min_loop_s=spec["min_loop_s"], budget_s=spec["budget_s"])
    # Before the comparison, whose dense copies are not the tool's memory.
    out["rss_mb"] = peak_rss_mb()
    if spec["mode"] == "cold":
        out["max_abs_diff"] = _compare(problem, size, tool, result, prepared, spec)
    return out


def main(path: str) -> None:
    with open(path) as f:
        spec = json.load(f)
    try:
        out = run(spec)
    except peers.NotApplicable as e:
        out = {"status": "n/a", "reason": str(e)}
    except ImportError as e:
        out = {"status": "skipped", "reason": f"not installed ({_short(e)})"}
    except Exception as e:  # any failure of a tool is a result to report, not a crash
        out = {"status": "failed", "reason": _short(e), "traceback": traceback.format_exc()}
    with open(spec["result"], "w") as f:
        json.dump(out, f)


if __name__ == "__main__":
    main(sys.argv[1])
