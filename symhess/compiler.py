"""From traced outputs to a compiled kernel: derive, lay out, emit, cache, load.

`build` takes what the tracer produced (flat leaves, output expressions, tree structures) and
returns a `CompiledHessian`. The disk cache is keyed by the generated source, so a warm start
skips Numba's compile (the slow stage), and two signatures share a kernel only when their code
is the same.
"""

from __future__ import annotations

import bisect
import functools
import math
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

if TYPE_CHECKING:
    import scipy.sparse
    import symengine as se

from .codegen import KernelInput, KernelSpec, emit_numba, emit_numba_cuda, emit_numba_llvm
from .codegen.llvm_ir import supports as llvm_supports

from . import __version__, cache, errors, gpu, pytree
from .derive import cse, hessian_entries
from .distributed import RemoteKernel, batched_call, is_dask
from .loops import linear_sums, template_loops, written_out
from .templates import MIN_INSTANCES
from .trace import symbols


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

    @functools.cached_property
    def _symbols(self) -> np.ndarray:
        return symbols(self.label, self.shape)


@dataclass
class Layout:
    """Where each Hessian block lives in the kernel's flat output buffer."""

    out_shapes: list
    diff_shapes: list

    def __post_init__(self):
        self.diff_sizes = [int(np.prod(s, dtype=np.int64)) for s in self.diff_shapes]
        self.diff_offsets = list(np.cumsum([0] + self.diff_sizes[:-1]).tolist())
        self.out_sizes = [int(np.prod(s, dtype=np.int64)) for s in self.out_shapes]
        self.out_offsets = list(np.cumsum([0] + self.out_sizes[:-1]).tolist())
        self.blocks = []              # (offset, shape) in (o, i, j) order
        self._block_offset = {}
        offset = 0
        for o, so in enumerate(self.out_shapes):
            for i, si in enumerate(self.diff_shapes):
                for j, sj in enumerate(self.diff_shapes):
                    self._block_offset[o, i, j] = offset
                    self.blocks.append((offset, tuple(so) + tuple(si) + tuple(sj)))
                    offset += self.out_sizes[o] * self.diff_sizes[i] * self.diff_sizes[j]
        self.size = offset

    def position_arrays(self, k, l):
        """`positions` for arrays of coordinates ``k <= l`` of a scalar output:
        ``(first, mirror)``, mirror -1 on the diagonal."""
        offsets = np.asarray(self.diff_offsets, dtype=np.int64)
        sizes = np.asarray(self.diff_sizes, dtype=np.int64)
        n = len(sizes)
        block = np.array([[self._block_offset[0, i, j] for j in range(n)] for i in range(n)],
                         dtype=np.int64).reshape(n, n)
        i = np.searchsorted(offsets, k, side="right") - 1
        j = np.searchsorted(offsets, l, side="right") - 1
        kk, ll = k - offsets[i], l - offsets[j]
        first = block[i, j] + kk * sizes[j] + ll
        mirror = block[j, i] + ll * sizes[i] + kk
        return first, np.where(k == l, -1, mirror)

    def _split(self, offsets, k):
        i = bisect.bisect_right(offsets, k) - 1
        return i, k - offsets[i]

    def positions(self, o_flat, k, l) -> tuple:
        """Flat buffer positions of entry (output o_flat, variables k <= l) and its mirror."""
        o, oo = self._split(self.out_offsets, o_flat)
        i, kk = self._split(self.diff_offsets, k)
        j, ll = self._split(self.diff_offsets, l)
        ni, nj = self.diff_sizes[i], self.diff_sizes[j]
        first = self._block_offset[o, i, j] + (oo * ni + kk) * nj + ll
        mirror = self._block_offset[o, j, i] + (oo * nj + ll) * ni + kk
        return (first,) if first == mirror else (first, mirror)


class CompiledHessian:
    """The Hessian of a function for one input signature: a compiled kernel and its layout.

    Call it with the same arguments as the function. ``source`` is the generated kernel module;
    ``templates`` the element templates its kernel evaluates in loops (`symhess.templates`).
    """

    templates = ()
    _target = "cpu"
    _into = None        # the batched kernel that writes into a given array
    _arguments = None   # (positional names, keyword names) it was compiled for, when known
    _round_to = None    # float16: the dtype the float64 result is rounded to

    def __init__(self, name, kernel, source, layout, leaves, outputs, wrt, out_tree, diff_tree,
                 arg_pytrees, has_aux, fun, single, dtype, out_shape):
        self._dtype = dtype
        self._out_shape = out_shape
        self.name = name
        self.kernel = kernel
        self.source = source
        self.layout = layout
        self.leaves = leaves
        self._explicit = outputs
        self._sums = {}           # element sums (symhess.lazy) the outputs refer to
        self._wrt = wrt
        self._out_tree = out_tree
        self._diff_tree = diff_tree
        self._arg_pytrees = arg_pytrees
        self._has_aux = has_aux
        self._fun = fun
        self._single = single
        self._batched = [l for l in leaves if l.batch_axis is not None]
        simple = all(td == pytree.LEAF and isinstance(a, int) for a, td in arg_pytrees)
        positions = tuple(a for a, _ in arg_pytrees)
        self._nargs = len(positions)
        # Batched kernels always take the general path: it checks the point counts agree,
        # which the kernel (sized by the first batched input) relies on.
        if simple and single and not has_aux and not self._batched \
                and positions == tuple(range(len(positions))):
            self._call = self._call_direct
        else:
            self._call = self._call_general

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._call(*args, **kwargs)

    @property
    def _outputs(self) -> list:
        """The flat output expressions, element sums written out (on first use)."""
        if self._sums:
            self._explicit = written_out(self._explicit, self._sums)
            self._sums = {}
        return self._explicit

    def fast_callable(self):
        """The cheapest callable equivalent to this one for positional array arguments."""
        return self.kernel if self._call == self._call_direct else self._call

    def _call_direct(self, *args, **kwargs):
        if kwargs or len(args) != self._nargs:     # keywords, or static arguments to drop
            return self._call_general(*args, **kwargs)
        try:
            return self.kernel(*args)
        except Exception as e:
            if any(map(needs_conversion, args)):       # byte order, float16: convert first
                return self._call_general(*args)
            if not _type_error(e):
                raise
            raise wrong_types(f"Hessian of {self.name}", self.leaves, args) from e

    def _leaves(self, args, kwargs) -> list:
        """The kernel's inputs: the arguments' leaves, in order."""
        leaves = []
        for arg, treedef in self._arg_pytrees:
            value = args[arg] if isinstance(arg, int) else kwargs[arg]
            if treedef == pytree.LEAF:
                leaves.append(value)
            else:
                values, got = pytree.flatten(value)
                if got != treedef:
                    raise TypeError(f"argument {arg} of {self.name} changed tree structure "
                                    "since it was compiled")
                leaves.extend(values)
        return leaves

    def into(self, out: np.ndarray, *args: Any, **kwargs: Any) -> np.ndarray:
        """Write ``self(*args, **kwargs)`` into ``out`` and return it (batched, CPU target).

        ``out`` is a writeable C-contiguous array of the result's shape and dtype, which must
        be one array (a single differentiated leaf and output). Reusing it across calls saves
        allocating and first touching the output, a quarter of the time of a large batch.
        """
        if self._into is None or not self._single:
            raise ValueError(f"into() writes batched Hessians that are one array, computed on the "
                             f"CPU; {self.name}'s is not: call it instead")
        leaves = self._points_first(self._leaves(args, kwargs))
        if any(is_dask(leaf) for leaf in leaves):
            raise ValueError("into() writes NumPy arrays; call the Hessian itself on Dask arrays")
        n = np.shape(leaves[self._batched[0].index])[0]
        want = (n,) + tuple(self._out_shape)
        if not (isinstance(out, np.ndarray) and out.shape == want and out.dtype == self._dtype
                and out.flags.c_contiguous and out.flags.writeable):
            raise ValueError(f"out must be a writeable C-contiguous {self._dtype} array of shape "
                             f"{want}; got {type(out).__name__} "
                             f"{getattr(out, 'shape', '')} {getattr(out, 'dtype', '')}".rstrip())
        if any(np.may_share_memory(out, leaf) for leaf in leaves if isinstance(leaf, np.ndarray)):
            raise ValueError("out shares memory with an argument; pass a separate array")
        self._into(*leaves, out.reshape(n, -1))
        return out

    def _check_arguments(self, args, kwargs):
        """Raise `ArgumentCountError` unless the call passes the arguments compiled for."""
        names, keywords = self._arguments
        if len(args) == len(names) and set(kwargs) == set(keywords):
            return
        want = ", ".join(list(names) + [f"{k}=" for k in keywords]) or "no arguments"
        got = f"{len(args)} positional argument(s)" + \
            (f" and keyword(s) {', '.join(sorted(kwargs))}" if kwargs else "")
        raise errors.ArgumentCountError(
            f"the compiled Hessian of {self.name} takes the arguments it was compiled for "
            f"({want}); got {got}. Pass the same arguments as to {self.name}; for other "
            "arguments call the function symhess.hessian returned, which compiles for each "
            "new signature")

    def _call_general(self, *args, **kwargs):
        if self._arguments is not None:
            self._check_arguments(args, kwargs)
        leaves = self._leaves(args, kwargs)
        if any(map(needs_conversion, leaves)):
            leaves = [_converted(v, leaf) for v, leaf in zip(leaves, self.leaves)]
        if self._batched:
            leaves = self._points_first(leaves)
        if self._batched and any(is_dask(leaves[leaf.index]) for leaf in self._batched):
            flat = self._dask_call(leaves)
        else:
            flat = call_kernel(self.kernel, f"Hessian of {self.name}", self.leaves, leaves)
        if self._round_to is not None:
            flat = flat.astype(self._round_to)
        result = flat if self._single else self._assemble(flat)
        if self._has_aux:
            return result, self._fun(*args, **kwargs)[1]
        return result

    def _dask_call(self, leaves):
        """The kernel mapped over the Dask chunks of the points (`symhess.distributed`)."""
        if self._target != "cpu":
            raise ValueError(f"Dask arrays are computed with target='cpu'; {self.name} was "
                             f"compiled for target={self._target!r}")
        kernel = RemoteKernel(self._key, self.source)
        return batched_call(kernel, leaves, [leaf.batch_axis is not None for leaf in self.leaves],
                            self._out_shape, self._dtype)

    def _points_first(self, leaves):
        """Move each batched leaf's batch axis to the front and check the point counts agree."""
        out, count = list(leaves), None
        for leaf in self._batched:
            value = out[leaf.index]
            if not (gpu.on_device(value) or is_dask(value)):
                value = np.asarray(value)
            axis = leaf.batch_axis % max(value.ndim, 1)
            if value.ndim != len(leaf.shape) + 1:
                raise ValueError(f"batched argument {leaf.label} of {self.name} has shape "
                                 f"{value.shape}; expected one batch axis plus {leaf.shape}")
            if axis and gpu.on_device(value):
                raise ValueError(f"batched GPU argument {leaf.label} of {self.name} has its batch "
                                 f"axis at {leaf.batch_axis}; move it to the front on the device "
                                 "(and make the array contiguous), or pass batch_axis=0")
            if axis:
                value = np.moveaxis(value, axis, 0)
            if count is None:
                count = value.shape[0]
            elif value.shape[0] != count:
                raise ValueError(f"batched arguments of {self.name} disagree on the number of "
                                 f"points: {leaf.label} has {value.shape[0]}, others {count}")
            out[leaf.index] = value
        return out

    def _assemble(self, flat):
        if hasattr(self.layout, "matrix"):
            return self.layout.matrix(gpu.to_host(flat))
        if self._batched and self._target == "cuda":    # block-major: each block contiguous
            n = flat.shape[0] // self.layout.size if self.layout.size else 0
            blocks = iter([flat[off * n:(off + int(np.prod(shape, dtype=np.int64))) * n].reshape((n,) + shape)
                           for off, shape in self.layout.blocks])
        elif self._batched:     # (points, flat buffer): each block keeps the points axis first
            blocks = iter([flat[:, off:off + int(np.prod(shape, dtype=np.int64))].reshape(flat.shape[:1] + shape)
                           for off, shape in self.layout.blocks])
        else:
            blocks = iter([flat[off:off + int(np.prod(shape, dtype=np.int64))].reshape(shape)
                           for off, shape in self.layout.blocks])
        n_diff = self._diff_tree.num_leaves
        per_out = []
        for _ in range(self._out_tree.num_leaves):
            rows = [self._diff_tree.unflatten([next(blocks) for _ in range(n_diff)])
                    for _ in range(n_diff)]
            per_out.append(self._diff_tree.unflatten(rows))
        return self._out_tree.unflatten(per_out)

    def entries(self) -> dict[tuple[int, int, int], se.Basic]:
        """``{(o, k, l): expression}``: the nonzero upper-triangle entries, derived on demand.

        ``o`` indexes the flattened outputs, ``k <= l`` the flattened differentiated inputs (in
        argument order, each leaf in C order). Expressions are SymEngine objects.
        """
        if not hasattr(self, "_entries"):
            self._entries = hessian_entries(self._outputs, self._wrt)
        return self._entries

    def kernel_spec(self) -> KernelSpec:
        """The `codegen.KernelSpec` of this Hessian (derived and CSE'd on demand)."""
        if not hasattr(self, "_spec"):
            entries = self.entries()
            values = [(expr, self.layout.positions(*key)) for key, expr in entries.items()]
            self._spec = kernel_spec(f"Hessian of {self.name}", self.leaves, values,
                                     self.layout.size, self._out_shape, self._dtype)
        return self._spec

    # --- inspection and export (symhess.inspect does the work) --------------------------------
    def expressions(self) -> Any:
        """The closed-form Hessian as SymPy expressions, per block; see `symhess.inspect`."""
        from . import inspect
        return inspect.expressions(self)

    def simplified(self) -> Any:
        """`expressions` after SymPy simplification (slow on large Hessians)."""
        from . import inspect
        return inspect.simplified(self)

    def latex(self, **options) -> str:
        """LaTeX of the closed-form entries; options as `symhess.inspect.latex`."""
        from . import inspect
        return inspect.latex(self, **options)

    def pretty(self, **options) -> str:
        """A pretty-printed text form of the entries; options as `symhess.inspect.pretty`."""
        from . import inspect
        return inspect.pretty(self, **options)

    def cse(self) -> tuple[list, dict]:
        """``(replacements, reduced)`` as emitted into the kernel, as SymPy expressions."""
        from . import inspect
        return inspect.cse(self)

    @property
    def pattern(self) -> scipy.sparse.csr_matrix:
        """For ``sparse=`` Hessians: the CSR pattern (ones), known without evaluating anything."""
        if not hasattr(self.layout, "matrix"):
            raise AttributeError("pattern is defined for sparse=True or sparse='upper' Hessians; "
                                 "use .sparsity for dense ones")
        return self.layout.matrix(np.ones(self.layout.size, dtype=self._dtype))

    @property
    def sparsity(self) -> scipy.sparse.csr_matrix:
        """The structural nonzero pattern (a boolean sparse matrix); see `symhess.inspect.sparsity`."""
        from . import inspect
        return inspect.sparsity(self)

    def save(self, path: str | os.PathLike, name: Optional[str] = None) -> list[Path]:
        """Write standalone code: ``.py`` (NumPy + Numba only) or ``.c`` (C99 with a header)."""
        from . import export
        return export.save(self, path, name=name)


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
    float16, a longdouble that is double)."""
    dtype = getattr(value, "dtype", None)
    if not isinstance(value, (np.ndarray, np.generic)) or dtype is None:
        return False
    return not dtype.isnative or dtype.char in "eg" or (dtype.char == "G" and dtype.itemsize == 16)


def _converted(value, leaf):
    """``value`` in the dtype of ``leaf``, the kernel input it is passed as."""
    if not needs_conversion(value):
        return value
    return value.astype(leaf.dtype)


def _type_error(error: Exception) -> bool:
    """Whether calling a kernel failed on the arguments' types (Numba's typing errors)."""
    return isinstance(error, TypeError) or type(error).__module__.startswith("numba.")


def call_kernel(kernel, what, leaves, values):
    """``kernel(*values)``; arguments of types it cannot take are an error naming its types."""
    try:
        return kernel(*values)
    except Exception as e:
        if not _type_error(e):
            raise
        raise wrong_types(what, leaves, values) from e


def wrong_types(what, leaves, values) -> TypeError:
    """The error for arguments that do not fit a compiled kernel's signature."""
    def describe(x):
        return f"{x.dtype}{list(x.shape)}" if hasattr(x, "dtype") and hasattr(x, "shape") \
            else type(x).__name__
    want = ", ".join(f"{l.label}: {'number' if l.weak else f'{l.dtype}{list(l.shape)}'}"
                     for l in leaves)
    got = ", ".join(describe(x) for x in values)
    return errors.InputTypeError(
        f"the compiled {what} takes ({want}); got ({got}). Call the function that "
        "symhess.hessian (or hvp) returned instead: it compiles a kernel for each new signature")


def kernel_spec(title, leaves, values, out_size, out_shape, dtype) -> KernelSpec:
    """A `KernelSpec` storing each ``(expression, positions)`` of ``values``, after one CSE pass."""
    replacements, reduced = cse([expr for expr, _ in values])
    used = set()
    for _, expr in replacements:
        used |= expr.free_symbols
    for expr in reduced:
        used |= expr.free_symbols
    reads = {}
    for leaf in leaves:
        for k, sym in enumerate(leaf.symbols().ravel()):
            if sym in used:
                reads[sym] = (leaf.index, tuple(int(i) for i in np.unravel_index(k, leaf.shape)))
    return KernelSpec(
        inputs=[KernelInput(leaf.shape, leaf.dtype.name, leaf.weak and leaf.batch_axis is None,
                            leaf.batch_axis is not None, leaf.label) for leaf in leaves],
        reads=reads,
        assignments=list(replacements),
        outputs=[(expr, positions) for expr, (_, positions) in zip(reduced, values)],
        out_size=out_size, out_shape=out_shape, dtype=dtype.name, title=title)


_KEY_LOCKS: dict = {}
_KEY_LOCKS_LOCK = threading.Lock()


def _lock_of(key: str) -> threading.Lock:
    """The lock of one kernel key: threads asking for one kernel at once compile it once (the
    later ones find it in the disk cache), while different kernels still build in parallel."""
    with _KEY_LOCKS_LOCK:
        return _KEY_LOCKS.setdefault(key, threading.Lock())


def load_or_emit(make_spec, progress, leaves, tables=(), target="cpu"):
    """The compiled kernel module of the spec ``make_spec()`` returns, from the disk cache or new.

    The disk cache is keyed by the generated source (`symhess.cache`), so two signatures share
    a kernel exactly when their code is the same. The kernel is compiled here, for the argument
    types of the signature, so that compile time is reported with the other stages rather than
    hidden in the first call. (Compiling from the types, not by a call, also means no input
    value is ever evaluated before the user's.) CUDA kernels are compiled by numba.cuda at their
    first launch.
    """
    spec = make_spec()
    with progress.stage("emit"):
        if target == "cuda":
            emit = emit_numba_cuda
        else:
            emit = emit_numba_llvm if llvm_supports(spec) else emit_numba
        source = emit(spec, version=__version__)
    key = cache.key_of(source)
    with _lock_of(key):
        with progress.stage("cache"):
            module = cache.module(source, key)
        if target != "cuda":
            with progress.stage("Numba compile"):
                try:
                    _compile(module, leaves, tables)
                except Exception:
                    # Numba's cache files of the entry may be damaged past what the manifest
                    # caught: load once more without them, and fail only if that fails too.
                    with progress.stage("cache"):
                        healed = cache.heal(module)
                    if healed is None:
                        raise
                    module = healed
                    _compile(module, leaves, tables)
            with progress.stage("cache"):
                cache.seal(module)
    progress.done()
    return module


def _compile(module, leaves, tables):
    """Compile ``module``'s kernel for the argument types of ``leaves`` (and ``tables``)."""
    import numba
    examples = _examples(leaves) + list(tables)
    jitted = getattr(module, "kernel_into", module.kernel)   # batched: NumPy allocates out
    if jitted is not module.kernel:
        examples.append(np.empty((1, module.OUT_SIZE), dtype=module.OUT_DTYPE))
    jitted.compile(tuple(numba.typeof(a) for a in examples))


def _examples(leaves):
    """Zero arguments with the kernel's input types: C-contiguous arrays and Python scalars."""
    out = []
    for leaf in leaves:
        if leaf.batch_axis is not None:
            out.append(np.zeros((1,) + leaf.shape, dtype=leaf.dtype))
        elif leaf.weak:
            out.append(leaf.dtype.type(0).item())
        else:
            out.append(np.zeros(leaf.shape, dtype=leaf.dtype))
    return out


def build(*, name, leaves, diff_leaves, outputs, out_tree, diff_tree, dtype, strict, has_aux,
          fun, arg_pytrees, progress, sparse=False, templates=None, sums=None,
          target="cpu") -> CompiledHessian:
    """Derive, emit and load (or load from the disk cache) the kernel for one signature.

    ``sums`` are the element sums of lazy gathers (`symhess.lazy`) whose placeholders the
    outputs may contain: they become element loops when the output is linear in them, and are
    written out otherwise.
    """
    wrt = [s for leaf in diff_leaves for s in leaf.symbols().ravel()]
    flat_outputs = [e for out in outputs for e in out.ravel()]
    single = out_tree == pytree.LEAF and diff_tree == pytree.LEAF
    if sparse and len(flat_outputs) != 1:
        raise ValueError(f"sparse output needs a scalar function; {name} returns "
                         f"{len(flat_outputs)} values")
    templated = templates is not False and len(flat_outputs) == 1 and dtype.kind == "f" \
        and not any(l.batch_axis is not None or (l.weak and l.differentiated) for l in leaves)
    sums = {s: sums[s] for e in flat_outputs for s in e.free_symbols if s in (sums or {})}
    element_sums = linear_sums(flat_outputs[0], sums) if templated and sums else {}
    if sums and not element_sums:
        flat_outputs, sums = written_out(flat_outputs, sums), {}
    if strict:
        _check_strict(name, diff_leaves, flat_outputs, sums)
    loops = []
    if templated:
        with progress.stage("templates"):
            f = flat_outputs[0].xreplace({s: 0 for s in sums}) if sums else flat_outputs[0]
            remainder, loops = template_loops(f, leaves, diff_leaves,
                                              1 if templates else MIN_INSTANCES,
                                              [(sums[s], c) for s, c in element_sums.items()])
    remainder_entries = None
    if sparse:
        from .sparse import CSRLayout
        with progress.stage("differentiate"):
            remainder_entries = hessian_entries([remainder] if loops else flat_outputs, wrt)
        rows = [np.array([k for _, k, _ in remainder_entries], dtype=np.int64)]
        cols = [np.array([l for _, _, l in remainder_entries], dtype=np.int64)]
        for loop in loops:
            rows.append(loop.lo.ravel())
            cols.append(loop.hi.ravel())
        layout = CSRLayout(np.concatenate(rows), np.concatenate(cols), len(wrt),
                           upper=sparse == "upper")
        out_shape, single = (layout.size,), False
    else:
        layout = Layout([o.shape for o in outputs], [l.shape for l in diff_leaves])
        out_shape = layout.blocks[0][1] if single else (layout.size,)
    compiled = CompiledHessian(name, None, None, layout, leaves, flat_outputs, wrt, out_tree,
                               diff_tree, arg_pytrees, has_aux, fun, single, dtype, out_shape)
    compiled._sums = sums
    compiled._target = target
    if sparse and not loops:
        compiled._entries = remainder_entries
    tables = []
    for loop in loops:
        tables += [loop.index, loop.positions(layout)]

    def make_spec():
        if not loops:
            if not hasattr(compiled, "_entries"):
                with progress.stage("differentiate"):
                    compiled.entries()
            with progress.stage("CSE"):
                spec = compiled.kernel_spec()
        else:
            entries = remainder_entries
            if entries is None:
                with progress.stage("differentiate"):
                    entries = hessian_entries([remainder], wrt)
            with progress.stage("CSE"):
                spec = kernel_spec(f"Hessian of {name}", leaves,
                                   [(expr, layout.positions(*k)) for k, expr in entries.items()],
                                   layout.size, out_shape, dtype)
                spec.loops = [loop.spec(leaves) for loop in loops]
        spec.out_blocks = [int(np.prod(shape, dtype=np.int64)) for _, shape in
                           getattr(layout, "blocks", [(0, out_shape)])]
        return spec

    if target == "cuda":
        tables = [gpu.to_device(t) for t in tables]
    module = load_or_emit(make_spec, progress, leaves, tables, target)
    if tables:
        jitted = module.kernel

        def kernel(*args):
            return jitted(*args, *tables)
        compiled.kernel = kernel
    else:
        compiled.kernel = module.kernel
    compiled.source = _source(module)
    compiled._key = module.symhess_key
    compiled._into = getattr(module, "kernel_into", None)
    compiled.templates = [loop.template for loop in loops]
    return compiled


def _source(module) -> str:
    """The generated source of a kernel module (as verified and imported, not re-read)."""
    return module.symhess_source


def _check_strict(name, diff_leaves, flat_outputs, sums=None):
    used = set()
    for e in flat_outputs:
        used |= e.free_symbols
    read = {slot.leaf for es in (sums or {}).values() for slot in es.slots.values()}
    for leaf in diff_leaves:
        if leaf.index not in read and not any(s in used for s in leaf.symbols().ravel()):
            raise errors.StrictModeError(
                f"strict=True: the output of {name} does not depend on the differentiated input "
                f"{leaf.label}, so its Hessian blocks are zero. Remove it from argnums, or pass "
                "strict=False to get the zero blocks.")


def _initialize_numba():
    """Build Numba's CPU target when the compiler loads rather than inside the first call.

    Every kernel, compiled or loaded from the disk cache, needs it (about 0.3 s once per
    process); doing it here keeps that fixed cost out of the first call's latency.
    """
    try:
        from numba.core.registry import cpu_target
        cpu_target.target_context.refresh()
    except Exception:       # a Numba without this internal API initialises on first use
        pass


_initialize_numba()
