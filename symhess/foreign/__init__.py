"""Functions that cannot dispatch, on traced values: SciPy's, and NumPy's array constructors.

NumPy hands a call of one of its functions on a traced array to the array
(``__array_function__``), and SciPy's ufuncs (``scipy.special.expit``, ...) go through
``__array_ufunc__`` the same way. SciPy's Python functions do not dispatch: ``scipy.linalg.
cho_solve`` begins with ``np.asarray``, which a traced array refuses; nor do NumPy's
constructors (``np.array([x[0], x[1] ** 2])``). So while symhess runs a function on traced
values (either tier's tracer, or the cross-check's jets), the functions of `DEFINITIONS` are
*interposed*: the names that hold them in their modules, and in the globals and closure of the
function being traced, are bound to a dispatcher. In the thread that traces, the dispatcher
calls the function's definition in NumPy (`symhess.foreign.scipy_linalg`,
`symhess.foreign.scipy_special`, `symhess.foreign.numpy_constructors`) when an argument is
traced; otherwise, and in every other thread, the original function, so other code sees SciPy
and NumPy unchanged. SciPy's special functions are ufuncs and NumPy 2's new names dispatch, so
those need no interposing: the tracers ask `ufunc_definition` and `function_definition` for
their definitions. The definitions are ordinary NumPy programs that every tracer runs with its
own rules; their values are tested against SciPy's and NumPy's.

A SciPy function reached some other way (bound to a name in another module before the trace)
still meets ``np.asarray``; `scipy_caller` finds it on the stack so that the error names it.
"""

from __future__ import annotations

import contextlib
import functools
import sys
import threading

from . import numpy_constructors, numpy_names, scipy_linalg, scipy_special, scipy_stats
from .callers import refuse_scipy_conversion, scipy_caller
from .numpy_names import EighResult, SlogdetResult, function_definition
from .error_functions import INVERSE_ERF, inverse_algorithm
from . import bessel, gamma_functions, incomplete
from .bessel import BESSEL_I, BESSEL_IE
from .error_functions import second_order_inverse
from .gamma_functions import POLYGAMMA
from .incomplete import INCOMPLETE_BETA, INCOMPLETE_GAMMA
from .scipy_special import ERF, ERFC, ufunc_name
from .traced import HOLD, give_ufunc_methods, holds_traced, is_traced, register_traced

__all__ = ["DEFINITIONS", "register_traced", "is_traced", "interposed", "scipy_caller",
           "scipy_names", "refuse_scipy_conversion", "ufunc_definition", "ufunc_name",
           "function_definition", "give_ufunc_methods", "SlogdetResult", "EighResult", "ERF",
           "ERFC", "INVERSE_ERF", "POLYGAMMA", "BESSEL_I", "BESSEL_IE", "INCOMPLETE_GAMMA",
           "INCOMPLETE_BETA", "HOLD", "KEPT_WHOLE", "ALGORITHMS"]


def _traced_argument(args, kwargs) -> bool:
    """Whether an argument is traced, or a tuple or list holding one (``cho_solve((c, lower),
    b)``)."""
    return any(holds_traced(x, 1) for x in (*args, *kwargs.values()))


# module -> ({name: its definition in NumPy}, whether a call's arguments are the definition's)
DEFINITIONS = {
    "numpy": (numpy_constructors.DEFINITIONS, numpy_constructors.takes),
    "scipy.linalg": (scipy_linalg.DEFINITIONS, _traced_argument),
    "scipy.special": (scipy_special.DEFINITIONS, _traced_argument),
}
# (module, class) -> {method: its definition}: scipy.stats' distributions
METHODS = scipy_stats.METHODS

#: symhess's own ufuncs of special functions computed by an algorithm -> that algorithm in
#: NumPy (what the cross-check differentiates, and the scalar tier prints)
ALGORITHMS = {
    INVERSE_ERF: inverse_algorithm,
    POLYGAMMA: gamma_functions.algorithm,
    BESSEL_I: lambda nu, x: bessel.algorithm(nu, x, False),
    BESSEL_IE: lambda nu, x: bessel.algorithm(nu, x, True),
    INCOMPLETE_GAMMA: lambda upper, a, x: incomplete.gamma_algorithm(int(upper), a, x),
    INCOMPLETE_BETA: lambda upper, a, b, x: incomplete.beta_algorithm(int(upper), a, b, x),
    HOLD: lambda v: v,
}
#: the same ufuncs -> their value with first and second derivatives in closed form,
#: ``rule(inputs as given, inputs as traced values, stop)`` (the array tier's rules; the
#: scalar tier keeps them whole); an order is a constant, read from the inputs as given
KEPT_WHOLE = {
    INVERSE_ERF: lambda given, x, stop: second_order_inverse(*x, stop),
    POLYGAMMA: lambda given, x, stop: gamma_functions.second_order_polygamma(given[0], x[1], stop),
    BESSEL_I: lambda given, x, stop: bessel.second_order_bessel(given[0], x[1], stop, False),
    BESSEL_IE: lambda given, x, stop: bessel.second_order_bessel(given[0], x[1], stop, True),
    INCOMPLETE_GAMMA: incomplete.second_order_gamma,
    INCOMPLETE_BETA: incomplete.second_order_beta,
}

_lock = threading.Lock()
_tracing = threading.local()          # .depth: how many interposed traces this thread is in
_installed: dict = {}                 # (id(namespace), name) -> [namespace, original, count]
_dispatchers: dict = {}               # id(original) -> (original, dispatcher)
_originals: dict = {}                 # id(dispatcher) -> original


def ufunc_definition(ufunc, method: str, kwargs: dict):
    """The definition in NumPy of a ``ufunc`` call on traced inputs (``definition(*inputs)``):
    for scipy.special's ufuncs, symhess's inverse error function, and NumPy 2's generalized
    ufuncs (``np.vecdot``, ``matvec``, ``vecmat``, with their ``axis``); None for a ufunc the
    tracers' own rules take."""
    if method != "__call__":
        return None
    if ufunc in ALGORITHMS:
        return ALGORITHMS[ufunc]
    special = scipy_special.ufunc_definition(ufunc)
    if special is not None:
        return None if kwargs else special
    named = numpy_names.FUNCTIONS.get(ufunc)
    if named is None or {"out", "where"} & kwargs.keys():
        return None
    return functools.partial(named, **kwargs)


def scipy_names() -> list[str]:
    """The public names of the SciPy functions symhess traces (``scipy.linalg.cho_solve``,
    ``scipy.special.expit``)."""
    names = {f"{module}.{name}" for module, (table, _) in DEFINITIONS.items()
             if module.startswith("scipy") for name in table}
    names |= {f"scipy.special.{name}" for name in scipy_special.UFUNCS}
    return sorted(names | set(scipy_stats.families()))


def _dispatcher(original, definition, takes):
    """The one dispatcher of ``original`` (made once, so that every binding shares it)."""
    key = id(original)
    if key not in _dispatchers:
        @functools.wraps(original)
        def dispatch(*args, **kwargs):
            if getattr(_tracing, "depth", 0) and takes(args, kwargs):
                return definition(*args, **kwargs)
            return original(*args, **kwargs)
        _dispatchers[key] = (original, dispatch)
        _originals[id(dispatch)] = original
    return _dispatchers[key][1]


def _namespaces(fun):
    """What ``fun`` may reach an interposed function through: its globals (dicts) and its
    closure's cells, seen through `functools.partial`, bound methods and ``__wrapped__``."""
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
    """(holder, name, dispatcher) for every binding of a function of `DEFINITIONS` or
    `METHODS` to interpose for ``fun``: in its module or class, and in ``fun``'s globals and
    closure (``name`` None for a cell). A binding may already hold the dispatcher (another
    trace interposed it)."""
    known = {}
    for module_name, (table, takes) in DEFINITIONS.items():
        module = sys.modules.get(module_name)
        if module is None:          # never imported: nothing can call it
            continue
        for name, definition in table.items():
            value = getattr(module, name, None)
            original = _originals.get(id(value), value)
            if original is not None:
                known[id(original)] = dispatch = _dispatcher(original, definition, takes)
                yield module.__dict__, name, dispatch
    for (module_name, class_name), table in METHODS.items():
        kind = getattr(sys.modules.get(module_name), class_name, None)
        for name, definition in (table.items() if kind is not None else ()):
            value = vars(kind).get(name)
            original = _originals.get(id(value), value)
            if original is not None:
                yield kind, name, _dispatcher(original, definition, _traced_argument)
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
    if name is None:
        return holder.cell_contents
    return vars(holder).get(name) if isinstance(holder, type) else holder.get(name)


def _set(holder, name, value):
    if name is None:
        holder.cell_contents = value
    elif isinstance(holder, type):      # a method of a class (scipy.stats' distributions)
        setattr(holder, name, value)
    else:
        holder[name] = value


@contextlib.contextmanager
def interposed(fun):
    """Interpose the functions of `DEFINITIONS` and `METHODS` while ``fun`` runs on traced
    values (re-entrant and thread-safe: a binding is restored when the last trace that needs
    it ends; other threads' calls go to the originals)."""
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
    _tracing.depth = getattr(_tracing, "depth", 0) + 1
    try:
        yield
    finally:
        _tracing.depth -= 1
        with _lock:
            for key, name in keys:
                entry = _installed[key]
                entry[2] -= 1
                if entry[2] == 0:
                    del _installed[key]
                    holder, original = entry[0], entry[1]
                    if _get(holder, name) is _dispatchers[id(original)][1]:
                        _set(holder, name, original)
