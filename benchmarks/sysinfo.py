"""The machine and library versions a run was measured on."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from pathlib import Path


def cpu_model() -> str:
    """The CPU's model name from /proc/cpuinfo, else what `platform` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def usable_cores() -> int:
    """Cores this process may run on (the affinity mask), else the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


def source_revision() -> str | None:
    """The repository's commit, with ``+modified`` when the working tree differs from it.

    symhess is measured from the working tree, so the commit alone may not say what ran.
    """
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root,
                                capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=root, capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+modified" if dirty.strip() else "")


def describe(versions: dict) -> dict:
    """Date, CPU, cores, OS, Python and the version of every library involved."""
    import numba
    import numpy
    libraries = {"numpy": numpy.__version__, "numba": numba.__version__}
    libraries.update({k: v for k, v in versions.items() if k != "floor"})
    return {"date": time.strftime("%Y-%m-%d %H:%M %Z"), "cpu": cpu_model(),
            "cores": usable_cores(), "os": f"{platform.system()} {platform.release()}",
            "python": platform.python_version(), "revision": source_revision(),
            "versions": versions,
            "libraries": libraries}
