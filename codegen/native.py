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
enough to run on all threads (`codegen.numba_cpu.parallel`): its driver
(`codegen.drivers.native_loops`) calls the body, then ranges of each loop's elements on threads
(`part_function`). The array tier's loop programs (`codegen.loop_ir`) get a CPython entry too
(`program_module`).
"""

from __future__ import annotations

import hashlib
import math

from .entry import POINTEE, STACK_SCRATCH, IRLines, cpython_entry
from .llvm_ir import ELEMENT, OUTPUT, LLVMIR, supports as llvm_supports
from .loop_calls import LINEAR_ALGEBRA
from .loop_ir import LoopProgram
from .printer import CodegenError
from .numba_cpu import parallel
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
            for loop in spec.loops if parallel(loop))

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
            loops = [(loop.uniform, loop.colours, parallel(loop), loop.statements,
                      len(loop.outputs))
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
            if loop.uniform:
                parts.append(total_function(spec, n))
        text = "\n".join(parts) + "\n" + (part_function(spec, scratch) if threaded(spec)
                                           else entry(spec, scratch))
        # Each part declares what it calls; the module declares each function once.
        lines = text.split("\n")
        declares = sorted({line for line in lines if line.startswith("declare ")})
        return "\n".join(line for line in lines if not line.startswith("declare ")) \
            + "\n" + "\n".join(declares) + "\n"


def _to_double(lines: IRLines, ty: str, value: str) -> str:
    return value if ty == "double" else lines.fresh(f"fpext {ty} {value} to double")


def _from_double(lines: IRLines, ty: str, value: str) -> str:
    return value if ty == "double" else lines.fresh(f"fptrunc double {value} to {ty}")


def _operand(spec: KernelSpec, k: int) -> str:
    """Kernel input ``k`` as a typed operand ``%in<k>``: a double, or a pointer to its elements."""
    inp = spec.inputs[k]
    return f"double %in{k}" if inp.scalar else f"{ELEMENT[inp.dtype][0]}* %in{k}"


def _parameters(spec: KernelSpec) -> list:
    """The typed kernel inputs ``%in<k>`` (as `LLVMIR.parameters` without scratch and out)."""
    return [_operand(spec, k) for k in range(len(spec.inputs))]


def loop_function(spec: KernelSpec, number: int, scratch: int) -> str:
    """IR of ``@SYMBOL@.loop<number>``: the elements ``first, first + step, ...`` (below
    ``stop``) of element loop ``number`` of ``spec`` in sequence, adding each element's values
    (``@SYMBOL@.elem<number>``) into ``out`` (`codegen.spec.LoopSpec`). A uniform loop's sum is
    stored in ``sums`` when it is given (a range of a loop on threads), else added into
    ``out`` (`total_function`)."""
    loop = spec.loops[number]
    out_elem = OUTPUT[spec.dtype][0]
    n_slots, n_values = max(1, len(loop.slots)), len(loop.outputs)
    params = _parameters(spec) + ["i64* %idx", "i64* %pos", "i64 %first", "i64 %stop",
                                  "i64 %step"] \
        + (["double* %w"] if scratch else []) + ["double* %sums", f"{out_elem}* %out"]
    lines = IRLines()
    lines += [f"%s.a = alloca [{n_slots} x double]", f"%v.a = alloca [{max(1, n_values)} x {out_elem}]",
              f"%s = getelementptr inbounds [{n_slots} x double], [{n_slots} x double]* %s.a, i64 0, i64 0",
              f"%v = getelementptr inbounds [{max(1, n_values)} x {out_elem}], "
              f"[{max(1, n_values)} x {out_elem}]* %v.a, i64 0, i64 0"]
    if loop.uniform:
        lines += [f"%acc.a = alloca [{max(1, n_values)} x double]",
                  f"%acc = getelementptr inbounds [{max(1, n_values)} x double], "
                  f"[{max(1, n_values)} x double]* %acc.a, i64 0, i64 0"]
        for e in range(n_values):
            lines.append(f"store double 0.0, double* {lines.at('double', '%acc', e)}")
    lines += ["br label %head", "head:",
              "%p = phi i64 [%first, %entry], [%p.next, %next]",
              "%more = icmp slt i64 %p, %stop",
              "br i1 %more, label %element, label %done", "element:"]
    for j, (_, pos) in enumerate(loop.slots):
        inp = spec.inputs[pos]
        if inp.scalar:
            raise CodegenError(f"element loop {number} reads slot {j} from a scalar input")
        if loop.slot_rows:
            index = lines.affine(*loop.slot_rows[j], "%p")
        else:
            row = lines.fresh(f"mul i64 %p, {len(loop.slots)}")
            column = lines.fresh(f"add i64 {row}, {j}")
            index = lines.fresh(f"load i64, i64* {lines.at('i64', '%idx', column)}")
        elem, conv = ELEMENT[inp.dtype]
        value = lines.fresh(f"load {elem}, {elem}* {lines.at(elem, f'%in{pos}', index)}")
        if conv:
            value = lines.fresh(f"{conv} {elem} {value} to double")
        lines.append(f"store double {value}, double* {lines.at('double', '%s', j)}")
    shared = [_operand(spec, k) for k in loop.shared_inputs()]
    passed = ["double* %s"] + shared + (["double* %w"] if scratch else []) + [f"{out_elem}* %v"]
    lines.append(f"call void @@SYMBOL@.elem{number}({', '.join(passed)})")
    if loop.uniform:
        for e in range(n_values):
            x = lines.fresh(f"load {out_elem}, {out_elem}* {lines.at(out_elem, '%v', e)}")
            lines.add_into("double", "%acc", e, _to_double(lines, out_elem, x))
        lines += ["br label %next"]
    else:
        _scatter(lines, loop, out_elem, "%v", "%p", "element", "next")
    lines += ["next:", "%p.next = add i64 %p, %step", "br label %head", "done:"]
    if loop.uniform:
        lines += ["%given = icmp ne double* %sums, null",
                  "br i1 %given, label %keep, label %own", "keep:"]
        for e in range(n_values):
            x = lines.fresh(f"load double, double* {lines.at('double', '%acc', e)}")
            lines.append(f"store double {x}, double* {lines.at('double', '%sums', e)}")
        lines += ["br label %exit", "own:",       # added once, at the first element's positions
                  "%some = icmp slt i64 %first, %stop", "br i1 %some, label %sum, label %exit",
                  "sum:", f"call void @@SYMBOL@.total{number}(i64* %pos, double* %acc, "
                  f"{out_elem}* %out)", "br label %exit", "exit:"]
    lines.append("ret void")
    return (f"define internal void @@SYMBOL@.loop{number}({', '.join(params)}) nounwind {{\n"
            f"entry:\n{lines.text()}}}\n")


def total_function(spec: KernelSpec, number: int) -> str:
    """IR of ``@SYMBOL@.total<number>(pos, sums, out)``: the sum of uniform element loop
    ``number`` added into ``out`` at the first element's positions."""
    loop = spec.loops[number]
    out_elem = OUTPUT[spec.dtype][0]
    n = max(1, len(loop.outputs))
    lines = IRLines()
    base = lines.fresh(f"getelementptr inbounds [{n} x {out_elem}], [{n} x {out_elem}]* "
                       f"{lines.fresh(f'alloca [{n} x {out_elem}]')}, i64 0, i64 0")
    for e in range(len(loop.outputs)):
        x = lines.fresh(f"load double, double* {lines.at('double', '%sums', e)}")
        lines.append(f"store {out_elem} {_from_double(lines, out_elem, x)}, "
                     f"{out_elem}* {lines.at(out_elem, base, e)}")
    _scatter(lines, loop, out_elem, base, "0", "entry", "exit")
    lines += ["exit:", "ret void"]
    return (f"define internal void @@SYMBOL@.total{number}(i64* %pos, double* %sums, "
            f"{out_elem}* %out) nounwind {{\nentry:\n{lines.text()}}}\n")


def part_function(spec: KernelSpec, scratch: list) -> str:
    """IR of ``void @SYMBOL@.part(in0, ..., idx0, pos0, ..., scratch, sums, out, which, first,
    stop, step, chunks, count)``, what the driver of a kernel whose element loops run on threads
    (`codegen.drivers.native_loops`) calls: ``which`` 0 runs the body (``scratch``: its
    scratch); ``n + 1``, a part of element loop ``n`` (`loop_function`): the elements
    ``first, first + step, ...`` below ``stop``, or, for a uniform loop, chunks ``first`` to
    ``stop`` of ``count`` elements cut in ``chunks``, each chunk's sum in its row of ``sums``;
    ``-(n + 1)``, the addition of uniform loop ``n``'s ``sums`` (`total_function`). Each part
    has its own element scratch on the stack, so parts run on several threads at once."""
    out_elem = OUTPUT[spec.dtype][0]
    operands = _parameters(spec)
    tables = [f"i64* %in{len(spec.inputs) + k}" for k in range(2 * len(spec.loops))]
    lines = IRLines()
    cases = []
    for n, loop in enumerate(spec.loops):
        if scratch[n + 1]:
            lines.append(f"%w{n}.a = alloca [{scratch[n + 1]} x double], align 16")
        cases.append(f"i64 {n + 1}, label %loop{n}")
        if loop.uniform:
            cases.append(f"i64 {-(n + 1)}, label %total{n}")
    lines.append(f"switch i64 %which, label %body [{' '.join(cases)}]")
    body_scratch = ["double* %scratch"] if scratch[0] else []
    lines += ["body:", f"call void @@SYMBOL@.body("
              f"{', '.join(operands + body_scratch + [f'{out_elem}* %out'])})", "ret void"]
    for n, loop in enumerate(spec.loops):
        idx, pos = tables[2 * n:2 * n + 2]
        lines.append(f"loop{n}:")
        work = []
        if scratch[n + 1]:
            k = scratch[n + 1]
            work = [f"double* {lines.fresh(f'getelementptr inbounds [{k} x double], [{k} x double]* %w{n}.a, i64 0, i64 0')}"]

        def call(first, stop, step, sums):
            return (f"call void @@SYMBOL@.loop{n}({', '.join(operands + [idx, pos])}, "
                    f"i64 {first}, i64 {stop}, i64 {step}, "
                    f"{', '.join(work + [f'double* {sums}', f'{out_elem}* %out'])})")
        if not loop.uniform:
            lines += [call("%first", "%stop", "%step", "%sums"), "ret void"]
            continue
        c = f"%c{n}"
        lines += [f"br label %chunk{n}", f"chunk{n}:",
                  f"{c} = phi i64 [%first, %loop{n}], [{c}.next, %chunk{n}.run]",
                  f"{c}.more = icmp slt i64 {c}, %stop",
                  f"br i1 {c}.more, label %chunk{n}.run, label %chunk{n}.done", f"chunk{n}.run:"]
        start = lines.fresh(f"sdiv i64 {lines.fresh(f'mul i64 {c}, %count')}, %chunks")
        c_next = lines.fresh(f"add i64 {c}, 1")
        end = lines.fresh(f"sdiv i64 {lines.fresh(f'mul i64 {c_next}, %count')}, %chunks")
        row = lines.at("double", "%sums", lines.fresh(f"mul i64 {c}, {max(1, len(loop.outputs))}"))
        lines += [call(start, end, 1, row), f"{c}.next = add i64 {c}, 1", f"br label %chunk{n}",
                  f"chunk{n}.done:", "ret void",
                  f"total{n}:", f"call void @@SYMBOL@.total{n}({pos}, double* %sums, "
                  f"{out_elem}* %out)", "ret void"]
    params = operands + tables + ["double* %scratch", "double* %sums", f"{out_elem}* %out"] \
        + [f"i64 %{name}" for name in ("which", "first", "stop", "step", "chunks", "count")]
    return (f"define void @@SYMBOL@.part({', '.join(params)}) nounwind {{\nentry:\n"
            f"{lines.text()}}}\n")


def threaded(spec: KernelSpec) -> bool:
    """Whether an element loop of ``spec`` runs on threads (`codegen.numba_cpu.parallel`)."""
    return any(parallel(loop) for loop in spec.loops)


def _scatter(lines: IRLines, loop, out_elem: str, values: str, row: str, block: str,
             then: str) -> None:
    """Append the additions of ``values[e]`` at the positions of element ``row``, from the
    block ``block``, ending with a branch to ``then``: computed positions unrolled, a table's
    in a loop over its row (a mirror of -1: none)."""
    n = len(loop.outputs)
    if loop.position_rows:
        for e, (first, mirror) in enumerate(loop.position_rows):
            x = lines.fresh(f"load {out_elem}, {out_elem}* {lines.at(out_elem, values, e)}")
            lines.add_into(out_elem, "%out", lines.affine(*first, row), x)
            if mirror:
                lines.add_into(out_elem, "%out", lines.affine(*mirror, row), x)
        lines.append(f"br label %{then}")
        return
    head, body, mirror, step = (f"{block}.{name}" for name in ("head", "add", "mirror", "step"))
    lines += [f"br label %{head}", f"{head}:",
              f"%{head}.e = phi i64 [0, %{block}], [%{step}.e, %{step}]",
              f"%{head}.more = icmp slt i64 %{head}.e, {n}",
              f"br i1 %{head}.more, label %{body}, label %{then}", f"{body}:"]
    e = f"%{head}.e"
    x = lines.fresh(f"load {out_elem}, {out_elem}* {lines.at(out_elem, values, e)}")
    row_start = lines.fresh(f"mul i64 {row}, {2 * n}")
    at = lines.fresh(f"add i64 {row_start}, {lines.fresh(f'mul i64 {e}, 2')}")
    first = lines.fresh(f"load i64, i64* {lines.at('i64', '%pos', at)}")
    lines.add_into(out_elem, "%out", first, x)
    other = lines.fresh(f"load i64, i64* {lines.at('i64', '%pos', lines.fresh(f'add i64 {at}, 1'))}")
    has = lines.fresh(f"icmp sge i64 {other}, 0")
    lines += [f"br i1 {has}, label %{mirror}, label %{step}", f"{mirror}:"]
    lines.add_into(out_elem, "%out", other, x)
    lines += [f"br label %{step}", f"{step}:", f"%{step}.e = add i64 {e}, 1",
              f"br label %{head}"]


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
            passed.append(_operand(spec, k))
    row = lines.at(out_elem, "%out", lines.fresh(f"mul i64 %b, {spec.out_size}"))
    passed += (["double* %scratch"] if scratch else []) + [f"{out_elem}* {row}"]
    lines += [f"call void @@SYMBOL@.body({', '.join(passed)})",
              "%b.next = add i64 %b, 1", "br label %head", "done:", "ret void"]
    params = _parameters(spec) + [f"{out_elem}* %out", "i64 %start", "i64 %stop"]
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
    operands = _parameters(spec)
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
