"""`symhess.hessian`: the transform users call, with the contract of ``jax.hessian``."""

from __future__ import annotations

import inspect
import math
import numbers
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Optional, Union

import numpy as np

from . import errors, gpu, pytree
from .compiler import CompiledHessian, Leaf, build, kernel_input_dtype, needs_conversion
from .distributed import is_dask
from .progress import Progress
from .trace import Traced, object_array, trace

if TYPE_CHECKING:
    from .blocks import BlockFunction

TARGETS = ("cpu", "cuda")

#: The positional arguments to differentiate: one index, or several (nested blocks ``H[i][j]``).
ArgNums = Union[int, Sequence[int]]
#: A pytree of arrays: an array or number, or dicts, lists, tuples and namedtuples of them.
PyTree = Any


def hessian(fun: Callable[..., Any], argnums: ArgNums = 0, has_aux: bool = False,
            holomorphic: bool = False, *, static_argnums: ArgNums = (), strict: bool = False,
            batch_axis: Optional[int] = None, in_axes: Optional[Sequence[Optional[int]]] = None,
            sparse: Union[bool, Literal["upper"]] = False, check: bool = False,
            verbose: Optional[bool] = None, target: Literal["cpu", "cuda"] = "cpu",
            templates: Optional[bool] = None) -> HessianFunction:
    """The Hessian of ``fun`` as a compiled function, with ``jax.hessian``'s contract.

    ``fun`` is traced once per input signature (shapes, dtypes, tree structure and static
    values) into SymEngine expressions; second derivatives are derived symbolically (upper
    triangle only, exact sparsity), reduced with one CSE pass and compiled with Numba. Calls with
    new values of the same signature reuse the kernel.

    Shape convention: the result is the tree product of ``fun``'s output tree with two copies of
    the differentiated inputs' tree. A leaf of it has shape ``out.shape + x_i.shape + x_j.shape``.
    With a tuple ``argnums`` the outer levels are ``H[i][j]``, the block for arguments
    ``argnums[i]`` and ``argnums[j]``.

    Args:
        fun: a Python function of NumPy arrays (or pytrees of them) written with ordinary NumPy.
        argnums: an int or a tuple of ints: the positional arguments to differentiate.
        has_aux: ``fun`` returns ``(output, aux)``; the call then returns ``(hessian, aux)``.
        holomorphic: differentiate complex inputs as a holomorphic function.
        static_argnums: positional arguments that are Python-level configuration: they are
            hashed into the signature and may be used in ``if`` statements and as shapes.
        strict: raise `StrictModeError` naming any differentiated input that has no effect on
            the output (as torch's ``strict``); by default its blocks are zeros.
        batch_axis: evaluate one Hessian per slice along this axis of the differentiated
            arguments (paddle's ``batch_axis``). The result gets a leading batch axis and the
            kernel loops over the points in parallel (``prange``). The kernel is traced for one
            point, so any number of points reuses it. It reads each point as contiguous
            memory, so a batched input that is not C-contiguous with its points first (a
            strided slice, a batch axis other than 0) is copied into one that is at each call;
            pass it that way to skip the copy.
        in_axes: with ``batch_axis``, the batch axis of each positional argument (an int, or
            None for an argument shared by all points), as in ``jax.vmap``. By default the
            differentiated arguments are batched along ``batch_axis`` and the others shared.
        sparse: ``True`` returns a ``scipy.sparse.csr_matrix`` with the exact symbolic pattern
            (structural zeros are never derived or computed); ``"upper"`` its upper triangle
            only. Needs a scalar output. Rows and columns follow the global variable order: the
            differentiated arguments in ``argnums`` order, each pytree's leaves in pytree order,
            each leaf in C order. ``H.compile(*args).pattern`` gives the pattern alone.
        check: cross-check each new signature's kernel once, when it is compiled, against the
            independent autodiff at the arguments of that first call (`symhess.check`); a
            disagreement raises `CheckError`. For dense, unbatched Hessians.
        verbose: report the compile's stages (trace, differentiate, CSE, emit, Numba
            compile) on the terminal and through `logging`: True always, False never, None
            (the default, or the environment variable ``SYMHESS_VERBOSE``) once a compile has
            taken longer than 2 s.
        target: ``"cpu"``: a Numba ``@njit`` kernel. ``"cuda"``: numba.cuda kernels, one GPU
            thread per point (``batch_axis``) and one per element of an element template,
            for float32 and float64 Hessians. Arguments may be NumPy arrays or GPU arrays
            (Numba device arrays, CuPy, anything with ``__cuda_array_interface__``; a batched
            GPU array needs its batch axis first); the result is a Numba device array when any
            argument was on the GPU, else a NumPy array (``sparse=`` results are SciPy
            matrices on the host).
        templates: how a scalar output that sums many terms of one shape (an energy over
            pairs, bonds, data rows or mesh cells) is compiled. Such terms are instances of an
            element template, whose small Hessian is derived once and evaluated in a loop over
            an index table, so compile time stays flat as the number of terms grows (see
            `symhess.templates`). None (the default): for templates with at least 16
            instances, or fewer of a large element (instances x slots**2 >= 512); True: for
            every template; False: never (every entry derived and printed on its own).
            Batched, complex and vector-valued Hessians are always unrolled.

    Arguments not in ``argnums`` or ``static_argnums`` are runtime inputs of the kernel: new values
    give new answers without recompiling. Python numbers and NumPy arrays inside ``fun`` or
    captured by its closure are constants baked into the kernel.

    Returns:
        A `HessianFunction`: call it like ``fun``.

    >>> import numpy as np, symhess
    >>> H = symhess.hessian(lambda x: np.sum(x ** 3))
    >>> H(np.array([1.0, 2.0]))
    array([[ 6.,  0.],
           [ 0., 12.]])
    """
    return HessianFunction(fun, argnums, has_aux, holomorphic, static_argnums, strict, target,
                           batch_axis, in_axes, sparse, verbose, check, templates)


def _as_argnums(value, name):
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return int(value)
    if isinstance(value, (tuple, list)) and all(
            isinstance(v, numbers.Integral) and not isinstance(v, bool) for v in value):
        return tuple(int(v) for v in value)
    raise TypeError(f"{name} must be an int or a tuple of ints; got {value!r}")


def _point_signature(x, axis):
    """The signature of one point of a batched leaf: its shape without the batch axis."""
    shape = np.shape(x)
    if not -len(shape) <= axis < len(shape):
        return ("bad batch axis", shape)
    axis %= len(shape)
    if _traced_by_shape(x):        # their own signatures (see _symbolic_arg)
        return (shape[:axis] + shape[axis + 1:], x.dtype.char, type(x).__name__)
    return (shape[:axis] + shape[axis + 1:], np.result_type(x).char)


def _static_key(value):
    """A static argument as part of a signature: by type and value, so that ``1``, ``1.0`` and
    ``True``, or ``0.0`` and ``-0.0``, which compare equal but may trace differently, differ."""
    if type(value) is tuple:           # (a list stays unhashable, and is refused as in JAX)
        return tuple, tuple(_static_key(v) for v in value)
    if isinstance(value, (float, np.floating)):
        return type(value), value, math.copysign(1.0, value)
    if isinstance(value, (complex, np.complexfloating)):
        return type(value), value, math.copysign(1.0, value.real), math.copysign(1.0, value.imag)
    return type(value), value


def _leaf_signature(x):
    if type(x) is np.ndarray:
        return (x.shape, x.dtype.char)
    if _traced_by_shape(x):
        return (x.shape, x.dtype.char, type(x).__name__)
    if isinstance(x, np.generic):
        return ((), x.dtype.char)
    return type(x)


@dataclass
class HessianFunction:
    """The callable returned by `hessian`: compiles a kernel per input signature and calls it."""

    fun: object
    argnums: object
    has_aux: bool
    holomorphic: bool
    static_argnums: object
    strict: bool
    target: str
    batch_axis: object = None
    in_axes: object = None
    sparse: object = False
    verbose: object = None
    check: bool = False
    templates: object = None

    def __post_init__(self):
        if not callable(self.fun):
            raise TypeError(f"hessian needs a callable; got {self.fun!r}")
        self.argnums = _as_argnums(self.argnums, "argnums")
        if self.argnums == ():
            raise ValueError("argnums is an empty tuple: name at least one argument to differentiate")
        static = _as_argnums(self.static_argnums, "static_argnums")
        self.static_argnums = (static,) if isinstance(static, int) else static
        if self.target not in TARGETS:
            raise ValueError(f"target={self.target!r} is not available; choose one of {TARGETS}")
        if self.target == "cuda" and self.holomorphic:
            raise ValueError("target='cuda' computes real Hessians (float32, float64); use "
                             "target='cpu' for holomorphic=True")
        if self.templates not in (None, True, False):
            raise ValueError(f"templates must be None, True or False; got {self.templates!r}")
        self._compiled = {}
        self._fast = {}
        self._locks = {}                  # signature -> the lock its first compile holds
        self._locks_lock = threading.Lock()
        self._name = getattr(self.fun, "__name__", type(self.fun).__name__)
        self._plain = not self.static_argnums and self.batch_axis is None
        if self.batch_axis is not None:
            if not isinstance(self.batch_axis, numbers.Integral) or isinstance(self.batch_axis, bool):
                raise TypeError(f"batch_axis must be an int (the axis of the points in every "
                                f"batched argument) or None; got {self.batch_axis!r}. For a "
                                "different axis per argument, pass in_axes= as well")
            self.batch_axis = int(self.batch_axis)
            if self.has_aux:
                raise ValueError("has_aux=True cannot be combined with batch_axis: aux would be "
                                 "one value per point; compute it separately")
        if self.sparse not in (False, True, "upper"):
            raise ValueError(f"sparse must be False, True or 'upper'; got {self.sparse!r}")
        if self.check and (self.sparse or self.batch_axis is not None):
            raise ValueError("check=True is for dense, unbatched Hessians; check one point "
                             "with symhess.check(fun, *point) instead")
        if self.sparse and self.batch_axis is not None:
            raise ValueError("sparse output cannot be combined with batch_axis")
        if self.in_axes is not None:
            if self.batch_axis is None:
                raise ValueError("in_axes needs batch_axis: pass batch_axis=0 (or another axis)")
            if not isinstance(self.in_axes, (tuple, list)) or not all(
                    a is None or (isinstance(a, int) and not isinstance(a, bool)) for a in self.in_axes):
                raise TypeError(f"in_axes must be a tuple of ints or None, one per positional "
                                f"argument; got {self.in_axes!r}")
            self.in_axes = tuple(self.in_axes)

    def _axes(self, nargs) -> tuple:
        """The batch axis of each positional argument (None: not batched)."""
        if self.batch_axis is None:
            return (None,) * nargs
        if self.in_axes is not None:
            if len(self.in_axes) != nargs:
                raise ValueError(f"in_axes has {len(self.in_axes)} entries but {self._name} was "
                                 f"called with {nargs} positional argument(s)")
            return self.in_axes
        nums = self.argnums if isinstance(self.argnums, tuple) else (self.argnums,)
        diff = {a % nargs for a in nums if -nargs <= a < nargs}
        return tuple(self.batch_axis if i in diff else None for i in range(nargs))

    def __call__(self, *args: PyTree, **kwargs: PyTree) -> PyTree:
        # Fast path for positional arrays: a key of shapes and dtypes straight to the callable
        # (the kernel itself when nothing needs flattening). A call then costs little more than
        # the kernel.
        fast = None
        if not kwargs and self._plain:
            try:
                fast = tuple([(type(a), a.shape, a.dtype) for a in args])
            except AttributeError:            # a Python number or a pytree: the general path
                pass
            else:
                call = self._fast.get(fast)
                if call is not None:
                    return call(*args)
        try:
            compiled = self._compiled.get(self._signature(args, kwargs))
        except TypeError:            # an unhashable static argument: compile explains it
            compiled = None
        if compiled is None:
            compiled = self.compile(*args, **kwargs)
        if fast is not None and not any(map(needs_conversion, args)):
            self._fast[fast] = compiled.fast_callable()
        return compiled(*args, **kwargs)

    def into(self, out: np.ndarray, *args: PyTree, **kwargs: PyTree) -> np.ndarray:
        """Write the batched Hessian at ``args`` into ``out`` and return it.

        For ``batch_axis=`` Hessians on the CPU whose result is one array: ``out`` must be a
        writeable C-contiguous array of the result's shape ``(points, ...)`` and dtype.
        Reusing it across calls (a Newton loop over many points) saves allocating and first
        touching the output, about a quarter of the time of a large batch.

        >>> import numpy as np, symhess
        >>> H = symhess.hessian(lambda x: np.sum(x ** 3), batch_axis=0)
        >>> out = np.empty((2, 2, 2))
        >>> H.into(out, np.array([[1.0, 2.0], [3.0, 4.0]]))[1]
        array([[18.,  0.],
               [ 0., 24.]])
        """
        return self.compile(*args, **kwargs).into(out, *args, **kwargs)

    def _signature(self, args, kwargs):
        parts = []
        static = self.static_argnums
        axes = self._axes(len(args)) if self.batch_axis is not None else None
        for i, a in enumerate(args):
            if static and (i in static or (i - len(args)) in static):
                parts.append(("static", _static_key(a)))   # by value: an array is unhashable
            elif axes is not None and axes[i] is not None:
                leaves, treedef = pytree.flatten(a)
                parts.append((treedef, axes[i], tuple(_point_signature(l, axes[i]) for l in leaves)))
            elif type(a) is np.ndarray:
                parts.append((a.shape, a.dtype.char))
            else:
                leaves, treedef = pytree.flatten(a)
                parts.append((treedef, tuple(map(_leaf_signature, leaves))))
        for k in sorted(kwargs):
            leaves, treedef = pytree.flatten(kwargs[k])
            parts.append((k, treedef, tuple(map(_leaf_signature, leaves))))
        return tuple(parts)

    def compile(self, *args: PyTree, **kwargs: PyTree) -> CompiledHessian:
        """Trace, differentiate and compile for the signature of these arguments.

        Returns the `CompiledHessian` for that signature (cached, so later calls with the same
        signature reuse it).
        """
        key = self._signature(args, kwargs)
        try:
            hash(key)
        except TypeError:
            raise TypeError(f"static arguments of {self._name} must be hashable; got "
                            f"{[p[1] for p in key if p and p[0] == 'static']!r}") from None
        return self._once(key, lambda: self._checked_build(args, kwargs))

    def _checked_build(self, args, kwargs) -> CompiledHessian:
        compiled = self._trace_and_build(args, kwargs)
        if self.check:
            if kwargs:
                raise ValueError("check=True needs positional arguments only")
            from .check import check
            check(self.fun, *args, argnums=self.argnums, has_aux=self.has_aux,
                  holomorphic=self.holomorphic, static_argnums=self.static_argnums,
                  hessian=compiled)
        return compiled

    def _once(self, key, make):
        """The compiled object for signature ``key``, made by ``make()`` on first use.

        Threads that ask for one signature at once wait for a single compile (one lock per
        signature); different signatures compile in parallel.
        """
        compiled = self._compiled.get(key)
        if compiled is not None:
            return compiled
        with self._locks_lock:
            lock = self._locks.setdefault(key, threading.Lock())
        with lock:
            compiled = self._compiled.get(key)
            if compiled is None:
                compiled = make()
                self._compiled[key] = compiled
        return compiled

    def block(self, i: int, j: int, rows: Optional[slice] = None) -> BlockFunction:
        """One block of the Hessian, derived and compiled alone (paddle's lazy Hessian).

        Args:
            i, j: differentiated leaves, counted over the arguments in ``argnums`` order and
                each pytree's leaves in pytree order (for array arguments: ``H[i][j]``).
            rows: a slice of the flattened rows of leaf ``i``, to derive only those rows.

        Returns:
            A callable taking ``fun``'s arguments; see `symhess.blocks.BlockFunction`.

        >>> import numpy as np, symhess
        >>> f = lambda x, y: np.sum(x ** 2 * y[0]) + y[1] ** 3
        >>> symhess.hessian(f, argnums=(0, 1)).block(0, 1)(np.array([1.0, 2.0]), np.array([3.0, 4.0]))
        array([[2., 0.],
               [4., 0.]])
        """
        if self.batch_axis is not None or self.sparse:
            raise ValueError("block() is for dense, unbatched Hessians")
        from .blocks import BlockFunction
        return BlockFunction(self, i, j, rows)

    # --- tracing ----------------------------------------------------------------------------
    def _normalized_argnums(self, nargs):
        many = isinstance(self.argnums, tuple)
        nums = self.argnums if many else (self.argnums,)
        out = []
        for a in nums:
            if not -nargs <= a < nargs:
                raise ValueError(f"argnums={self.argnums!r} names argument {a}, but {self._name} "
                                 f"was called with {nargs} positional argument(s)")
            out.append(a % nargs)
        if len(set(out)) != len(out):
            raise ValueError(f"argnums={self.argnums!r} repeats an argument")
        static = {s % nargs for s in self.static_argnums if -nargs <= s < nargs}
        if static & set(out):
            raise ValueError(f"argument(s) {sorted(static & set(out))} of {self._name} are both "
                             "in argnums and static_argnums")
        return out, many, static

    def _trace_and_build(self, args, kwargs) -> CompiledHessian:
        progress = Progress(self._name, self.verbose)
        with progress.stage("trace"):
            traced = self._trace(args, kwargs, lazy=True)
        try:
            compiled = build(**traced, strict=self.strict, has_aux=self.has_aux, fun=self.fun,
                             sparse=self.sparse, templates=self.templates, progress=progress,
                             target=self.target)
        except errors.ExpressionGrowthError as e:
            raise e.named(self._name) from None
        compiled._arguments = (_argument_names(self.fun, len(args)), tuple(sorted(kwargs)))
        compiled._round_to = _rounded_dtype(args, kwargs, self._normalized_argnums(len(args))[2])
        return compiled

    def _trace(self, args, kwargs, lazy=False) -> dict:
        """Trace ``fun`` on symbolic arguments: the leaves, output expressions and trees.

        With ``lazy``, gathers of many rows stay lazy and ``sums`` holds the element sums
        whose placeholders the outputs contain (`symhess.lazy`); else outputs are explicit.
        """
        nargs = len(args)
        diff_positions, many, static = self._normalized_argnums(nargs)
        names = _argument_names(self.fun, nargs)
        axes = self._axes(nargs)
        leaves, traced_args, traced_kwargs = [], list(args), dict(kwargs)
        for pos in range(nargs):
            if pos in static:
                if axes[pos] is not None:
                    raise ValueError(f"argument {names[pos]} of {self._name} is static, so it "
                                     "cannot have a batch axis; set its in_axes entry to None")
                continue
            traced_args[pos] = self._symbolic_arg(args[pos], names[pos], pos,
                                                  pos in diff_positions, leaves, axes[pos])
        for k in sorted(kwargs):
            traced_kwargs[k] = self._symbolic_arg(kwargs[k], k, k, False, leaves)
        diff_leaves = {pos: [l for l in leaves if l.arg == pos] for pos in diff_positions}
        dtype = _kernel_dtype(leaves, self.holomorphic)
        sums = {} if lazy and self.templates is not False and self.batch_axis is None else None
        out = trace(self.fun, tuple(traced_args), traced_kwargs, dtype, self.holomorphic, sums)
        if self.has_aux:
            if not (isinstance(out, (tuple, list)) and len(out) == 2):
                raise errors.HasAuxError(
                    f"{self._name} was differentiated with has_aux=True, so it must return a "
                    f"pair (output, aux); it returned {type(out).__name__}"
                    + (f" of length {len(out)}" if isinstance(out, (tuple, list)) else ""))
            out = out[0]
        out_leaves, out_tree = pytree.flatten(
            out, is_leaf=lambda x: isinstance(x, Traced) or getattr(type(x), "_lazy", False))
        outputs = []
        for path, value in zip(out_tree.paths(), out_leaves):
            try:
                outputs.append(object_array(value))
            except TypeError:
                raise errors.InputTypeError(
                    f"{self._name} returned {type(value).__name__} at output{path}; the output "
                    "must be a pytree of arrays or numbers") from None
        diff_tree = (pytree.TreeDef("tuple", None, tuple(_tree_of(args[p]) for p in diff_positions))
                     if many else _tree_of(args[diff_positions[0]]))
        return dict(
            name=self._name, leaves=leaves, diff_leaves=[l for p in diff_positions for l in diff_leaves[p]],
            outputs=outputs, out_tree=out_tree, diff_tree=diff_tree, dtype=dtype, sums=sums or {},
            arg_pytrees=[(pos, _tree_of(args[pos])) for pos in range(nargs) if pos not in static]
            + [(k, _tree_of(kwargs[k])) for k in sorted(kwargs)])

    def _symbolic_arg(self, value, name, pos, differentiated, leaves, axis=None):
        values, treedef = pytree.flatten(value)
        out = []
        for path, leaf in zip(treedef.paths(), values):
            label = f"{name}{path}"
            if gpu.on_device(leaf) and self.target != "cuda":
                raise errors.InputTypeError(
                    f"argument {label} of {self._name} is a GPU array ({type(leaf).__name__}), but "
                    f"target={self.target!r} computes on the host: pass target='cuda', or copy it "
                    "to the host first")
            if is_dask(leaf) and self.batch_axis is None:
                raise errors.InputTypeError(
                    f"argument {label} of {self._name} is a Dask array, which only batched "
                    "Hessians (batch_axis=) accept: pass batch_axis=0 to compute one Hessian per "
                    "point chunk by chunk, or compute the array first")
            arr = _numeric(leaf, label, self._name)
            if axis is not None:       # the point first: a dtype conversion copies one point
                arr = _point_of(arr, axis, label, self._name)
            if not _traced_by_shape(leaf):
                arr = arr.astype(kernel_input_dtype(arr.dtype, label, self._name), copy=False)
            if differentiated:
                _check_differentiable(arr, label, self.holomorphic)
            index = len(leaves)
            leaves.append(Leaf(arg=pos, path=path, label=label, shape=arr.shape, dtype=arr.dtype,
                               weak=not (isinstance(leaf, (np.ndarray, np.generic))
                                         or _traced_by_shape(leaf)),
                               differentiated=differentiated, index=index, batch_axis=axis))
            lazy_rows = axis is None and not self.holomorphic and not leaves[-1].weak and arr.ndim > 0
            out.append(Traced(leaves[-1].symbols().copy(), source=index if lazy_rows else None))
        return treedef.unflatten(out)


def _tree_of(value):
    return pytree.flatten(value)[1]


def _argument_names(fun, nargs):
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


def _traced_by_shape(x) -> bool:
    """A GPU or Dask array: traced from its shape and dtype alone, never read on the host."""
    return gpu.on_device(x) or is_dask(x)


def _numeric(leaf, label, fname):
    if _traced_by_shape(leaf):
        return gpu.stand_in(leaf)
    if isinstance(leaf, (bool, np.bool_)) or not isinstance(leaf, (numbers.Number, np.ndarray, np.generic)):
        raise errors.InputTypeError(
            f"argument {label} of {fname} is a {type(leaf).__name__}, which is not a numeric "
            "array; pass it as a static argument (static_argnums) or capture it by closure")
    arr = np.asarray(leaf)
    if arr.dtype.kind not in "biufc":
        raise errors.InputTypeError(f"argument {label} of {fname} has dtype {arr.dtype}; "
                                    "only numeric arrays can be traced")
    return arr


def _rounded_dtype(args, kwargs, static):
    """float16 when the arguments' floating dtypes promote to it: the kernel computes in float64
    and the result is rounded to it (as float32 kernels round their float64 arithmetic)."""
    values = [a for i, a in enumerate(args) if i not in static] + list(kwargs.values())
    dtypes = [np.dtype(getattr(leaf, "dtype", None)) for value in values
              for leaf in pytree.flatten(value)[0]
              if isinstance(leaf, (np.ndarray, np.generic)) and leaf.dtype.kind in "biufc"]
    if dtypes and np.result_type(*dtypes) == np.float16:
        return np.dtype(np.float16)
    return None


def _point_of(arr, axis, label, fname):
    """One point of a batched leaf (what the function sees), checking the axis exists."""
    if not -arr.ndim <= axis < arr.ndim:
        raise ValueError(f"argument {label} of {fname} has shape {arr.shape}, which has no batch "
                         f"axis {axis}; give it a batch axis or set its in_axes entry to None")
    if arr.shape[axis] == 0:
        raise ValueError(f"argument {label} of {fname} has no points along batch axis {axis}")
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


def _kernel_dtype(leaves, holomorphic):
    strong = [l.dtype for l in leaves if not l.weak]
    dtype = np.result_type(*strong) if strong else np.dtype(np.float64)
    if dtype.kind in "biu":
        dtype = np.dtype(np.float64)
    if holomorphic or any(l.dtype.kind == "c" for l in leaves):
        dtype = np.result_type(dtype, np.complex64)
    return np.dtype(dtype)
