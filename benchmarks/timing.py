"""Repeated timing in the style of ``timeit``, and the peak memory of the current process."""

from __future__ import annotations

import gc
import resource
import statistics
import time


def summary(samples) -> dict:
    """Median, min and max of a list of seconds, and how many there were."""
    return {"median": statistics.median(samples), "min": min(samples), "max": max(samples),
            "n": len(samples)}


def measure(call, *, repeats=7, min_loop_s=0.05, budget_s=5.0) -> dict:
    """Seconds per call of ``call``: the median, min and max over ``repeats`` timed loops.

    Each loop runs ``call`` enough times to last at least ``min_loop_s`` (so that timer
    resolution and one-off jitter wash out); the number of loops is cut, never below 3 unless a
    single call exceeds the budget, to stay within ``budget_s``.
    """
    start = time.perf_counter()
    call()
    once = max(time.perf_counter() - start, 1e-9)
    number = max(1, int(min_loop_s / once))
    loop = number * once
    repeats = max(min(repeats, int(budget_s / loop)), min(3, max(1, int(budget_s / once))))
    samples = []
    enabled = gc.isenabled()
    gc.disable()        # as timeit does: a collection inside one loop is noise, not cost
    try:
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(number):
                call()
            samples.append((time.perf_counter() - t0) / number)
    finally:
        if enabled:
            gc.enable()
    return dict(summary(samples), number=number)


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far, in MiB.

    Linux's VmHWM first: ``ru_maxrss`` survives ``execve``, so a worker would inherit the high
    mark of the runner that forked it.
    """
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
