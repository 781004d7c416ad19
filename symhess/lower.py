"""From a `Trace` to a compiled kernel: one `build` for every product.

A product (`HessianProduct` here; `symhess.hvp` and `symhess.blocks` define theirs) plans what
the kernel computes: its inputs, the values to store and where (a layout), element loops and
their tables. `build` then makes the one `KernelSpec`, chooses the target, emits the code,
loads it from the disk cache or compiles it, and returns the compiled object. The disk cache is
keyed by the generated source, so two signatures share a kernel exactly when their code is the
same, and a warm start skips Numba's compile (the slow stage).
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from .codegen import KernelInput, KernelSpec, is_native, target_for

from . import cache, errors, gpu, special_nodes
from .derive import cse, hessian_entries
from .layout import CSRLayout, Layout
from .loops import applicable, element_loops, keep_linear_sums, written_out
from .runtime import Compiled, CompiledHessian
from .signature import Trace, leaf_values
from .templates import MIN_INSTANCES
from .version import __version__


@dataclass
class Plan:
    """What a product asks of its kernel, before anything is emitted.

    ``spec()`` derives and reduces the values (it runs only when the disk cache has no kernel
    of this code: its result decides the key, so it runs before the lookup);
    ``make(**options)`` makes the compiled object from the common options `build` gives it.
    """

    leaves: list                    # the kernel's inputs, in order
    layout: object
    dtype: np.dtype
    spec: Callable[[], KernelSpec]
    make: Callable[..., Compiled]
    tables: list = field(default_factory=list)     # element-loop tables, after the inputs
    arg_pytrees: list = None        # how a call's arguments flatten (default: the trace's)
    arguments: tuple = None         # the call's argument names (default: the trace's)


def build(trace: Trace, product, progress, target: str = "cpu") -> Compiled:
    """Plan, derive, emit, and load (from the disk cache or new) ``product`` of ``trace``."""
    try:
        plan = product.plan(trace, progress)
        tables = [gpu.to_device(t) for t in plan.tables] if target == "cuda" else plan.tables
        module = load_or_emit(plan.spec, progress, plan.leaves, tables, target)
    except errors.ExpressionGrowthError as e:
        raise e.named(trace.name) from None
    kernel = module.kernel
    if tables:
        kernel = functools.partial(_with_tables, module.kernel, tuple(tables))
    return plan.make(
        name=trace.name, kernel=kernel, source=module.symhess_source, key=module.symhess_key,
        layout=plan.layout, leaves=plan.leaves, dtype=plan.dtype, target=target,
        arg_pytrees=trace.arg_pytrees if plan.arg_pytrees is None else plan.arg_pytrees,
        arguments=trace.arguments if plan.arguments is None else plan.arguments,
        into=getattr(module, "kernel_into", None),
        assembled=getattr(module, "RETURNS_PARTS", None) is not None)


def _with_tables(jitted, tables, *args):
    return jitted(*args, *tables)


def kernel_spec(title, leaves, values, layout, dtype) -> KernelSpec:
    """A `KernelSpec` storing each ``(expression, positions)`` of ``values`` in ``layout``,
    after one CSE pass."""
    replacements, reduced = cse([expr for expr, _ in values])
    used = set()
    for _, expr in replacements:
        used |= expr.free_symbols
    for expr in reduced:
        used |= expr.free_symbols
    reads = {}
    for leaf in leaves:
        symbols = leaf.symbols_made() if used else None
        for k, sym in enumerate(() if symbols is None else symbols.ravel()):
            if sym in used:
                reads[sym] = (leaf.index, tuple(int(i) for i in np.unravel_index(k, leaf.shape)))
    return KernelSpec(
        inputs=[KernelInput(leaf.shape, leaf.dtype.name, leaf.weak and leaf.batch_axis is None,
                            leaf.batch_axis is not None, leaf.label) for leaf in leaves],
        reads=reads,
        assignments=list(replacements),
        outputs=[(expr, positions) for expr, (_, positions) in zip(reduced, values)],
        out_size=layout.size, out_shape=tuple(layout.out_shape), dtype=np.dtype(dtype).name,
        title=title, out_blocks=list(layout.out_blocks), parts=getattr(layout, "parts", None))


# --- the Hessian ------------------------------------------------------------------------------
class Derivation:
    """The symbolic side of a compiled Hessian: outputs, variables, entries and the unrolled
    kernel spec, each derived on first use (inspection reads what the build derived)."""

    def __init__(self, name, leaves, diff_leaves, outputs, sums, layout, dtype, out_tree,
                 diff_tree, out_shapes, entries=None):
        self.name, self.leaves, self.layout, self.dtype = name, leaves, layout, dtype
        self.diff_leaves = diff_leaves
        self.out_tree, self.diff_tree, self.out_shapes = out_tree, diff_tree, out_shapes
        self.variables = [s for leaf in diff_leaves for s in leaf.symbols().ravel()]
        self.dense_layout = layout if isinstance(layout, Layout) else \
            Layout(out_shapes, [l.shape for l in diff_leaves], out_tree, diff_tree)
        self._outputs, self._sums = outputs, sums
        self._entries, self._spec = entries, None
        self._lock = threading.Lock()
        self.title = f"Hessian of {name}"

    @property
    def outputs(self) -> list:
        """The flat output expressions, element sums written out (on first use)."""
        with self._lock:
            if self._sums:
                self._outputs, self._sums = written_out(self._outputs, self._sums), {}
        return self._outputs

    def entries(self) -> dict:
        """``{(o, k, l): expression}``, the nonzero upper-triangle entries."""
        if self._entries is None:
            self._entries = hessian_entries(self.outputs, self.variables)
        return self._entries

    def positions(self, key) -> tuple:
        """Where entry ``key`` ``(o, k, l)`` (and its mirror) is stored in the kernel's output."""
        return tuple(self.layout.positions(*key))

    def kernel_spec(self) -> KernelSpec:
        """The unrolled kernel spec: every entry stored on its own, after one CSE pass."""
        if self._spec is None:
            values = [(expr, self.positions(key)) for key, expr in self.entries().items()]
            self._spec = kernel_spec(self.title, self.leaves, values,
                                     self.layout, self.dtype)
        return self._spec

    def value(self, args) -> np.ndarray:
        """The flat outputs evaluated by SymEngine (not the kernel) at positional ``args``."""
        syms, vals = [], []
        for leaf, value in zip(self.leaves, leaf_values(self.leaves, args)):
            syms += list(leaf.symbols().ravel())
            vals += list(np.asarray(value).ravel())
        outputs = self.outputs
        if not outputs:
            return np.zeros(0)
        complex_ = any(np.iscomplexobj(v) for v in vals) or self.dtype.kind == "c"
        try:
            return special_nodes.evaluate(syms, outputs, vals, complex if complex_ else float)
        except (RuntimeError, TypeError, ValueError, NotImplementedError) as exc:
            raise errors.ArgumentValueError(f"SymEngine could not evaluate it ({exc})") from None


def dense_derivation(trace: Trace) -> Derivation:
    """The `Derivation` of ``trace``'s dense Hessian (its closed forms, nothing compiled)."""
    shapes = [o.shape for o in trace.outputs]
    layout = Layout(shapes, [l.shape for l in trace.diff_leaves], trace.out_tree, trace.diff_tree)
    return Derivation(trace.name, trace.leaves, trace.diff_leaves, trace.flat_outputs, trace.sums,
                      layout, trace.dtype, trace.out_tree, trace.diff_tree, shapes)


@dataclass(frozen=True)
class HessianProduct:
    """The Hessian: dense blocks in the tree of ``jax.hessian``, or a CSR matrix (``sparse``).

    ``templates`` as `symhess.hessian`'s option; ``strict`` refuses differentiated inputs the
    output does not depend on. ``has_aux`` and ``fun`` let the call return the function's aux.
    """

    sparse: object = False
    templates: object = None
    strict: bool = False
    sparse_format: str = "csr_array"
    has_aux: bool = False
    fun: object = None

    def plan(self, trace: Trace, progress) -> Plan:
        name, leaves, diff_leaves, dtype = trace.name, trace.leaves, trace.diff_leaves, trace.dtype
        wrt, flat_outputs = trace.wrt, trace.flat_outputs
        if self.sparse and len(flat_outputs) != 1:
            raise errors.OutputShapeError(f"sparse output needs a scalar function; {name} returns "
                                          f"{len(flat_outputs)} values")
        templated = self.templates is not False and len(flat_outputs) == 1 \
            and applicable(leaves, dtype)
        flat_outputs, sums, coefficients = keep_linear_sums(flat_outputs, trace.sums, templated)
        if self.strict:
            check_strict(name, diff_leaves, flat_outputs, sums)
        loops, remainder = [], None
        if templated:
            with progress.stage("templates"):
                remainder, loops = element_loops(flat_outputs[0], sums, coefficients, leaves,
                                                 diff_leaves,
                                                 1 if self.templates else MIN_INSTANCES)
        entries = None                # of the remainder, when the layout needs them first
        if self.sparse:
            with progress.stage("differentiate"):
                entries = hessian_entries([remainder] if loops else flat_outputs, wrt)
            layout = hessian_csr(entries, loops, len(wrt), self.sparse, self.sparse_format)
        else:
            layout = Layout([o.shape for o in trace.outputs], [l.shape for l in diff_leaves],
                            trace.out_tree, trace.diff_tree)
        derivation = Derivation(name, leaves, diff_leaves, flat_outputs, sums, layout, dtype,
                                trace.out_tree, trace.diff_tree, [o.shape for o in trace.outputs],
                                entries if self.sparse and not loops else None)
        positions = [loop.positions(layout) for loop in loops]

        def spec():
            if not loops:
                with progress.stage("differentiate"):
                    derivation.entries()
                with progress.stage("CSE"):
                    return derivation.kernel_spec()
            remainder_entries = entries
            if remainder_entries is None:
                with progress.stage("differentiate"):
                    remainder_entries = hessian_entries([remainder], wrt)
            with progress.stage("CSE"):
                result = kernel_spec(f"Hessian of {name}", leaves,
                                     [(expr, layout.positions(*k))
                                      for k, expr in remainder_entries.items()], layout, dtype)
                result.loops = [loop.spec(leaves, p) for loop, p in zip(loops, positions)]
            return result

        make = functools.partial(CompiledHessian, derivation=derivation,
                                 templates=[loop.template for loop in loops],
                                 has_aux=self.has_aux, fun=self.fun, round_to=trace.round_to)
        return Plan(leaves=leaves, layout=layout, dtype=dtype, spec=spec, make=make,
                    tables=[t for loop, p in zip(loops, positions) for t in (loop.index, p)])


def hessian_csr(entries, loops, n: int, sparse, format: str = "csr_array") -> CSRLayout:
    """The `CSRLayout` of a sparse Hessian of ``n`` variables: the upper-triangle ``entries``
    ``{(o, k, l): ...}`` of what is derived entry by entry and the pairs each element loop adds
    into, in the triangle(s) of the ``sparse=`` option (True: both), returned in ``format``
    (`symhess.layout.SPARSE_FORMATS`)."""
    rows = [np.array([k for _, k, _ in entries], dtype=np.int64)]
    cols = [np.array([l for _, _, l in entries], dtype=np.int64)]
    rows += [loop.lo.ravel() for loop in loops]
    cols += [loop.hi.ravel() for loop in loops]
    return CSRLayout(np.concatenate(rows), np.concatenate(cols), n,
                     "both" if sparse is True else sparse, format)


def check_strict(name, diff_leaves, flat_outputs, sums=None):
    """Raise `StrictModeError` naming a differentiated input the outputs do not depend on."""
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


# --- emit, cache, compile ------------------------------------------------------------------
_KEY_LOCKS: dict = {}
_KEY_LOCKS_LOCK = threading.Lock()


def _lock_of(key: str) -> threading.Lock:
    """The lock of one kernel key: threads asking for one kernel at once compile it once (the
    later ones find it in the disk cache), while different kernels still build in parallel."""
    with _KEY_LOCKS_LOCK:
        return _KEY_LOCKS.setdefault(key, threading.Lock())


def load_or_emit(make_spec, progress, leaves, tables=(), target="cpu"):
    """The compiled kernel module of the spec ``make_spec()`` returns, from the disk cache or new.

    The kernel is compiled here, for the argument types of the signature, so that compile time
    is reported with the other stages rather than hidden in the first call. (Compiling from
    the types, not by a call, also means no input value is ever evaluated before the user's.)
    A native module (`codegen.native`) compiles as it is imported. CUDA kernels are compiled
    by numba.cuda at their first launch.
    """
    spec = make_spec()
    with progress.stage("emit"):
        if isinstance(spec, KernelSpec):
            source = target_for(spec, target).emit(spec, version=__version__)
        else:                       # the array tier's loop program prints itself
            source = spec.emit(__version__)
    key = cache.key_of(source)
    native = is_native(source)
    with _lock_of(key):
        # A native module compiles (or loads its object code) as it is imported.
        with progress.stage("compile" if native else "cache"):
            module = cache.module(source, key)
        if target != "cuda" and not native:
            with progress.stage("compile"):
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
        if target != "cuda":
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


def initialize_numba():
    """Build Numba's CPU target when the compiler loads rather than inside the first call,
    where Numba compiles the CPU kernels.

    Every Numba kernel, compiled or loaded from the disk cache, needs it (about 0.3 s once per
    process, and 0.1 s more to import Numba); doing it here keeps that fixed cost out of the
    first call's latency. Where the native target compiles them (`codegen.choice.native_enabled`),
    Numba is not loaded at all: the complex and CUDA kernels that still need it load it when
    they are first compiled.
    """
    from .codegen.choice import native_enabled
    if native_enabled():
        return
    try:
        from numba.core.registry import cpu_target
        cpu_target.target_context.refresh()
    except Exception:       # a Numba without this internal API initialises on first use
        pass


def initialize_native():
    """Build llvmlite's target machine and JIT engine for native kernels when the compiler
    loads (some milliseconds once per process), for the same reason; where the native target
    is not used, nothing."""
    from .codegen.jit import abi_ok, prepare
    if abi_ok():
        prepare()


initialize_numba()
initialize_native()
