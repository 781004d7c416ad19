"""`symhess.hessian`: the transform users call, with the contract of ``jax.hessian``."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, Optional, Union

import numpy as np

from . import crosscheck, pytree, special_nodes
from .errors import InputTypeError, OptionValueError, UnsupportedFunctionError
from .options import MIN_DATA, ArgNums, SparseFormat, normalize_options
from .lower import HessianProduct, build, dense_derivation
from .derive import NESTING_LIMIT, written_out_size
from .progress import Progress
from .crosscheck import CheckReport
from .runtime import CompiledHessian
from .signature import arrays_in, call_signature, needs_conversion, trace_call

if TYPE_CHECKING:
    from .blocks import BlockFunction

#: A pytree of arrays: an array or number, or dicts, lists, tuples and namedtuples of them.
PyTree = Any


def hessian(fun: Callable[..., Any], argnums: ArgNums = 0, has_aux: bool = False,
            holomorphic: bool = False, *, static_argnums: ArgNums = (), strict: bool = False,
            batch_axis: Optional[int] = None, in_axes: Optional[Sequence[Optional[int]]] = None,
            sparse: Union[bool, Literal["upper", "lower"]] = False, check: bool = False,
            verbose: Optional[bool] = None, target: Literal["cpu", "cuda"] = "cpu",
            templates: Optional[bool] = None, tier: Literal["auto", "array", "scalar"] = "auto",
            sparse_format: SparseFormat = "csr_array") -> HessianFunction:
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
        sparse: ``True`` returns a sparse matrix with the exact symbolic pattern (structural
            zeros are never derived or computed); ``"upper"`` or ``"lower"`` one triangle only
            (IPOPT takes the lower one). Needs a scalar output. Rows and columns follow the
            global variable order: the differentiated arguments in ``argnums`` order, each
            pytree's leaves in pytree order, each leaf in C order.
            ``H.compile(*args).pattern`` gives the pattern alone.
        sparse_format: what a ``sparse=`` result is: ``"csr_array"`` (the default,
            ``scipy.sparse.csr_array``), ``"csr_matrix"``, ``"coo_array"``, or
            ``"triplets"``: ``(rows, cols, values)``, entries in CSR order, ``rows`` and
            ``cols`` the same read-only int64 arrays at every call (for solvers that take
            triplets; the cheapest call).
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
        tier: which symbolic tier compiles ``fun``. ``"array"``: the array tier
            (`symhess.arrays`) traces NumPy calls as array operations, derives the Hessian as
            an array expression (``X.T @ diag(s) @ X``) and lowers it to loops, so compile time
            does not depend on the data's size. ``"scalar"``: every entry is derived and CSE'd
            on its own (the fastest code for small fixed shapes, such as a 3x3 deformation
            gradient, and element templates for sums over index tables). ``"auto"`` (the
            default): the array tier for an unbatched, real Hessian (dense or sparse) of a
            scalar output on the CPU when ``fun`` reads a runtime data argument (an argument not
            differentiated) of at least 64 elements and the array tier has a rule for every
            NumPy call ``fun`` makes; the scalar tier otherwise (which then traces ``fun``
            once more), unless it has no rule for a call the array tier knows
            (``np.linalg.slogdet``, ``cholesky``, ``eigh``, a solve beyond 5x5). The array
            tier finds a ``sparse=`` Hessian's structural pattern from the graph, and computes
            a sum over elements (a mesh, bonds) block by block, anything else one
            Hessian-vector product per color of a coloring of its columns.

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
                           batch_axis, in_axes, sparse, verbose, check, templates, tier,
                           sparse_format)


def check(fun: Callable[..., Any], *args: Any, argnums: ArgNums = 0, has_aux: bool = False,
          holomorphic: bool = False, hessian: Optional[Callable[..., Any]] = None,
          rtol: Optional[float] = None, atol: Optional[float] = None,
          static_argnums: ArgNums = (), against: Literal["autodiff", "jax"] = "autodiff",
          jax_fun: Optional[Callable[..., Any]] = None) -> CheckReport:
    """Check a Hessian of ``fun`` at ``args`` against an independent reference.

    The checked Hessian is ``hessian(*args)`` when ``hessian`` is given (a callable with
    ``jax.hessian``'s output structure: for one array argument and a scalar output, an array of
    shape ``x.shape + x.shape``), else symhess's compiled Hessian of ``fun``. The reference is
    the independent autodiff (`symhess.autodiff`), or ``jax.hessian`` with ``against="jax"``
    (float64 enabled with ``jax_enable_x64``). Along the way the function's value is checked:
    the reference's against plain NumPy, and, for symhess's own Hessian, its traced expressions
    against plain NumPy too.

    Args:
        fun: the function, written with ordinary NumPy.
        *args: a point to check at; same arguments as ``fun`` takes.
        argnums, has_aux, holomorphic, static_argnums: as for `symhess.hessian`.
        hessian: the Hessian function to check; None checks ``symhess.hessian(fun, ...)``.
        rtol, atol: tolerances (see the module docstring); None picks them by dtype.
        against: ``"autodiff"`` or ``"jax"``.
        jax_fun: for ``against="jax"``: ``fun`` written with ``jax.numpy``. By default ``fun``
            itself, which must then run on jax arrays (operators and array methods only).

    Returns:
        A `CheckReport`: per block, the largest absolute and relative errors, the worst entry's
        index and both values, and the tolerances used.

    Raises:
        CheckError: an entry is outside tolerance, or the Hessian's structure or a block's shape
            differs from the reference. The message names the block, the entry's index and both
            values; ``error.report`` is the full `CheckReport`.

    >>> import numpy as np, symhess
    >>> f = lambda x: x[0] ** 2 * x[1]
    >>> symhess.check(f, np.array([1.0, 3.0])).ok
    True
    >>> wrong = lambda x: np.array([[6.0, 2.0], [2.5, 0.0]])
    >>> symhess.check(f, np.array([1.0, 3.0]), hessian=wrong)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symhess.errors.CheckError: ... at H entry (1, 0): hessian=<lambda> gives 2.5, autodiff ...
    """
    options = dict(argnums=argnums, has_aux=has_aux, holomorphic=holomorphic,
                   static_argnums=static_argnums, rtol=rtol, atol=atol, against=against,
                   jax_fun=jax_fun)
    if hessian is not None:
        return crosscheck.check(fun, *args, hessian=hessian, **options)
    compiled = HessianFunction(fun=fun, argnums=argnums, has_aux=has_aux, holomorphic=holomorphic,
                               static_argnums=static_argnums, strict=False,
                               target="cpu").compile(*args)
    return crosscheck.check(fun, *args, hessian=compiled, traced_value=compiled.traced_value,
                            **options)


def stand_ins(args) -> list:
    """``args`` with each NumPy array leaf replaced by zeros of its shape and dtype that take
    no memory (a broadcast scalar): what tracing needs, without keeping the data alive."""
    out = []
    for a in args:
        leaves, tree = pytree.flatten(a)
        out.append(tree.unflatten([np.broadcast_to(np.zeros((), x.dtype), x.shape)
                                   if type(x) is np.ndarray else x for x in leaves]))
    return out


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
    tier: str = "auto"
    sparse_format: str = "csr_array"

    def __post_init__(self):
        normalize_options(self)
        self._compiled = {}
        self._fast = {}
        self._locks = {}                  # signature -> the lock its first compile holds
        self._locks_lock = threading.Lock()
        self.name = getattr(self.fun, "__name__", type(self.fun).__name__)
        self._plain = not self.static_argnums and self.batch_axis is None

    def axes(self, nargs) -> tuple:
        """The batch axis of each positional argument (None: not batched)."""
        if self.batch_axis is None:
            return (None,) * nargs
        if self.in_axes is not None:
            if len(self.in_axes) != nargs:
                raise OptionValueError(
                    f"in_axes has {len(self.in_axes)} entries but {self.name} was "
                    f"called with {nargs} positional argument(s)")
            return self.in_axes
        nums = self.argnums if isinstance(self.argnums, tuple) else (self.argnums,)
        diff = {a % nargs for a in nums if -nargs <= a < nargs}
        return tuple(self.batch_axis if i in diff else None for i in range(nargs))

    def __call__(self, *args: PyTree, **kwargs: PyTree) -> PyTree:
        # Fast path for positional arrays: a key of shapes and dtypes straight to the callable
        # (the kernel itself when nothing needs flattening): little more than the kernel's cost.
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
        given, (args, kwargs) = args, self.arrays(args, kwargs)
        try:
            compiled = self._compiled.get(self.signature(args, kwargs))
        except TypeError:            # an unhashable static argument: compile explains it
            compiled = None
        if compiled is None:
            compiled = self.compile(*args, **kwargs)
        if fast is not None and args is given and not any(map(needs_conversion, args)):
            self._fast[fast] = compiled.fast_callable()
        return compiled(*args, **kwargs)

    def arrays(self, args, kwargs) -> tuple[tuple, dict]:
        """The arguments with other libraries' arrays as NumPy's (`signature.arrays_in`)."""
        return arrays_in(args, kwargs, self.static_argnums, self.fun, self.name)

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

    def signature(self, args, kwargs) -> tuple:
        """The signature of a call (`symhess.signature.call_signature`): one kernel per signature."""
        axes = self.axes(len(args)) if self.batch_axis is not None else None
        return call_signature(args, kwargs, self.static_argnums, axes)

    def compile(self, *args: PyTree, **kwargs: PyTree) -> CompiledHessian:
        """Trace, differentiate and compile for the signature of these arguments.

        Returns the `CompiledHessian` for that signature (cached, so later calls with the same
        signature reuse it).
        """
        args, kwargs = self.arrays(args, kwargs)
        key = self.signature(args, kwargs)
        try:
            hash(key)
        except TypeError:
            raise InputTypeError(f"static arguments of {self.name} must be hashable; got "
                                 f"{[p[1] for p in key if p and p[0] == 'static']!r}") from None
        return self._once(key, lambda: self._checked_build(args, kwargs))

    def trace_and_build(self, args, kwargs, product, title: str, lazy_gathers: bool = True,
                        target: str = "cpu", array_product=None):
        """Trace ``fun`` for the signature of ``(args, kwargs)`` and build ``product`` of it
        (`symhess.lower.build`), reporting the stages under ``title``. With ``array_product``
        (a function making the array tier's product, called only when that tier builds), the
        array tier builds instead when the `tier` rule chooses it."""
        progress = Progress(title, self.verbose)
        traced = False              # whether the array tier traced fun (and could not build it)
        if array_product is not None:
            compiled, traced = self._array_build(args, kwargs, array_product, progress, target)
            if compiled is not None:
                return compiled
        try:
            with progress.stage("trace"):
                trace = trace_call(self, args, kwargs, lazy_gathers)
        except UnsupportedFunctionError as exc:
            # No scalar rule (slogdet, a 10x10 solve): an array program, whatever its data's size?
            if array_product is None or self.tier != "auto" or traced:
                raise
            compiled, refused = self._array_build(args, kwargs, array_product, progress, target,
                                                  decide=False)
            if compiled is None:
                if refused and not str(refused).startswith("tracing raised"):
                    raise UnsupportedFunctionError(exc.name, (
                        f"the scalar tier has no rule for it, and the array tier, which may, "
                        f"has none for {refused}")) from None
                raise
            return compiled
        if array_product is not None and self.tier == "auto" and not traced and (
                written_out_size(trace.flat_outputs) > NESTING_LIMIT
                or special_nodes.reads_iterative(trace.flat_outputs)):
            # nested beyond what the scalar tier differentiates (chained integrator steps), or
            # reading functions of hundreds of steps (`symhess.special_nodes.ITERATIVE`)
            compiled, _ = self._array_build(args, kwargs, array_product, progress, target,
                                            decide=False)
            if compiled is not None:
                return compiled
        return build(trace, product, progress, target)

    def array_tier_applies(self, target) -> bool:
        """Whether the options allow the array tier (unbatched, real, on the CPU)."""
        if self.tier == "scalar":
            return False
        ok = target == "cpu" and self.batch_axis is None \
            and not self.holomorphic and not self.strict and self.templates is not True
        if not ok and self.tier == "array":
            raise OptionValueError(
                "tier='array' compiles unbatched, real Hessians on the CPU (no batch_axis=, "
                "holomorphic=, strict=, templates=True, target='cuda'); use tier='auto' or "
                "'scalar' with those options")
        return ok

    def _array_build(self, args, kwargs, product, progress, target, decide=True):
        """``(build, traced)``: the array tier's build, or None when the `tier` rule leaves
        ``fun`` to the scalar tier (``traced``: False) or the array tier cannot compile it
        (what it has no rule for; with ``tier="array"`` that is an error). ``decide=False``
        skips the rule's size test."""
        if self.tier == "auto" and decide and not self.reads_data(args, kwargs):
            return None, False          # decided before the array tier is even imported
        from .arrays.graph import Unsupported
        from .arrays.product import trace_arrays
        try:
            with progress.stage("trace arrays"):
                trace = trace_arrays(self, args, kwargs)
            # (planning may find something unsupported too: a complex tangent of hvp)
            return build(trace, product(), progress, target), True
        except Unsupported as exc:
            if self.tier == "array":
                raise UnsupportedFunctionError(
                    str(exc), f"tier='array' cannot compile {self.name}: the array tier has no "
                    "rule for it; tier='auto' gives the function to the scalar tier") from None
            return None, exc

    def reads_data(self, args, kwargs) -> bool:
        """The `tier` rule (``tier="auto"``), decided before anything is traced: whether
        ``fun`` is called with a runtime data argument (neither differentiated nor static) of
        at least `symhess.options.MIN_DATA` elements. Small fixed-shape functions (a 3x3
        deformation gradient) and sums of small terms over index tables stay in the scalar
        tier, whose per-entry CSE and element templates give the fastest code for them."""
        diff, _, static = self.normalized_argnums(len(args))
        data = [a for i, a in enumerate(args) if i not in diff and i not in static]
        data += list(kwargs.values())
        return any(np.size(leaf) >= MIN_DATA for a in data for leaf in pytree.flatten(a)[0])

    def scalar_trace(self, args, kwargs):
        """A function returning the scalar tier's trace of ``fun`` for the signature of
        ``(args, kwargs)`` (what the closed forms of an array-tier product come from); it
        keeps stand-ins of the arguments, not their data."""
        args, kwargs = stand_ins(args), dict(zip(kwargs, stand_ins(list(kwargs.values()))))
        return lambda: trace_call(self, args, kwargs, False)

    def _checked_build(self, args, kwargs) -> CompiledHessian:
        product = HessianProduct(sparse=self.sparse, templates=self.templates, strict=self.strict,
                                 has_aux=self.has_aux, fun=self.fun,
                                 sparse_format=self.sparse_format)

        def array_product():
            from .arrays import product as arrays
            trace = self.scalar_trace(args, kwargs)
            return arrays.HessianProduct(has_aux=self.has_aux, fun=self.fun,
                                         scalar=lambda: dense_derivation(trace()),
                                         sparse=self.sparse, sparse_format=self.sparse_format)
        compiled = self.trace_and_build(
            args, kwargs, product, self.name, target=self.target,
            array_product=array_product if self.array_tier_applies(self.target) else None)
        if self.check:
            if kwargs:
                raise OptionValueError("check=True needs positional arguments only")
            crosscheck.check(self.fun, *args, argnums=self.argnums, has_aux=self.has_aux,
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
            raise OptionValueError("block() is for dense, unbatched Hessians")
        from .blocks import BlockFunction
        return BlockFunction(self, i, j, rows)

    # --- tracing ----------------------------------------------------------------------------
    def normalized_argnums(self, nargs):
        many = isinstance(self.argnums, tuple)
        nums = self.argnums if many else (self.argnums,)
        out = []
        for a in nums:
            if not -nargs <= a < nargs:
                raise OptionValueError(
                    f"argnums={self.argnums!r} names argument {a}, but {self.name} "
                    f"was called with {nargs} positional argument(s)")
            out.append(a % nargs)
        if len(set(out)) != len(out):
            raise OptionValueError(f"argnums={self.argnums!r} repeats an argument")
        static = {s % nargs for s in self.static_argnums if -nargs <= s < nargs}
        if static & set(out):
            raise OptionValueError(
                f"argument(s) {sorted(static & set(out))} of {self.name} are both "
                "in argnums and static_argnums")
        return out, many, static
