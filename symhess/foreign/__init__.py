"""SciPy's functions on traced arrays: NumPy's function protocol for functions without one.

NumPy hands a call of one of its functions on a traced array to the array
(``__array_function__``), and SciPy's ufuncs (``scipy.special.expit``, ...) go through
``__array_ufunc__`` the same way. SciPy's Python functions do not dispatch: ``scipy.linalg.
cho_solve`` begins with ``np.asarray``, which a traced array refuses. So while symhess runs a
function on traced values (either tier's tracer, or the cross-check's jets), the SciPy functions
it knows are *interposed*: the names that hold them in their SciPy modules, and in the globals
and closure of the function being traced, are bound to a dispatcher. The dispatcher calls the
function's definition in NumPy (`symhess.foreign.scipy_linalg`) when an argument is traced, and
the SciPy function itself otherwise, so code running in other threads meanwhile sees SciPy
unchanged. The definitions are ordinary NumPy programs that every tracer runs with its own
rules; their values are tested against SciPy's.

A SciPy function reached some other way (bound to a name in another module before the trace)
still meets ``np.asarray``; `scipy_caller` finds it on the stack so that the error names it.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import sys
import threading

from ..errors import UnsupportedFunctionError
from . import scipy_linalg

__all__ = ["DEFINITIONS", "register_traced", "interposed", "scipy_caller", "scipy_names",
           "is_traced_call", "refuse_scipy_conversion"]

# module -> {name: its definition in NumPy}
DEFINITIONS = {"scipy.linalg": scipy_linalg.DEFINITIONS}

_TRACED: list = []                    # the tracers' array types (`register_traced`)
_lock = threading.Lock()
_installed: dict = {}                 # (id(namespace), name) -> [namespace, original, count]
_dispatchers: dict = {}               # id(original) -> (original, dispatcher)
_originals: dict = {}                 # id(dispatcher) -> original


def register_traced(kind: type) -> type:
    """Mark ``kind`` as a traced value: an argument of this type sends an interposed SciPy
    call to its NumPy definition. Usable as a class decorator."""
    _TRACED.append(kind)
    return kind


def scipy_names() -> list[str]:
    """The public names of the SciPy functions symhess traces (``scipy.linalg.cho_solve``)."""
    return sorted(f"{module}.{name}" for module, table in DEFINITIONS.items() for name in table)


def is_traced_call(args, kwargs) -> bool:
    """Whether a traced value is among ``args``/``kwargs`` (or one level inside a tuple or
    list among them, as in ``cho_solve((c, lower), b)``)."""
    kinds = tuple(_TRACED)
    for x in (*args, *kwargs.values()):
        if isinstance(x, kinds) or (isinstance(x, (tuple, list))
                                     and any(isinstance(y, kinds) for y in x)):
            return True
    return False


def _dispatcher(original, definition):
    """The one dispatcher of ``original`` (made once, so that every binding shares it)."""
    key = id(original)
    if key not in _dispatchers:
        @functools.wraps(original)
        def dispatch(*args, **kwargs):
            if is_traced_call(args, kwargs):
                return definition(*args, **kwargs)
            return original(*args, **kwargs)
        _dispatchers[key] = (original, dispatch)
        _originals[id(dispatch)] = original
    return _dispatchers[key][1]


def _namespaces(fun):
    """What ``fun`` may reach a SciPy function through: its globals (dicts) and its closure's
    cells, seen through `functools.partial`, bound methods and ``__wrapped__``."""
    seen = set()
    while fun is not None and id(fun) not in seen:
        seen.add(id(fun))
        if isinstance(fun, functools.partial):
            fun = fun.func
            continue
        fun = getattr(fun, "__func__", fun)
        code_globals = getattr(fun, "__globals__", None)
        if isinstance(code_globals, dict):
            yield code_globals
        yield from getattr(fun, "__closure__", None) or ()
        fun = getattr(fun, "__wrapped__", None)


def _targets(fun):
    """(holder, name, dispatcher) for every binding of a known SciPy function to interpose for
    ``fun``; ``name`` is None for a closure cell. A binding may already hold the dispatcher
    (another trace interposed it)."""
    known = {}
    for module_name, table in DEFINITIONS.items():
        module = sys.modules.get(module_name)
        if module is None:          # never imported: nothing can call it
            continue
        for name, definition in table.items():
            value = getattr(module, name, None)
            original = _originals.get(id(value), value)
            if original is not None:
                known[id(original)] = dispatch = _dispatcher(original, definition)
                yield module.__dict__, name, dispatch
    for holder in _namespaces(fun):
        bindings = holder.items() if isinstance(holder, dict) else [(None, _content(holder))]
        for name, value in list(bindings):
            original = _originals.get(id(value), value)
            if id(original) in known and _dispatchers[id(original)][0] is original:
                yield holder, name, known[id(original)]


def _content(cell):
    try:
        return cell.cell_contents
    except ValueError:              # an empty cell
        return None


def _get(holder, name):
    return holder.cell_contents if name is None else holder.get(name)


def _set(holder, name, value):
    if name is None:
        holder.cell_contents = value
    else:
        holder[name] = value


@contextlib.contextmanager
def interposed(fun):
    """Interpose the known SciPy functions while ``fun`` runs on traced values (re-entrant
    and thread-safe: a binding is restored when the last trace that needs it ends)."""
    if not any(m in sys.modules for m in DEFINITIONS):
        yield
        return
    keys = []
    with _lock:
        for holder, name, dispatch in list(_targets(fun)):
            key = (id(holder), name)
            entry = _installed.get(key)
            if entry is None:
                _installed[key] = entry = [holder, _originals[id(dispatch)], 0]
                _set(holder, name, dispatch)
            entry[2] += 1
            keys.append((key, name))
    try:
        yield
    finally:
        with _lock:
            for key, name in keys:
                entry = _installed[key]
                entry[2] -= 1
                if entry[2] == 0:
                    del _installed[key]
                    holder, original = entry[0], entry[1]
                    if _get(holder, name) is _dispatchers[id(original)][1]:
                        _set(holder, name, original)


def _module(frame) -> str:
    return frame.f_globals.get("__name__") or ""


def _within(frame, package: str) -> bool:
    module = _module(frame)
    return module == package or module.startswith(package + ".")


def scipy_caller() -> str | None:
    """The public name of the SciPy function that is converting a traced value with
    ``np.asarray`` (``scipy.linalg.cho_solve``): of the SciPy frames just above symhess's and
    NumPy's on the stack, the outermost that is a public function (SciPy's wrappers and
    helpers are passed over); None when no SciPy function is converting it."""
    frame = inspect.currentframe().f_back
    while frame is not None and (_within(frame, "symhess") or _within(frame, "numpy")):
        frame = frame.f_back
    frames = []
    while frame is not None and _within(frame, "scipy"):
        frames.append(frame)
        frame = frame.f_back
    names = [_public_name(f) for f in reversed(frames)]
    return next((n for n in names if n), None) or (
        frames and f"{_module(frames[-1])}.{frames[-1].f_code.co_qualname}") or None


def _public_name(frame) -> str | None:
    """``package.function`` if the frame runs a function its public package exports, or wraps
    one (SciPy's batching decorator converts the arguments before the function runs), or a
    method of an object (named by the object's class); else None."""
    code = frame.f_code
    owner = frame.f_locals.get("self")
    if owner is not None and "." in code.co_qualname:   # a method, named by its instance
        owner = getattr(owner, "dist", owner)          # (a frozen distribution by its family)
        return f"{_public(_module(frame))}.{type(owner).__name__.removesuffix('_gen')}." \
               f"{code.co_name}"
    wrapped = [frame.f_locals.get(name) for name in code.co_freevars]
    for module, function in [(_module(frame), code), *(
            (getattr(w, "__module__", None) or "", getattr(w, "__code__", None))
            for w in wrapped if callable(w))]:
        name = _exported(_public(module), function)
        if name:
            return name
    return None


def _public(module: str) -> str:
    return ".".join(p for p in module.split(".") if not p.startswith("_"))


def _exported(public: str, code) -> str | None:
    """``public.name`` if the module ``public`` exports a function running ``code``."""
    exported = getattr(sys.modules.get(public), getattr(code, "co_name", ""), None)
    while exported is not None and getattr(exported, "__code__", None) is not code:
        exported = getattr(exported, "__wrapped__", None)
    return None if exported is None else f"{public}.{code.co_name}"


def refuse_scipy_conversion() -> None:
    """Raise `UnsupportedFunctionError` naming the SciPy function that is converting a traced
    value, if one is (called by the tracers' ``__array__``)."""
    name = scipy_caller()
    if name is not None:
        raise UnsupportedFunctionError(
            name, "it converts its arguments with np.asarray, which a traced value refuses; the "
            "SciPy functions symhess traces are those of symhess.supported_functions(), called "
            "through their module (scipy.linalg.cho_solve) or by a name bound in the traced "
            "function's own module")
