"""The methods NumPy users call on arrays, for the traced arrays of both tiers
(`symhess.trace.Traced`, `symhess.arrays.tracer.SymArray`).

Each method calls the NumPy function of its name (``x.repeat(2)`` is ``np.repeat(x, 2)``), so
the tier's rule for that function applies, and a function a tier has no rule for is refused
with the function's name, as when it is called directly.
"""

from __future__ import annotations

import numpy as np

from . import errors

__all__ = ["ArrayMethods"]


def _calls(func, name=None):
    """A method ``x.name(*args, **kwargs)`` that is ``func(x, *args, **kwargs)``."""
    def method(self, *args, **kwargs):
        return func(self, *args, **kwargs)
    method.__name__ = method.__qualname__ = name or func.__name__
    method.__doc__ = f"``np.{func.__name__}(x, ...)``, as ``ndarray.{method.__name__}``."
    return method


def _axes(args):
    """``(2, 3)`` from ``f(2, 3)`` or ``f((2, 3))`` (NumPy's methods take either); None from
    ``f()`` or ``f(None)``."""
    if len(args) == 1 and (args[0] is None or isinstance(args[0], (tuple, list))):
        return args[0]
    return args or None


class ArrayMethods:
    """The ``ndarray`` methods of a traced array; each class keeps its own ``copy`` and
    ``astype``."""

    __slots__ = ()

    T = property(np.transpose)
    mT = property(lambda self: np.swapaxes(self, -1, -2))
    real = property(np.real)
    imag = property(np.imag)

    sum, prod, mean, var, std = map(_calls, (np.sum, np.prod, np.mean, np.var, np.std))
    max, min = _calls(np.max, "max"), _calls(np.min, "min")
    argmax, argmin, argsort = map(_calls, (np.argmax, np.argmin, np.argsort))
    cumsum, cumprod = map(_calls, (np.cumsum, np.cumprod))
    all, any = _calls(np.all, "all"), _calls(np.any, "any")
    dot, trace, diagonal = map(_calls, (np.dot, np.trace, np.diagonal))
    squeeze, swapaxes, ravel = map(_calls, (np.squeeze, np.swapaxes, np.ravel))
    repeat, take, compress, nonzero = map(_calls, (np.repeat, np.take, np.compress, np.nonzero))
    round = _calls(np.round, "round")
    conj = _calls(np.conjugate, "conj")
    conjugate = _calls(np.conjugate, "conjugate")

    def clip(self, min=None, max=None, **kwargs):
        """``np.clip(x, min, max)``, as ``ndarray.clip``."""
        return np.clip(self, min, max, **kwargs)

    def flatten(self):
        """A flat copy, as ``ndarray.flatten``."""
        return np.ravel(self).copy()

    def reshape(self, *shape, order="C"):
        """``np.reshape``; the shape as several numbers or one tuple, as ``ndarray.reshape``."""
        shape = shape[0] if len(shape) == 1 else shape
        return np.reshape(self, shape) if order == "C" else np.reshape(self, shape, order=order)

    def transpose(self, *axes):
        """``np.transpose``; the axes as several numbers or one tuple, as
        ``ndarray.transpose``."""
        return np.transpose(self, _axes(axes))

    def tolist(self):
        """Nested lists of the traced entries (a 0-d array gives itself), as
        ``ndarray.tolist`` gives nested lists of numbers."""
        return self if self.ndim == 0 else [self[i].tolist() for i in range(len(self))]

    def item(self, *index):
        """One entry as a 0-d traced value: the only one, the one at a flat index, or the one
        at an index per axis, as ``ndarray.item``."""
        if not index:
            if self.size != 1:
                raise errors.ArgumentValueError(
                    f"item() of a traced array of {self.size} entries: it takes an array of one "
                    "entry, or the index of the entry (x.item(k), or x[i, j])")
            return np.reshape(self, ())
        if len(index) == 1 and not isinstance(index[0], tuple):
            return np.ravel(self)[index[0]]
        return self[index[0] if len(index) == 1 else index]

    def sort(self, *args, **kwargs):
        """Refused: ``ndarray.sort`` sorts in place."""
        raise errors.UnsupportedFunctionError(
            "ndarray.sort", "it sorts the traced array in place; use y = np.sort(x, axis) "
            "instead")
