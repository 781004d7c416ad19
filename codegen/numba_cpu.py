"""The Numba CPU target: a kernel body and the ``@numba.njit`` wrapper that calls it.

`NumbaPython` prints the body as Python for Numba: the target for complex kernels, for what the
LLVM target does not support, and for standalone export. `codegen.numba_llvm.NumbaLLVM` keeps
the same module and prints the bodies as LLVM IR.
"""

from __future__ import annotations

from .spec import KernelSpec, plain_label
from .target import PythonTarget, header, local_names

__all__ = ["NumbaPython", "emit_numba", "header", "parallel", "python_body"]

# Output values are stored from tuples by a loop over constant position tables: one loop
# compiles far faster in Numba than one store statement per entry (and its mirror image).
STORE_CHUNK = 256


def store_chunks(items: list) -> list:
    """``items`` (outputs, or ``(value, positions)``) in the runs stored by one loop each."""
    return [items[start:start + STORE_CHUNK] for start in range(0, len(items), STORE_CHUNK)]


# An element loop runs on all threads when its elements fall into classes that add into
# disjoint positions (`LoopSpec.colours`), or when every element adds into the same positions
# (`LoopSpec.uniform`: a sum of per-thread sums), and when it has enough work: elements times
# the element's statements at least `PARALLEL_WORK`; below it, starting the threads costs more
# than they save. It is split into at most `CHUNKS` ranges of at least `CHUNK_WORK` each (a fixed
# number: numba.get_num_threads() would keep the function out of Numba's cache).
PARALLEL_WORK = 1_000_000
CHUNKS, CHUNK_WORK = 256, 10_000


def parallel(loop) -> bool:
    """Whether element loop ``loop`` runs on all threads (see `PARALLEL_WORK`)."""
    return (loop.uniform or loop.colours > 0) and loop.elements * loop.statements >= PARALLEL_WORK


def _table_scatter(n: int, values: str, row: str) -> list:
    """A loop adding ``values[e]`` at the positions of row ``row`` of the position table (a
    mirror position of -1: none)."""
    return [f"for e in range({n}):", f"    x = {values}[e]", f"    out[pos[{row}, e, 0]] += x",
            f"    m = pos[{row}, e, 1]", "    if m >= 0:", "        out[m] += x"]


def _indent(lines: list, depth: int) -> list:
    """``lines`` indented by ``depth`` levels."""
    return ["    " * depth + line for line in lines]


class NumbaPython(PythonTarget):
    """The Numba CPU target with a body printed as Python: any dtype, complex ones included.

    Every generated kernel module has the same shape. A body ``_body((in0, ..., out))`` computes
    one Hessian into the flat array ``out``, reading each input as a flat C-contiguous array (or
    a number). The wrapper ``kernel(in0, ...)`` allocates the output, makes the inputs
    contiguous, and calls the body once, or once per point along the leading axis of the batched
    inputs in a ``prange`` loop. Element loops (`LoopSpec`) are functions ``_loop<n>`` that add
    into ``out`` after the body. `codegen.numba_llvm.NumbaLLVM` keeps the module and prints the
    bodies as LLVM IR.

    Args:
        cache: compile with ``cache=True`` (Numba's on-disk cache of the compiled functions).
    """

    description = "Numba CPU kernel"
    compiled_elements = False       # element loops call ``_elem<n>`` instead of printing it

    def __init__(self, cache: bool = True):
        self.cache = cache

    def emit(self, spec: KernelSpec, name: str = "kernel", version: str = "") -> str:
        """Python source of a module defining ``name(in0, in1, ...)`` that returns the output
        array; it needs only NumPy and Numba (and ``math`` for ``erf``)."""
        code = (self.body_function(spec) + "\n\n" + self.loop_functions(spec)
                + self.wrapper(spec, name))
        # (math for the functions NumPy lacks: math.erf, math.erfc)
        modules = ("import math\n\n" if "math." in code else "") \
            + "import numpy as np\nimport numba\n"
        return self.module_header(spec, version) + "\n" + modules + "\n" + code

    def scratch(self, spec: KernelSpec) -> int:
        """Doubles of scratch memory the body of ``spec`` takes before ``out`` (none here)."""
        return 0

    def njit(self, flags: str = "") -> str:
        """The ``@numba.njit`` line of a body or loop function."""
        return f"@numba.njit(cache={self.cache}, error_model='numpy', nogil=True{flags})"

    # --- the body --------------------------------------------------------------------------------
    def stores(self, spec, printer, outputs):
        # Every value is cast to the output dtype: Numba indexes only homogeneous tuples.
        lines = []
        for c, part in enumerate(store_chunks(outputs)):
            values = ", ".join(f"np.{spec.dtype}({value})" for value, _ in part)
            lines += [f"v{c} = ({values},)", f"for i in range({len(part)}):",
                      f"    out[_P{c}[i]] = v{c}[i]", f"    out[_M{c}[i]] = v{c}[i]"]
        return lines

    def body_function(self, spec: KernelSpec) -> str:
        """Source of ``_body((in0, ..., out))`` as Python, with its position tables."""
        tables = []
        for c, part in enumerate(store_chunks(spec.outputs)):
            tables.append(f"_P{c} = np.array({[p[0] for _, p in part]!r}, dtype=np.int64)")
            tables.append(f"_M{c} = np.array({[p[-1] for _, p in part]!r}, dtype=np.int64)")
        printer = self.printer(local_names(spec.reads, spec.assignments))
        unpack = ", ".join([f"in{i}" for i in range(len(spec.inputs))] + ["out"])
        lines = [f"{unpack}, = args"] + self.body(spec, printer)
        return ("".join(t + "\n" for t in tables) + "\n\n"
                + self.function("_body", ["args"], lines, self.njit()))

    # --- element loops ---------------------------------------------------------------------------
    def element_step(self, spec: KernelSpec, number: int) -> tuple:
        """``(setup, step)`` of loop ``number``: statements run once per thread (scratch arrays,
        shared reads), and the statements of element ``p``, which add its values into ``out``,
        or into ``acc`` when the loop is uniform. Unindented."""
        loop = spec.loops[number]
        n = len(loop.outputs)
        if self.compiled_elements:
            n_scratch = self.scratch(loop.element_spec(spec))
            shared = [f"in{pos}" for pos in loop.shared_inputs()]
            setup = [f"s = np.empty({len(loop.slots)}, dtype=np.float64)",
                     f"v = np.empty({n}, dtype=np.{spec.dtype})"]
            if n_scratch:
                setup.append(f"w = np.empty({n_scratch}, dtype=np.float64)")
            step = [f"s[{j}] = {self.slot_read(loop, j, pos)}" for j, (_, pos) in enumerate(loop.slots)]
            passed = ["s"] + shared + (["w"] if n_scratch else []) + ["v"]
            step.append(f"_elem{number}(({', '.join(passed)},))")
            values = [f"v[{e}]" for e in range(n)]
        else:
            setup, slots, assignments, printer = self.element_statements(spec, loop)
            step = slots + assignments
            values = [printer.doprint(expr) for expr in loop.outputs]
        # Loops rather than a statement per value where the values are in an array: Numba
        # compiles each printed statement, at some milliseconds apiece for elements of many values.
        if loop.uniform and self.compiled_elements:
            step += [f"for e in range({n}):", "    acc[e] += v[e]"]
        elif loop.uniform:
            step += [f"acc[{e}] += {value}" for e, value in enumerate(values)]
        elif self.compiled_elements and not loop.position_rows:    # a loop over the table's row
            step += _table_scatter(n, "v", "p")
        else:
            for e, value in enumerate(values):
                step.append(f"x = {value}")
                step += self.scatter_add(loop, e, "out[{}] += x")
        return setup, step

    def add_sum(self, loop, total: str) -> list:
        """Statements adding a uniform loop's summed values ``total`` at its (row 0) positions."""
        if not loop.position_rows:                      # one loop over the table's first row
            return _table_scatter(len(loop.outputs), total, "0")
        lines = []
        for e in range(len(loop.outputs)):
            lines.append(f"x = {total}[{e}]")
            lines += self.scatter_add(loop, e, "out[{}] += x", "0")
        return lines

    def loop_function(self, spec: KernelSpec, number: int) -> str:
        """Source of ``_loop<number>((in0, ..., idx, pos, out))`` for ``spec.loops[number]``.

        Neighbouring elements add into the same entries, so elements run in sequence, unless
        the loop is large (`PARALLEL_WORK`) and either uniform (each thread sums a range of
        elements) or coloured: the elements of one class modulo ``loop.colours`` add into
        disjoint positions, so each class runs on all threads, one class after the other.
        """
        loop = spec.loops[number]
        setup, step = self.element_step(spec, number)
        n = len(loop.outputs)
        acc_dtype = "np.complex128" if "complex" in spec.dtype else "np.float64"
        statements = loop.statements
        threads = parallel(loop)
        least = max(1, CHUNK_WORK // max(1, statements))          # elements per range
        if not threads:
            lines = list(setup)
            if loop.uniform:
                lines.append(f"acc = np.zeros({n}, dtype={acc_dtype})")
            lines.append("for p in range(idx.shape[0]):")
            lines += _indent(step, 1)
            if loop.uniform:
                lines += self.add_sum(loop, "acc")
        elif loop.uniform:
            lines = [f"chunks = min({CHUNKS}, max(1, idx.shape[0] // {least}))",
                     f"sums = np.zeros((chunks, {n}), dtype={acc_dtype})",
                     "for c in numba.prange(chunks):"]
            lines += _indent(setup, 1)
            lines += ["    acc = sums[c]",
                      "    for p in range(c * idx.shape[0] // chunks, (c + 1) * idx.shape[0] // chunks):"]
            lines += _indent(step, 2)
            lines += [f"total = np.zeros({n}, dtype={acc_dtype})",
                      "for c in range(chunks):",
                      "    total += sums[c]"]
            lines += self.add_sum(loop, "total")
        else:
            colours = loop.colours
            lines = [f"for r in range({colours}):",
                     f"    count = (idx.shape[0] - r + {colours - 1}) // {colours}",
                     f"    chunks = min({CHUNKS}, max(1, count // {least}))",
                     "    for c in numba.prange(chunks):"]
            lines += _indent(setup, 2)
            lines += ["        for q in range(c * count // chunks, (c + 1) * count // chunks):",
                      f"            p = r + {colours} * q"]
            lines += _indent(step, 3)
        unpack = ", ".join([f"in{i}" for i in range(len(spec.inputs))] + ["idx", "pos", "out"])
        return self.function(f"_loop{number}", ["args"], [f"{unpack}, = args"] + lines,
                             self.njit(", parallel=True" if threads else ""))

    def loop_functions(self, spec: KernelSpec) -> str:
        """The element loops' functions, or nothing."""
        return "".join(self.loop_function(spec, n) + "\n\n" for n in range(len(spec.loops)))

    # --- the wrapper -----------------------------------------------------------------------------
    def wrapper(self, spec: KernelSpec, name: str) -> str:
        """Source of ``name(in0, ...)``: check and convert the inputs, allocate, call ``_body``.

        A kernel with element loops takes an index table and a position table per loop after
        its inputs, and adds the loops' values after the body has written its own.
        """
        if not name.isidentifier():
            raise ValueError(f"kernel name {name!r} is not a Python identifier")
        args = [f"in{i}" for i in range(len(spec.inputs))]
        tables = [f"{kind}{n}" for n in range(len(spec.loops)) for kind in ("idx", "pos")]
        lines = input_checks(spec, args)
        for a, inp in zip(args, spec.inputs):
            if not inp.scalar:
                lines.append(f"{a} = np.ascontiguousarray({a})")
        size, dtype = spec.out_size, f"np.{spec.dtype}"
        scratch = self.scratch(spec)
        extra = [f"np.empty({scratch}, dtype=np.float64)"] if scratch else []
        batched = [a for a, inp in zip(args, spec.inputs) if inp.batched]
        if not batched:
            passed = [a if inp.scalar else f"{a}.reshape(-1)" for a, inp in zip(args, spec.inputs)]
            if spec.outputs or not spec.loops:
                lines.append(f"out = np.empty({size}, dtype={dtype})")
                lines.append(f"_body(({', '.join(passed + extra + ['out'])},))")
            else:                                       # only element loops: they add into zeros
                lines.append(f"out = np.zeros({size}, dtype={dtype})")
            for n in range(len(spec.loops)):
                lines.append(f"_loop{n}(({', '.join(passed + [f'idx{n}', f'pos{n}', 'out'])},))")
            shape = spec.out_shape
            lines.append("return out" if shape == (size,) else f"return out.reshape({shape!r})")
            return self.function(name, args + tables, lines,
                                 f"@numba.njit(cache={self.cache}, nogil=True)")
        if spec.loops:
            raise ValueError("element loops are not supported in batched kernels")
        passed = []
        for a, inp in zip(args, spec.inputs):
            if inp.batched:
                passed.append(f"{a}[b].reshape(-1)" if inp.shape else f"{a}[b:b + 1]")
            else:
                passed.append(a if inp.scalar else f"{a}.reshape(-1)")
        # The output is allocated by NumPy in a plain Python function: NumPy asks for huge
        # pages for large arrays, and the first writes into Numba-allocated memory, page by
        # small page, cost three times the writes themselves.
        lines.append(f"for b in numba.prange({batched[0]}.shape[0]):")
        lines.append(f"    _body(({', '.join(passed + extra + ['out[b]'])},))")
        lines.append("return out")
        into = self.function(f"{name}_into", args + ["out"], lines,
                             f"@numba.njit(cache={self.cache}, nogil=True, parallel=True)")
        call = [f"n = np.shape({batched[0]})[0]",
                f"out = np.empty((n, {size}), dtype={dtype})",
                f"return {name}_into({', '.join(args + ['out'])}).reshape((n,) + {tuple(spec.out_shape)!r})"]
        return (f"OUT_SIZE = {size}\nOUT_DTYPE = {dtype}\n\n\n" + into + "\n\n"
                + self.function(name, args, call))


def input_checks(spec: KernelSpec, args: list) -> list:
    """Statements, unindented, converting each array input to the kernel's dtype (a no-op when
    it has it) and raising ValueError when it has another shape (per point for batched inputs):
    the body reads fixed positions of buffers of that dtype, so it must not see anything else."""
    lines = []
    for k, (a, inp) in enumerate(zip(args, spec.inputs)):
        if inp.scalar:
            continue
        shape = f"{a}.shape[1:]" if inp.batched else f"{a}.shape"
        readable = plain_label(inp.label)
        label = f" ({readable})" if readable else ""
        message = (f"symhess kernel: input {k}{label} has the wrong shape; it takes "
                   f"{tuple(inp.shape)}{' per point' if inp.batched else ''}")
        lines.append(f"{a} = np.asarray({a}, dtype=np.{inp.dtype})")
        lines.append(f"if {shape} != {tuple(inp.shape)!r}:")
        lines.append(f"    raise ValueError({message!r})")
    return lines


def python_body(spec: KernelSpec, cache: bool = True) -> str:
    """Source of ``_body((in0, ..., out))`` as Python for Numba, with its position tables."""
    return NumbaPython(cache).body_function(spec)


def emit_numba(spec: KernelSpec, name: str = "kernel", version: str = "", cache: bool = True) -> str:
    """Python source of a module defining ``name(in0, in1, ...)`` that returns the output array.

    The module needs only NumPy and Numba (`NumbaPython`).
    """
    return NumbaPython(cache).emit(spec, name, version)
