"""The options of `symhess.hessian` and its siblings, checked and normalized once, when the
transform is made: each wrong one raises an error naming it and what it may be."""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from typing import Literal, Union

from .errors import OptionTypeError, OptionValueError
from .layout import SPARSE_FORMATS

TARGETS = ("cpu", "cuda")
TIERS = ("auto", "array", "scalar")
#: A runtime data argument (not differentiated) with at least this many elements sends a
#: function to the array tier (``tier="auto"``; `symhess.api.HessianFunction.reads_data`).
MIN_DATA = 64

#: The positional arguments to differentiate: one index, or several (nested blocks ``H[i][j]``).
ArgNums = Union[int, Sequence[int]]
#: What a sparse result is returned as (`symhess.layout.SPARSE_FORMATS`).
SparseFormat = Literal["csr_array", "csr_matrix", "coo_array", "triplets"]


def as_argnums(value, name):
    """``value`` as an int or a tuple of ints (``argnums``, ``static_argnums``)."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, (tuple, list)) and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value):
        return tuple(int(v) for v in value)
    raise OptionTypeError(f"{name} must be an int or a tuple of ints; got {value!r}")


def normalize_options(h) -> None:
    """Check the options of the transform ``h`` (a `symhess.api.HessianFunction`) and store
    them normalized: ``argnums`` an int or a tuple, ``static_argnums`` and ``in_axes`` tuples,
    ``batch_axis`` an int or None."""
    if not callable(h.fun):
        raise OptionTypeError(f"hessian needs a callable; got {h.fun!r}")
    h.argnums = as_argnums(h.argnums, "argnums")
    if h.argnums == ():
        raise OptionValueError(
            "argnums is an empty tuple: name at least one argument to differentiate")
    static = as_argnums(h.static_argnums, "static_argnums")
    h.static_argnums = (static,) if isinstance(static, int) else static
    if h.target not in TARGETS:
        raise OptionValueError(
            f"target={h.target!r} is not available; choose one of {TARGETS}")
    if h.target == "cuda" and h.holomorphic:
        raise OptionValueError("target='cuda' computes real Hessians (float32, float64); use "
                               "target='cpu' for holomorphic=True")
    if h.tier not in TIERS:
        raise OptionValueError(f"tier must be one of {TIERS}; got {h.tier!r}")
    if h.templates not in (None, True, False):
        raise OptionValueError(f"templates must be None, True or False; got {h.templates!r}")
    if h.batch_axis is not None:
        if not isinstance(h.batch_axis, numbers.Integral) or isinstance(h.batch_axis, bool):
            raise OptionTypeError(f"batch_axis must be an int (the axis of the points in every "
                                  f"batched argument) or None; got {h.batch_axis!r}. For a "
                                  "different axis per argument, pass in_axes= as well")
        h.batch_axis = int(h.batch_axis)
        if h.has_aux:
            raise OptionValueError(
                "has_aux=True cannot be combined with batch_axis: aux would be "
                "one value per point; compute it separately")
    if h.sparse not in (False, True, "upper", "lower"):
        raise OptionValueError(
            f"sparse must be False, True, 'upper' or 'lower'; got {h.sparse!r}")
    if h.sparse_format not in SPARSE_FORMATS:
        raise OptionValueError(f"sparse_format must be one of {SPARSE_FORMATS}; got "
                               f"{h.sparse_format!r}")
    if h.sparse_format != "csr_array" and not h.sparse:
        raise OptionValueError(f"sparse_format={h.sparse_format!r} is for sparse results: "
                               "pass sparse=True, 'upper' or 'lower' as well")
    if h.check and (h.sparse or h.batch_axis is not None):
        raise OptionValueError("check=True is for dense, unbatched Hessians; check one point "
                               "with symhess.check(fun, *point) instead")
    if h.sparse and h.batch_axis is not None:
        raise OptionValueError("sparse output cannot be combined with batch_axis")
    if h.in_axes is not None:
        if h.batch_axis is None:
            raise OptionValueError(
                "in_axes needs batch_axis: pass batch_axis=0 (or another axis)")
        if not isinstance(h.in_axes, (tuple, list)) or not all(
                a is None or (isinstance(a, int) and not isinstance(a, bool)) for a in h.in_axes):
            raise OptionTypeError(
                f"in_axes must be a tuple of ints or None, one per positional "
                f"argument; got {h.in_axes!r}")
        h.in_axes = tuple(h.in_axes)
