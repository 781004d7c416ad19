"""The array tier's products: tracing a call to an array graph, and the Hessian and hvp plans.

`trace_arrays` runs the function once on `SymArray` leaves (one node per argument leaf);
`HessianProduct`, `DerivativesProduct` and `HVPProduct` plan the kernel of the Hessian
blocks, of a value with its gradient (and Hessian), or of ``H v`` for
`symhess.lower.build`, which emits, caches and compiles it as it does the scalar tier's.
Which tier compiles a function is decided before either traces it
(`symhess.api.HessianFunction.reads_data`).
"""

from __future__ import annotations

import functools
import threading
from dataclasses import dataclass

import numpy as np

from .. import errors, foreign, pytree
from ..layout import Layout, Parts
from ..signature import kernel_dtype, leaf_values, rounded_dtype, symbolic_call, tree_of
from . import indexing, linalg, numpy_rules, rules  # noqa: F401  (they register rules)
from .evaluate import evaluate
from .graph import Builder, Unsupported
from .kernel import kernel_source
from .tracer import SymArray

@dataclass
class ArrayTrace:
    """A function traced to an array graph: its scalar output node and the kernel inputs."""

    name: str
    builder: Builder
    output: object                   # the scalar output's node
    inputs: list                     # the input node of each leaf
    leaves: list
    diff_leaves: list
    diff_tree: object
    dtype: np.dtype
    arg_pytrees: list
    arguments: tuple
    round_to: object = None

    @property
    def diff_inputs(self) -> list:
        return [self.inputs[leaf.index] for leaf in self.diff_leaves]


def trace_arrays(transform, args, kwargs):
    """Trace ``transform.fun`` to an array graph; `Unsupported` when it is not one the array
    tier compiles (a vector output, complex numbers, a function it has no rule for...)."""
    if transform.holomorphic or transform.batch_axis is not None:
        raise Unsupported("holomorphic or batched Hessians")
    b = Builder()
    inputs = []

    def wrap(leaf, lazy_rows):
        kind = leaf.dtype.kind
        if kind == "c":
            raise Unsupported("complex inputs")
        node = b.input(leaf.index, leaf.shape, "f" if kind == "f" else "b" if kind == "b" else "i")
        inputs.append(node)
        return SymArray(node)

    call = symbolic_call(transform, args, kwargs, wrap)
    dtype = kernel_dtype(call.leaves, False)
    if dtype not in (np.float64, np.float32):
        raise Unsupported(f"dtype {dtype}")
    try:
        with foreign.interposed(transform.fun):
            out = transform.fun(*call.args, **call.kwargs)
    except (Unsupported, errors.OperandTypeError):
        raise                   # (an operand no tier takes: scipy.special.polygamma(1.5, x))
    except (errors.SymhessError, TypeError, ValueError, IndexError, AttributeError) as exc:
        if isinstance(exc, errors.SymhessError) and transform.tier == "array":
            raise               # refused in its own words (np.argsort, a wrong argument)
        if isinstance(exc, ValueError) and isinstance(exc.__cause__, Unsupported):
            # NumPy storing a traced value into a float array replaced float()'s error
            raise Unsupported("item assignment of a traced value into a float array "
                              "(np.zeros, np.empty): build arrays with np.stack") from None
        raise Unsupported(f"tracing raised {type(exc).__name__}") from exc
    if transform.has_aux:
        if not (isinstance(out, (tuple, list)) and len(out) == 2):
            raise Unsupported("has_aux output of the wrong form")
        out = out[0]
    if not isinstance(out, SymArray) or out.shape != () or out.node.dtype != "f":
        raise Unsupported("an output that is not one traced scalar")
    many = call.many
    diff_tree = (pytree.TreeDef("tuple", None, tuple(tree_of(args[p]) for p in call.diff_positions))
                 if many else tree_of(args[call.diff_positions[0]]))
    static = call.static
    diff_leaves = [l for p in call.diff_positions for l in call.leaves if l.arg == p]
    return ArrayTrace(
        name=transform.name, builder=b, output=out.node, inputs=inputs, leaves=call.leaves,
        diff_leaves=diff_leaves, diff_tree=diff_tree, dtype=dtype,
        arg_pytrees=[(pos, tree_of(args[pos])) for pos in range(len(args)) if pos not in static]
        + [(k, tree_of(kwargs[k])) for k in sorted(kwargs)],
        arguments=(tuple(call.names), tuple(sorted(kwargs))),
        round_to=rounded_dtype(args, kwargs, static))


@dataclass
class ArrayKernel:
    """The array tier's kernel: printed by itself (`symhess.arrays.kernel`)."""

    roots: list
    inputs: list
    constants: list                  # (shape, dtype name) of each array constant
    out_size: int
    out_shape: tuple
    dtype: str
    title: str
    labels: tuple = ()
    symmetric: tuple = ()            # roots that are symmetric matrices
    parts: list = None               # as `codegen.KernelSpec.parts`

    def emit(self, version: str) -> str:
        return kernel_source(self.roots, self.inputs, self.constants, self.out_size,
                             self.out_shape, self.dtype, self.title, version, self.labels,
                             self.symmetric, parts=self.parts)


def _kernel(trace, roots, layout, title, leaves=None, symmetric=()) -> ArrayKernel:
    leaves = trace.leaves if leaves is None else leaves
    return ArrayKernel(roots=roots, inputs=[(l.shape, l.dtype.name) for l in leaves],
                       constants=[(c.shape, c.dtype.name) for c in trace.builder.constants],
                       out_size=layout.size,
                       out_shape=tuple(layout.out_shape), dtype=trace.dtype.name, title=title,
                       labels=tuple(l.label for l in leaves), symmetric=tuple(symmetric),
                       parts=getattr(layout, "parts", None))


class ArrayDerivation:
    """The symbolic side of an array-tier Hessian: its graphs, and (on first use) the scalar
    tier's per-entry derivation, for the closed forms of small Hessians."""

    def __init__(self, trace: ArrayTrace, blocks, layout, scalar):
        self.trace, self.blocks, self.layout = trace, blocks, layout
        self.diff_leaves, self.dtype = trace.diff_leaves, trace.dtype
        self.out_tree, self.diff_tree = pytree.LEAF, trace.diff_tree
        self.dense_layout = layout
        self._make_scalar, self._scalar = scalar, None
        self._lock = threading.Lock()

    @property
    def scalar(self):
        """The scalar tier's `symhess.lower.Derivation` of the same signature (traced on first
        use: per-entry closed forms are for Hessians small enough to read)."""
        with self._lock:
            if self._scalar is None:
                self._scalar = self._make_scalar()
        return self._scalar

    variables = property(lambda self: self.scalar.variables)
    outputs = property(lambda self: self.scalar.outputs)

    def entries(self) -> dict:
        return self.scalar.entries()

    def kernel_spec(self):
        return self.scalar.kernel_spec()

    def positions(self, key) -> tuple:
        return self.scalar.positions(key)

    def matrix(self, latex: bool = False) -> str:
        """The Hessian blocks as matrix expressions (`symhess.arrays.printer`)."""
        from .printer import matrix_form
        labels = {leaf.index: leaf.label for leaf in self.trace.leaves}
        if self.blocks is None:         # a sparse Hessian's kernel did not need its blocks
            self.blocks = rules.hessian(self.trace.builder, self.trace.output,
                                        self.trace.diff_inputs)
        roots = [h for row in self.blocks for h in row]
        definitions, texts = matrix_form(roots, labels, latex)
        n = len(self.blocks)
        names = ["H"] if n == 1 else [f"H[{i}][{j}]" for i in range(n) for j in range(n)]
        if latex:
            names = ["H"] if n == 1 else [f"H_{{{i}{j}}}" for i in range(n) for j in range(n)]
            rows = [f"{name} &= {text}" for name, text in definitions + list(zip(names, texts))]
            return "\\begin{aligned}\n" + " \\\\\n".join(rows) + "\n\\end{aligned}"
        lines = [f"{name} = {text}" for name, text in zip(names, texts)]
        if definitions:
            lines += ["where"] + [f"    {name} = {text}" for name, text in definitions]
        return "\n".join(lines)

    def value(self, args) -> np.ndarray:
        """The output evaluated by NumPy from the array graph at positional ``args``."""
        inputs = [np.asarray(v) for v in leaf_values(self.trace.leaves, args)]
        out, = evaluate([self.trace.output], inputs, self.trace.builder.constants)
        return np.atleast_1d(out).astype(float)


@dataclass(frozen=True)
class HessianProduct:
    """The dense Hessian of a scalar function, in the blocks of ``jax.hessian``."""

    has_aux: bool = False
    fun: object = None
    scalar: object = None            # () -> the scalar tier's Derivation, for closed forms
    sparse: object = False           # as `symhess.hessian`'s option
    sparse_format: str = "csr_array"

    def plan(self, trace: ArrayTrace, progress):
        from ..lower import Plan
        from ..runtime import CompiledHessian
        dense = Layout([()], [l.shape for l in trace.diff_leaves], pytree.LEAF, trace.diff_tree)
        blocks = None
        with progress.stage("differentiate"):
            if self.sparse:
                root, layout = sparse_hessian(trace, "both" if self.sparse is True else
                                              self.sparse, self.sparse_format, progress)
                roots, diagonal = [root], []
            else:
                layout = dense
                roots, diagonal, blocks = dense_hessian(trace, dense)
        spec = _kernel(trace, roots, layout, f"Hessian of {trace.name}", symmetric=diagonal)
        derivation = ArrayDerivation(trace, blocks, dense, self.scalar)
        make = functools.partial(CompiledHessian, derivation=derivation, has_aux=self.has_aux,
                                 fun=self.fun, round_to=trace.round_to)
        return Plan(leaves=trace.leaves, layout=layout, dtype=trace.dtype, spec=lambda: spec,
                    make=make, tables=list(trace.builder.constants))


def dense_hessian(trace: ArrayTrace, layout) -> tuple:
    """``(roots, symmetric roots, blocks)`` of the dense Hessian in ``layout``: of a sum over
    elements, every element's block added into it (blocks None: derived on demand); else the
    blocks ``H[i][j]`` of forward over reverse with one direction per variable."""
    from .elements import element_hessian
    by_elements = element_hessian(trace, dense=layout)
    if by_elements is not None:
        return [by_elements[0]], [], None
    blocks = rules.hessian(trace.builder, trace.output, trace.diff_inputs)
    diagonal = [blocks[i][i] for i, leaf in enumerate(trace.diff_leaves) if len(leaf.shape) == 1]
    return [h for row in blocks for h in row], diagonal, blocks


def sparse_hessian(trace: ArrayTrace, triangle: str, format: str, progress) -> tuple:
    """``(root, layout)``: the nonzeros of the Hessian in the `symhess.layout.CSRLayout` of
    ``triangle``: of a sum over elements, each element's block added in
    (`symhess.arrays.elements`); else ``c`` Hessian-vector products, one per color of the
    columns (`symhess.arrays.sparsity`), read out of them."""
    from ..layout import CSRLayout
    from .elements import element_hessian
    from .sparsity import color_columns, hessian_pattern
    b, inputs = trace.builder, trace.diff_inputs
    n = sum(x.size for x in inputs)
    with progress.stage("sparsity pattern"):
        by_elements = element_hessian(trace, triangle, format)
        if by_elements is not None:
            return by_elements
        grads = rules.grad(b, trace.output, inputs)
        rows, cols = hessian_pattern(grads, inputs, b.constants)
        layout = CSRLayout(rows, cols, n, triangle, format)
        color = color_columns(rows, cols, n)
    if layout.size == 0:
        return b.zeros((0,)), layout
    c = int(color.max()) + 1
    seeds, offset = {}, 0
    for x in inputs:
        onehot = color[offset:offset + x.size] == np.arange(c)[:, None]
        seeds[x.id] = b.const(onehot.astype(np.float64).reshape((c,) + x.shape))
        offset += x.size
    # products[k][j] = sum over the columns l of color k of H[j, l]: H[j, l] for the l in j's row
    columns = rules.jvp(b, grads, seeds, (c,))
    products = b.concat([b.reshape(col, (c, x.size)) for col, x in zip(columns, inputs)], 1)
    r, l = np.divmod(layout.keys, n)
    return b.gather(b.reshape(products, (c * n,)), color[l] * n + r, 0), layout


@dataclass(frozen=True)
class DerivativesProduct:
    """The value, gradient and Hessian of a scalar function, those of them asked for, stored
    one after the other as `symhess.derivatives.DerivativesProduct` stores them, from one
    kernel: the gradient graph (reverse mode) is the Hessian's first half, so the three share
    every node.

    ``make``: the compiled object's class with its options (the caller's, which knows its
    contract); ``what``: the product's name for titles.
    """

    value: bool
    first: bool
    second: bool
    what: str
    make: object
    sparse: object = False           # the Hessian's ``sparse=`` option
    sparse_format: str = "csr_array"

    def plan(self, trace: ArrayTrace, progress):
        from ..layout import JacobianLayout, Sections, Values
        from ..lower import Plan
        b, diff = trace.builder, trace.diff_leaves
        shapes = [leaf.shape for leaf in diff]
        roots, sections, symmetric = [], [], []
        with progress.stage("differentiate"):
            if self.value:
                roots.append(trace.output)
                sections.append(Values([()], pytree.LEAF))
            if self.first:
                roots += rules.grad(b, trace.output, trace.diff_inputs)
                sections.append(JacobianLayout([()], shapes, pytree.LEAF, trace.diff_tree))
            if self.second and self.sparse:
                root, csr = sparse_hessian(trace, "both" if self.sparse is True else
                                           self.sparse, self.sparse_format, progress)
                roots.append(root)
                sections.append(csr)
            elif self.second:
                layout = Layout([()], shapes, pytree.LEAF, trace.diff_tree)
                more, symmetric, _ = dense_hessian(trace, layout)
                roots += more
                sections.append(layout)
        layout = sections[0] if len(sections) == 1 else Sections(sections)
        spec = _kernel(trace, roots, layout, f"{self.what} of {trace.name}", symmetric=symmetric)
        return Plan(leaves=trace.leaves, layout=layout, dtype=trace.dtype, spec=lambda: spec,
                    make=functools.partial(self.make, round_to=trace.round_to),
                    tables=list(b.constants))


@dataclass(frozen=True)
class HVPProduct:
    """``H(x) v`` of a scalar function: the derivative of the gradient along ``v``, never H.

    ``scalar`` is the scalar tier's `symhess.hvp.HVPProduct` of the same call: it checks the
    tangent and makes its kernel inputs, which both tiers share.
    """

    scalar: object

    def plan(self, trace: ArrayTrace, progress):
        from ..lower import Plan
        from ..runtime import Compiled
        tangents, v_tree = self.scalar.tangents(trace)
        if any(t.dtype.kind not in "fiub" for t in tangents):
            raise Unsupported("a complex tangent")
        b = trace.builder
        directions = [b.input(t.index, t.shape, "f") for t in tangents]
        with progress.stage("differentiate"):
            products = rules.hvp(b, trace.output, trace.diff_inputs, directions)
        leaves = trace.leaves + tangents
        dtype = np.result_type(trace.dtype, *[t.dtype for t in tangents])
        if dtype != trace.dtype:
            raise Unsupported("a tangent of another dtype than the arguments'")
        layout = Parts([l.shape for l in trace.diff_leaves], v_tree)
        spec = _kernel(trace, products, layout, f"Hessian-vector product of {trace.name}",
                       leaves)
        names, keywords = trace.arguments
        return Plan(leaves=leaves, layout=layout, dtype=dtype, spec=lambda: spec,
                    make=functools.partial(Compiled, what="Hessian-vector product",
                                           round_to=trace.round_to),
                    tables=list(b.constants),
                    arg_pytrees=trace.arg_pytrees + [(self.scalar.nargs, v_tree)],
                    arguments=(names + ("v",), keywords))
