"""Scalar expressions of a loop program compiled to LLVM IR (`codegen.loop_ir`).

`ScalarCompiler` turns a Python expression over numbers (constants, locals, arithmetic,
comparisons, ``and``/``or``/``not``, conditional expressions, ``math`` and a few NumPy functions)
into SSA instructions, and returns ``(operand, kind)``: kind ``"f"`` a double, ``"i"`` a 64-bit
integer, ``"b"`` a boolean (``i1``). Promotion is NumPy's: a boolean or an integer meeting a
double becomes one, and ``/`` is a true division. Locals live in stack slots, which LLVM
promotes to registers. `codegen.loop_ir.LoopProgram` adds arrays and statements.
"""

from __future__ import annotations

import ast
import math

from .llvm_ir import double
from .printer import CodegenError

__all__ = ["ScalarCompiler", "SCALAR", "call_name"]

SCALAR = {"f": "double", "i": "i64", "b": "i1"}         # kind -> LLVM type of its values

# Functions of one double: LLVM intrinsics, else the C library's.
INTRINSICS = {"exp": "llvm.exp.f64", "log": "llvm.log.f64", "sin": "llvm.sin.f64",
              "cos": "llvm.cos.f64", "sqrt": "llvm.sqrt.f64", "floor": "llvm.floor.f64",
              "ceil": "llvm.ceil.f64", "fabs": "llvm.fabs.f64"}
LIBM = {"log1p": "log1p", "expm1": "expm1", "tan": "tan", "tanh": "tanh", "sinh": "sinh",
        "cosh": "cosh", "atan": "atan", "asin": "asin", "acos": "acos", "asinh": "asinh",
        "atanh": "atanh", "erf": "erf", "erfc": "erfc"}
FCMP = {ast.Eq: "oeq", ast.NotEq: "une", ast.Lt: "olt", ast.LtE: "ole", ast.Gt: "ogt",
        ast.GtE: "oge"}
ICMP = {ast.Eq: "eq", ast.NotEq: "ne", ast.Lt: "slt", ast.LtE: "sle", ast.Gt: "sgt",
        ast.GtE: "sge"}


class ScalarCompiler:
    """Appends the instructions of scalar expressions to ``lines``; ``allocas`` are the stack
    slots of locals (for the function's entry block) and ``declares`` what it calls."""

    def __init__(self):
        self.lines: list[str] = []
        self.allocas: list[str] = []
        self.declares: set[str] = set()
        self.scalars: dict = {}             # local name -> (stack slot, kind)
        self.count = 0
        self.block = "entry"                # the block instructions are appended to

    def fresh(self, text: str) -> str:
        self.count += 1
        self.lines.append(f"%v{self.count} = {text}")
        return f"%v{self.count}"

    def label(self, hint: str) -> str:
        self.count += 1
        return f"{hint}{self.count}"

    def enter(self, label: str) -> None:
        self.lines.append(f"{label}:")
        self.block = label

    # --- scalars -----------------------------------------------------------------------------
    def variable(self, name: str, kind: str) -> str:
        """The stack slot of local ``name`` (promoted to a register by LLVM)."""
        if name not in self.scalars:
            slot = f"%{name}.slot"
            self.allocas.append(f"{slot} = alloca {SCALAR[kind]}")
            self.scalars[name] = slot, kind
        return self.scalars[name][0]

    def assign_scalar(self, name: str, value) -> None:
        slot = self.variable(name, value[1])
        kind = self.scalars[name][1]
        x = {"f": self.floating, "i": self.integer, "b": self.truth}[kind](value)
        self.lines.append(f"store {SCALAR[kind]} {x}, {SCALAR[kind]}* {slot}")

    def floating(self, value) -> str:
        x, kind = value
        if kind == "f":
            return x
        return self.fresh(f"{'sitofp i64' if kind == 'i' else 'uitofp i1'} {x} to double")

    def integer(self, value) -> str:
        x, kind = value
        if kind == "i":
            return x
        if kind == "b":
            return self.fresh(f"zext i1 {x} to i64")
        raise CodegenError("loop program: a double where an integer is needed")

    def truth(self, value) -> str:
        x, kind = value
        if kind == "b":
            return x
        if kind == "i":
            return self.fresh(f"icmp ne i64 {x}, 0")
        return self.fresh(f"fcmp une double {x}, 0.0")

    # --- expressions -------------------------------------------------------------------------
    def expr(self, node):
        """``(operand, kind)`` of expression ``node``."""
        method = getattr(self, f"_e{type(node).__name__}", None)
        if method is None:
            raise CodegenError(f"loop program: no rule for expression {ast.unparse(node)!r}")
        return method(node)

    def _eConstant(self, node):
        v = node.value
        if isinstance(v, bool):
            return ("true" if v else "false"), "b"
        if isinstance(v, int):
            return str(v), "i"
        if isinstance(v, float):
            return double(v), "f"
        raise CodegenError(f"loop program: constant {v!r}")

    def _eName(self, node):
        if node.id not in self.scalars:
            raise CodegenError(f"loop program: {node.id!r} is read before it is assigned")
        slot, kind = self.scalars[node.id]
        return self.fresh(f"load {SCALAR[kind]}, {SCALAR[kind]}* {slot}"), kind

    def _eAttribute(self, node):
        text = ast.unparse(node)
        if text in ("np.nan", "np.inf"):
            return double(math.nan if text == "np.nan" else math.inf), "f"
        raise CodegenError(f"loop program: no rule for {text!r}")

    def _eUnaryOp(self, node):
        if isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant) \
                and type(node.operand.value) in (int, float):
            return self._eConstant(ast.Constant(-node.operand.value))    # -2**63 fits
        x = self.expr(node.operand)
        if isinstance(node.op, ast.Not):
            return self.fresh(f"xor i1 {self.truth(x)}, true"), "b"
        if isinstance(node.op, ast.UAdd):
            return x
        if x[1] == "f":
            return self.fresh(f"fneg double {x[0]}"), "f"
        return self.fresh(f"sub i64 0, {self.integer(x)}"), "i"

    def _eBinOp(self, node):
        x, y = self.expr(node.left), self.expr(node.right)
        return self.arithmetic(node.op, x, y, node.right)

    def arithmetic(self, op, x, y, right=None):
        if isinstance(op, ast.Div):
            return self.fresh(f"fdiv double {self.floating(x)}, {self.floating(y)}"), "f"
        if isinstance(op, ast.Pow):
            return self.power(x, y, right)
        name = {ast.Add: "add", ast.Sub: "sub", ast.Mult: "mul"}.get(type(op))
        if name is None:
            raise CodegenError(f"loop program: no rule for operator {type(op).__name__}")
        if "f" in (x[1], y[1]):
            return self.fresh(f"f{name} double {self.floating(x)}, {self.floating(y)}"), "f"
        return self.fresh(f"{name} i64 {self.integer(x)}, {self.integer(y)}"), "i"

    def power(self, x, y, right):
        n = right.value if isinstance(right, ast.Constant) and isinstance(right.value, int) \
            and not isinstance(right.value, bool) else None
        if x[1] != "f" and n is not None and 0 <= n <= 64:        # an integer power of one
            result, base = "1", self.integer(x)
            for _ in range(n):
                result = self.fresh(f"mul i64 {result}, {base}")
            return result, "i"
        base = self.floating(x)
        if n == 2:
            return self.fresh(f"fmul double {base}, {base}"), "f"
        if n is not None and abs(n) <= 64:
            self.declares.add("declare double @llvm.powi.f64.i32(double, i32)")
            return self.fresh(f"call double @llvm.powi.f64.i32(double {base}, i32 {n})"), "f"
        self.declares.add("declare double @llvm.pow.f64(double, double)")
        return self.fresh(f"call double @llvm.pow.f64(double {base}, double "
                          f"{self.floating(y)})"), "f"

    def _eCompare(self, node):
        result, left = None, self.expr(node.left)
        for op, comparator in zip(node.ops, node.comparators):
            right = self.expr(comparator)
            if "f" in (left[1], right[1]):
                test = self.fresh(f"fcmp {FCMP[type(op)]} double {self.floating(left)}, "
                                  f"{self.floating(right)}")
            else:
                test = self.fresh(f"icmp {ICMP[type(op)]} i64 {self.integer(left)}, "
                                  f"{self.integer(right)}")
            result = test if result is None else self.fresh(f"and i1 {result}, {test}")
            left = right
        return result, "b"

    def _eBoolOp(self, node):
        values = [self.truth(self.expr(v)) for v in node.values]
        op = "and" if isinstance(node.op, ast.And) else "or"
        result = values[0]
        for v in values[1:]:
            result = self.fresh(f"{op} i1 {result}, {v}")
        return result, "b"

    def _eIfExp(self, node):
        """Only the chosen side is evaluated (it may read an index the test guards)."""
        then, other, done = self.label("if"), self.label("or"), self.label("fi")
        self.lines.append(f"br i1 {self.truth(self.expr(node.test))}, label %{then}, label %{other}")
        self.enter(then)
        a = self.expr(node.body)
        a_end, a_at = len(self.lines), self.block
        self.enter(other)
        b = self.expr(node.orelse)
        kind = "f" if "f" in (a[1], b[1]) else "i" if "i" in (a[1], b[1]) else "b"
        cast = {"f": self.floating, "i": self.integer, "b": self.truth}[kind]
        b_value = cast(b)
        self.lines.append(f"br label %{done}")
        b_at = self.block
        # the first side's conversion goes at the end of its own block
        tail = self.lines[a_end:]
        del self.lines[a_end:]
        self.block = a_at
        a_value = cast(a)
        self.lines.append(f"br label %{done}")
        self.lines += tail
        self.enter(done)
        return self.fresh(f"phi {SCALAR[kind]} [{a_value}, %{a_at}], [{b_value}, %{b_at}]"), kind

    def _eCall(self, node):
        name = call_name(node)
        args = [self.expr(a) for a in node.args]
        if name == "float":
            return self.floating(args[0]), "f"
        if name == "abs":
            return self.absolute(args[0])
        if name in ("np.maximum", "np.minimum"):
            return self.extremum(name[3:], *args)
        if name == "np.sign":
            return self.sign(args[0])
        if name in ("math.atan2", "math.fmod"):
            callee = name[5:]
            self.declares.add(f"declare double @{callee}(double, double)")
            return self.fresh(f"call double @{callee}(double {self.floating(args[0])}, "
                              f"double {self.floating(args[1])})"), "f"
        short = name.split(".")[-1]
        if name in (f"math.{short}", f"np.{short}") and len(args) == 1:
            callee = INTRINSICS.get(short) or LIBM.get(short)
            if callee is not None:
                self.declares.add(f"declare double @{callee}(double)")
                return self.fresh(f"call double @{callee}(double {self.floating(args[0])})"), "f"
        raise CodegenError(f"loop program: no rule for the function {name!r}")

    def absolute(self, x):
        if x[1] == "f":
            self.declares.add("declare double @llvm.fabs.f64(double)")
            return self.fresh(f"call double @llvm.fabs.f64(double {x[0]})"), "f"
        v = self.integer(x)
        negative = self.fresh(f"icmp slt i64 {v}, 0")
        return self.fresh(f"select i1 {negative}, i64 {self.fresh(f'sub i64 0, {v}')}, i64 {v}"), "i"

    def extremum(self, which, x, y):
        """NumPy's ``maximum``/``minimum``: a NaN operand gives NaN."""
        if "f" in (x[1], y[1]):
            callee = f"llvm.{which}.f64"
            self.declares.add(f"declare double @{callee}(double, double)")
            return self.fresh(f"call double @{callee}(double {self.floating(x)}, "
                              f"double {self.floating(y)})"), "f"
        if x[1] == y[1] == "b":
            return self.fresh(f"{'or' if which == 'maximum' else 'and'} i1 {x[0]}, {y[0]}"), "b"
        a, b = self.integer(x), self.integer(y)
        test = self.fresh(f"icmp {'sgt' if which == 'maximum' else 'slt'} i64 {a}, {b}")
        return self.fresh(f"select i1 {test}, i64 {a}, i64 {b}"), "i"

    def sign(self, x):
        if x[1] != "f":
            v = self.integer(x)
            up = self.fresh(f"zext i1 {self.fresh(f'icmp sgt i64 {v}, 0')} to i64")
            down = self.fresh(f"zext i1 {self.fresh(f'icmp slt i64 {v}, 0')} to i64")
            return self.fresh(f"sub i64 {up}, {down}"), "i"
        v = x[0]
        positive = self.fresh(f"fcmp ogt double {v}, 0.0")
        negative = self.fresh(f"fcmp olt double {v}, 0.0")
        zero_or_nan = self.fresh(f"fmul double {v}, 0.0")     # 0 for zero, NaN for NaN
        low = self.fresh(f"select i1 {negative}, double -1.0, double {zero_or_nan}")
        return self.fresh(f"select i1 {positive}, double 1.0, double {low}"), "f"


def call_name(node) -> str | None:
    """``'np.zeros'``, ``'math.exp'``, ``'np.linalg.inv'``, ``'range'``, ``'reshape'`` (a
    method) of a call node."""
    if not isinstance(node, ast.Call):
        return None
    func = node.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        if isinstance(func.value, ast.Name) and func.value.id in ("np", "math"):
            return f"{func.value.id}.{func.attr}"
        if ast.unparse(func.value) == "np.linalg":
            return f"np.linalg.{func.attr}"
        return func.attr
    return None
