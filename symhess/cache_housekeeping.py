"""Housekeeping of the kernel cache folder: eviction, and ``symhess cache info|clear``.

Housekeeping runs when a process writes its first new entry: temporary files older than
`TMP_AGE` seconds (left by a killed process) are removed, entries of other symhess code unused
for `STALE_DAYS` days are evicted, and when the folder holds more than ``SYMHESS_CACHE_MAX_MB``
megabytes (default `MAX_MB`) the least recently used entries are evicted until it holds three
quarters of that. An entry's last use is the time of its newest file; loading an entry renews
it (`touch`).
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
import threading
import time
from pathlib import Path

from .cache_folder import cache_dir, unusable
from .cache_version import code_version
from .errors import CacheError

TMP_AGE = 600               # seconds: a temporary file this old belongs to no live write
STALE_DAYS = 30             # entries of other symhess code unused this long are evicted
MAX_MB = 2048               # default bound on the folder's size (SYMHESS_CACHE_MAX_MB)
TOUCH_AFTER = 3600          # seconds: how stale a last-use time may get before a load renews it

maintained: set = set()     # the folders this process has housekept already
_lock = threading.Lock()


def touch(path: Path) -> None:
    """Renew an entry's last-use time (its manifest's), at most once per `TOUCH_AFTER`."""
    with contextlib.suppress(OSError):
        if time.time() - os.stat(path).st_mtime > TOUCH_AFTER:
            os.utime(path)


def maintain_once(used: Path, keep: str) -> None:
    """`maintain` the folder ``used``, keeping entry ``keep``, once per process."""
    with _lock:
        if used in maintained:
            return
        maintained.add(used)
    with contextlib.suppress(OSError):
        maintain(used, keep)


def entries(used: Path) -> dict:
    """``{key: {"files": [paths], "bytes": n, "used": time, "current": bool}}`` of a folder."""
    out = {}
    for directory in (used, used / "__pycache__"):
        try:
            names = list(os.scandir(directory))
        except OSError:
            continue
        for e in names:
            m = re.match(r"k([0-9a-f]{32})\.", e.name)
            if m is None or e.name.endswith(".tmp") or ".tmp." in e.name:
                continue
            st = e.stat(follow_symlinks=False)
            info = out.setdefault(m.group(1), {"files": [], "bytes": 0, "used": 0.0, "current": False})
            info["files"].append(Path(e.path))
            info["bytes"] += st.st_size
            info["used"] = max(info["used"], st.st_mtime)
    for key, info in out.items():
        with contextlib.suppress(OSError), open(used / f"k{key}.py", "rb") as f:
            info["current"] = f.readline().rstrip().endswith(code_version().encode())
    return out


def orphans(used: Path, age: float = TMP_AGE) -> list:
    """Temporary files older than ``age`` seconds: left by a process killed while writing."""
    now, out = time.time(), []
    for directory in (used, used / "__pycache__"):
        with contextlib.suppress(OSError), os.scandir(directory) as it:
            for e in it:
                if (e.name.endswith(".tmp") or ".tmp." in e.name) and \
                        now - e.stat(follow_symlinks=False).st_mtime > age:
                    out.append(Path(e.path))
    return out


def maintain(used: Path, keep: str = "") -> list:
    """Remove orphan temporary files and evict stale entries (see the module docstring), all
    but the entry ``keep``; return the paths removed."""
    removed = orphans(used)
    all_entries = entries(used)
    all_entries.pop(keep, None)
    now = time.time()
    stale = [k for k, e in all_entries.items()
             if not e["current"] and now - e["used"] > STALE_DAYS * 86400]
    bound = _max_bytes()
    total = sum(e["bytes"] for k, e in all_entries.items() if k not in stale)
    if total > bound:
        for k in sorted(set(all_entries) - set(stale), key=lambda k: all_entries[k]["used"]):
            if total <= 0.75 * bound:
                break
            stale.append(k)
            total -= all_entries[k]["bytes"]
    removed += [p for k in stale for p in all_entries[k]["files"]]
    for p in removed:
        with contextlib.suppress(OSError):
            os.unlink(p)
    return removed


def _max_bytes() -> float:
    try:
        return float(os.environ.get("SYMHESS_CACHE_MAX_MB", MAX_MB)) * 2 ** 20
    except ValueError:
        return MAX_MB * 2 ** 20


def info() -> dict:
    """The configured folder, why it is not used (None when it is), and what it holds."""
    configured = cache_dir()
    reason = unusable(configured)
    real = Path(os.path.realpath(configured))
    held = entries(real) if real.is_dir() else {}
    return dict(folder=configured, reason=reason, entries=len(held),
                current=sum(e["current"] for e in held.values()),
                bytes=sum(e["bytes"] for e in held.values()), orphans=len(orphans(real)),
                max_bytes=_max_bytes())


def clear() -> list:
    """Remove every entry and temporary file of the configured folder; return the paths
    removed. Files symhess did not write are left alone."""
    configured = cache_dir()
    real = Path(os.path.realpath(configured))
    try:
        st = os.stat(real)
    except FileNotFoundError:
        return []
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
        raise CacheError(f"{configured} is not a folder of this user: nothing was removed")
    removed = orphans(real, age=-1) + [p for e in entries(real).values() for p in e["files"]]
    for p in removed:
        with contextlib.suppress(OSError):
            os.unlink(p)
    return removed
