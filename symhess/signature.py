"""From a call's arguments to a `Trace`: leaves, signatures, and the traced outputs.

A signature is what decides the kernel: each argument's tree structure, shapes and dtypes, and
the values of static arguments. `trace_call` makes one symbolic leaf per array leaf of the
arguments and runs the function on them; everything after tracing (`symhess.lower`) starts from
the `Trace` it returns.
"""

from __future__ import annotations

import functools
import inspect
import math
import numbers
from dataclasses import dataclass, field
from typing import Optional

import numpy as np

from . import complex_parts, errors, gpu, pytree
from . import closed_forms, lazy, primitives  # noqa: F401  (they register the tracer's rules)
from .distributed import is_dask
from .trace import Traced, is_traced, object_array, symbols, trace


@dataclass(frozen=True)
class Leaf:
    """One array leaf of the arguments: a runtime input of the kernel."""

    arg: object            # positional index, or keyword name
    path: str              # pytree path inside the argument, e.g. "['w']"
    label: str             # readable name: argument name + path, used for symbols
    shape: tuple
    dtype: np.dtype
    weak: bool             # a Python number: does not take part in dtype promotion
    differentiated: bool
    index: int             # position among the kernel's inputs
    batch_axis: object = None   # the axis of the points, for batched evaluation

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    def symbols(self) -> np.ndarray:
        """The leaf's symbols (one array per leaf, made once: do not modify it)."""
        return self._symbols

    def symbols_made(self) -> Optional[np.ndarray]:
        """The leaf's symbols if `symbols` has made them, else None: no expression holds a
        symbol of a leaf whose symbols were never made (a tangent whose every term is in an
        element loop), and a million of them take a second to make."""
        return self.__dict__.get("_symbols")

    @functools.cached_property
    def _symbols(self) -> np.ndarray:
        return symbols(self.label, self.shape)


@dataclass
class Trace:
    """What tracing a function on one signature produced; the input of every product's build.

    ``outputs`` are object arrays of SymEngine expressions, one per output leaf (``out_tree``);
    ``sums`` the element sums of lazy gathers whose placeholders they may contain
    (`symhess.lazy`). ``arg_pytrees`` says how to flatten a call's arguments into the kernel's
    inputs: ``(position or keyword, tree structure)`` for every non-static argument.
    """

    name: str
    leaves: list
    diff_leaves: list
    outputs: list
    out_tree: pytree.TreeDef
    diff_tree: pytree.TreeDef
    dtype: np.dtype
    arg_pytrees: list
    arguments: tuple                  # (positional names, keyword names) of the call
    round_to: object = None           # float16: the dtype the float64 result is rounded to
    sums: dict = field(default_factory=dict)

    @property
    def wrt(self) -> list:
        """The differentiated variables, flat: leaves in order, each in C order."""
        return [s for leaf in self.diff_leaves for s in leaf.symbols().ravel()]

    @property
    def flat_outputs(self) -> list:
        return [e for out in self.outputs for e in out.ravel()]


# --- signatures ----------------------------------------------------------------------------------
def static_key(value):
    """A static argument as part of a signature: by type and value, so that ``1``, ``1.0`` and
    ``True``, or ``0.0`` and ``-0.0``, which compare equal but may trace differently, differ."""
    if type(value) is tuple:           # (a list stays unhashable, and is refused as in JAX)
        return tuple, tuple(static_key(v) for v in value)
    if isinstance(value, (float, np.floating)):
        return type(value), value, math.copysign(1.0, value)
    if isinstance(value, (complex, np.complexfloating)):
        return type(value), value, math.copysign(1.0, value.real), math.copysign(1.0, value.imag)
    return type(value), value


def point_signature(x, axis):
    """The signature of one point of a batched leaf: its shape without the batch axis."""
    shape = np.shape(x)
    if not -len(shape) <= axis < len(shape):
        return ("bad batch axis", shape)
    axis %= len(shape)
    if traced_by_shape(x):        # their own signatures (see trace_call)
        return (shape[:axis] + shape[axis + 1:], x.dtype.char, type(x).__name__)
    return (shape[:axis] + shape[axis + 1:], np.result_type(x).char)


def leaf_signature(x):
    if type(x) is np.ndarray:
        return (x.shape, x.dtype.char)
    if traced_by_shape(x):
        return (x.shape, x.dtype.char, type(x).__name__)
    if isinstance(x, np.generic):
        return ((), x.dtype.char)
    return type(x)


def call_signature(args, kwargs, static, axes):
    """The signature of a call: ``static`` positions by value, ``axes`` the batch axes (or None)."""
    parts = []
    for i, a in enumerate(args):
        if static and (i in static or (i - len(args)) in static):
            parts.append(("static", static_key(a)))   # by value: an array is unhashable
        elif axes is not None and axes[i] is not None:
            leaves, treedef = pytree.flatten(a)
            parts.append((treedef, axes[i], tuple(point_signature(l, axes[i]) for l in leaves)))
        elif type(a) is np.ndarray:
            parts.append((a.shape, a.dtype.char))
        else:
            leaves, treedef = pytree.flatten(a)
            parts.append((treedef, tuple(map(leaf_signature, leaves))))
    for k in sorted(kwargs):
        leaves, treedef = pytree.flatten(kwargs[k])
        parts.append((k, treedef, tuple(map(leaf_signature, leaves))))
    return tuple(parts)


# --- dtypes ----------------------------------------------------------------------------------
SUPPORTED_DTYPES = ("float32", "float64", "complex64", "complex128", "float16 (computed in "
                    "float64, rounded)", "and integer or bool data arguments")


def kernel_input_dtype(dtype, label, fname) -> np.dtype:
    """The dtype a kernel takes for an argument of ``dtype``: its native byte order, float16 as
    float64. Extended precision (longdouble) is refused: computing it in float64 would lose
    the precision the caller asked for without saying so."""
    dtype = np.dtype(dtype).newbyteorder("=")
    if dtype == np.float16:
        return np.dtype(np.float64)
    if dtype.kind in "fc" and dtype.itemsize > (8 if dtype.kind == "f" else 16):
        raise errors.InputTypeError(
            f"argument {label} of {fname} has dtype {dtype} (extended precision), which symhess "
            f"does not compute in; supported dtypes are {', '.join(SUPPORTED_DTYPES)}. Convert "
            "it with .astype(np.float64)")
    if dtype.kind in "fc" and dtype.itemsize == (8 if dtype.kind == "f" else 16):
        return np.dtype(np.float64 if dtype.kind == "f" else np.complex128)   # longdouble == double
    return dtype


def needs_conversion(value) -> bool:
    """Whether an array argument must be converted before a kernel takes it (byte order,
    float16, a longdouble that is double, another library's array)."""
    dtype = getattr(value, "dtype", None)
    if not isinstance(value, (np.ndarray, np.generic)) or dtype is None:
        return array_like(value)
    return not dtype.isnative or dtype.char in "eg" or (dtype.char == "G" and dtype.itemsize == 16)


def rounded_dtype(args, kwargs, static):
    """float16 when the arguments' floating dtypes promote to it: the kernel computes in float64
    and the result is rounded to it (as float32 kernels round their float64 arithmetic)."""
    values = [a for i, a in enumerate(args) if i not in static] + list(kwargs.values())
    dtypes = [np.dtype(getattr(leaf, "dtype", None)) for value in values
              for leaf in pytree.flatten(value)[0]
              if isinstance(leaf, (np.ndarray, np.generic)) and leaf.dtype.kind in "biufc"]
    if dtypes and np.result_type(*dtypes) == np.float16:
        return np.dtype(np.float16)
    return None


def kernel_dtype(leaves, holomorphic) -> np.dtype:
    """The dtype the kernel computes in: the strong leaves' promotion, at least floating."""
    strong = [l.dtype for l in leaves if not l.weak]
    dtype = np.result_type(*strong) if strong else np.dtype(np.float64)
    if dtype.kind in "biu":
        dtype = np.dtype(np.float64)
    if holomorphic or any(l.dtype.kind == "c" for l in leaves):
        dtype = np.result_type(dtype, np.complex64)
    return np.dtype(dtype)


# --- tracing a call ------------------------------------------------------------------------------
@dataclass
class SymbolicCall:
    """A call's arguments as symbolic values: the kernel inputs (leaves) and what to call the
    function with. ``wrap(leaf, lazy_rows)`` made each leaf's symbolic value."""

    leaves: list
    args: list
    kwargs: dict
    names: list
    diff_positions: list
    many: bool
    static: set


def symbolic_call(transform, args, kwargs, wrap) -> SymbolicCall:
    """The leaves of a call of ``transform.fun`` and the symbolic arguments ``wrap`` makes."""
    name = transform.name
    nargs = len(args)
    diff_positions, many, static = transform.normalized_argnums(nargs)
    names = argument_names(transform.fun, nargs)
    axes = transform.axes(nargs)
    leaves, traced_args, traced_kwargs = [], list(args), dict(kwargs)
    for pos in range(nargs):
        if pos in static:
            if axes[pos] is not None:
                raise errors.OptionValueError(
                    f"argument {names[pos]} of {name} is static, so it cannot have a batch axis; "
                    "set its in_axes entry to None")
            continue
        traced_args[pos] = _symbolic_arg(transform, args[pos], names[pos], pos,
                                         pos in diff_positions, leaves, wrap, axes[pos])
    for k in sorted(kwargs):
        traced_kwargs[k] = _symbolic_arg(transform, kwargs[k], k, k, False, leaves, wrap)
    return SymbolicCall(leaves, traced_args, traced_kwargs, names, diff_positions, many, static)


def _scalar_leaf(leaf, lazy_rows):
    return Traced(leaf.symbols().copy(), source=leaf.index if lazy_rows else None)


def trace_call(transform, args, kwargs, lazy_gathers=False) -> Trace:
    """Trace ``transform.fun`` on symbolic arguments of the signature of ``(args, kwargs)``.

    ``transform`` is a `symhess.api.HessianFunction` (its options say which arguments are
    differentiated, static or batched). With ``lazy_gathers``, gathers of many rows stay lazy
    and the trace's ``sums`` hold their element sums (`symhess.lazy`); else outputs are explicit.
    """
    name = transform.name
    call = symbolic_call(transform, args, kwargs, _scalar_leaf)
    leaves, traced_args, traced_kwargs = call.leaves, call.args, call.kwargs
    diff_positions, many, static, names = call.diff_positions, call.many, call.static, call.names
    nargs = len(args)
    diff_leaves = {pos: [l for l in leaves if l.arg == pos] for pos in diff_positions}
    dtype = kernel_dtype(leaves, transform.holomorphic)
    batched = transform.batch_axis is not None
    sums = {} if lazy_gathers and transform.templates is not False and not batched else None
    out = trace(transform.fun, tuple(traced_args), traced_kwargs, dtype, transform.holomorphic,
                sums)
    if transform.has_aux:
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise errors.HasAuxError(
                f"{name} was differentiated with has_aux=True, so it must return a "
                f"pair (output, aux); it returned {type(out).__name__}"
                + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else ""))
        out = out[0]
    out_leaves, out_tree = pytree.flatten(out, is_leaf=is_traced)
    outputs = []
    for path, value in zip(out_tree.paths(), out_leaves):
        try:
            outputs.append(object_array(value))
        except TypeError:
            raise errors.InputTypeError(
                f"{name} returned {type(value).__name__} at output{path}; the output "
                "must be a pytree of arrays or numbers") from None
        if dtype.kind != "c":
            _check_real(name, path, outputs[-1])
    diff_tree = (pytree.TreeDef("tuple", None, tuple(tree_of(args[p]) for p in diff_positions))
                 if many else tree_of(args[diff_positions[0]]))
    return Trace(
        name=name, leaves=leaves, diff_leaves=[l for p in diff_positions for l in diff_leaves[p]],
        outputs=outputs, out_tree=out_tree, diff_tree=diff_tree, dtype=dtype, sums=sums or {},
        arg_pytrees=[(pos, tree_of(args[pos])) for pos in range(nargs) if pos not in static]
        + [(k, tree_of(kwargs[k])) for k in sorted(kwargs)],
        arguments=(tuple(names), tuple(sorted(kwargs))),
        round_to=rounded_dtype(args, kwargs, static))


def _check_real(name, path, values):
    """Refuse a complex output of real arguments (JAX refuses it too)."""
    if complex_parts.is_complex(*values.flat):
        value = next(v for v in values.flat if complex_parts.is_complex(v))
        raise errors.OperandTypeError(
            f"{name} returned a complex value at output{path} ({value}) from real arguments: "
            "the Hessian of a complex function is taken of complex arguments with "
            "holomorphic=True; return a real value (np.real, np.imag or np.abs of it)")


def _symbolic_arg(transform, value, name, pos, differentiated, leaves, wrap, axis=None):
    values, treedef = pytree.flatten(value)
    out = []
    fname = transform.name
    for path, leaf in zip(treedef.paths(), values):
        label = f"{name}{path}"
        if gpu.on_device(leaf) and transform.target != "cuda":
            raise errors.InputTypeError(
                f"argument {label} of {fname} is a GPU array ({type(leaf).__name__}), but "
                f"target={transform.target!r} computes on the host: pass target='cuda', or copy "
                "it to the host first")
        if is_dask(leaf) and transform.batch_axis is None:
            raise errors.InputTypeError(
                f"argument {label} of {fname} is a Dask array, which only batched "
                "Hessians (batch_axis=) accept: pass batch_axis=0 to compute one Hessian per "
                "point chunk by chunk, or compute the array first")
        arr = numeric(leaf, label, fname)
        if axis is not None:       # the point first: a dtype conversion copies one point
            arr = _point_of(arr, axis, label, fname)
        if not traced_by_shape(leaf):
            arr = arr.astype(kernel_input_dtype(arr.dtype, label, fname), copy=False)
        if differentiated:
            _check_differentiable(arr, label, transform.holomorphic)
        index = len(leaves)
        leaves.append(Leaf(arg=pos, path=path, label=label, shape=arr.shape, dtype=arr.dtype,
                           weak=not (isinstance(leaf, (np.ndarray, np.generic))
                                     or traced_by_shape(leaf)),
                           differentiated=differentiated, index=index, batch_axis=axis))
        lazy_rows = axis is None and not transform.holomorphic and not leaves[-1].weak \
            and arr.ndim > 0
        out.append(wrap(leaves[-1], lazy_rows))
    return treedef.unflatten(out)


def leaf_values(leaves, args) -> list:
    """The value of each of ``leaves`` in the positional arguments ``args`` of a call."""
    out = []
    for leaf in leaves:
        if not isinstance(leaf.arg, int):
            raise errors.ArgumentValueError("keyword arguments are not evaluated")
        arg_leaves, structure = pytree.flatten(args[leaf.arg])
        out.append(dict(zip(structure.paths(), arg_leaves))[leaf.path])
    return out


def tree_of(value):
    return pytree.flatten(value)[1]


def argument_names(fun, nargs) -> list:
    """Readable names of ``nargs`` positional arguments of ``fun`` (``arg<i>`` where unknown)."""
    try:
        params = list(inspect.signature(fun).parameters.values())
    except (TypeError, ValueError):
        params = []
    names = []
    for p in params:
        if p.kind == p.VAR_POSITIONAL:
            names += [f"{p.name}[{i}]" for i in range(nargs - len(names))]
            break
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            names.append(p.name)
    names += [f"arg{i}" for i in range(len(names), nargs)]
    return names[:nargs]


def traced_by_shape(x) -> bool:
    """A GPU or Dask array: traced from its shape and dtype alone, never read on the host."""
    return gpu.on_device(x) or is_dask(x)


def array_like(x) -> bool:
    """Whether ``x`` is another library's array that NumPy reads (a JAX array, a PyTorch tensor
    on the CPU, a pandas or xarray object, ``array.array``): converted once, at the call."""
    if isinstance(x, (np.ndarray, np.generic, numbers.Number, str, bytes, bytearray)) \
            or traced_by_shape(x):
        return False
    if hasattr(x, "__array__") or hasattr(x, "__array_interface__"):
        return True
    try:
        memoryview(x)
    except TypeError:
        return False
    return True


def arrays_in(args, kwargs, static, fun, fname) -> tuple[tuple, dict]:
    """``args`` and ``kwargs`` with their array-like leaves (`array_like`) as NumPy arrays, the
    static positions untouched; the same objects when there are none."""
    nargs = len(args)
    static = {s % nargs for s in static if -nargs <= s < nargs} if nargs else set()

    def convert(value, position):
        if isinstance(value, np.ndarray):
            return value
        leaves, tree = pytree.flatten(value)
        if not any(map(array_like, leaves)):
            return value
        label = position if isinstance(position, str) else argument_names(fun, nargs)[position]
        return tree.unflatten([_as_numpy(l, f"argument {label}", fname) if array_like(l) else l
                               for l in leaves])

    new_args = tuple(a if i in static else convert(a, i) for i, a in enumerate(args))
    new_kwargs = {k: convert(v, k) for k, v in kwargs.items()}
    if all(a is b for a, b in zip(new_args, args)) and \
            all(new_kwargs[k] is kwargs[k] for k in kwargs):
        return args, kwargs
    return new_args, new_kwargs


def _as_numpy(x, label, fname) -> np.ndarray:
    try:
        arr = np.asarray(x)
    except Exception as e:       # a tensor that needs grad, one on a GPU, ...
        raise errors.InputTypeError(
            f"{label} of {fname} is a {type(x).__module__}.{type(x).__name__} that NumPy cannot "
            f"read ({type(e).__name__}: {e}); pass a NumPy array of its values") from None
    if arr.dtype.kind not in "biufc":
        raise errors.InputTypeError(
            f"{label} of {fname} is a {type(x).__name__} of dtype {arr.dtype}; pass numbers")
    return arr


def numeric(leaf, label, fname) -> np.ndarray:
    """An argument's leaf as a numeric array (a stand-in for GPU and Dask arrays)."""
    if traced_by_shape(leaf):
        return gpu.stand_in(leaf)
    if isinstance(leaf, (bool, np.bool_)) or not isinstance(leaf, (numbers.Number, np.ndarray, np.generic)):
        raise errors.InputTypeError(
            f"argument {label} of {fname} is a {type(leaf).__module__}.{type(leaf).__name__}, "
            "which is not an array of numbers: pass a NumPy array (or an array NumPy can read: "
            "JAX, PyTorch, pandas), or, if it is configuration rather than data, mark it "
            "static (static_argnums) or capture it by closure")
    arr = np.asarray(leaf)
    if arr.dtype.kind not in "biufc":
        raise errors.InputTypeError(f"argument {label} of {fname} has dtype {arr.dtype}; "
                                    "only numeric arrays can be traced")
    return arr


def _point_of(arr, axis, label, fname):
    """One point of a batched leaf (what the function sees), checking the axis exists."""
    if not -arr.ndim <= axis < arr.ndim:
        raise errors.ArgumentValueError(
            f"argument {label} of {fname} has shape {arr.shape}, which has no batch axis {axis}; "
            "give it a batch axis or set its in_axes entry to None")
    if arr.shape[axis] == 0:
        raise errors.ArgumentValueError(
            f"argument {label} of {fname} has no points along batch axis {axis}")
    return np.take(arr, 0, axis=axis)


def _check_differentiable(arr, label, holomorphic):
    kind = arr.dtype.kind
    if holomorphic and kind != "c":
        raise errors.InputTypeError(
            f"holomorphic=True requires inputs with a complex dtype, but argument {label} has "
            f"dtype {arr.dtype}")
    if not holomorphic and kind == "c":
        raise errors.InputTypeError(
            f"hessian requires real-valued inputs (a floating dtype), but argument {label} has "
            f"dtype {arr.dtype}. For holomorphic differentiation, pass holomorphic=True.")
    if kind not in "fc":
        raise errors.InputTypeError(
            f"hessian requires inputs with a floating dtype, but argument {label} has dtype "
            f"{arr.dtype}; convert it with .astype(float)")
