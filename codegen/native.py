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
its driver (`codegen.jit.native_points`) calls it through ctypes, which releases the GIL, for
ranges of points on several threads at once. Kernels with an element loop large enough to run
on all threads keep `codegen.numba_llvm.NumbaLLVM`.
"""

from __future__ import annotations

import hashlib
import math

from .llvm_ir import ELEMENT, OUTPUT, LLVMIR, supports as llvm_supports
from .printer import CodegenError
from .numba_cpu import parallel
from .spec import CHUNK, KernelSpec, plain_label, scratch_size
from .target import Target, header

__all__ = ["NativeCPU", "CONTEXT", "DTYPES", "LAYOUT", "TYPENUM", "emit_native", "is_native"]

# The line that marks a native module: it imports `codegen.runtime` by the package's real name
# (not importing it here, which `codegen.jit` imports).
IMPORT = f"\nfrom {__name__.rpartition('.')[0]}.runtime import native_kernel, native_points\n"

# The object layout the entry reads (CPython, 64-bit, default build; NumPy 1.x and 2.x):
# `codegen.jit.abi_ok` checks every offset in the running interpreter before this target is
# chosen.
LAYOUT = {
    "ob_type": 8,           # PyObject.ob_type
    "float_value": 16,      # PyFloatObject.ob_fval
    "data": 16,             # PyArrayObject_fields.data
    "nd": 24,               # .nd (int)
    "dims": 32,             # .dimensions (npy_intp *)
    "descr": 56,            # .descr
    "flags": 64,            # .flags (int)
}
C_CONTIGUOUS_ALIGNED = 0x0001 | 0x0100      # NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_ALIGNED
TYPENUM = {"float64": 12, "float32": 11}   # NPY_DOUBLE, NPY_FLOAT

# The entry's table of addresses, filled by the loader: objects and C functions of this process.
CONTEXT = ("ndarray", "float", "PyArray_New", "PyObject_Vectorcall", "PyEval_SaveThread",
           "PyEval_RestoreThread", "PyMem_RawMalloc", "PyMem_RawFree", "PyErr_NoMemory")
DTYPES = tuple(ELEMENT)     # then the interned descriptor of each input dtype, in this order

# A body of at least this many statements runs with the GIL released (so threads calling
# kernels run at once); below it, releasing costs more than the body.
RELEASE_GIL = 1000
# Scratch of more doubles than this is allocated on the heap instead of the stack.
STACK_SCRATCH = 8192


def supports(spec: KernelSpec) -> bool:
    """Real dtypes (`codegen.llvm_ir.supports`), no element loop on threads, and no element
    loop in a batched kernel."""
    return llvm_supports(spec) and not any(parallel(loop) for loop in spec.loops) \
        and not (batched(spec) and spec.loops)


def batched(spec: KernelSpec) -> bool:
    """Whether ``spec`` runs once per point (`points_function`, `codegen.jit.native_points`)."""
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
        """`supports`, and a batched kernel's scratch fits on the stack of each thread."""
        return supports(spec) and not (batched(spec)
                                       and scratch_size(spec, self.chunk) > STACK_SCRATCH)

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
        return head + (f"{name} = native_kernel(_IR, {symbol!r}, KERNEL_INPUTS, OUT_SHAPE, "
                       f"{spec.dtype!r}, globals())\n")

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
        text = "\n".join(parts) + "\n" + entry(spec, scratch)
        # Each part declares what it calls; the module declares each function once.
        lines = text.split("\n")
        declares = sorted({line for line in lines if line.startswith("declare ")})
        return "\n".join(line for line in lines if not line.startswith("declare ")) \
            + "\n" + "\n".join(declares) + "\n"


class _Lines(list):
    """IR lines with fresh temporary names."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def text(self) -> str:
        """The lines as a function body: labels flush left, instructions indented."""
        return "".join((line if line.endswith(":") else "  " + line) + "\n" for line in self)

    def fresh(self, text: str) -> str:
        """Append ``%t<n> = text``; return ``%t<n>``."""
        self.count += 1
        self.append(f"%t{self.count} = {text}")
        return f"%t{self.count}"

    def ctx(self, name: str, ty: str) -> str:
        """Load entry ``name`` of the context table (`CONTEXT` or a dtype of `DTYPES`) as
        ``ty``; return its operand."""
        i = CONTEXT.index(name) if name in CONTEXT else len(CONTEXT) + DTYPES.index(name)
        n = len(CONTEXT) + len(DTYPES)
        raw = self.fresh(f"load i8*, i8** getelementptr inbounds ([{n} x i8*], [{n} x i8*]* "
                         f"@@SYMBOL@.ctx, i64 0, i64 {i})")
        return raw if ty == "i8*" else self.fresh(f"bitcast i8* {raw} to {ty}")

    def field(self, obj: str, name: str, ty: str) -> str:
        """Load the field ``name`` (`LAYOUT`) of the object ``obj`` as ``ty``."""
        p = self.fresh(f"getelementptr inbounds i8, i8* {obj}, i64 {LAYOUT[name]}")
        q = self.fresh(f"bitcast i8* {p} to {ty}*")
        return self.fresh(f"load {ty}, {ty}* {q}")

    def at(self, ty: str, base: str, index) -> str:
        """The address of ``base[index]`` (elements of ``ty``)."""
        return self.fresh(f"getelementptr inbounds {ty}, {ty}* {base}, i64 {index}")

    def add_into(self, ty: str, base: str, index, value: str) -> None:
        """``base[index] += value`` (``value`` of type ``ty``)."""
        q = self.at(ty, base, index)
        old = self.fresh(f"load {ty}, {ty}* {q}")
        self.append(f"store {ty} {self.fresh(f'fadd {ty} {old}, {value}')}, {ty}* {q}")

    def affine(self, start: int, step: int, row: str) -> str:
        """``start + step * row`` as an i64 operand."""
        scaled = self.fresh(f"mul i64 {row}, {step}")
        return self.fresh(f"add i64 {scaled}, {start}")


def _to_double(lines: _Lines, ty: str, value: str) -> str:
    return value if ty == "double" else lines.fresh(f"fpext {ty} {value} to double")


def _from_double(lines: _Lines, ty: str, value: str) -> str:
    return value if ty == "double" else lines.fresh(f"fptrunc double {value} to {ty}")


def _operand(spec: KernelSpec, k: int) -> str:
    """Kernel input ``k`` as a typed operand ``%in<k>``: a double, or a pointer to its elements."""
    inp = spec.inputs[k]
    return f"double %in{k}" if inp.scalar else f"{ELEMENT[inp.dtype][0]}* %in{k}"


def _parameters(spec: KernelSpec) -> list:
    """The typed kernel inputs ``%in<k>`` (as `LLVMIR.parameters` without scratch and out)."""
    return [_operand(spec, k) for k in range(len(spec.inputs))]


def loop_function(spec: KernelSpec, number: int, scratch: int) -> str:
    """IR of ``@SYMBOL@.loop<number>``: element loop ``number`` of ``spec`` in sequence, adding
    each element's values (``@SYMBOL@.elem<number>``) into ``out`` (`codegen.spec.LoopSpec`)."""
    loop = spec.loops[number]
    out_elem = OUTPUT[spec.dtype][0]
    n_slots, n_values = max(1, len(loop.slots)), len(loop.outputs)
    params = _parameters(spec) + ["i64* %idx", "i64* %pos", "i64 %elements"] \
        + (["double* %w"] if scratch else []) + [f"{out_elem}* %out"]
    lines = _Lines()
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
              "%p = phi i64 [0, %entry], [%p.next, %next]",
              "%more = icmp slt i64 %p, %elements",
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
    lines += ["next:", "%p.next = add i64 %p, 1", "br label %head", "done:"]
    if loop.uniform:            # the sum, added once at the first element's positions
        lines += ["%some = icmp sgt i64 %elements, 0", "br i1 %some, label %sum, label %exit",
                  "sum:"]
        totals = lines.fresh(f"alloca [{max(1, n_values)} x {out_elem}]")
        base = lines.fresh(f"getelementptr inbounds [{max(1, n_values)} x {out_elem}], "
                           f"[{max(1, n_values)} x {out_elem}]* {totals}, i64 0, i64 0")
        for e in range(n_values):
            x = lines.fresh(f"load double, double* {lines.at('double', '%acc', e)}")
            lines.append(f"store {out_elem} {_from_double(lines, out_elem, x)}, "
                         f"{out_elem}* {lines.at(out_elem, base, e)}")
        _scatter(lines, loop, out_elem, base, "0", "sum", "exit")
        lines.append("exit:")
    lines.append("ret void")
    return (f"define internal void @@SYMBOL@.loop{number}({', '.join(params)}) nounwind {{\n"
            f"entry:\n{lines.text()}}}\n")


def _scatter(lines: _Lines, loop, out_elem: str, values: str, row: str, block: str,
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
    other (C order). The driver (`codegen.jit.native_points`) calls it for ranges of points
    on several threads."""
    out_elem = OUTPUT[spec.dtype][0]
    lines = _Lines()
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
    """IR of the CPython entry ``@SYMBOL@`` and of its context table ``@SYMBOL@.ctx``.

    ``scratch``: the doubles of scratch the body and each element function take."""
    args = arguments(spec)
    lines = _Lines()
    total = sum(scratch)
    heap = total > STACK_SCRATCH
    if total and not heap:
        lines.append(f"%scratch.a = alloca [{total} x double], align 16")
    lines += [f"%n.ok = icmp eq i64 %nargs, {len(args)}",
              f"br i1 %n.ok, label %{'arg0' if args else 'call'}, label %fallback"]
    rows = {}           # argument -> its first dimension's operand
    for k, (dtype, shape, scalar, _, _) in enumerate(args):
        following = f"arg{k + 1}" if k + 1 < len(args) else "call"
        lines.append(f"arg{k}:")
        obj = lines.fresh(f"load i8*, i8** {lines.at('i8*', '%args', k)}")
        kind = lines.ctx("float" if scalar else "ndarray", "i8*")
        same = lines.fresh(f"icmp eq i8* {lines.field(obj, 'ob_type', 'i8*')}, {kind}")
        lines += [f"br i1 {same}, label %arg{k}.fields, label %fallback", f"arg{k}.fields:"]
        if scalar:
            at = lines.fresh(f"getelementptr inbounds i8, i8* {obj}, i64 {LAYOUT['float_value']}")
            lines += [f"%in{k}.p = bitcast i8* {at} to double*",
                      f"%in{k} = load double, double* %in{k}.p", f"br label %{following}"]
            continue
        descr = lines.field(obj, "descr", "i8*")
        flags = lines.fresh(f"and i32 {lines.field(obj, 'flags', 'i32')}, {C_CONTIGUOUS_ALIGNED}")
        nd = lines.field(obj, "nd", "i32")
        ok = lines.fresh(f"icmp eq i8* {descr}, {lines.ctx(dtype, 'i8*')}")
        ok = lines.fresh(f"and i1 {ok}, {lines.fresh(f'icmp eq i32 {flags}, {C_CONTIGUOUS_ALIGNED}')}")
        ok = lines.fresh(f"and i1 {ok}, {lines.fresh(f'icmp eq i32 {nd}, {len(shape)}')}")
        lines += [f"br i1 {ok}, label %arg{k}.shape, label %fallback", f"arg{k}.shape:"]
        ok = "true"
        if shape:
            dims = lines.field(obj, "dims", "i64*")
            for d, n in enumerate(shape):
                size = lines.fresh(f"load i64, i64* {lines.at('i64', dims, d)}")
                if d == 0:
                    rows[k] = size
                if n is not None:
                    ok = lines.fresh(f"and i1 {ok}, {lines.fresh(f'icmp eq i64 {size}, {n}')}")
        data = lines.field(obj, "data", "i8*")
        elem = ELEMENT[dtype][0]
        lines += [f"%in{k} = bitcast i8* {data} to {elem}*",
                  f"br i1 {ok}, label %{following}, label %fallback"]

    out_elem = OUTPUT[spec.dtype][0]
    shape = tuple(spec.out_shape)
    lines.append("call:")
    if heap:                    # before the output, so that a failure has nothing to release
        raw = lines.fresh(f"call i8* {lines.ctx('PyMem_RawMalloc', 'i8* (i64)*')}(i64 {8 * total})")
        lines += [f"%scratch.raw = bitcast i8* {raw} to i8*",
                  "%nomem = icmp eq i8* %scratch.raw, null",
                  "br i1 %nomem, label %nomemory, label %allocate", "allocate:",
                  "%scratch = bitcast i8* %scratch.raw to double*"]
    elif total:
        lines.append(f"%scratch = getelementptr inbounds [{total} x double], "
                     f"[{total} x double]* %scratch.a, i64 0, i64 0")
    new = lines.ctx("PyArray_New", "i8* (i8*, i32, i64*, i32, i64*, i8*, i32, i32, i8*)*")
    dims = (f"getelementptr inbounds ([{len(shape)} x i64], [{len(shape)} x i64]* "
            f"@@SYMBOL@.shape, i64 0, i64 0)") if shape else "null"
    lines += [f"%result = call i8* {new}(i8* {lines.ctx('ndarray', 'i8*')}, i32 {len(shape)}, "
              f"i64* {dims}, i32 {TYPENUM[spec.dtype]}, i64* null, i8* null, i32 0, i32 0, "
              "i8* null)",
              "%failed = icmp eq i8* %result, null",
              "br i1 %failed, label %error, label %allocated", "allocated:"]
    out = lines.fresh(f"bitcast i8* {lines.field('%result', 'data', 'i8*')} to {out_elem}*")
    work = len(spec.statements()) + sum(
        (loop.elements or RELEASE_GIL) * (len(loop.assignments) + len(loop.outputs))
        for loop in spec.loops)
    release = work >= RELEASE_GIL
    if release:
        thread = lines.fresh(f"call i8* {lines.ctx('PyEval_SaveThread', 'i8* ()*')}()")
    operands = _parameters(spec)
    offsets = [sum(scratch[:i]) for i in range(len(scratch))]

    def scratch_at(i):
        if not scratch[i]:
            return []
        return [f"double* {lines.at('double', '%scratch', offsets[i])}"]
    lines.append(f"call void @@SYMBOL@.body({', '.join(operands + scratch_at(0) + [f'{out_elem}* {out}'])})")
    for n, loop in enumerate(spec.loops):
        idx = len(spec.inputs) + 2 * n
        tables = [f"i64* %in{idx}", f"i64* %in{idx + 1}", f"i64 {rows[idx]}"]
        lines.append(f"call void @@SYMBOL@.loop{n}("
                     f"{', '.join(operands + tables + scratch_at(n + 1) + [f'{out_elem}* {out}'])})")
    if release:
        lines.append(f"call void {lines.ctx('PyEval_RestoreThread', 'void (i8*)*')}(i8* {thread})")
    free = "PyMem_RawFree", "void (i8*)*"
    if heap:
        lines.append(f"call void {lines.ctx(*free)}(i8* %scratch.raw)")
    lines += ["ret i8* %result", "error:"]
    if heap:
        lines.append(f"call void {lines.ctx(*free)}(i8* %scratch.raw)")
    lines.append("ret i8* null")
    if heap:
        lines.append("nomemory:")
        lines.fresh(f"call i8* {lines.ctx('PyErr_NoMemory', 'i8* ()*')}()")
        lines.append("ret i8* null")
    lines.append("fallback:")
    vectorcall = lines.ctx("PyObject_Vectorcall", "i8* (i8*, i8**, i64, i8*)*")
    again = lines.fresh(f"call i8* {vectorcall}(i8* %self, i8** %args, i64 %nargs, i8* null)")
    lines.append(f"ret i8* {again}")
    n = len(CONTEXT) + len(DTYPES)
    table = f"@@SYMBOL@.ctx = global [{n} x i8*] zeroinitializer, align 8\n"
    if shape:
        table += (f"@@SYMBOL@.shape = private unnamed_addr constant [{len(shape)} x i64] "
                  f"[{', '.join(f'i64 {d}' for d in shape)}]\n")
    return (table + "\ndefine i8* @@SYMBOL@(i8* %self, i8** %args, i64 %nargs) nounwind {\n"
            + "entry:\n" + lines.text() + "}\n")


def is_native(source: str) -> bool:
    """Whether ``source`` is a module `NativeCPU` printed (it compiles as it is imported)."""
    return IMPORT in source


def emit_native(spec: KernelSpec, name: str = "kernel", version: str = "", chunk: int = CHUNK) -> str:
    """Python source of a module defining ``name(in0, ...)`` as a native entry (`NativeCPU`)."""
    return NativeCPU(chunk).emit(spec, name, version)
