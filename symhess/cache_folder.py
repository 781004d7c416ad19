"""The kernel cache folder: where it is, whether it can be trusted, and reading files from it.

The folder is trusted like ``site-packages``. It is created ``0700``; a folder owned by another
user, writable by group or others, or unusable (not a folder, read-only, full) is not used: one
`CacheWarning` names it and the reason, and kernels are compiled in a private temporary folder
for the process instead (or in memory when no temporary folder can be made either). A file is
read only when it is a regular file of this user that others cannot write, and never through a
symbolic link.
"""

from __future__ import annotations

import atexit
import os
import shutil
import stat
import tempfile
import threading
import warnings
from pathlib import Path

from .errors import CacheError

MEMORY = Path("<memory>")   # no folder at all: kernels are compiled in memory
_lock = threading.RLock()
_folders: dict = {}          # configured folder -> the folder used (itself or a private one)
_private: set = set()        # the private temporary folders made by `_fallback`


class CacheWarning(UserWarning):
    """The kernel cache folder, or an entry in it, was not used; the message says why."""


def cache_dir() -> Path:
    """``$SYMHESS_CACHE_DIR``, else ``$XDG_CACHE_HOME/symhess``, else ``~/.cache/symhess``."""
    env = os.environ.get("SYMHESS_CACHE_DIR")
    if env:
        return Path(env)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "symhess"


def folder() -> Path:
    """The folder kernels are written to: the configured one when it is usable, else a private
    temporary folder of this process (after one `CacheWarning`)."""
    configured = cache_dir()
    with _lock:
        used = _folders.get(configured)
        if used is None:
            reason = unusable(configured)
            used = _fallback(configured, reason) if reason else Path(os.path.realpath(configured))
            _folders[configured] = used
        return used


def unusable(path: Path):
    """Why ``path`` cannot hold the cache (None when it can), creating it ``0700`` if needed."""
    try:
        path.mkdir(parents=True, exist_ok=True, mode=0o700)
    except FileExistsError:
        return "it exists and is not a folder"
    except OSError as e:
        return f"it cannot be created ({e.strerror or e})"
    real = os.path.realpath(path)
    try:
        st = os.stat(real)
    except OSError as e:
        return f"it cannot be read ({e.strerror or e})"
    if not stat.S_ISDIR(st.st_mode):
        return "it is not a folder"
    if st.st_uid != os.geteuid():
        return (f"it is owned by user id {st.st_uid}, not by this user ({os.geteuid()}); "
                "a cache folder is trusted like site-packages")
    if st.st_mode & 0o022:
        return (f"it is writable by group or others (mode {stat.S_IMODE(st.st_mode):o}), so "
                f"anyone could plant code in it; run `chmod 700 {path}`")
    try:
        fd, probe = tempfile.mkstemp(dir=real, prefix=".probe.", suffix=".tmp")
        try:
            os.write(fd, b"symhess")
        finally:
            os.close(fd)
            os.unlink(probe)
        _own_subfolder(Path(real) / "__pycache__")
    except OSError as e:
        return f"it is not writable ({e.strerror or e})"
    except ValueError as e:
        return str(e)
    return None


def _own_subfolder(path: Path):
    """Create Numba's ``__pycache__`` ``0700``; refuse one that is a link or not ours."""
    try:
        path.mkdir(mode=0o700)
        return
    except FileExistsError:
        pass
    st = os.lstat(path)
    if not stat.S_ISDIR(st.st_mode) or st.st_uid != os.geteuid():
        raise CacheError(f"its {path.name} is a link, not a folder, or owned by another user")
    if st.st_mode & 0o077:
        os.chmod(path, 0o700)


def _fallback(configured: Path, reason: str) -> Path:
    """A private temporary folder for this process, after one warning naming ``reason``."""
    try:
        used = Path(tempfile.mkdtemp(prefix="symhess-cache-"))
        (used / "__pycache__").mkdir(mode=0o700)
        atexit.register(shutil.rmtree, used, ignore_errors=True)
        _private.add(used)
        instead = f"compiled in a private temporary folder ({used}) for this process"
    except OSError:
        used = MEMORY
        instead = "compiled in memory for this process"
    warnings.warn(f"symhess does not use the kernel cache folder {configured}: {reason}. Kernels "
                  f"are {instead}; set SYMHESS_CACHE_DIR to a folder of your own to keep them "
                  "across processes.", CacheWarning, stacklevel=4)
    return used


def give_up(used: Path, reason: str) -> Path:
    """Stop using ``used`` (a write failed there) and return the folder to use instead: a
    private one, or memory when a private one failed too (the warning was given already)."""
    with _lock:
        for configured, folder_ in list(_folders.items()):
            if folder_ == used:
                _folders[configured] = MEMORY if used in _private else \
                    _fallback(configured, reason)
                return _folders[configured]
        return folder()


def recreate(used: Path) -> Path:
    """The folder to use after ``used`` was removed under us: checked, and made, again."""
    with _lock:
        for configured, folder_ in list(_folders.items()):
            if folder_ == used:
                del _folders[configured]
        return folder()


def read_entry(path: Path):
    """The text of the regular file ``path`` (never through a link), or None. A file owned by
    another user or writable by others is not read (and is reported once)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            return None
        if st.st_uid != os.geteuid() or st.st_mode & 0o022:
            warnings.warn(f"symhess does not load the cache entry {path}: it is owned by user id "
                          f"{st.st_uid} or writable by others (mode {stat.S_IMODE(st.st_mode):o}); "
                          "it is compiled and written again", CacheWarning, stacklevel=5)
            return None
        try:
            return f.read().decode()
        except (OSError, UnicodeDecodeError):
            return None
