"""Which SciPy function, if any, is converting a traced value: for errors that name it."""

from __future__ import annotations

import inspect
import sys

from ..errors import UnsupportedFunctionError

__all__ = ["scipy_caller", "refuse_scipy_conversion"]


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
