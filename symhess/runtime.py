"""Calling a compiled kernel: argument flattening, checks, batching, Dask, GPU, assembly.

`Compiled` is the one object every product (Hessian, Hessian-vector product, block, gradient)
compiles to: it is constructed complete, after its kernel exists, and everything other modules
need of it is a public read-only property. `CompiledDerivation` adds the closed forms of what
it computes, and `CompiledHessian` is the Hessian's (``symhess.derivatives`` has the others').
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import numpy as np

from . import errors, gpu, pytree
from .distributed import RemoteKernel, batched_call, is_dask
from .signature import array_like, needs_conversion

if TYPE_CHECKING:
    import scipy.sparse
    import symengine as se

    from .codegen import KernelSpec


class Compiled:
    """A function's product for one input signature: a compiled kernel, its layout and inputs.

    Call it with the same arguments as the function (and, for a Hessian-vector product, the
    tangent after them). ``source`` is the generated kernel module.
    """

    def __init__(self, *, name: str, what: str, kernel, source: str, key: str, layout,
                 leaves: list, arg_pytrees: list, arguments: Optional[tuple], dtype,
                 has_aux: bool = False, fun=None, target: str = "cpu", round_to=None,
                 into=None, assembled: bool = False):
        self._name, self._what, self._kernel, self._source, self._key = \
            name, what, kernel, source, key
        self._layout, self._leaves, self._arg_pytrees = layout, tuple(leaves), arg_pytrees
        self._arguments, self._dtype, self._has_aux, self._fun = arguments, dtype, has_aux, fun
        self._target, self._round_to, self._into = target, round_to, into
        self._batched = [l for l in leaves if l.batch_axis is not None]
        self._on_host = getattr(layout, "on_host", False)       # a sparse result: SciPy's
        self._block_major = bool(self._batched) and target == "cuda"
        self._nargs = len(arg_pytrees)
        simple = all(td == pytree.LEAF and isinstance(a, int) for a, td in arg_pytrees)
        positions = tuple(a for a, _ in arg_pytrees)
        # Batched kernels always take the general path: it checks the point counts agree,
        # which the kernel (sized by the first batched input) relies on.
        # A result of several parts (`symhess.layout.Sections`) is split by a function made
        # once, on the same direct path.
        # A kernel that returns the parts itself (``assembled``: `codegen.KernelSpec.parts`)
        # needs no split at all.
        self._assembled = assembled
        self._split = None if assembled else getattr(layout, "split", None)
        if simple and (layout.direct or self._split is not None or assembled) and not has_aux \
                and not self._batched and positions == tuple(range(len(positions))) \
                and round_to is None:
            self._call = self._call_direct
        else:
            self._call = self._call_general
        self._direct = self._call == self._call_direct

    # --- what it is ---------------------------------------------------------------------------
    name = property(lambda self: self._name, doc="The function's name.")
    kernel = property(lambda self: self._kernel, doc="The compiled kernel: flat inputs in, "
                      "a flat buffer (or the result itself) out.")
    source = property(lambda self: self._source, doc="The generated kernel module's source.")
    key = property(lambda self: self._key, doc="The kernel's disk-cache key.")
    layout = property(lambda self: self._layout, doc="Where each value lives in the output.")
    leaves = property(lambda self: self._leaves, doc="The kernel's inputs (`signature.Leaf`), "
                      "in order.")
    arg_pytrees = property(lambda self: self._arg_pytrees,
                           doc="``(argument, tree structure)`` of each non-static argument.")
    dtype = property(lambda self: self._dtype, doc="The dtype of the result.")
    target = property(lambda self: self._target, doc="``'cpu'`` or ``'cuda'``.")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if not self._direct:
            return self._call(*args, **kwargs)
        if kwargs or len(args) != self._nargs:     # keywords, or static arguments to drop
            return self._call_general(*args, **kwargs)
        try:                                        # `_call_direct`, a call sooner
            flat = self._kernel(*args)
        except Exception as e:
            return self._direct_failed(e, args)
        return flat if self._split is None else self._split(flat)

    @property
    def pattern(self):
        """For ``sparse=`` results: the pattern, known without evaluating anything: the result's
        form (``sparse_format``) with ones for values."""
        sparse = getattr(self._layout, "sparse", None)
        if sparse is None:
            raise AttributeError(f"pattern is defined for sparse results (sparse=True, 'upper' "
                                 f"or 'lower'); this {self._what} is dense: use .sparsity")
        return sparse.matrix(np.ones(sparse.size, dtype=self._dtype))

    def fast_callable(self):
        """The cheapest callable equivalent to this one for positional array arguments."""
        return self._kernel if self._call == self._call_direct and self._split is None \
            else self._call

    # --- calls ------------------------------------------------------------------------------
    def _call_direct(self, *args, **kwargs):
        if kwargs or len(args) != self._nargs:     # keywords, or static arguments to drop
            return self._call_general(*args, **kwargs)
        try:
            flat = self._kernel(*args)
        except Exception as e:
            return self._direct_failed(e, args)
        return flat if self._split is None else self._split(flat)

    def _direct_failed(self, error: Exception, args: tuple):
        """The kernel refused ``args``: the general path's result for arguments it converts
        (byte order, float16, JAX arrays...), else the error naming the arguments."""
        if any(map(needs_conversion, args)):
            return self._call_general(*args)
        if not type_error(error):
            raise error
        raise wrong_types(self._title(), self._leaves, args) from error

    def _title(self):
        return f"{self._what} of {self._name}"

    def flat_arguments(self, args, kwargs) -> list:
        """The kernel's inputs: the arguments' leaves, in order."""
        leaves = []
        for arg, treedef in self._arg_pytrees:
            value = args[arg] if isinstance(arg, int) else kwargs[arg]
            if treedef == pytree.LEAF:
                leaves.append(value)
            else:
                values, got = pytree.flatten(value)
                if got != treedef:
                    raise errors.InputTypeError(
                        f"argument {arg} of {self._name} changed tree structure "
                        "since it was compiled")
                leaves.extend(values)
        return leaves

    def _kernel_leaves(self, args, kwargs) -> list:
        """`flat_arguments` as the kernel takes them: other libraries' arrays read by NumPy,
        byte order and float16 converted to the kernel's dtype."""
        leaves = self.flat_arguments(args, kwargs)
        if any(map(needs_conversion, leaves)):
            leaves = [v if not needs_conversion(v) else np.asarray(v) if array_like(v)
                      else v.astype(leaf.dtype) for v, leaf in zip(leaves, self._leaves)]
        return leaves

    def _check_arguments(self, args, kwargs):
        """Raise `ArgumentCountError` unless the call passes the arguments compiled for."""
        names, keywords = self._arguments
        if len(args) == len(names) and set(kwargs) == set(keywords):
            return
        want = ", ".join(list(names) + [f"{k}=" for k in keywords]) or "no arguments"
        got = f"{len(args)} positional argument(s)" + \
            (f" and keyword(s) {', '.join(sorted(kwargs))}" if kwargs else "")
        raise errors.ArgumentCountError(
            f"the compiled {self._title()} takes the arguments it was compiled for "
            f"({want}); got {got}. Pass the same arguments as to {self._name}; for other "
            "arguments call the function symhess returned, which compiles for each "
            "new signature")

    def _call_general(self, *args, **kwargs):
        if self._arguments is not None:
            self._check_arguments(args, kwargs)
        leaves = self._kernel_leaves(args, kwargs)
        if self._batched:
            leaves = self._points_first(leaves)
        if self._batched and any(is_dask(leaves[leaf.index]) for leaf in self._batched):
            flat = self._dask_call(leaves)
        else:
            flat = call_kernel(self._kernel, self._title(), self._leaves, leaves)
        if self._assembled:                 # the parts, from the kernel itself
            result = flat if self._round_to is None else tuple(
                np.asarray(part).astype(self._round_to)[()] for part in flat)
        else:
            if self._round_to is not None:
                flat = flat.astype(self._round_to)
            if self._on_host:
                flat = gpu.to_host(flat)
            result = self._layout.assemble(flat, batched=bool(self._batched),
                                           block_major=self._block_major)
        if self._has_aux:
            return result, self._fun(*args, **kwargs)[1]
        return result

    def into(self, out: np.ndarray, *args: Any, **kwargs: Any) -> np.ndarray:
        """Write ``self(*args, **kwargs)`` into ``out`` and return it (batched, CPU target).

        ``out`` is a writeable C-contiguous array of the result's shape and dtype, which must
        be one array (a single differentiated leaf and output). Reusing it across calls saves
        allocating and first touching the output, a quarter of the time of a large batch.
        """
        if self._into is None or not self._layout.direct:
            raise errors.ArgumentValueError(
                f"into() writes batched {self._what}s that are one array, computed "
                f"on the CPU; {self._name}'s is not: call it instead")
        leaves = self._points_first(self._kernel_leaves(args, kwargs))
        if any(is_dask(leaf) for leaf in leaves):
            raise errors.ArgumentValueError(
                "into() writes NumPy arrays; call the Hessian itself on Dask arrays")
        n = np.shape(leaves[self._batched[0].index])[0]
        want = (n,) + tuple(self._layout.out_shape)
        if not (isinstance(out, np.ndarray) and out.shape == want and out.dtype == self._dtype
                and out.flags.c_contiguous and out.flags.writeable):
            raise errors.ArgumentValueError(
                f"out must be a writeable C-contiguous {self._dtype} array of shape "
                f"{want}; got {type(out).__name__} "
                f"{getattr(out, 'shape', '')} {getattr(out, 'dtype', '')}".rstrip())
        if any(np.may_share_memory(out, leaf) for leaf in leaves if isinstance(leaf, np.ndarray)):
            raise errors.ArgumentValueError(
                "out shares memory with an argument; pass a separate array")
        self._into(*leaves, out.reshape(n, -1))
        return out

    def _dask_call(self, leaves):
        """The kernel mapped over the Dask chunks of the points (`symhess.distributed`)."""
        if self._target != "cpu":
            raise errors.OptionValueError(
                f"Dask arrays are computed with target='cpu'; {self._name} was "
                f"compiled for target={self._target!r}")
        kernel = RemoteKernel(self._key, self._source)
        return batched_call(kernel, leaves, [leaf.batch_axis is not None for leaf in self._leaves],
                            self._layout.out_shape, self._dtype)

    def _points_first(self, leaves):
        """Move each batched leaf's batch axis to the front and check the point counts agree."""
        out, count = list(leaves), None
        for leaf in self._batched:
            value = out[leaf.index]
            if not (gpu.on_device(value) or is_dask(value)):
                value = np.asarray(value)
            axis = leaf.batch_axis % max(value.ndim, 1)
            if value.ndim != len(leaf.shape) + 1:
                raise errors.ArgumentValueError(
                    f"batched argument {leaf.label} of {self._name} has shape "
                    f"{value.shape}; expected one batch axis plus {leaf.shape}")
            if axis and gpu.on_device(value):
                raise errors.ArgumentValueError(
                    f"batched GPU argument {leaf.label} of {self._name} has its "
                    f"batch axis at {leaf.batch_axis}; move it to the front on the "
                    "device (and make the array contiguous), or pass batch_axis=0")
            if axis:
                value = np.moveaxis(value, axis, 0)
            if count is None:
                count = value.shape[0]
            elif value.shape[0] != count:
                raise errors.ArgumentValueError(
                    f"batched arguments of {self._name} disagree on the number of "
                    f"points: {leaf.label} has {value.shape[0]}, others {count}")
            out[leaf.index] = value
        return out


class CompiledDerivation(Compiled):
    """A compiled product with a symbolic side (``derivation``): besides the call it gives the
    closed forms of what it computes (`entries`, `expressions`, `latex`, `pretty`, `cse`),
    their sparsity, and standalone code (`save`). ``derivation`` may be a function making it
    on first use (the array tier's products derive entries only when asked)."""

    def __init__(self, *, derivation, what: str, templates=(), **options):
        super().__init__(what=what, **options)
        self._derivation, self._templates = derivation, list(templates)
        self._derivation_lock = threading.Lock()

    @property
    def derivation(self):
        """The symbolic side (`symhess.lower.Derivation`): outputs, variables, entries, kernel
        spec."""
        with self._derivation_lock:
            if callable(self._derivation):
                self._derivation = self._derivation()
        return self._derivation

    templates = property(lambda self: self._templates,
                         doc="The element templates its kernel evaluates in loops.")
    variables = property(lambda self: self.derivation.variables,
                         doc="The differentiated variables' symbols, flat, in Hessian order.")
    outputs = property(lambda self: self.derivation.outputs,
                       doc="The flat output expressions (element sums written out).")
    diff_leaves = property(lambda self: self.derivation.diff_leaves,
                           doc="The differentiated leaves, in Hessian order (``argnums`` order).")
    dense_layout = property(lambda self: self.derivation.dense_layout,
                            doc="The dense block layout (`symhess.layout.Layout`), also of a "
                                "sparse Hessian: what its closed forms are arranged by.")
    out_tree = property(lambda self: self.derivation.out_tree,
                        doc="The output's tree structure.")
    diff_tree = property(lambda self: self.derivation.diff_tree,
                         doc="The differentiated arguments' tree structure.")
    single = property(lambda self: self._layout.direct,
                      doc="Whether the Hessian is one dense array (one output and one "
                          "differentiated leaf).")

    def entries(self) -> dict[tuple[int, int, int], se.Basic]:
        """``{(o, k, l): expression}``: the nonzero upper-triangle entries, derived on demand.

        ``o`` indexes the flattened outputs, ``k <= l`` the flattened differentiated inputs (in
        argument order, each leaf in C order). Expressions are SymEngine objects.
        """
        return self.derivation.entries()

    def traced_value(self, args: tuple) -> np.ndarray:
        """The traced outputs at positional ``args``, flat, evaluated from the expressions (not
        by the kernel): what `symhess.check` compares with plain NumPy."""
        return self.derivation.value(args)

    def kernel_spec(self) -> KernelSpec:
        """The `codegen.KernelSpec` of this Hessian, unrolled (derived and CSE'd on demand)."""
        return self.derivation.kernel_spec()

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

    def matrix(self, latex: bool = False) -> str:
        """The Hessian as a matrix expression, for Hessians the array tier compiled.

        Contractions print as products (``X.T @ diag(w) @ X``), elementwise arithmetic with
        NumPy's operators (``\\odot`` in LaTeX), subexpressions used more than once named
        ``s1, s2, ...`` and defined after it. ``latex=True`` gives an ``aligned`` block.

        >>> import numpy as np, symhess
        >>> f = lambda w, X: np.sum(np.exp(X @ w))
        >>> c = symhess.hessian(f, tier="array").compile(np.zeros(2), np.ones((3, 2)))
        >>> print(c.matrix())
        H = X.T @ diag(exp(X @ w)) @ X
        """
        matrix = getattr(self.derivation, "matrix", None)
        if matrix is None:
            raise errors.OptionValueError(
                "matrix() is for Hessians compiled by the array tier: pass tier='array' to "
                "symhess.hessian; entries() and pretty() give any Hessian entry by entry")
        return matrix(latex)

    def cse(self) -> tuple[list, dict]:
        """``(replacements, reduced)`` as emitted into the kernel, as SymPy expressions."""
        from . import inspect
        return inspect.cse(self)

    @property
    def sparsity(self) -> scipy.sparse.csr_array:
        """The structural nonzero pattern (a boolean sparse matrix); see `symhess.inspect.sparsity`."""
        from . import inspect
        return inspect.sparsity(self)

    def save(self, path: str | os.PathLike, name: Optional[str] = None) -> list[Path]:
        """Write standalone code: ``.py`` (NumPy + Numba only) or ``.c`` (C99 with a header)."""
        from . import export
        return export.save(self, path, name=name)


class CompiledHessian(CompiledDerivation):
    """The Hessian of a function for one input signature: a compiled kernel and its layout.

    Call it with the same arguments as the function. Besides the call it gives the Hessian's
    closed forms (`entries`, `expressions`, `latex`, `cse`), its sparsity, and standalone code
    (`save`). ``templates`` are the element templates its kernel evaluates in loops
    (`symhess.templates`).
    """

    def __init__(self, *, derivation, templates=(), **options):
        super().__init__(derivation=derivation, what="Hessian", templates=templates, **options)


def type_error(error: Exception) -> bool:
    """Whether calling a kernel failed on the arguments' types (Numba's typing errors)."""
    return isinstance(error, TypeError) or type(error).__module__.startswith("numba.")


def call_kernel(kernel, what, leaves, values):
    """``kernel(*values)``; arguments of types it cannot take are an error naming its types."""
    try:
        return kernel(*values)
    except Exception as e:
        if not type_error(e):
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
