"""SciPy's BLAS and LAPACK function tables, loaded without ``scipy.linalg``'s package.

Loop programs call the Fortran BLAS and LAPACK that SciPy links, through the function tables of
its Cython modules ``scipy.linalg.cython_blas`` and ``cython_lapack``. Importing them the
ordinary way imports the whole ``scipy.linalg`` package first, 0.2 to 0.3 s where the two
modules take 0.03: most of a warm start of a kernel read from the cache. `modules` loads them
from their files under their own names, so that ``scipy.linalg`` imported later finds them (a
Cython module cannot be initialised twice in a process), and sets them as that package's
attributes when it is imported (the import system sets a submodule's attribute only when it
loads the submodule itself). Where they cannot be loaded so, they are imported the ordinary way.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys
import threading
from pathlib import Path

NAMES = ("scipy.linalg.cython_blas", "scipy.linalg.cython_lapack")
PACKAGE = "scipy.linalg"
_LOCK = threading.Lock()


def modules() -> list:
    """The two modules, loaded once per process."""
    with _LOCK:
        if PACKAGE not in sys.modules and not all(name in sys.modules for name in NAMES):
            if not any(isinstance(f, _Attach) for f in sys.meta_path):
                sys.meta_path.insert(0, _Attach())
            try:
                folder = Path(importlib.util.find_spec("scipy").submodule_search_locations[0])
                for name in NAMES:
                    if name not in sys.modules:
                        _load(name, folder / "linalg")
            except Exception:       # (an unusual layout of SciPy: the ordinary import)
                pass
        return [importlib.import_module(name) for name in NAMES]


def _load(name: str, folder: Path) -> None:
    """Load the extension module ``name`` from its file in ``folder`` into ``sys.modules``."""
    stem = name.rpartition(".")[2]
    path = next(folder / (stem + suffix) for suffix in importlib.machinery.EXTENSION_SUFFIXES
                if (folder / (stem + suffix)).is_file())
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise


class _Attach(importlib.abc.MetaPathFinder):
    """Finds ``scipy.linalg`` as the path finder does, with a loader that sets the modules
    loaded here as its attributes once it has run."""

    def find_spec(self, fullname, path, target=None):
        if fullname != PACKAGE:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path, target)
        if spec is not None and spec.loader is not None:
            spec.loader = _Attaching(spec.loader)
        return spec


class _Attaching(importlib.abc.Loader):
    """``loader``, and then the tables as the package's attributes."""

    def __init__(self, loader):
        self.loader = loader

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        for name in NAMES:
            if name in sys.modules and not hasattr(module, name.rpartition(".")[2]):
                setattr(module, name.rpartition(".")[2], sys.modules[name])

    def __getattr__(self, name):            # get_source, get_resource_reader, ...
        return getattr(self.loader, name)
