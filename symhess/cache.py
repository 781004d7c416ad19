"""The disk cache of generated kernel modules.

Each kernel is a real Python file named by a content hash, so Numba's own ``cache=True`` works
across processes. The file's first line carries the SHA-256 of the rest; a file whose hash does
not match (truncated, edited, half-written by a crash) is rebuilt, never trusted. Writes go to a
temporary file in the same folder and are renamed into place, so a reader never sees a partial
file and two processes writing the same entry both leave a complete one.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import sys
import tempfile
from pathlib import Path

_STAMP = "# symhess-sha256: "


def cache_dir() -> Path:
    """``$SYMHESS_CACHE_DIR``, else ``$XDG_CACHE_HOME/symhess``, else ``~/.cache/symhess``."""
    env = os.environ.get("SYMHESS_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "symhess"


def digest(*parts) -> str:
    """A hex key for the parts, stable across processes and machines."""
    h = hashlib.sha256()
    for part in parts:
        h.update(str(part).encode())
        h.update(b"\0")
    return h.hexdigest()[:32]


def _stamped(source: str) -> str:
    return f"{_STAMP}{hashlib.sha256(source.encode()).hexdigest()}\n{source}"


def _valid(text: str) -> bool:
    first, _, rest = text.partition("\n")
    return first.startswith(_STAMP) and first[len(_STAMP):] == hashlib.sha256(rest.encode()).hexdigest()


def _write_atomic(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:          # includes KeyboardInterrupt: never leave a partial file
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _import(path: Path, module_name: str):
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    sys.modules[module_name] = module
    return module


def load(key: str):
    """The cached module for ``key``, or None when there is none or it is not intact."""
    path = cache_dir() / f"k{key}.py"
    try:
        text = path.read_text()
    except (FileNotFoundError, UnicodeDecodeError, OSError):
        return None
    if not _valid(text):
        return None
    try:
        return _import(path, f"symhess_kernel_{key}")
    except Exception:       # an intact file that does not import is rebuilt like a corrupt one
        return None


def store(key: str, source: str):
    """Write ``source`` as the module for ``key`` (unless an identical one is there) and import it."""
    directory = cache_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"k{key}.py"
    text = _stamped(source)
    try:
        unchanged = path.read_text() == text
    except (FileNotFoundError, UnicodeDecodeError, OSError):
        unchanged = False
    if not unchanged:            # rewriting identical text would only invalidate Numba's cache
        _write_atomic(path, text)
    return _import(path, f"symhess_kernel_{key}")
