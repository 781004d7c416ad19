"""A corpus of functions as users write them, each compared with ``jax.hessian``.

Case modules (``tests/corpus/*.py``) are written the way the functions' authors write them:
``import numpy as np``, ``from scipy.special import gammaln``, ``from scipy import stats``. Each
module is loaded twice from its source: once as written, and once with those imports bound to
``jax.numpy`` and ``jax.scipy``, so the same text is what symhess compiles and what JAX
differentiates. A function becomes a case through the ``case`` decorator, which records the
arguments to evaluate at (built with `data`, which is plain NumPy in both loads and gives both the
same values), the ``jax.hessian`` options, and what is expected of symhess:

- nothing (the default): its Hessian equals JAX's (float64, relative 1e-8);
- ``raises=(ErrorClass, "words")``: symhess refuses it with that error, whose message holds the
  words (the function's name, or what to write instead);
- ``jax=False`` (with a reason): JAX cannot run the function as written (NumPy-only idioms such
  as in-place assignment); the reference is then symhess's own independent autodiff.
"""

from __future__ import annotations

import builtins
import importlib
import pathlib
import types
import zlib
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import numpy as _np

HERE = pathlib.Path(__file__).parent
MODULES = sorted(p.stem for p in HERE.glob("*.py") if not p.stem.startswith("_"))


@dataclass
class Case:
    name: str                       # module.function
    source: str                     # where the function comes from
    kind: str                       # "function" or "model"
    args: tuple
    options: dict
    raises: Optional[tuple]         # (error class, words in its message) or None
    jax: Optional[str]              # None when JAX runs it, else why it cannot
    rtol: float
    function: Callable = field(repr=False, default=None)
    jax_function: Optional[Callable] = field(repr=False, default=None)


_collecting: Optional[list] = None


def case(*args: Any, source: str, kind: str = "function", raises: Optional[tuple] = None,
         jax: Optional[str] = None, rtol: float = 1e-8, **options: Any) -> Callable:
    """Register the decorated function as a case evaluated at ``args``."""
    def register(f):
        if _collecting is not None:
            _collecting.append(Case(f.__name__, source, kind, args, options, raises,
                                    jax if jax is not False else "JAX cannot run it", rtol, f))
        return f
    return register


class data:
    """Deterministic arguments: the loader reseeds before each load, so both loads agree."""
    rng = _np.random.default_rng(0)

    @classmethod
    def normal(cls, *shape, scale=1.0):
        return scale * cls.rng.normal(size=shape)

    @classmethod
    def uniform(cls, low, high, *shape):
        return cls.rng.uniform(low, high, size=shape)

    @classmethod
    def positive(cls, *shape):
        return cls.rng.uniform(0.5, 2.0, size=shape)

    @classmethod
    def counts(cls, *shape, lam=3.0):
        return cls.rng.poisson(lam, size=shape).astype(float)

    @classmethod
    def binary(cls, *shape):
        return (cls.rng.uniform(size=shape) > 0.5).astype(float)

    @classmethod
    def spd(cls, n):
        a = cls.rng.normal(size=(n, n))
        return a @ a.T / n + _np.eye(n)

    @classmethod
    def simplex(cls, n):
        p = cls.rng.uniform(0.5, 2.0, size=n)
        return p / p.sum()


# --- loading a module's source under NumPy or under JAX -------------------------------------------

_JAX_NAMES = {"numpy": "jax.numpy", "numpy.linalg": "jax.numpy.linalg", "scipy": "jax.scipy",
              "scipy.special": "jax.scipy.special", "scipy.stats": "jax.scipy.stats",
              "scipy.linalg": "jax.scipy.linalg"}


class _Missing:
    """What a JAX module lacks: an error when used, so only the cases that use it fail."""

    def __init__(self, name):
        self.name = name

    def __call__(self, *args, **kwargs):
        raise AttributeError(f"JAX has no {self.name}")

    def __getattr__(self, attr):
        return _Missing(f"{self.name}.{attr}")


class _JaxModule(types.ModuleType):
    def __init__(self, module):
        super().__init__(module.__name__)
        self._module = module

    def __getattr__(self, attr):
        value = getattr(self._module, attr, None)
        if value is None:
            return _Missing(f"{self._module.__name__}.{attr}")
        if isinstance(value, types.ModuleType):
            return _JaxModule(value)
        return value


def _jax_import(name, globals=None, locals=None, fromlist=(), level=0):
    if level or name.split(".")[0] not in ("numpy", "scipy"):
        return builtins.__import__(name, globals, locals, fromlist, level)
    target = _JAX_NAMES.get(name)
    if target is None:
        raise ImportError(f"no JAX counterpart for {name}")
    module = importlib.import_module(target)
    for sub in ("special", "stats", "linalg"):       # `import scipy.special as sp` and friends
        if target == "jax.scipy":
            importlib.import_module(f"jax.scipy.{sub}")
    if not fromlist:
        return _JaxModule(importlib.import_module(target.split(".")[0] + (
            ".numpy" if name.startswith("numpy") else ".scipy")))
    return _JaxModule(module)


def _load(stem: str, jax: bool) -> list:
    global _collecting
    path = HERE / f"{stem}.py"
    code = compile(path.read_text(), str(path), "exec")
    scope_builtins = dict(vars(builtins))
    if jax:
        scope_builtins["__import__"] = _jax_import
    namespace = {"__name__": f"corpus.{stem}", "__file__": str(path),
                 "__builtins__": scope_builtins}
    data.rng = _np.random.default_rng(zlib.crc32(stem.encode()))
    _collecting = []
    try:
        exec(code, namespace)
        return _collecting
    finally:
        _collecting = None


def cases() -> list:
    """Every case of every module, with its JAX twin where JAX can run it."""
    found = []
    for stem in MODULES:
        plain = _load(stem, jax=False)
        try:
            twins = {c.name: c.function for c in _load(stem, jax=True)}
        except ImportError:
            twins = {}
        for c in plain:
            c.jax_function = twins.get(c.name) if c.jax is None else None
            c.name = f"{stem}.{c.name}"
            found.append(c)
    return found
