"""Numba's files of a kernel cache entry, and the manifest that vouches for them.

Numba keeps the machine code of ``k<key>.py`` in ``__pycache__/k<key>.*.nbi|.nbc``, which are
pickles. After each compile symhess records their SHA-256 in ``k<key>.nbm`` (JSON); before
loading an entry it deletes every Numba file of the entry that is not recorded there as it is,
so damaged or planted cache files are rebuilt rather than unpickled.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
from pathlib import Path

from .cache_folder import read_entry
from .cache_version import code_version


def numba_files(used: Path, key: str) -> list:
    """Numba's cache files of entry ``key`` (not those being written), as directory entries."""
    prefix = f"k{key}."
    try:
        with os.scandir(used / "__pycache__") as it:
            return [e for e in it if e.name.startswith(prefix) and ".tmp." not in e.name]
    except OSError:
        return []


def sha256(path) -> str:
    """The SHA-256 of the file ``path``, read in blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def manifest(used: Path, key: str) -> dict:
    """``{file name: sha256}`` of the Numba files recorded for entry ``key``."""
    text = read_entry(used / f"k{key}.nbm")
    try:
        data = json.loads(text) if text else {}
    except ValueError:
        return {}
    files = data.get("files") if isinstance(data, dict) else None
    return files if isinstance(files, dict) and data.get("code") == code_version() else {}


def manifest_text(files: dict) -> str:
    """The content of a manifest recording ``files`` (``{file name: sha256}``)."""
    return json.dumps({"code": code_version(), "files": files}, indent=1)


def verify_numba_files(used: Path, key: str) -> None:
    """Delete each Numba file of entry ``key`` that is not recorded, as it is, in its manifest."""
    recorded = manifest(used, key)
    for entry in numba_files(used, key):
        try:
            st = entry.stat(follow_symlinks=False)
            good = stat.S_ISREG(st.st_mode) and st.st_uid == os.geteuid() \
                and recorded.get(entry.name) == sha256(entry.path)
        except OSError:
            good = False
        if not good:
            with contextlib.suppress(OSError):
                os.unlink(entry.path)


def remove_numba_files(used: Path, key: str) -> None:
    """Delete every Numba file of entry ``key``, and its manifest."""
    for entry in numba_files(used, key):
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
    with contextlib.suppress(OSError):
        os.unlink(used / f"k{key}.nbm")
