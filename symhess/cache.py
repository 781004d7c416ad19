"""The disk cache of generated kernel modules: keyed by the code itself, verified, self-healing.

Each kernel is a real Python file, ``k<key>.py``, so Numba's own ``cache=True`` works across
processes. The key is a hash of the generated source and of symhess's own code
(`code_version`), so two kernels share an entry only when their code is the same, whatever
produced it. Before a file is imported its content is checked against its key, so a damaged,
edited or planted file is rewritten, never run. Writes go to a temporary file in the same
folder and are renamed into place: a reader never sees a partial file.

Numba's machine code of an entry is loaded only when a manifest vouches for it; a compile that
still fails while Numba files were present is retried once without them (`heal`).

This module holds the entries: keys, stamps, loading and storing. The rest lives beside it and
is re-exported here:

- `symhess.cache_version`: `code_version`, the hash of the generating code.
- `symhess.cache_folder`: where the folder is (`cache_dir`), whether it is trusted (`folder`,
  `CacheWarning`), and reading its files without following links. Threat model: the cache
  folder is trusted like ``site-packages``; someone who can write the folder as you can still
  run code as you, as with ``site-packages``.
- `symhess.cache_numba`: Numba's files of an entry and the manifest of their SHA-256.
- `symhess.cache_housekeeping`: eviction (`TMP_AGE`, `STALE_DAYS`, `MAX_MB`) and
  ``symhess cache info`` and ``symhess cache clear`` (`info`, `clear`).
"""
from __future__ import annotations

import hashlib
import os
import re
import sys
import tempfile
import types
from pathlib import Path

from .cache_folder import MEMORY, CacheWarning, cache_dir, folder, give_up, read_entry, recreate
from .cache_housekeeping import (MAX_MB, STALE_DAYS, TMP_AGE, clear, entries, info, maintain,
                                 maintain_once, maintained, orphans, touch)
from .cache_numba import (manifest, manifest_text, numba_files, remove_numba_files, sha256,
                          verify_numba_files)
from .cache_version import code_version
from .errors import CacheError

__all__ = ["CacheWarning", "MAX_MB", "STALE_DAYS", "TMP_AGE", "cache_dir", "clear", "code_version",
           "entries", "folder", "heal", "info", "key_of", "load", "maintain", "maintained",
           "module", "orphans", "seal", "sha256", "store"]

_STAMP = "# symhess-sha256: "


def key_of(source: str) -> str:
    """The cache key of a generated module: a hash of its source and of the generating code."""
    h = hashlib.sha256(code_version().encode())
    h.update(b"\0")
    h.update(source.encode())
    return h.hexdigest()[:32]


# --- entries ------------------------------------------------------------------------------------
def _stamped(source: str) -> str:
    """The text of an entry: a first line with the hashes of ``source`` and of the code, then it."""
    return f"{_STAMP}{hashlib.sha256(source.encode()).hexdigest()} {code_version()}\n{source}"


def _source_of(text: str, key: str):
    """The source in an entry's ``text`` if it is intact and is the source of ``key``, else None."""
    first, _, rest = text.partition("\n")
    if first != f"{_STAMP}{hashlib.sha256(rest.encode()).hexdigest()} {code_version()}":
        return None
    return rest if key_of(rest) == key else None


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file in its folder, renamed into place.

    Not synced to disk: an entry a crash leaves incomplete fails its stamp's hash when read
    (`_source_of`) and is written again, so a sync would buy nothing for its milliseconds."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:          # includes KeyboardInterrupt: never leave a partial file
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _import(path: Path, text: str, key: str):
    """The module of the verified ``text``, compiled from that text (never re-read from disk,
    and never from a ``.pyc``) with ``path`` as its file, so Numba caches beside it."""
    name = f"symhess_kernel_{key}"
    module = types.ModuleType(name)
    module.__file__ = str(path)
    code = compile(text, str(path), "exec")
    sys.modules[name] = module        # Numba finds the module by name when it loads its cache
    exec(code, module.__dict__)
    module.symhess_source, module.symhess_key = text.partition("\n")[2], key
    return module


def _in_memory(source: str, key: str):
    """The module of ``source`` without any file (no cache folder at all): Numba caching off."""
    text = re.sub(r"(?m)^(@numba\.\w+\(.*)cache=True", r"\1cache=False", source)
    module = types.ModuleType(f"symhess_kernel_{key}")
    sys.modules[module.__name__] = module
    exec(compile(text, f"<symhess kernel {key}>", "exec"), module.__dict__)
    module.symhess_source, module.symhess_key = source, key
    return module


def load(key: str):
    """The cached module for ``key``, or None when there is none or it is not intact."""
    used = folder()
    if used == MEMORY:
        return None
    path = used / f"k{key}.py"
    text = read_entry(path)
    if text is None or _source_of(text, key) is None:
        return None
    verify_numba_files(used, key)
    touch(used / f"k{key}.nbm")
    return _import(path, text, key)


def store(key: str, source: str):
    """Write ``source`` as the module for ``key`` (unless an identical one is there) and import it.

    ``key`` must be ``key_of(source)``. A folder where the write fails is given up for a
    private one (see `folder`).
    """
    if key != key_of(source):
        raise CacheError(f"cache key {key} is not the key of the given source ({key_of(source)})")
    text = _stamped(source)
    used = folder()
    for _ in range(3):
        if used == MEMORY:
            return _in_memory(source, key)
        path = used / f"k{key}.py"
        if read_entry(path) == text:     # rewriting identical text would only void Numba's cache
            verify_numba_files(used, key)
            return _import(path, text, key)
        try:
            remove_numba_files(used, key)
            _write_atomic(path, text)
        except FileNotFoundError:         # the folder was removed under us: make it again
            used = recreate(used)
            continue
        except OSError as e:
            used = give_up(used, f"writing {path.name} failed ({e.strerror or e})")
            continue
        maintain_once(used, key)
        return _import(path, text, key)
    return _in_memory(source, key)


def module(source: str, key: str | None = None):
    """The imported module of ``source``, from the cache when it holds it, else written there.

    ``key`` is ``key_of(source)`` when the caller has computed it already. The module's
    ``symhess_source`` and ``symhess_key`` are the verified source and its key."""
    key = key or key_of(source)
    return load(key) or store(key, source)


def seal(module) -> None:
    """Record the SHA-256 of the Numba files of ``module``'s entry, after it has compiled."""
    path = Path(getattr(module, "__file__", "") or "")
    key = path.stem[1:]
    if not path.name.startswith("k") or not path.parent.is_dir():
        return
    try:
        files = {e.name: sha256(e.path) for e in numba_files(path.parent, key)
                 if e.is_file(follow_symlinks=False)}
        if files and files != manifest(path.parent, key):
            _write_atomic(path.parent / f"k{key}.nbm", manifest_text(files))
    except OSError:                 # an unsealed entry is only recompiled by the next process
        pass


def heal(module):
    """``module`` imported again after deleting its entry's Numba files (after a failed load),
    or None when it had none to delete."""
    path = Path(getattr(module, "__file__", "") or "")
    key = path.stem[1:]
    if not path.name.startswith("k") or not numba_files(path.parent, key):
        return None
    remove_numba_files(path.parent, key)
    text = read_entry(path)
    if text is None or _source_of(text, key) is None:
        return None
    return _import(path, text, key)
