"""Lowering an array graph to a loop program: loops over index spaces, written as Python.

Every node is either *materialized* (computed once into an array by a loop nest) or *inlined*
(its value at an index is an expression, printed into its consumers' loop bodies). Reductions,
contractions, scatters, embeddings, concatenations and reshapes are materialized; index maps
(broadcasts, transposes, slices, gathers, identity matrices) are always inlined, so a transpose
or a broadcast costs nothing; arithmetic is inlined into its one consumer unless that would
evaluate a costly function (``exp``, ``log``, a division...) more often than once per element,
or it has several consumers, or it ends a run too deep to print as one expression
(`Fusion.deep_ends`). So ``X.T @ diag(s) @ X`` is one loop nest
``H[t, j] += X[i, t] * s[i] * X[i, j]`` with ``s`` computed once per row beforehand.

The kernel takes the function's inputs and then the graph's array constants, and returns the
output buffer of the product's layout. The program is a small subset of Python (arrays of
fixed shapes, ``for`` loops over ``range``, scalar arithmetic) that `codegen.loop_ir` compiles
to LLVM IR for the native target, and that Numba compiles as it is where that target is off.
"""

from __future__ import annotations

import math

from .. import errors
from ..codegen.choice import native_enabled
from ..codegen.native import program_module
from ..codegen.spec import plain_label, sanitize
from . import contraction, factor
from .contraction import CACHE_BYTES, flat
from .einsum import size_of
from .fusion import FUSED, Fusion
from .graph import topological

#: The most memory (bytes) the intermediate arrays of one kernel may take.
MAX_TEMPORARIES = 4 << 30
RECOMPUTE_READS = 16      # the most array reads a shared expression recomputed per use may have
ALWAYS = ("sum", "max", "einsum", "scatter", "embed", "concat", "reshape") + factor.OPS
INDEX_MAPS = ("bcast", "transpose", "slice", "gather", "eye", "input", "const")
CHEAP = {"add", "sub", "mul", "neg", "gt", "ge", "lt", "le", "eq", "ne", "and", "or", "not",
         "maximum", "minimum", "abs", "sign"}

UNARY = {"exp": "math.exp", "log": "math.log", "log1p": "math.log1p", "expm1": "math.expm1",
         "erf": "math.erf", "erfc": "math.erfc",
         "sin": "math.sin", "cos": "math.cos", "tan": "math.tan", "tanh": "math.tanh",
         "sinh": "math.sinh", "cosh": "math.cosh", "sqrt": "math.sqrt", "abs": "abs",
         "sign": "np.sign", "arctan": "math.atan", "arcsin": "math.asin", "arccos": "math.acos",
         "arcsinh": "math.asinh", "arctanh": "math.atanh", "floor": "np.floor",
         "ceil": "np.ceil"}
BINARY = {"add": "+", "sub": "-", "mul": "*", "div": "/", "gt": ">", "ge": ">=", "lt": "<",
          "le": "<=", "eq": "==", "ne": "!=", "and": "and", "or": "or"}


def _cheap(node) -> bool:
    return node.op in INDEX_MAPS or (node.op in ("unary", "binary") and node.params[0] in CHEAP) \
        or node.op == "where" or _product_form(node)


def _product_form(node):
    """For an einsum that sums over nothing, or only over an index an identity-matrix operand
    fixes (a seed's tangent: ``sum_k X[i, k] E[t, j, k]``), ``(eye operand, its labels)``
    (``(None, None)`` when none is needed): its value at an index is one product, printed into
    its consumers like elementwise arithmetic. None for any other node."""
    if node.op != "einsum":
        return None
    labels, out = node.params
    reduced = {l for ls in labels for l in ls} - set(out)
    if not reduced:
        return (None, None)
    if len(reduced) != 1:
        return None
    (r,) = reduced
    for x, ls in zip(node.args, labels):
        if x.op == "eye" and len(ls) >= 2 and ls[-1] == r and all(l in out for l in ls[:-1]) \
                and sum(l == r for ls2 in labels for l in ls2) >= 1 and len(set(ls)) == len(ls):
            return (x, ls)
    return None


class Lowering(Fusion):
    """The loop program of ``roots``: which nodes are arrays, and the statements computing them."""

    def __init__(self, roots, dtype: str = "float64", labels=(), symmetric=()):
        self.roots, self.dtype, self.labels = list(roots), dtype, list(labels)
        self.order = topological(self.roots)
        self.consumers = {}
        for node in self.order:
            for a in node.args:
                self.consumers[a.id] = self.consumers.get(a.id, 0) + 1
        self.materialized = self._choose()
        self.symmetric = self._symmetric(symmetric)
        self.names = {}
        self.lines: list = []
        self.index_arrays = {}          # (input, axis length) -> its checked, wrapped copy
        self.prologue: list = []        # statements checking runtime index arrays
        self._fresh = 0
        self.scalars: set = set()       # fused nodes held in a register, not an array
        self._group = None              # the open loop nest of fused elementwise nodes
        self._reads: dict = {}          # fused node id -> where it was read
        self._read_log: list = []       # (fused node id, where) of every read, in order
        self._escaped: set = set()      # fused nodes read whole (a view, a BLAS operand)

    def _symmetric(self, roots) -> set:
        """Ids of the einsums known to be symmetric matrices: a symmetric root, and what it
        equals up to adding or scaling by symmetric constants (an identity, a number)."""
        consumers = self.consumers
        found = set()
        for node in roots:
            while node is not None and node.ndim == 2 and node.shape[0] == node.shape[1]:
                if node.op == "einsum" and len(node.params[1]) == 2:
                    found.add(node.id)
                    break
                unknown = [a for a in node.args if not _symmetric_constant(a)]
                linear = node.op == "binary" and node.params[0] in ("add", "sub", "mul") \
                    or (node.op == "unary" and node.params[0] == "neg")
                if node.op == "binary" and node.params[0] == "mul" and \
                        not any(a.builder.number(a) is not None for a in node.args):
                    linear = False
                if not linear or len(unknown) != 1 or consumers.get(unknown[0].id, 0) != 1:
                    break
                node = unknown[0]
        return found

    # --- which nodes are arrays ---------------------------------------------------------------
    def _choose(self) -> set:
        consumers = self.consumers
        chosen = {r.id for r in self.roots}
        chosen |= {n.id for n in self.order if n.op in ALWAYS and not _product_form(n)}
        # Arithmetic read by several consumers is computed once, unless it is cheap, large and
        # small as an expression: recomputing a few additions in each consumer costs less than
        # a pass over memory (but printing a shared expression into every consumer, level
        # after level, would grow the kernel exponentially: RECOMPUTE_READS bounds it).
        reads = {}
        for n in self.order:
            if n.op in ("input", "const") or n.id in chosen:
                reads[n.id] = 1
                continue
            reads[n.id] = sum(reads[a.id] for a in n.args) or 1
            if (n.op in ("unary", "binary", "where") or n.op == "einsum") \
                    and consumers.get(n.id, 0) > 1 and not (
                        _cheap(n) and 8 * n.size > CACHE_BYTES
                        and reads[n.id] <= RECOMPUTE_READS):
                chosen.add(n.id)
                reads[n.id] = 1
        chosen -= {n.id for n in self.order if n.op in ("input", "const")}
        evals = {}
        for node in reversed(self.order):
            if node.op in ("input", "const"):
                continue
            if node.id not in chosen:
                heavy = not _cheap(node)
                if heavy and evals.get(node.id, 0) > node.size:
                    chosen.add(node.id)
            count = self.iterations(node) if node.id in chosen else evals.get(node.id, 0)
            for a in node.args:
                if node.op == "reshape" and a.op not in ("input", "const"):
                    chosen.add(a.id)            # a reshape is a view of a contiguous array
                evals[a.id] = evals.get(a.id, 0) + count
        return chosen | self.deep_ends(chosen)

    @staticmethod
    def iterations(node) -> int:
        """How many times a materialized node's loop body runs."""
        if node.op in ("sum", "max"):
            return node.args[0].size
        if node.op == "einsum":
            labels, _ = node.params
            return math.prod(size_of(labels, node.args).values())
        if node.op == "scatter":
            return sum(g.size for g in node.args[0::2])
        if node.op == "embed":
            return node.args[0].size
        return node.size

    # --- expressions -------------------------------------------------------------------------
    def var(self, node) -> str:
        """The name of an input, constant or materialized array, read whole."""
        self._escaped.add(node.id)
        return self._name(node)

    def _name(self, node) -> str:
        if node.op == "input":
            return f"in{node.params[0]}"
        if node.op == "const":
            return f"k{node.params[0]}"
        return self.names[node.id]

    @staticmethod
    def access(var: str, idx: list) -> str:
        return f"{var}[{', '.join(idx)}]" if idx else f"{var}[0]"

    def expr(self, node, idx: list) -> str:
        """The value of ``node`` at index ``idx`` (expressions of the loop variables)."""
        if node.op == "const" and node.params[0] == "s":
            return _literal(node.params[1])
        if node.id in self.materialized or node.op in ("input", "const"):
            if node.op in FUSED:
                group = self._group
                token = (group["token"], tuple(idx)) if group is not None else None
                self._reads.setdefault(node.id, []).append(token)
                self._read_log.append((node.id, token))
                if node.id in self.scalars:
                    return f"u{node.id}"
            return self.access(self._name(node), idx)
        return self.body(node, idx)

    def body(self, node, idx: list) -> str:
        """``node``'s own expression at ``idx``, its operands as values."""
        op, p, args = node.op, node.params, node.args
        if op == "unary":
            x = self.expr(args[0], idx)
            name = p[0]
            if name == "neg":
                return f"(-{x})"
            if name in ("stop", "held_shape"):      # its operand (rules.py: no derivative)
                return x
            if name == "not":
                return f"(not {x})"
            if name == "square":
                return f"({x} ** 2)"
            if name == "recip":
                return f"(1.0 / {x})"
            return f"{UNARY[name]}({x})"
        if op == "binary":
            x, y = self.expr(args[0], idx), self.expr(args[1], idx)
            name = p[0]
            if name == "pow":
                if args[0].dtype != "f":    # NumPy's result is a float: 2 ** -1 is 0.5, not 0
                    x = f"float({x})"
                n = args[1].builder.number(args[1])
                if n is not None and float(n).is_integer() and abs(n) <= 64:
                    return f"({x} ** {int(n)})"
                return f"({x} ** {y})"
            if name in ("maximum", "minimum"):     # NumPy's: a NaN operand gives NaN
                return f"np.{name}({x}, {y})"
            if name in ("arctan2", "fmod"):
                return f"math.{'atan2' if name == 'arctan2' else 'fmod'}({x}, {y})"
            return f"({x} {BINARY[name]} {y})"
        if op == "where":
            c, x, y = (self.expr(a, idx) for a in args)
            return f"({x} if {c} else {y})"
        if op == "eye":
            position = flat(idx[1:], node.shape[1:])
            return f"(1.0 if {idx[0]} == {p[0]} + {position} else 0.0)"
        if op == "bcast":
            shape, dims = p
            src = args[0]
            inner = [idx[d] if src.shape[k] != 1 or shape[d] == 1 else "0"
                     for k, d in enumerate(dims)]
            return self.expr(src, inner)
        if op == "transpose":
            inner = [None] * node.ndim
            for j, q in enumerate(p[0]):
                inner[q] = idx[j]
            return self.expr(args[0], inner)
        if op == "slice":
            inner, it = [], iter(idx)
            for k in p[0]:
                if k[0] == "i":
                    inner.append(str(k[1]))
                else:
                    i = next(it)
                    inner.append(_affine(k[1], k[2], i))
            return self.expr(args[0], inner)
        if op == "einsum":
            labels, out = p
            at = dict(zip(out, idx))
            eye, eye_labels = _product_form(node)
            if eye is None:
                return "(" + " * ".join(self.expr(x, [at[l] for l in ls])
                                        for x, ls in zip(args, labels)) + ")"
            r, n = eye_labels[-1], eye.shape[-1]
            head = flat([at[l] for l in eye_labels[1:-1]], eye.shape[1:-1])
            at[r] = f"({at[eye_labels[0]]} - {eye.params[0]} - ({head}) * {n})" \
                if len(eye_labels) > 2 else f"({at[eye_labels[0]]} - {eye.params[0]})"
            factors = [self.expr(x, [at[l] for l in ls]) for x, ls in zip(args, labels)
                       if x is not eye]
            return f"(({' * '.join(factors) or '1.0'}) if 0 <= {at[r]} < {n} else 0.0)"
        if op == "gather":
            axis, index = p[0], args[1]
            m = index.ndim
            at = self.index(index, args[0].shape[axis], idx[axis:axis + m])
            return self.expr(args[0], idx[:axis] + [at] + idx[axis + m:])
        raise errors.InternalError(f"no expression for {op}")

    def index(self, index, length: int, idx: list) -> str:
        """An index into an axis of ``length`` read from integer array ``index``. A runtime
        index array is checked once (NumPy's bounds, negative indices counted from the end)."""
        if index.op != "input":
            return self.expr(index, idx)          # a constant: checked while tracing
        key = (index.params[0], length)
        name = self.index_arrays.get(key)
        if name is None:
            name = self.index_arrays[key] = f"ix{index.params[0]}_{length}"
            k = index.params[0]
            label = plain_label(self.labels[k]) if k < len(self.labels) else ""
            what = f"argument {label}" if label else f"input {k}"
            message = (f"symhess kernel: an index in {what} is out of bounds for an axis of "
                       f"size {length}")
            self.prologue += [
                f"    {name} = np.empty({index.shape or (1,)!r}, dtype=np.int64)",
                f"    for i0 in range({index.size}):",
                f"        v = in{k}.flat[i0]" if index.ndim != 1 else f"        v = in{k}[i0]",
                f"        if v < {-length} or v >= {length}:",
                f"            raise IndexError({message!r})",
                f"        {name}.flat[i0] = v + {length} if v < 0 else v" if index.ndim != 1
                else f"        {name}[i0] = v + {length} if v < 0 else v"]
        return self.access(name, idx)

    # --- statements --------------------------------------------------------------------------
    def loops(self, shape, depth=1, names=None) -> tuple[list, list, int]:
        """``for`` headers over ``shape``, their index names, and the body's depth."""
        names = names or [self.fresh() for _ in shape]
        heads = [f"{'    ' * (depth + k)}for {i} in range({n}):" for k, (i, n)
                 in enumerate(zip(names, shape))]
        return heads, names, depth + len(shape)

    def fresh(self) -> str:
        self._fresh += 1
        return f"i{self._fresh}"

    def alloc(self, node, fill: str) -> str:
        name = f"t{node.id}"
        self.names[node.id] = name
        shape = node.shape or (1,)
        dtype = {"f": f"np.{self.dtype}", "i": "np.int64", "b": "np.bool_"}[node.dtype]
        self.lines.append(f"    {name} = np.{fill}({shape!r}, dtype={dtype})")
        return name

    def emit(self, node):
        """The statements that materialize ``node``."""
        op, p, args = node.op, node.params, node.args
        add = self.lines.append
        if op == "reshape":
            self.names[node.id] = f"t{node.id}"
            add(f"    t{node.id} = {self.var(args[0])}.reshape({node.shape or (1,)!r})")
            return
        if op in ("sum", "max"):
            name = self.alloc(node, "zeros" if op == "sum" else "empty")
            if op == "max":
                lowest = {"f": "-np.inf", "i": str(-2 ** 63), "b": "False"}[node.dtype]
                add(f"    {name}[:] = {lowest}")
            src = args[0]
            heads, idx, depth = self.loops(src.shape)
            out = self.access(name, [i for k, i in enumerate(idx) if k not in p[0]])
            value = self.expr(src, idx)
            stmt = f"{out} += {value}" if op == "sum" else f"{out} = np.maximum({out}, {value})"
            self.lines += heads + ["    " * depth + stmt]
            return
        if op == "einsum":
            contraction.emit(self, node)
            return
        if op in factor.OPS:
            factor.emit(self, node)
            return
        if op == "scatter":
            name = self.alloc(node, "zeros")
            for g, index in zip(args[0::2], args[1::2]):
                heads, idx, depth = self.loops(g.shape)
                self.lines += heads + ["    " * depth + self.scatter_statement(node, name, g,
                                                                                index, idx)]
            return
        if op == "embed":
            name = self.alloc(node, "zeros")
            g = args[0]
            heads, idx, depth = self.loops(g.shape)
            at, it = [], iter(idx)
            for k in p[1]:
                at.append(str(k[1]) if k[0] == "i" else _affine(k[1], k[2], next(it)))
            self.lines += heads + ["    " * depth + f"{self.access(name, at)} = {self.expr(g, idx)}"]
            return
        if op == "concat":
            name = self.alloc(node, "empty")
            axis, offset = p[0], 0
            for part in args:
                heads, idx, depth = self.loops(part.shape)
                at = list(idx)
                at[axis] = f"{offset} + {idx[axis]}" if offset else idx[axis]
                self.lines += heads + ["    " * depth +
                                       f"{self.access(name, at)} = {self.expr(part, idx)}"]
                offset += part.shape[axis]
            return
        name = self.alloc(node, "empty")                # an elementwise node or an index map
        heads, idx, depth = self.loops(node.shape)
        self.lines += heads + ["    " * depth + f"{self.access(name, idx)} = {self.body(node, idx)}"]

    def scatter_statement(self, node, name, g, index, idx) -> str:
        """``out[index[...]] += g[...]`` at loop index ``idx`` over ``g``'s shape."""
        axis, m = node.params[0], index.ndim
        at = self.index(index, node.params[1], idx[axis:axis + m])
        return f"{self.access(name, idx[:axis] + [at] + idx[axis + m:])} += {self.expr(g, idx)}"

    def temporaries(self) -> int:
        """Bytes of the arrays the kernel allocates (a reshape is a view)."""
        return sum(8 * max(n.size, 1) for n in self.order
                   if n.id in self.materialized and n.op != "reshape")


def _symmetric_constant(node) -> bool:
    """A number, a square identity, or sums and products of them: symmetric whatever it is
    added to or multiplies."""
    if node.builder.number(node) is not None:
        return True
    if node.op == "binary" and node.params[0] in ("add", "sub", "mul"):
        return all(_symmetric_constant(a) for a in node.args)
    return node.op == "eye" and node.params[0] == 0 and node.shape == (node.shape[0],) * 2


def _literal(value) -> str:
    if isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return repr(value)
    if math.isnan(value):
        return "np.nan"
    if math.isinf(value):
        return "np.inf" if value > 0 else "(-np.inf)"
    return repr(float(value))


def _affine(start, step, i) -> str:
    if step == 1:
        return f"{start} + {i}" if start else i
    return f"{start} + {step} * {i}" if start else f"{step} * {i}"


def kernel_source(roots, inputs, constants, out_size, out_shape, dtype, title, version,
                  labels=(), symmetric=(), native=None, parts=None) -> str:
    """A module defining ``kernel(in0, ..., k0, ...)``: the values of ``roots``, flattened one
    after the other into one buffer of ``out_size`` values, returned with ``out_shape``.

    ``inputs`` and ``constants``: ``(shape, dtype name)`` of each kernel input and of each
    array constant; ``labels`` the inputs' names for error messages; ``symmetric``: roots
    known to be symmetric matrices; ``parts``: as `codegen.KernelSpec.parts` (the native
    kernel returns them). The loop program is compiled by the native target
    (`codegen.native.program_module`) where it is available (``native``: None chooses as
    `codegen.choice.native_enabled`), else by Numba.
    """
    lowering = Lowering(roots, dtype, labels, symmetric)
    need = lowering.temporaries()
    if need > MAX_TEMPORARIES:
        raise errors.KernelMemoryError(
            f"the {sanitize(title)} kernel would allocate {need / 2**30:.1f} GiB of intermediate "
            f"arrays (the limit is {MAX_TEMPORARIES / 2**30:.0f} GiB): the array tier computes "
            "the Hessian as one directional derivative per variable at once. Use symhess.hvp "
            "for Hessian-vector products, or HessianFunction.block for part of the Hessian")
    args = [f"in{k}" for k in range(len(inputs))] + [f"k{k}" for k in range(len(constants))]
    lines = []
    for k, (shape, kind) in enumerate(inputs):
        want = shape or (1,)
        lines.append(f"    in{k} = np.ascontiguousarray(np.asarray(in{k}, dtype=np.{kind}))"
                     f".reshape({want!r})")
    program = lowering.program()
    lines += lowering.prologue + program
    if len(roots) == 1 and out_size == roots[0].size:
        lines.append(f"    return {lowering.var(roots[0])}.reshape({tuple(out_shape)!r})")
    else:
        lines.append(f"    out = np.empty({out_size}, dtype=np.{dtype})")
        offset = 0
        for r in roots:
            lines.append(f"    out[{offset}:{offset + r.size}] = {lowering.var(r)}.reshape(-1)")
            offset += r.size
        lines.append(f"    return out.reshape({tuple(out_shape)!r})")
    text = f"def kernel({', '.join(args)}):\n" + "\n".join(lines) + "\n"
    loops = sum(1 for line in lines if line.lstrip().startswith("for "))
    if native is None:
        native = native_enabled()
    if native:
        names = [plain_label(labels[k]) if k < len(labels) else "" for k in range(len(inputs))]
        arguments = [(kind, tuple(shape), False, name, False)
                     for (shape, kind), name in zip(inputs, names)]
        arguments += [(kind, tuple(shape), False, f"constant {k}", False)
                      for k, (shape, kind) in enumerate(constants)]
        work = sum(lowering.iterations(n) for n in lowering.order if n.id in lowering.materialized)
        head = (f"# Generated by symhess {sanitize(version)}: {sanitize(title)}.\n"
                f"# Native CPU kernel of the array tier (LLVM IR compiled by llvmlite): "
                f"{len(lowering.materialized)} arrays, {loops} loops.\n"
                "# Do not edit: regenerate it instead.\n")
        return program_module(text, arguments, dtype, tuple(out_shape), work, head, parts)
    head = (f"# Generated by symhess {sanitize(version)}: {sanitize(title)}.\n"
            f"# Numba CPU kernel of the array tier: {len(lowering.materialized)} arrays, "
            f"{loops} loops.\n"
            "# Do not edit: regenerate it instead.\n\n"
            "import math\n\nimport numpy as np\nimport numba\n\n\n"
            "@numba.njit(cache=True, nogil=True, error_model='numpy')\n")
    return head + text
