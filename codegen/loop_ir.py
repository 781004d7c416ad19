"""Loop programs compiled to LLVM IR: the array tier's kernels without Numba.

The array tier (`symhess.arrays.kernel`) writes its kernel as a loop program in a small subset
of Python: fixed-shape arrays allocated with ``np.zeros``/``np.empty`` or viewed with
``.reshape``, ``for`` loops over ``range``, element reads and writes (``X[i, j]``,
``X.flat[i]``, ``X[i] += v``), scalar arithmetic with ``math`` and a few NumPy functions,
conditional expressions, ``np.dot(A, B)`` of two matrices (either transposed),
``np.linalg.inv(A)`` of one
(BLAS and LAPACK), and ``raise IndexError`` for a
runtime index out of bounds. `LoopProgram` compiles that subset, and nothing else, to one LLVM
function

    ``i32 body(in0*, ..., buffer0*, ..., out*)``

that returns 0, or ``k`` when the program raised its ``k``-th error message. The arrays the
program makes are the ``buffer`` parameters, which the caller lays out in one block of
`LoopProgram.temporaries` bytes at the offsets of `LoopProgram.buffers`; the array the program
returns is written in ``out`` directly, and so are the arrays it copies whole into it (the
parts of a result of several arrays: a value, its gradient, its Hessian). A sum into one
element across a loop is kept in a register (`LoopProgram.invariant_sum`). The parameters are
not marked ``noalias``: LLVM would then vectorize loops of indexed reads with gather
instructions, slower than scalar loads on common CPUs.

Values are doubles, 64-bit integers or booleans, with NumPy's promotion (a boolean or an integer
meeting a double becomes one, ``/`` is a true division) and NumPy's results for the edge cases:
``np.maximum`` of a NaN is NaN, ``math.log(-1.0)`` is NaN (Numba's ``error_model='numpy'``).
A conditional expression evaluates only its chosen side, so a read guarded by a bounds test
never touches memory outside its array.
"""

from __future__ import annotations

import ast
import math

from .loop_calls import LinearAlgebraCalls
from .loop_values import ScalarCompiler, call_name
from .printer import CodegenError

__all__ = ["LoopProgram", "STORAGE"]

# NumPy dtype name -> (LLVM element type, kind of its values: "f" double, "i" int64, "b" bool)
STORAGE = {
    "float64": ("double", "f"), "float32": ("float", "f"),
    "int64": ("i64", "i"), "int32": ("i32", "i"), "int16": ("i16", "i"), "int8": ("i8", "i"),
    "uint64": ("i64", "u"), "uint32": ("i32", "u"), "uint16": ("i16", "u"), "uint8": ("i8", "u"),
    "bool": ("i8", "b"),
}
NUMPY_DTYPES = {"float64": "float64", "float32": "float32", "int64": "int64", "bool_": "bool"}
ALIGN = 64                  # bytes: each array of the temporaries starts on a cache line


class Array:
    """An array of the program: its element storage, kind and shape, and its address."""

    def __init__(self, address: str, dtype: str, shape: tuple):
        self.address, self.dtype, self.shape = address, dtype, tuple(shape)
        self.elem, self.kind = STORAGE[dtype]
        self.size = math.prod(self.shape)


class LoopProgram(LinearAlgebraCalls, ScalarCompiler):
    """Compiles one loop program (the body of ``def kernel(...)``) to an LLVM function.

    Args:
        source: the function's source: ``def kernel(in0, ...):`` and its statements.
        arrays: ``(dtype name, shape)`` of each parameter, in order (all are arrays; the
            program reads one of shape ``()`` as shape ``(1,)``).
        out: ``(dtype name, size)`` of the output buffer.
        name: the LLVM function's name (with its ``@``).
        blas: the name of the table of the addresses of the Fortran functions of
            `codegen.loop_calls.LINEAR_ALGEBRA` (for ``np.dot``, ``np.linalg.inv`` and
            ``np.linalg.slogdet``; the caller fills it).
    """

    def __init__(self, source: str, arrays: list, out: tuple, name: str, blas: str):
        (function,) = ast.parse(source).body
        self.params = [a.arg for a in function.args.args]
        if len(arrays) != len(self.params):
            raise CodegenError(f"loop program: {len(self.params)} parameters, {len(arrays)} arrays")
        self.arrays = {p: Array(f"%{p}", dtype, shape or (1,))
                       for p, (dtype, shape) in zip(self.params, arrays)}
        self.out_dtype, self.out_size = out
        self.name, self.blas = name, blas
        super().__init__()
        self.block = "start"                # (the entry block holds the stack slots)
        self.messages: list[str] = []       # the errors the program raises, in order
        self.temporaries = 0                # bytes
        self.buffers: list = []             # (element type, byte offset) of each array made
        self.sums: dict = {}                # id(X[...] += v) -> (X, its register's slot)
        self.uses_blas = False              # whether a matrix product calls BLAS
        self.returned = _returned(function.body)
        self.parts = _parts(function.body, self.returned)
        self.statements(function.body)

    # --- output ------------------------------------------------------------------------------
    def ir(self) -> str:
        """The function, then the declarations of what it calls."""
        out_elem = STORAGE[self.out_dtype][0]
        params = [f"{self.arrays[p].elem}* %{p}" for p in self.params]
        params += [f"{elem}* %buffer{k}" for k, (elem, _) in enumerate(self.buffers)]
        params.append(f"{out_elem}* noalias %out")
        body = "".join((line if line.endswith(":") else "  " + line) + "\n"
                       for line in ["entry:"] + self.allocas + ["br label %start", "start:"]
                       + self.lines + ["ret i32 0"])
        return (f"define i32 {self.name}({', '.join(params)}) nounwind {{\n{body}}}\n"
                + "".join(d + "\n" for d in sorted(self.declares)))

    # --- statements --------------------------------------------------------------------------
    def statements(self, body) -> None:
        for stmt in body:
            method = getattr(self, f"_{type(stmt).__name__}", None)
            if method is None:
                raise CodegenError(f"loop program: no rule for statement {ast.unparse(stmt)!r}")
            method(stmt)

    def _Assign(self, stmt) -> None:
        (target,) = stmt.targets
        value = stmt.value
        pair = call_name(value) in ("np.linalg.slogdet", "np.linalg.eigh") and \
            isinstance(target, ast.Tuple) and len(target.elts) == 2 and \
            all(isinstance(t, ast.Name) for t in target.elts)
        if pair:
            names = [t.id for t in target.elts]
            if call_name(value) == "np.linalg.eigh":
                self.eigen(names, *value.args)
            else:
                self.log_determinant(names, *value.args)
            return
        if isinstance(target, ast.Name):
            name = target.id
            if name in self.params:
                # an input's conversion (np.ascontiguousarray(np.asarray(in0, ...)).reshape):
                # the entry passes it converted; a parameter is never assigned otherwise
                if not ast.unparse(value).startswith(f"np.ascontiguousarray(np.asarray({name},"):
                    raise CodegenError(f"loop program: assigns to its parameter {name}")
                return
            call = call_name(value)
            if call in ("np.zeros", "np.empty"):
                shape = ast.literal_eval(value.args[0])
                shape = (shape,) if isinstance(shape, int) else shape
                numpy_name = ast.unparse(value.keywords[0].value).split(".")[-1]
                if numpy_name not in NUMPY_DTYPES:
                    raise CodegenError(f"loop program: an array of dtype {numpy_name}")
                self.allocate(name, NUMPY_DTYPES[numpy_name], shape, zero=call == "np.zeros")
            elif call == "reshape":
                source = self.array(value.func.value)
                shape = ast.literal_eval(value.args[0])
                if math.prod(shape) != source.size:
                    raise CodegenError(f"loop program: {ast.unparse(value)!r} changes the size")
                self.arrays[name] = Array(source.address, source.dtype, shape)
            elif call == "np.dot":
                self.matrix_product(name, *value.args)
            elif call == "np.linalg.inv":
                self.inverse(name, *value.args)
            else:
                self.assign_scalar(name, self.expr(value))
            return
        if isinstance(target, ast.Subscript):
            array, index = self.element(target)
            if index is None:                   # X[:] = v, or X[a:b] = Y.reshape(-1)
                self.fill(array, target.slice, value)
                return
            self.store(array, index, self.expr(value))
            return
        raise CodegenError(f"loop program: cannot assign to {ast.unparse(target)!r}")

    def _AugAssign(self, stmt) -> None:
        if not isinstance(stmt.op, ast.Add) or not isinstance(stmt.target, ast.Subscript):
            raise CodegenError(f"loop program: no rule for {ast.unparse(stmt)!r}")
        if id(stmt) in self.sums:         # a sum kept in a register across its loop
            array, slot = self.sums[id(stmt)]
            raw = self.fresh(f"load {array.elem}, {array.elem}* {slot}")
            old, term = self.extend(array, raw), self.expr(stmt.value)
            if "f" in (old[1], term[1]):    # reassociable: LLVM sums in vector lanes
                total = self.fresh(f"fadd reassoc double {self.floating(old)}, "
                                   f"{self.floating(term)}"), "f"
            else:
                total = self.arithmetic(ast.Add(), old, term)
            self.lines.append(f"store {array.elem} {self.convert(total, array)}, {array.elem}* {slot}")
            return
        array, index = self.element(stmt.target)
        old = self.load(array, index)
        self.store(array, index, self.arithmetic(ast.Add(), old, self.expr(stmt.value)))

    def _For(self, stmt) -> None:
        if call_name(stmt.iter) != "range" or stmt.orelse:
            raise CodegenError(f"loop program: a for loop over {ast.unparse(stmt.iter)!r}")
        bounds = [self.integer(self.expr(a)) for a in stmt.iter.args]
        start, stop = (bounds[0], bounds[1]) if len(bounds) > 1 else ("0", bounds[0])
        step = ast.literal_eval(stmt.iter.args[2]) if len(bounds) > 2 else 1
        if not isinstance(step, int) or step <= 0:
            raise CodegenError("loop program: a range's step is a positive integer constant")
        var = self.variable(stmt.target.id, "i")
        sum_ = self.invariant_sum(stmt)
        if sum_ is not None:                # the sum's element, kept in a register
            array, index = self.element(sum_.target)
            slot = f"%sum{self.count}.slot"
            self.count += 1
            self.allocas.append(f"{slot} = alloca {array.elem}")
            old = self.fresh(f"load {array.elem}, {array.elem}* {self.address(array, index)}")
            self.lines.append(f"store {array.elem} {old}, {array.elem}* {slot}")
            self.sums[id(sum_)] = array, slot
        head, body, done = self.label("head"), self.label("body"), self.label("done")
        self.lines += [f"store i64 {start}, i64* {var}", f"br label %{head}"]
        self.enter(head)
        i = self.fresh(f"load i64, i64* {var}")
        more = self.fresh(f"icmp slt i64 {i}, {stop}")
        self.lines.append(f"br i1 {more}, label %{body}, label %{done}")
        self.enter(body)
        self.statements(stmt.body)
        i = self.fresh(f"load i64, i64* {var}")
        self.lines += [f"store i64 {self.fresh(f'add nsw i64 {i}, {step}')}, i64* {var}",
                       f"br label %{head}"]
        self.enter(done)
        if sum_ is not None:
            del self.sums[id(sum_)]
            total = self.fresh(f"load {array.elem}, {array.elem}* {slot}")
            self.lines.append(f"store {array.elem} {total}, {array.elem}* {self.address(array, index)}")

    def invariant_sum(self, stmt):
        """The ``X[...] += v`` that ends the body of loop ``stmt``, when its element is the same
        in every iteration and the body reads nothing else of ``X``: then the element is read
        before the loop and written after it, and the loop adds to a register (what LLVM would
        do if it knew that no other array shares ``X``'s memory)."""
        *first, last = stmt.body
        if not isinstance(last, ast.AugAssign) or not isinstance(last.target, ast.Subscript) \
                or not isinstance(last.target.value, ast.Name):
            return None
        if not all(isinstance(s, ast.Assign) and isinstance(s.targets[0], ast.Name)
                   and call_name(s.value) is None for s in first):
            return None
        changing = {stmt.target.id} | {s.targets[0].id for s in first}
        if changing & {n.id for n in ast.walk(last.target.slice) if isinstance(n, ast.Name)}:
            return None
        target = self.arrays.get(last.target.value.id)
        read = {n.id for s in stmt.body for n in ast.walk(s.value) if isinstance(n, ast.Name)}
        if target is None or any(self.arrays[n].address == target.address
                                 for n in read if n in self.arrays):
            return None
        return last

    def _If(self, stmt) -> None:
        then, other, done = self.label("then"), self.label("else"), self.label("endif")
        self.lines.append(f"br i1 {self.truth(self.expr(stmt.test))}, label %{then}, label %{other}")
        self.enter(then)
        self.statements(stmt.body)
        self.lines.append(f"br label %{done}")
        self.enter(other)
        self.statements(stmt.orelse)
        self.lines.append(f"br label %{done}")
        self.enter(done)

    def _Raise(self, stmt) -> None:
        exc = stmt.exc
        if call_name(exc) != "IndexError" or not isinstance(exc.args[0], ast.Constant):
            raise CodegenError(f"loop program: no rule for {ast.unparse(stmt)!r}")
        self.messages.append(exc.args[0].value)
        self.lines.append(f"ret i32 {len(self.messages)}")
        self.enter(self.label("after"))       # unreachable: what follows needs a block

    def _Return(self, stmt) -> None:
        value = stmt.value
        if call_name(value) != "reshape":
            raise CodegenError(f"loop program: no rule for {ast.unparse(stmt)!r}")
        array = self.array(value.func.value)
        if array.address != "%out":
            self.copy(array, Array("%out", self.out_dtype, (self.out_size,)), 0)
        self.lines.append("ret i32 0")
        self.enter(self.label("after"))

    def _eSubscript(self, node):
        array, index = self.element(node)
        if index is None:
            raise CodegenError(f"loop program: a slice {ast.unparse(node)!r} as a value")
        return self.load(array, index)

    # --- arrays ------------------------------------------------------------------------------
    def allocate(self, name: str, dtype: str, shape, zero: bool) -> Array:
        size = math.prod(shape)
        part = self.parts.get(name)
        if name == self.returned and dtype == self.out_dtype and size == self.out_size:
            array = Array("%out", dtype, shape)           # written where the caller reads it
        elif part is not None and dtype == self.out_dtype and size == part[1] - part[0]:
            # a part of the result (a gradient beside a Hessian): made in place in ``out``,
            # whose noalias tells LLVM that no store to it changes what the program reads
            elem = STORAGE[dtype][0]
            array = Array(f"%out.at{part[0]}", dtype, shape)
            self.allocas.append(f"{array.address} = getelementptr inbounds {elem}, "
                                f"{elem}* %out, i64 {part[0]}")
        else:           # its own parameter: LLVM knows no other pointer reaches it
            elem = STORAGE[dtype][0]
            array = Array(f"%buffer{len(self.buffers)}", dtype, shape)
            self.buffers.append((elem, self.temporaries))
            self.temporaries += -(-max(size, 1) * _bytes(elem) // ALIGN) * ALIGN
        self.arrays[name] = array
        if zero:
            raw = self.fresh(f"bitcast {array.elem}* {array.address} to i8*")
            self.declares.add("declare void @llvm.memset.p0i8.i64(i8*, i8, i64, i1)")
            self.lines.append(f"call void @llvm.memset.p0i8.i64(i8* {raw}, i8 0, "
                              f"i64 {size * _bytes(array.elem)}, i1 false)")
        return array

    def array(self, node) -> Array:
        if not isinstance(node, ast.Name) or node.id not in self.arrays:
            raise CodegenError(f"loop program: {ast.unparse(node)!r} is not an array")
        return self.arrays[node.id]

    def element(self, node):
        """``(array, flat index operand)`` of ``X[i, j]`` or ``X.flat[i]``; the index is None
        for a slice."""
        base = node.value
        if isinstance(base, ast.Attribute) and base.attr == "flat":
            return self.array(base.value), self.integer(self.expr(node.slice))
        array = self.array(base)
        parts = node.slice.elts if isinstance(node.slice, ast.Tuple) else [node.slice]
        if any(isinstance(p, ast.Slice) for p in parts):
            return array, None
        shape = array.shape or (1,)
        if len(parts) != len(shape):
            raise CodegenError(f"loop program: {ast.unparse(node)!r} indexes {len(parts)} "
                               f"axes of an array of shape {array.shape}")
        flat = self.integer(self.expr(parts[0]))
        for p, n in zip(parts[1:], shape[1:]):
            scaled = self.fresh(f"mul nsw i64 {flat}, {n}")
            flat = self.fresh(f"add nsw i64 {scaled}, {self.integer(self.expr(p))}")
        return array, flat

    def address(self, array: Array, index: str) -> str:
        return self.fresh(f"getelementptr inbounds {array.elem}, {array.elem}* "
                          f"{array.address}, i64 {index}")

    def load(self, array: Array, index: str):
        return self.extend(array, self.fresh(f"load {array.elem}, {array.elem}* "
                                             f"{self.address(array, index)}"))

    def extend(self, array: Array, raw: str):
        """An element ``raw`` of ``array`` as a value."""
        if array.kind == "f":
            return (raw if array.elem == "double" else self.fresh(f"fpext float {raw} to double"), "f")
        if array.kind == "b":
            return self.fresh(f"icmp ne i8 {raw}, 0"), "b"
        if array.elem == "i64":
            return raw, "i"
        extend = "sext" if array.kind == "i" else "zext"
        return self.fresh(f"{extend} {array.elem} {raw} to i64"), "i"

    def store(self, array: Array, index: str, value) -> None:
        self.lines.append(f"store {array.elem} {self.convert(value, array)}, "
                          f"{array.elem}* {self.address(array, index)}")

    def convert(self, value, array: Array) -> str:
        """``value`` as an element of ``array``."""
        if array.kind == "f":
            x = self.floating(value)
            return x if array.elem == "double" else self.fresh(f"fptrunc double {x} to float")
        if array.kind == "b":
            return self.fresh(f"zext i1 {self.truth(value)} to i8")
        x = self.integer(value)
        return x if array.elem == "i64" else self.fresh(f"trunc i64 {x} to {array.elem}")

    def fill(self, array: Array, key, value) -> None:
        """``X[:] = v`` (a number), or ``X[a:b] = Y.reshape(-1)`` (a copy)."""
        if isinstance(key, ast.Slice) and key.lower is None and key.upper is None:
            number = self.expr(value)
            self.loop(array.size, lambda i: self.store(array, i, number))
            return
        if call_name(value) != "reshape" or not isinstance(key, ast.Slice):
            raise CodegenError(f"loop program: no rule for assigning {ast.unparse(value)!r}")
        source = self.array(value.func.value)
        start = ast.literal_eval(key.lower)
        if array.address == "%out" and source.address == f"%out.at{start}":
            return                                  # made in place (`allocate`)
        self.copy(source, array, start)

    def copy(self, source: Array, target: Array, offset: int) -> None:
        def one(i):
            at = self.fresh(f"add nsw i64 {i}, {offset}")
            self.store(target, at, self.load(source, i))
        self.loop(source.size, one)

    def loop(self, n: int, body) -> None:
        """``for i in range(n): body(i)`` (an operand of the loop's index)."""
        head, inside, done = self.label("head"), self.label("body"), self.label("done")
        before = self.block
        self.lines.append(f"br label %{head}")
        self.enter(head)
        i, step = f"%{head}.i", f"%{head}.next"
        self.lines += [f"{i} = phi i64 [0, %{before}], [{step}, %{inside}.end]",
                       f"%{head}.more = icmp slt i64 {i}, {n}",
                       f"br i1 %{head}.more, label %{inside}, label %{done}"]
        self.enter(inside)
        body(i)
        self.lines += [f"br label %{inside}.end", f"{inside}.end:",
                       f"{step} = add nsw i64 {i}, 1", f"br label %{head}"]
        self.enter(done)


def _bytes(elem: str) -> int:
    return {"double": 8, "float": 4, "i64": 8, "i32": 4, "i16": 2, "i8": 1}[elem]


def _parts(body, returned) -> dict:
    """``{name: (a, b)}`` of the arrays the program copies whole into the array it returns,
    ``returned[a:b] = X.reshape(-1)``, in the copies that end it (nothing is written after
    them, so an array made in place holds what the copy would): the parts of a result of
    several arrays, which `LoopProgram.allocate` makes in place. An array copied twice is
    made at its first copy's place."""
    parts = {}
    for stmt in reversed(body[:-1]):
        if not (isinstance(stmt, ast.Assign) and len(stmt.targets) == 1):
            break
        target, value = stmt.targets[0], stmt.value
        if not (isinstance(target, ast.Subscript) and isinstance(target.value, ast.Name)
                and target.value.id == returned and isinstance(target.slice, ast.Slice)
                and call_name(value) == "reshape" and isinstance(value.func.value, ast.Name)
                and isinstance(target.slice.lower, ast.Constant)
                and isinstance(target.slice.upper, ast.Constant)):
            break
        parts[value.func.value.id] = (target.slice.lower.value, target.slice.upper.value)
    return parts


def _returned(body) -> str | None:
    """The array ``return X.reshape(...)`` returns, if the program ends so."""
    last = body[-1] if body else None
    if isinstance(last, ast.Return) and call_name(last.value) == "reshape" and \
            isinstance(last.value.func.value, ast.Name):
        return last.value.func.value.id
    return None
