"""The LLVM IR target (`LLVMIR`): a straight-line function ``void name(inputs..., out*)``.

`LLVMPrinter` is a visitor like `NumPyPrinter`, but each ``_print_<Class>`` method appends SSA
instructions and returns the operand that holds the value. Arithmetic is done in double; inputs
are loaded with their own element type and converted, and the result is rounded to the output
dtype when stored. Piecewise values become ``select`` instructions: both sides are evaluated, as
NumPy's ``where`` does, and IEEE arithmetic makes the unused side harmless.

`LLVMIR` prints the statements through `codegen.target.Target`'s statement printer; it is the
body of `codegen.numba_llvm.NumbaLLVM`, not a target of its own for generated modules. Printing
IR directly lets Numba compile a kernel of thousands of statements in a fraction of the
time its Python front end needs for the same statements written as Python.
"""

from __future__ import annotations

import struct

import symengine as se

from .printer import CodegenError, Visitor
from .spec import CHUNK, KernelSpec, flat_index, scratch_size, spills
from .target import Target

__all__ = ["LLVMIR", "LLVMPrinter", "emit_llvm", "supports", "CHUNK", "scratch_size"]

# NumPy dtype name -> (LLVM element type, conversion to double)
ELEMENT = {
    "float64": ("double", None), "float32": ("float", "fpext"),
    "int64": ("i64", "sitofp"), "int32": ("i32", "sitofp"), "int16": ("i16", "sitofp"),
    "int8": ("i8", "sitofp"), "uint64": ("i64", "uitofp"), "uint32": ("i32", "uitofp"),
    "uint16": ("i16", "uitofp"), "uint8": ("i8", "uitofp"),
}
OUTPUT = {"float64": ("double", None), "float32": ("float", "fptrunc")}

# SymEngine function -> (LLVM callee, arity). llvm.* are intrinsics; the rest come from libm.
FUNCTIONS = {
    "sin": "llvm.sin.f64", "cos": "llvm.cos.f64", "exp": "llvm.exp.f64", "log": "llvm.log.f64",
    "Abs": "llvm.fabs.f64", "tan": "tan", "asin": "asin", "acos": "acos", "atan": "atan",
    "sinh": "sinh", "cosh": "cosh", "tanh": "tanh", "asinh": "asinh", "acosh": "acosh",
    "atanh": "atanh", "atan2": "atan2", "log1p": "log1p", "expm1": "expm1", "hypot": "hypot",
    "erf": "erf", "erfc": "erfc", "floor": "llvm.floor.f64", "fmod": "fmod",
}


def double(value: float) -> str:
    """An exact LLVM double constant (hexadecimal bit pattern)."""
    return "0x%016X" % struct.unpack(">Q", struct.pack(">d", float(value)))[0]


def supports(spec: KernelSpec) -> bool:
    """Whether this target can compile the spec (real dtypes only)."""
    return spec.dtype in OUTPUT and all(i.dtype in ELEMENT for i in spec.inputs)


class LLVMPrinter(Visitor):
    """Appends SSA instructions for expressions; `doprint` returns the result operand."""

    def __init__(self, names: dict):
        self.names = names          # Symbol -> operand (an SSA name holding a double)
        self.lines: list[str] = []
        self.declares: set[str] = set()
        self._memo: dict = {}
        self._booleans: set = set()
        self._count = 0

    def fresh(self) -> str:
        self._count += 1
        return f"%v{self._count}"

    def emit(self, text: str) -> str:
        name = self.fresh()
        self.lines.append(f"{name} = {text}")
        return name

    def boolean(self, text: str) -> str:
        """Emit an instruction whose result is an ``i1`` condition."""
        name = self.emit(text)
        self._booleans.add(name)
        return name

    def is_boolean(self, operand: str) -> bool:
        return operand in self._booleans or operand in ("true", "false")

    def doprint(self, expr) -> str:
        """The operand holding ``expr``; each distinct subexpression is emitted once."""
        known = self._memo.get(expr)
        if known is None:
            known = self._memo[expr] = super().doprint(expr)
        return known

    def call(self, callee: str, *args: str) -> str:
        self.declares.add(f"declare double @{callee}({', '.join(['double'] * len(args))})")
        return self.emit(f"call double @{callee}({', '.join('double ' + a for a in args)})")

    # --- atoms -------------------------------------------------------------------------------
    def _print_Symbol(self, expr):
        try:
            return self.names[expr]
        except KeyError:
            raise CodegenError(f"symbol {str(expr)[:60]} is neither an input nor a temporary") from None

    def _print_Number(self, expr):
        if not expr.is_real:
            raise CodegenError(f"LLVMPrinter prints real kernels only; got the constant {expr}")
        return double(float(expr))

    def _print_Constant(self, expr):
        values = {"Pi": 3.141592653589793, "Exp1": 2.718281828459045, "Infinity": float("inf"),
                  "NegativeInfinity": float("-inf"), "NaN": float("nan"),
                  "ComplexInfinity": float("nan")}
        name = type(expr).__name__
        if name not in values:
            raise CodegenError(f"no value for the constant {expr}")
        return double(values[name])

    _print_Infinity = _print_NegativeInfinity = _print_NaN = _print_ComplexInfinity = _print_Constant
    _print_Pi = _print_Exp1 = _print_Constant

    def _print_BooleanTrue(self, expr):
        return "true"

    def _print_BooleanFalse(self, expr):
        return "false"

    # --- arithmetic --------------------------------------------------------------------------
    def _print_Add(self, expr):
        terms = list(expr.args)
        out = self.doprint(terms[0])
        for term in terms[1:]:
            if isinstance(term, se.Mul) and term.args[0] == -1:
                out = self.emit(f"fsub double {out}, {self.doprint(-term)}")
            else:
                out = self.emit(f"fadd double {out}, {self.doprint(term)}")
        return out

    def _print_Mul(self, expr):
        numer, denom = [], []
        for a in expr.args:
            if isinstance(a, se.Pow) and isinstance(a.args[1], se.Number) and a.args[1] < 0:
                e = -a.args[1]
                denom.append(self.doprint(a.args[0] if e == 1 else se.Pow(a.args[0], e)))
            else:
                numer.append(a)
        if numer and numer[0] == -1 and len(numer) > 1:
            value = self.emit(f"fneg double {self._product(numer[1:])}")
        else:
            value = self._product(numer) if numer else double(1.0)
        if denom:
            d = denom[0]
            for other in denom[1:]:
                d = self.emit(f"fmul double {d}, {other}")
            value = self.emit(f"fdiv double {value}, {d}")
        return value

    def _product(self, factors) -> str:
        out = self.doprint(factors[0])
        for f in factors[1:]:
            out = self.emit(f"fmul double {out}, {self.doprint(f)}")
        return out

    def _print_Pow(self, expr):
        base, exponent = expr.args
        if base == se.E:
            return self.call("llvm.exp.f64", self.doprint(exponent))
        b = self.doprint(base)
        if isinstance(exponent, se.Integer):
            n = int(exponent)
            value = self._integer_power(b, abs(n))
            return self.emit(f"fdiv double {double(1.0)}, {value}") if n < 0 else value
        if exponent == se.Rational(1, 2):
            return self.call("llvm.sqrt.f64", b)
        if exponent == se.Rational(-1, 2):
            return self.emit(f"fdiv double {double(1.0)}, {self.call('llvm.sqrt.f64', b)}")
        return self.call("llvm.pow.f64", b, self.doprint(exponent))

    def _integer_power(self, b: str, n: int) -> str:
        """b**n by repeated squaring: exact for small n, as NumPy's integer powers are."""
        if n == 0:
            return double(1.0)
        result, square = None, b
        while n:
            if n & 1:
                result = square if result is None else self.emit(f"fmul double {result}, {square}")
            n >>= 1
            if n:
                square = self.emit(f"fmul double {square}, {square}")
        return result

    # --- functions -----------------------------------------------------------------------------
    def _print_Function(self, expr):
        name = type(expr).__name__
        callee = FUNCTIONS.get(name)
        if callee is None:
            raise CodegenError(f"LLVMPrinter has no function for {name}")
        return self.call(callee, *(self.doprint(a) for a in expr.args))

    # Functions that symhess keeps whole (PyFunction nodes, named by get_name()), as in
    # NumPyPrinter: library calls, or stable forms spelled out.
    def _print_PyFunction(self, expr):
        name = expr.get_name()
        args = [self.doprint(a) for a in expr.args]
        if name == "softplus":          # max(u, 0) + log1p(exp(-|u|))
            (u,) = args
            tail = self.emit(f"fneg double {self.call('llvm.fabs.f64', u)}")
            tail = self.call("log1p", self.call("llvm.exp.f64", tail))
            return self.emit(f"fadd double {self.call('llvm.maxnum.f64', u, double(0.0))}, {tail}")
        if name == "sigmoid":           # 1 / (1 + exp(-u))
            e = self.call("llvm.exp.f64", self.emit(f"fneg double {args[0]}"))
            return self.emit(f"fdiv double {double(1.0)}, {self.emit(f'fadd double {double(1.0)}, {e}')}")
        if name == "hypot_ratio":       # a / hypot(a, b)
            return self.emit(f"fdiv double {args[0]}, {self.call('hypot', *args)}")
        if name == "no_derivative":
            return args[0]
        if name == "undefined":
            return double(float("nan"))
        callee = FUNCTIONS.get(name)
        if callee is None:
            raise CodegenError(f"LLVMPrinter has no function for {name}")
        return self.call(callee, *args)

    def _print_log(self, expr):
        (arg,) = expr.args
        if isinstance(arg, se.Add) and 1 in arg.args:      # log(1 + x) -> log1p(x): accurate
            return self.call("log1p", self.doprint(arg - 1))
        return self.call("llvm.log.f64", self.doprint(arg))

    # --- piecewise and conditions --------------------------------------------------------------
    def _print_Piecewise(self, expr):
        args = expr.args
        pairs = [(args[i], args[i + 1]) for i in range(0, len(args), 2)]
        value, cond = pairs[-1]
        out = self.doprint(value)
        if cond != se.true:
            out = self.emit(f"select i1 {self.doprint(cond)}, double {out}, double {double(float('nan'))}")
        for value, cond in reversed(pairs[:-1]):
            c = self.doprint(cond)
            out = self.emit(f"select i1 {c}, double {self.doprint(value)}, double {out}")
        return out

    def _compare(op, boolean_op=None):
        def print_compare(self, expr):
            lhs, rhs = (self.doprint(a) for a in expr.args)
            if boolean_op and (self.is_boolean(lhs) or self.is_boolean(rhs)):
                # CSE may move a condition into a temporary; Piecewise then tests Eq(t, True).
                return self.boolean(f"icmp {boolean_op} i1 {lhs}, {rhs}")
            return self.boolean(f"fcmp {op} double {lhs}, {rhs}")
        return print_compare

    _print_StrictLessThan = _compare("olt")
    _print_LessThan = _compare("ole")
    _print_Equality = _compare("oeq", "eq")
    _print_Unequality = _compare("une", "ne")

    def _logical(op):
        def print_logical(self, expr):
            out = self.doprint(expr.args[0])
            for a in expr.args[1:]:
                out = self.boolean(f"{op} i1 {out}, {self.doprint(a)}")
            return out
        return print_logical

    _print_And = _logical("and")
    _print_Or = _logical("or")
    _print_Xor = _logical("xor")

    def _print_Not(self, expr):
        return self.boolean(f"xor i1 {self.doprint(expr.args[0])}, true")


class _Chunk(LLVMPrinter):
    """A printer for one function of a split kernel: loads inputs and earlier values lazily."""

    def __init__(self, spec, slots, boolean_slots):
        super().__init__({})
        self.spec, self.slots, self.loads = spec, slots, []
        self.boolean_slots = boolean_slots      # spilled conditions, stored as 0.0 or 1.0

    def _print_Symbol(self, expr):
        operand = self.names.get(expr)
        if operand is None:
            operand = self._load(expr)
            self.names[expr] = operand
        return operand

    def _load(self, sym) -> str:
        if sym in self.slots:
            ptr = self.fresh().replace("%v", "%s")
            self.loads.append(f"{ptr} = getelementptr inbounds double, double* %scratch, i64 {self.slots[sym]}")
            value = self.fresh()
            self.loads.append(f"{value} = load double, double* {ptr}")
            if sym in self.boolean_slots:
                flag = self.fresh()
                self.loads.append(f"{flag} = fcmp une double {value}, {double(0.0)}")
                self._booleans.add(flag)
                return flag
            return value
        if sym not in self.spec.reads:
            raise CodegenError(f"symbol {str(sym)[:60]} is neither an input nor a temporary")
        pos, idx = self.spec.reads[sym]
        inp = self.spec.inputs[pos]
        if inp.scalar:
            return f"%in{pos}"
        elem, conv = ELEMENT[inp.dtype]
        ptr = self.fresh().replace("%v", "%p")
        self.loads.append(f"{ptr} = getelementptr inbounds {elem}, {elem}* %in{pos}, i64 {flat_index(inp.shape, idx)}")
        value = self.fresh()
        self.loads.append(f"{value} = load {elem}, {elem}* {ptr}")
        if conv:
            raw, value = value, self.fresh()
            self.loads.append(f"{value} = {conv} {elem} {raw} to double")
        return value


class LLVMIR(Target):
    """LLVM IR text of a module defining ``void @name(inputs..., [scratch,] out)``.

    Array inputs are C-contiguous pointers to their element type; scalar inputs are doubles;
    ``out`` points to ``spec.out_size`` elements of the output dtype. A kernel of more than
    ``chunk`` statements is split into functions of at most ``chunk`` statements and takes a
    ``double* scratch`` of `scratch_size` elements before ``out``. Inputs are loaded where a
    function first uses them (`_Chunk`), so `read` is not used; a value is bound by naming its
    operand, and stored through scratch when a later function uses it.

    Args:
        chunk: statements per function.
        inline: ask LLVM to inline ``@name`` into its callers (for small element functions
            called in a loop).
    """

    description = "LLVM IR"
    indent = "  "

    def __init__(self, chunk: int = CHUNK, inline: bool = False):
        self.chunk, self.inline = chunk, inline

    def supports(self, spec: KernelSpec) -> bool:
        """Real output dtypes, and input dtypes LLVM loads and converts to double."""
        return supports(spec)

    def bind(self, printer, sym, value):
        printer.names[sym] = value
        if sym not in printer.slots:
            return []
        if printer.is_boolean(value):       # a condition CSE moved into a temporary
            printer.boolean_slots.add(sym)
            value = printer.emit(f"uitofp i1 {value} to double")
        ptr = printer.fresh().replace("%v", "%s")
        return [f"{ptr} = getelementptr inbounds double, double* %scratch, i64 {printer.slots[sym]}",
                f"store double {value}, double* {ptr}"]

    def store(self, spec, printer, value, positions):
        out_elem, out_conv = OUTPUT[spec.dtype]
        if out_conv:
            value = printer.emit(f"{out_conv} double {value} to {out_elem}")
        lines = []
        for p in positions:
            q = printer.fresh().replace("%v", "%q")
            lines.append(f"{q} = getelementptr inbounds {out_elem}, {out_elem}* %out, i64 {p}")
            lines.append(f"store {out_elem} {value}, {out_elem}* {q}")
        return lines

    def zero(self, spec):
        # the caller allocates out without zeroing it
        out_elem = OUTPUT[spec.dtype][0]
        width = {"double": 8, "float": 4}[out_elem]
        return [f"%zero.ptr = bitcast {out_elem}* %out to i8*",
                f"call void @llvm.memset.p0i8.i64(i8* %zero.ptr, i8 0, i64 {width * spec.out_size}, i1 false)"]

    def function(self, name, params, lines, qualifiers="", linkage=""):
        linkage = f"{linkage} " if linkage else ""
        return (f"define {linkage}void @{name}({', '.join(params)}) {qualifiers} {{\nentry:\n"
                + "".join(f"{self.indent}{line}\n" for line in lines) + f"{self.indent}ret void\n}}\n")

    def parameters(self, spec: KernelSpec, scratch: bool) -> list:
        """The typed parameters ``in0, ..., [scratch,] out``."""
        params = []
        for pos, inp in enumerate(spec.inputs):
            elem = ELEMENT[inp.dtype][0]
            params.append(f"double %in{pos}" if inp.scalar else
                          f"{elem}* noalias nocapture readonly %in{pos}")
        if scratch:
            params.append("double* noalias nocapture %scratch")
        params.append(f"{OUTPUT[spec.dtype][0]}* noalias nocapture %out")
        return params

    def emit(self, spec: KernelSpec, name: str = "kernel", version: str = "") -> str:
        if not supports(spec):
            raise CodegenError(f"the LLVM target does not support dtype {spec.dtype} or the "
                               f"input dtypes {[i.dtype for i in spec.inputs]}")
        attributes = "alwaysinline nounwind" if self.inline else "nounwind"
        statements = spec.statements()
        slots = spills(statements, self.chunk)
        params = self.parameters(spec, bool(slots))
        functions, declares = [], set()
        parts = [statements[i:i + self.chunk] for i in range(0, max(len(statements), 1), self.chunk)]
        boolean_slots = set()
        for c, part in enumerate(parts):
            printer = _Chunk(spec, slots, boolean_slots)
            stores = self.print_statements(spec, printer, part)
            declares |= printer.declares
            lines = printer.loads + printer.lines + stores
            if len(parts) == 1:
                functions.append(self.function(name, params, lines, attributes))
            else:
                functions.append(self.function(f"{name}.part{c}", params, lines,
                                               "noinline nounwind", linkage="internal"))
        zero = []
        if not spec.writes_every_position():
            zero = self.zero(spec)
            declares.add("declare void @llvm.memset.p0i8.i64(i8*, i8, i64, i1)")
        if len(parts) > 1:
            args = ", ".join(p.split(" ")[0] + " " + p.rsplit(" ", 1)[1] for p in params)
            calls = [f"call void @{name}.part{c}({args})" for c in range(len(parts))]
            functions.append(self.function(name, params, zero + calls, attributes))
        elif zero:
            functions[0] = functions[0].replace("entry:\n", "entry:\n" + "".join(
                f"{self.indent}{line}\n" for line in zero), 1)
        return "\n".join(functions) + "\n" + "\n".join(sorted(declares)) + "\n"


def emit_llvm(spec: KernelSpec, name: str, chunk: int = CHUNK, inline: bool = False) -> str:
    """LLVM IR text of a module defining ``void @name(in0, ..., [scratch,] out)`` (`LLVMIR`).

    ``out`` is zeroed by the function where the outputs leave gaps, not by the caller.
    """
    return LLVMIR(chunk, inline).emit(spec, name)
