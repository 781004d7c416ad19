"""The native CPU target: one LLVM IR module whose entry point is a CPython function.

`NativeCPU` prints the kernel body as LLVM IR (`codegen.llvm_ir.LLVMIR`) and, beside it, an
entry ``PyObject *entry(PyObject *self, PyObject *const *args, Py_ssize_t nargs)`` that Python
calls directly (``METH_FASTCALL``). The entry checks each argument in a few loads and compares:
an exact `numpy.ndarray` of the input's dtype (the interned descriptor), aligned and
C-contiguous, with the input's shape; or an exact `float` for a scalar input. When all fit, it
allocates the output with NumPy's ``PyArray_New``, calls the body on the data pointers and
returns the array. When any does not, it hands the call unchanged to ``self``, a Python function
(`codegen.jit`) that converts the arguments, raises the labelled errors, and calls again.

So nothing is compiled for a kernel but its own IR (`codegen.jit.native_kernel` compiles it
with llvmlite and keeps the object code in the disk cache), and a call costs a C function call:
no Numba typing, no Numba dispatch. Addresses of the interpreter's objects and functions are
not in the IR: the entry reads them from a table in the module, ``@<entry>.ctx``, which the
loader fills in each process, so the object code is the same in every process.

A batched kernel has no CPython entry: a function runs the body over a range of points, and
its driver (`codegen.drivers.native_points`) calls it through ctypes, which releases the GIL, for
ranges of points on several threads at once. Nor has a kernel with an element loop large
enough to run on all threads (`codegen.element_ir.on_threads`): its driver
(`codegen.drivers.native_loops`) calls the body, then ranges of each loop's elements on threads
(`codegen.element_ir.part_function`). The array tier's loop programs (`codegen.loop_ir`) get a CPython entry too
(`program_module`).
"""

from __future__ import annotations

import hashlib
import math

from .entry import POINTEE, STACK_SCRATCH, IRLines, cpython_entry
from .llvm_ir import ELEMENT, OUTPUT, LLVMIR, supports as llvm_supports
from .loop_calls import LINEAR_ALGEBRA
from .element_ir import (in_runs, loop_function, on_threads, operand, parameters, part_function,
                         threaded, total_function)
from .loop_ir import LoopProgram
from .spec import CHUNK, KernelSpec, plain_label, scratch_size
from .target import Target, header

__all__ = ["NativeCPU", "emit_native", "is_native", "program_module"]

# A body of at least this many statements runs with the GIL released (so threads calling
# kernels run at once); below it, releasing costs more than the body.
RELEASE_GIL = 1000

# LLVM's speed level for loop programs: O3 fully unrolls and interleaves their short loops of
# constant length into code that takes seconds to compile (a 20-variable logsumexp: 1.2 s at
# O3, 60 ms at O2) and runs no faster.
LOOP_OPT_LEVEL = 2

# A straight-line kernel of at most this many statements compiles at speed level 0 (no
# optimisation passes, LLVM's fast code generator): 1.3 ms instead of 6 for such a kernel,
# and its calls cost the same (what a call costs is the entry's checks and the result's
# allocation, not a few dozen scalar operations).
QUICK_STATEMENTS = 64

# The line that marks a native module: it imports `codegen.runtime` by the package's real name
# (not importing it here, which `codegen.jit` imports).
IMPORT = (f"\nfrom {__name__.rpartition('.')[0]}.runtime import native_kernel, native_loops, "
          "native_points\n")


def supports(spec: KernelSpec) -> bool:
    """Real dtypes (`codegen.llvm_ir.supports`), and no element loop in a batched kernel."""
    return llvm_supports(spec) and not (batched(spec) and spec.loops)


def batched(spec: KernelSpec) -> bool:
    """Whether ``spec`` runs once per point (`points_function`, `codegen.drivers.native_points`)."""
    return any(i.batched for i in spec.inputs)


def arguments(spec: KernelSpec) -> list:
    """``(dtype, shape, scalar, label, per point)`` of each argument of the kernel: its inputs,
    then the index and position table of each element loop (``None`` in a shape: any
    length). The shape of an input given per point is one point's."""
    out = [(i.dtype, tuple(i.shape), i.scalar, plain_label(i.label), i.batched)
           for i in spec.inputs]
    for n, loop in enumerate(spec.loops):
        rows = loop.elements or None
        out += [("int64", (rows, len(loop.slots)), False, f"index table {n}", False),
                ("int64", (rows, len(loop.outputs), 2), False, f"position table {n}", False)]
    return out


class NativeCPU(Target):
    """A Python module holding the kernel as LLVM IR and loading it as a CPython function.

    The module defines ``kernel(in0, ..., [idx0, pos0, ...])``, which returns the output array
    like the Numba targets' (`codegen.numba_cpu.NumbaPython`), and ``KERNEL_INPUTS``, the
    arguments' dtype, shape, scalar flag, label and batch flag (`arguments`), which its
    conversion path needs. Element loops run in sequence, in the entry, after the body. A
    batched kernel's module also defines ``kernel_into(in0, ..., out)``, writing the points
    into ``out`` of shape (points, values).

    Args:
        chunk: statements per LLVM function of the body (`codegen.llvm_ir.LLVMIR`).
    """

    description = "native CPU kernel (LLVM IR, compiled by llvmlite)"

    def __init__(self, chunk: int = CHUNK):
        self.chunk = chunk

    def supports(self, spec: KernelSpec) -> bool:
        """`supports`, and what runs on several threads at once (a batched kernel's body, an
        element of a loop on threads) has scratch that fits on each thread's stack."""
        if batched(spec) and scratch_size(spec, self.chunk) > STACK_SCRATCH:
            return False
        return supports(spec) and all(
            scratch_size(loop.element_spec(spec), self.chunk) <= STACK_SCRATCH
            for loop in spec.loops if on_threads(loop))

    def emit(self, spec: KernelSpec, name: str = "kernel", version: str = "") -> str:
        if not name.isidentifier():
            raise ValueError(f"kernel name {name!r} is not a Python identifier")
        ir_text = self.ir(spec)
        symbol = "symhess_" + hashlib.sha256(ir_text.encode()).hexdigest()[:24]
        ir_text = ir_text.replace("@SYMBOL@", symbol)
        head = (header(spec, version, self.description)
                + IMPORT + "\n"
                + f"KERNEL_INPUTS = {arguments(spec)!r}\n"
                + f"OUT_SHAPE = {tuple(spec.out_shape)!r}\n\n"
                + f"_IR = r'''\n{ir_text}'''\n\n")
        if batched(spec):
            return head + (f"{name}, {name}_into = native_points(_IR, {symbol!r}, KERNEL_INPUTS, "
                           f"OUT_SHAPE, {spec.dtype!r}, {len(spec.statements())}, globals())\n")
        if threaded(spec):
            loops = [(loop.uniform, loop.scatter_colours, on_threads(loop), loop.statements,
                      len(loop.outputs) if loop.uniform else len(loop.summed),
                      loop.reach if in_runs(loop) else -1)
                     for loop in spec.loops]
            return head + (f"LOOPS = {loops!r}\n\n"
                           f"{name} = native_loops(_IR, {symbol!r}, KERNEL_INPUTS, OUT_SHAPE, "
                           f"{spec.dtype!r}, LOOPS, {scratch_size(spec, self.chunk)}, globals())\n")
        quick = not spec.loops and len(spec.statements()) <= QUICK_STATEMENTS
        return head + _returns_parts(spec.parts) + (
            f"{name} = native_kernel(_IR, {symbol!r}, KERNEL_INPUTS, OUT_SHAPE, "
            f"{spec.dtype!r}, globals(){', level=0' if quick else ''})\n")

    def ir(self, spec: KernelSpec) -> str:
        """The module's IR, with ``@SYMBOL@`` for the entry's name."""
        parts = [LLVMIR(self.chunk).emit(spec, "@SYMBOL@.body")]
        if batched(spec):
            return parts[0] + "\n" + points_function(spec, scratch_size(spec, self.chunk))
        scratch = [scratch_size(spec, self.chunk)]
        for n, loop in enumerate(spec.loops):
            element = loop.element_spec(spec)
            parts.append(LLVMIR(self.chunk, inline=True).emit(element, f"@SYMBOL@.elem{n}"))
            scratch.append(scratch_size(element, self.chunk))
            parts.append(loop_function(spec, n, scratch[-1]))
            if loop.uniform or loop.summed:
                parts.append(total_function(spec, n))
        text = "\n".join(parts) + "\n" + (part_function(spec, scratch) if threaded(spec)
                                           else entry(spec, scratch))
        # Each part declares what it calls; the module declares each function once.
        lines = text.split("\n")
        declares = sorted({line for line in lines if line.startswith("declare ")})
        return "\n".join(line for line in lines if not line.startswith("declare ")) \
            + "\n" + "\n".join(declares) + "\n"


def points_function(spec: KernelSpec, scratch: int) -> str:
    """IR of ``void @SYMBOL@.points(in0, ..., out, i64 start, i64 stop)``: the body for points
    ``start`` to ``stop``; an input given per point, and ``out``, hold one point after the
    other (C order). The driver (`codegen.drivers.native_points`) calls it for ranges of points
    on several threads."""
    out_elem = OUTPUT[spec.dtype][0]
    lines = IRLines()
    if scratch:
        lines += [f"%scratch.a = alloca [{scratch} x double], align 16",
                  f"%scratch = getelementptr inbounds [{scratch} x double], "
                  f"[{scratch} x double]* %scratch.a, i64 0, i64 0"]
    lines += ["br label %head", "head:",
              "%b = phi i64 [%start, %entry], [%b.next, %point]",
              "%more = icmp slt i64 %b, %stop",
              "br i1 %more, label %point, label %done", "point:"]
    passed = []
    for k, inp in enumerate(spec.inputs):
        if inp.batched:             # its point b
            elem = ELEMENT[inp.dtype][0]
            at = lines.fresh(f"mul i64 %b, {math.prod(inp.shape)}")
            passed.append(f"{elem}* {lines.at(elem, f'%in{k}', at)}")
        else:
            passed.append(operand(spec, k))
    row = lines.at(out_elem, "%out", lines.fresh(f"mul i64 %b, {spec.out_size}"))
    passed += (["double* %scratch"] if scratch else []) + [f"{out_elem}* {row}"]
    lines += [f"call void @@SYMBOL@.body({', '.join(passed)})",
              "%b.next = add i64 %b, 1", "br label %head", "done:", "ret void"]
    params = parameters(spec) + [f"{out_elem}* %out", "i64 %start", "i64 %stop"]
    return (f"define void @@SYMBOL@.points({', '.join(params)}) nounwind {{\nentry:\n"
            f"{lines.text()}}}\n")


def entry(spec: KernelSpec, scratch: list) -> str:
    """IR of the CPython entry ``@SYMBOL@`` of ``spec`` and of its context table (`cpython_entry`):
    the body, then each element loop. ``scratch``: the doubles of scratch the body and each
    element function take."""
    work = len(spec.statements()) + sum(
        (loop.elements or RELEASE_GIL) * loop.statements
        for loop in spec.loops)
    out_elem = OUTPUT[spec.dtype][0]
    operands = parameters(spec)
    offsets = [sum(scratch[:i]) for i in range(len(scratch))]

    def call(lines, rows, out):
        def scratch_at(i):
            if not scratch[i]:
                return []
            return [f"double* {lines.at('double', '%scratch', offsets[i])}"]
        lines.append(f"call void @@SYMBOL@.body("
                     f"{', '.join(operands + scratch_at(0) + [f'{out_elem}* {out}'])})")
        for n, loop in enumerate(spec.loops):
            idx = len(spec.inputs) + 2 * n
            tables = [f"i64* %in{idx}", f"i64* %in{idx + 1}", "i64 0", f"i64 {rows[idx]}", "i64 1"]
            tail = scratch_at(n + 1) + ["double* null", f"{out_elem}* {out}"]
            lines.append(f"call void @@SYMBOL@.loop{n}({', '.join(operands + tables + tail)})")
        return None

    return cpython_entry(arguments(spec), spec.dtype, tuple(spec.out_shape), call,
                         sum(scratch), work >= RELEASE_GIL, parts=spec.parts)


def _returns_parts(parts) -> str:
    """The module's line saying its kernel returns the tuple of ``parts`` (`KernelSpec.parts`)
    rather than the flat output, or nothing."""
    return f"RETURNS_PARTS = {[(int(o), tuple(sh)) for o, sh in parts]!r}\n\n" if parts else ""


def program_module(program: str, args: list, dtype: str, out_shape: tuple, work: int,
                   head: str, parts=None) -> str:
    """Python source of a module defining ``kernel`` as the native entry of a loop program
    (`codegen.loop_ir.LoopProgram`: the array tier's kernels).

    ``program``: the source of ``def kernel(...)``, one parameter per argument; ``args``: the
    arguments (as `arguments`: all arrays); ``work``: about how many loop iterations a call
    runs (from `RELEASE_GIL` on, with the GIL released); ``head``: the module's first comments;
    ``parts``: as `KernelSpec.parts`.
    """
    size = math.prod(out_shape)
    body = LoopProgram(program, [a[:2] for a in args], (dtype, size), "@@SYMBOL@.body",
                       "@@SYMBOL@.blas")
    temporaries = -(-body.temporaries // 8)        # in doubles
    operands = [f"{POINTEE[a[0]]}* %in{k}" for k, a in enumerate(args)]
    out_elem = OUTPUT[dtype][0]

    def call(lines, rows, out):
        buffers = []
        if body.buffers:
            base = lines.fresh("bitcast double* %scratch to i8*")
            for elem, offset in body.buffers:
                at = lines.fresh(f"getelementptr inbounds i8, i8* {base}, i64 {offset}")
                buffers.append(f"{elem}* {lines.fresh(f'bitcast i8* {at} to {elem}*')}")
        return lines.fresh(f"call i32 @@SYMBOL@.body("
                           f"{', '.join(operands + buffers + [f'{out_elem}* {out}'])})")
    text = body.ir() + "\n" + cpython_entry(args, dtype, out_shape, call, temporaries,
                                             work >= RELEASE_GIL, tuple(body.messages), parts)
    if body.uses_blas:
        text += f"@@SYMBOL@.blas = global [{len(LINEAR_ALGEBRA)} x i8*] zeroinitializer, align 8\n"
    symbol = "symhess_" + hashlib.sha256(text.encode()).hexdigest()[:24]
    text = text.replace("@SYMBOL@", symbol)
    listing = "".join(f"#     {line}\n" if line else "#\n" for line in program.splitlines())
    return (head + IMPORT + "\n"
            + f"KERNEL_INPUTS = {args!r}\n"
            + f"OUT_SHAPE = {tuple(out_shape)!r}\n\n"
            + "# The loop program the IR computes (as the Numba target would run it):\n#\n"
            + listing + "\n"
            + f"_IR = r'''\n{text}'''\n\n" + _returns_parts(parts)
            + f"kernel = native_kernel(_IR, {symbol!r}, KERNEL_INPUTS, OUT_SHAPE, {dtype!r}, "
            + f"globals(), blas={body.uses_blas}, level={LOOP_OPT_LEVEL})\n")


def is_native(source: str) -> bool:
    """Whether ``source`` is a module `NativeCPU` printed (it compiles as it is imported)."""
    return IMPORT in source


def emit_native(spec: KernelSpec, name: str = "kernel", version: str = "", chunk: int = CHUNK) -> str:
    """Python source of a module defining ``name(in0, ...)`` as a native entry (`NativeCPU`)."""
    return NativeCPU(chunk).emit(spec, name, version)
