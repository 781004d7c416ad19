"""``np.array``, ``np.asarray`` and ``np.asanyarray`` of traced values, as traced values.

NumPy's constructors cannot dispatch: given ``[x[0], x[1] ** 2]`` they would ask each element
for a concrete array. While a function is traced they are interposed (`symhess.foreign`), and a
traced value, or a list or tuple holding one, becomes a traced array through ``np.stack``,
which every tracer has a rule for. A numeric dtype is accepted where it is a floating one (the
traced values have the trace's); any other call goes to NumPy.

A SciPy function converting a traced value with ``np.asarray`` is still refused by name: it
would go on to compute with numbers.
"""

from __future__ import annotations

import numpy as np

from .callers import refuse_scipy_conversion
from .traced import holds_traced, is_traced

__all__ = ["DEFINITIONS", "takes"]


def takes(args, kwargs) -> bool:
    """Whether an interposed constructor's call is one of these definitions' (a traced value,
    or a list or tuple holding one, with no dtype or a floating one)."""
    obj = args[0] if args else kwargs.get("object", kwargs.get("a"))
    dtype = args[1] if len(args) > 1 else kwargs.get("dtype")
    return (dtype is None or np.dtype(dtype).kind in "fc") and holds_traced(obj)


def _stacked(obj):
    if isinstance(obj, (list, tuple)):
        return np.stack([_stacked(x) for x in obj])
    return obj


def asarray(a, dtype=None, order=None, **kwargs):
    """``np.asarray``: a traced value as it is; a list of them stacked."""
    refuse_scipy_conversion()
    return _stacked(a)


def asanyarray(a, dtype=None, order=None, **kwargs):
    """``np.asanyarray``: as `asarray`."""
    refuse_scipy_conversion()
    return _stacked(a)


def array(object, dtype=None, *, copy=True, order="K", subok=False, ndmin=0, like=None):
    """``np.array``: a copy of a traced value (later item assignments leave the original
    alone); a list of them stacked; ``ndmin`` leading axes of length one added."""
    refuse_scipy_conversion()
    out = _stacked(object)
    if is_traced(object) and copy is not False:
        out = np.copy(out)
    while np.ndim(out) < ndmin:
        out = np.expand_dims(out, 0)
    return out


DEFINITIONS = {f.__name__: f for f in (array, asarray, asanyarray)}
