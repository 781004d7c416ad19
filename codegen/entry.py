"""The CPython entry of a native kernel: ``PyObject *entry(self, args, nargs)`` in LLVM IR.

`cpython_entry` prints the function Python calls directly (``METH_FASTCALL``): it checks each
argument in a few loads and compares (an exact `numpy.ndarray` of the input's dtype, aligned and
C-contiguous, with the input's shape; or an exact `float`), allocates the output with NumPy's
``PyArray_New``, and calls what computes it; any other argument goes to ``self``, a Python
function that converts the arguments or raises the labelled error. Addresses of the
interpreter's objects and functions are read from a table in the module, ``@<entry>.ctx``,
that the loader (`codegen.jit`) fills in each process, so the object code is the same in
every process. `IRLines` builds the IR the entries and loops of `codegen.native` are made of.
"""

from __future__ import annotations

import math

from .llvm_ir import ELEMENT, OUTPUT

__all__ = ["cpython_entry", "parts_return", "IRLines", "POINTEE", "CONTEXT", "DTYPES", "LAYOUT", "TYPENUM", "STACK_SCRATCH"]

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
    "tuple_items": 24,      # PyTupleObject.ob_item
}
C_CONTIGUOUS_ALIGNED = 0x0001 | 0x0100      # NPY_ARRAY_C_CONTIGUOUS | NPY_ARRAY_ALIGNED
TYPENUM = {"float64": 12, "float32": 11}   # NPY_DOUBLE, NPY_FLOAT

# The entry's table of addresses, filled by the loader: objects and C functions of this process.
CONTEXT = ("ndarray", "float", "PyArray_New", "PyObject_Vectorcall", "PyEval_SaveThread",
           "PyEval_RestoreThread", "PyMem_RawMalloc", "PyMem_RawFree", "PyErr_NoMemory",
           "IndexError", "PyErr_SetString", "Py_DecRef", "Py_IncRef", "PyTuple_New",
           "PyArray_Scalar", "PyArray_SetBaseObject")
NPY_ARRAY_CARRAY = 0x0501     # C-contiguous, aligned, writeable: a part's view of the output
# The element type of each input dtype an entry takes (the scalar tier's, and booleans for the
# array tier's loop programs); the context table then holds each one's interned descriptor.
POINTEE = {**{dtype: elem for dtype, (elem, _) in ELEMENT.items()}, "bool": "i8"}
DTYPES = tuple(POINTEE)

# Scratch of more doubles than this is allocated on the heap instead of the stack.
STACK_SCRATCH = 8192

# A kernel returning parts of at most this many values computes them on the stack and copies
# each into an array of its own: one allocation fewer than a buffer and its views (a fifth of
# a call of a neo-Hookean value, gradient and Hessian), and a part kept alone keeps no other
# alive. Larger outputs are one buffer the parts view.
COPIED_PARTS = 256


class IRLines(list):
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

    def add_into(self, ty: str, base: str, index, value: str, flags: str = "") -> None:
        """``base[index] += value`` (``value`` of type ``ty``; ``flags``: the addition's
        fast-math flags, each followed by a space)."""
        q = self.at(ty, base, index)
        old = self.fresh(f"load {ty}, {ty}* {q}")
        self.append(f"store {ty} {self.fresh(f'fadd {flags}{ty} {old}, {value}')}, {ty}* {q}")

    def affine(self, start: int, step: int, row: str) -> str:
        """``start + step * row`` as an i64 operand."""
        scaled = self.fresh(f"mul i64 {row}, {step}")
        return self.fresh(f"add i64 {scaled}, {start}")


def cpython_entry(args: list, dtype: str, shape: tuple, call, scratch: int, release: bool,
                  messages: tuple = (), parts=None) -> str:
    """IR of the CPython entry ``@SYMBOL@`` and of its context table ``@SYMBOL@.ctx``.

    ``args``: the arguments (`arguments`); ``dtype`` and ``shape``: the output's. ``call(lines,
    rows, out)`` appends the calls computing the output at ``out`` (``rows``: argument ->
    its first dimension's operand) and returns None, or an ``i32`` operand that is ``k`` when
    the computation failed with the ``k``-th of ``messages`` (raised as an `IndexError`).
    ``scratch``: doubles of scratch at ``%scratch`` (on the heap past `STACK_SCRATCH`);
    ``release``: whether the calls run with the GIL released. ``parts``: ``[(offset,
    shape)]`` to return the tuple of these parts of the output instead (`parts_return`)."""
    lines = IRLines()
    heap = scratch > STACK_SCRATCH
    out_elem = OUTPUT[dtype][0]
    values = math.prod(shape)
    copied = bool(parts) and values <= COPIED_PARTS
    if scratch and not heap:
        lines.append(f"%scratch.a = alloca [{scratch} x double], align 64")
    if copied:
        lines.append(f"%buffer = alloca [{max(1, values)} x {out_elem}], align 64")
    lines += [f"%n.ok = icmp eq i64 %nargs, {len(args)}",
              f"br i1 %n.ok, label %{'arg0' if args else 'call'}, label %fallback"]
    rows = {}           # argument -> its first dimension's operand
    for k, (arg_dtype, arg_shape, scalar, _, _) in enumerate(args):
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
        ok = lines.fresh(f"icmp eq i8* {descr}, {lines.ctx(arg_dtype, 'i8*')}")
        ok = lines.fresh(f"and i1 {ok}, {lines.fresh(f'icmp eq i32 {flags}, {C_CONTIGUOUS_ALIGNED}')}")
        ok = lines.fresh(f"and i1 {ok}, {lines.fresh(f'icmp eq i32 {nd}, {len(arg_shape)}')}")
        lines += [f"br i1 {ok}, label %arg{k}.shape, label %fallback", f"arg{k}.shape:"]
        ok = "true"
        if arg_shape:
            dims = lines.field(obj, "dims", "i64*")
            for d, n in enumerate(arg_shape):
                size = lines.fresh(f"load i64, i64* {lines.at('i64', dims, d)}")
                if d == 0:
                    rows[k] = size
                if n is not None:
                    ok = lines.fresh(f"and i1 {ok}, {lines.fresh(f'icmp eq i64 {size}, {n}')}")
        data = lines.field(obj, "data", "i8*")
        elem = POINTEE[arg_dtype]
        lines += [f"%in{k} = bitcast i8* {data} to {elem}*",
                  f"br i1 {ok}, label %{following}, label %fallback"]

    lines.append("call:")
    if heap:                    # before the output, so that a failure has nothing to release
        raw = lines.fresh(f"call i8* {lines.ctx('PyMem_RawMalloc', 'i8* (i64)*')}(i64 {8 * scratch})")
        lines += [f"%scratch.raw = bitcast i8* {raw} to i8*",
                  "%nomem = icmp eq i8* %scratch.raw, null",
                  "br i1 %nomem, label %nomemory, label %allocate", "allocate:",
                  "%scratch = bitcast i8* %scratch.raw to double*"]
    elif scratch:
        lines.append(f"%scratch = getelementptr inbounds [{scratch} x double], "
                     f"[{scratch} x double]* %scratch.a, i64 0, i64 0")
    if copied:
        out = lines.fresh(f"getelementptr inbounds [{max(1, values)} x {out_elem}], "
                          f"[{max(1, values)} x {out_elem}]* %buffer, i64 0, i64 0")
    else:
        new = lines.ctx("PyArray_New", "i8* (i8*, i32, i64*, i32, i64*, i8*, i32, i32, i8*)*")
        dims = (f"getelementptr inbounds ([{len(shape)} x i64], [{len(shape)} x i64]* "
                f"@@SYMBOL@.shape, i64 0, i64 0)") if shape else "null"
        lines += [f"%result = call i8* {new}(i8* {lines.ctx('ndarray', 'i8*')}, "
                  f"i32 {len(shape)}, i64* {dims}, i32 {TYPENUM[dtype]}, i64* null, i8* null, "
                  "i32 0, i32 0, i8* null)",
                  "%failed = icmp eq i8* %result, null",
                  "br i1 %failed, label %error, label %allocated", "allocated:"]
        out = lines.fresh(f"bitcast i8* {lines.field('%result', 'data', 'i8*')} to {out_elem}*")
    if release:
        thread = lines.fresh(f"call i8* {lines.ctx('PyEval_SaveThread', 'i8* ()*')}()")
    status = call(lines, rows, out)
    if release:
        lines.append(f"call void {lines.ctx('PyEval_RestoreThread', 'void (i8*)*')}(i8* {thread})")
    free = "PyMem_RawFree", "void (i8*)*"
    if heap:
        lines.append(f"call void {lines.ctx(*free)}(i8* %scratch.raw)")
    if status is not None:
        lines += [f"%raised = icmp ne i32 {status}, 0",
                  "br i1 %raised, label %raise, label %return", "return:"]
    if parts:
        parts_return(lines, dtype, parts, out, copied)
    else:
        lines.append("ret i8* %result")
    lines.append("error:")
    if heap:
        lines.append(f"call void {lines.ctx(*free)}(i8* %scratch.raw)")
    lines.append("ret i8* null")
    if status is not None:          # the computation's error: drop the output, raise
        lines.append("raise:")
        if not copied:
            lines.append(f"call void {lines.ctx('Py_DecRef', 'void (i8*)*')}(i8* %result)")
        lines += [f"switch i32 {status}, label %raise0 ["
                  + " ".join(f"i32 {k + 1}, label %raise{k + 1}" for k in range(len(messages)))
                  + "]", "raise0:", "ret i8* null"]
        for k, message in enumerate(messages):
            n = len(message.encode()) + 1
            text = (f"getelementptr inbounds ([{n} x i8], [{n} x i8]* @@SYMBOL@.message{k + 1}, "
                    "i64 0, i64 0)")
            lines.append(f"raise{k + 1}:")
            set_error = lines.ctx("PyErr_SetString", "void (i8*, i8*)*")
            lines += [f"call void {set_error}(i8* {lines.ctx('IndexError', 'i8*')}, i8* {text})",
                      "ret i8* null"]
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
    for k, (_, part_shape) in enumerate(parts or ()):
        if part_shape:
            table += (f"@@SYMBOL@.part{k} = private unnamed_addr constant [{len(part_shape)} x "
                      f"i64] [{', '.join(f'i64 {d}' for d in part_shape)}]\n")
    for k, message in enumerate(messages):
        data = message.encode()
        table += (f"@@SYMBOL@.message{k + 1} = private unnamed_addr constant "
                  f"[{len(data) + 1} x i8] c\"{_c_string(data)}\\00\"\n")
    declare = "declare void @llvm.memcpy.p0i8.p0i8.i64(i8*, i8*, i64, i1)\n" if copied else ""
    return (table + "\ndefine i8* @@SYMBOL@(i8* %self, i8** %args, i64 %nargs) nounwind {\n"
            + "entry:\n" + lines.text() + "}\n" + declare)


def parts_return(lines: IRLines, dtype: str, parts: list, out: str, copied: bool = False) -> None:
    """Return the tuple of ``parts`` (``[(offset, shape)]``) of the output at ``out``: a NumPy
    scalar for a shape ``()``, else an array viewing the output ``%result`` (its base), as
    Python's slicing of it would give, or, ``copied``, an array of its own holding a copy of
    the part (`COPIED_PARTS`: ``out`` is then a buffer of the entry's, and there is no
    ``%result``). A failure releases all and returns NULL."""
    elem = OUTPUT[dtype][0]
    new = lines.ctx("PyArray_New", "i8* (i8*, i32, i64*, i32, i64*, i8*, i32, i32, i8*)*")
    tuple_ = lines.fresh(f"call i8* {lines.ctx('PyTuple_New', 'i8* (i64)*')}(i64 {len(parts)})")
    items = lines.fresh(f"getelementptr i8, i8* {tuple_}, i64 {LAYOUT['tuple_items']}")
    items = lines.fresh(f"bitcast i8* {items} to i8**")
    failed = lines.fresh(f"icmp eq i8* {tuple_}, null")
    lines += [f"br i1 {failed}, label %parts.failed, label %part0"]
    for k, (offset, shape) in enumerate(parts):
        lines.append(f"part{k}:")
        data = lines.fresh(f"bitcast {elem}* {lines.at(elem, out, offset)} to i8*")
        if shape:
            dims = (f"getelementptr inbounds ([{len(shape)} x i64], [{len(shape)} x i64]* "
                    f"@@SYMBOL@.part{k}, i64 0, i64 0)")
            given, flags = ("null", 0) if copied else (data, NPY_ARRAY_CARRAY)
            obj = lines.fresh(f"call i8* {new}(i8* {lines.ctx('ndarray', 'i8*')}, "
                              f"i32 {len(shape)}, i64* {dims}, i32 {TYPENUM[dtype]}, i64* null, "
                              f"i8* {given}, i32 0, i32 {flags}, i8* null)")
        else:
            scalar = lines.ctx("PyArray_Scalar", "i8* (i8*, i8*, i8*)*")
            obj = lines.fresh(f"call i8* {scalar}(i8* {data}, i8* {lines.ctx(dtype, 'i8*')}, "
                              f"i8* {'null' if copied else '%result'})")
        failed = lines.fresh(f"icmp eq i8* {obj}, null")
        lines += [f"br i1 {failed}, label %parts.failed, label %part{k}.made", f"part{k}.made:"]
        lines.append(f"store i8* {obj}, i8** {lines.at('i8*', items, k)}")   # the tuple owns it
        following = f"part{k + 1}" if k + 1 < len(parts) else "parts.done"
        if shape and copied:
            width = {"double": 8, "float": 4}[elem] * math.prod(shape)
            lines.append(f"call void @llvm.memcpy.p0i8.p0i8.i64(i8* "
                         f"{lines.field(obj, 'data', 'i8*')}, i8* {data}, i64 {width}, i1 false)")
            lines.append(f"br label %{following}")
        elif shape:         # the view keeps the output alive (SetBaseObject takes a reference)
            lines.append(f"call void {lines.ctx('Py_IncRef', 'void (i8*)*')}(i8* %result)")
            set_base = lines.ctx("PyArray_SetBaseObject", "i32 (i8*, i8*)*")
            status = lines.fresh(f"call i32 {set_base}(i8* {obj}, i8* %result)")
            failed = lines.fresh(f"icmp ne i32 {status}, 0")
            lines.append(f"br i1 {failed}, label %parts.failed, label %{following}")
        else:
            lines.append(f"br label %{following}")
    lines.append("parts.done:")
    if not copied:
        lines.append(f"call void {lines.ctx('Py_DecRef', 'void (i8*)*')}(i8* %result)")
    lines += [f"ret i8* {tuple_}", "parts.failed:"]
    decref = lines.ctx("Py_DecRef", "void (i8*)*")
    lines.append(f"call void {decref}(i8* {tuple_})")
    if not copied:
        lines.append(f"call void {decref}(i8* %result)")
    lines.append("ret i8* null")


def _c_string(data: bytes) -> str:
    """``data`` as the inside of an LLVM ``c"..."`` constant: printable ASCII as itself, every
    other byte (and ``"``, ``'`` and ``\\``) as ``\\XX``."""
    return "".join(chr(b) if 32 <= b < 127 and b not in (34, 39, 92) else f"\\{b:02X}" for b in data)
