"""The C99 target (`C99`): a ``void name(const double *in0, ..., double *out)`` function and its
header.

The body reads each input from a flat C-order array (a 0-d input from a pointer to one double),
evaluates the CSE temporaries as ``const double`` locals, and stores every Hessian entry and its
mirror image into ``out``; positions no entry covers are zeroed first. The code depends only on
``<math.h>`` (link with ``-lm``) and compiles cleanly with ``gcc -std=c99 -Wall -Werror``. The
header has ``extern "C"`` guards for C++ and a plain signature that Fortran's ``bind(C)`` takes.
"""

from __future__ import annotations

import re

from .printer import CodegenError, NumPyPrinter
from .spec import KernelSpec, flat_index, sanitize
from .target import Target, local_names

__all__ = ["C99", "C99Printer", "emit_c99", "emit_c99_header", "RESERVED", "check_name",
           "comment", "parameters", "prototype"]

# Words a C or C++ function name must not be: keywords, and the libm functions the kernel calls
# (a kernel named ``sin`` would redeclare it).
RESERVED = frozenset("""
    auto break case char const continue default do double else enum extern float for goto if inline
    int long register restrict return short signed sizeof static struct switch typedef union
    unsigned void volatile while _Bool _Complex _Imaginary bool true false class delete new this
    template typename namespace operator private public protected virtual friend throw try catch
    and or not xor asm explicit mutable using
    sin cos tan asin acos atan atan2 sinh cosh tanh asinh acosh atanh exp log log1p sqrt pow fabs
    expm1 hypot erf erfc floor fmod fmax main
""".split())


def comment(text: str) -> str:
    """Text safe inside a ``/* */`` comment: `sanitize` it and break any ``*/`` or ``/*``."""
    return sanitize(text, limit=200).replace("*/", "* /").replace("/*", "/ *")


def check_name(name: str) -> str:
    """Return ``name`` if it is a valid C identifier that is safe as a function name, else raise."""
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(f"function name {name!r} is not a C identifier: use ASCII letters, "
                         "digits and underscores, not starting with a digit")
    if name in RESERVED:
        raise ValueError(f"function name {name!r} is a C/C++ keyword or a libm function; "
                         "choose another name")
    return name


class C99Printer(NumPyPrinter):
    """Prints SymEngine expressions as C99 ``double`` arithmetic with ``<math.h>`` functions."""

    functions = {
        "sin": "sin", "cos": "cos", "tan": "tan", "asin": "asin", "acos": "acos",
        "atan": "atan", "sinh": "sinh", "cosh": "cosh", "tanh": "tanh", "asinh": "asinh",
        "acosh": "acosh", "atanh": "atanh", "atan2": "atan2", "Abs": "fabs",
        "exp": "exp", "sqrt": "sqrt", "log": "log", "log1p": "log1p", "cot": None,
        "expm1": "expm1", "hypot": "hypot", "erf": "erf", "erfc": "erfc", "floor": "floor",
        "fmod": "fmod",
    }
    # M_PI and M_E are POSIX, not C99: spell the values out.
    constants = {"Pi": "3.141592653589793", "Exp1": "2.718281828459045", "Infinity": "INFINITY",
                 "NegativeInfinity": "(-INFINITY)", "NaN": "NAN", "ComplexInfinity": "NAN"}
    true, false = "1", "0"
    and_op, or_op, not_op = " && ", " || ", "!"

    def call(self, name, *args) -> str:
        return f"{name}({', '.join(args)})"

    def power(self, base: str, exponent: str) -> str:
        return f"pow({base}, {exponent})"

    def ternary(self, cond, a, b) -> str:
        return f"({cond} ? {a} : {b})"

    def _print_special_softplus(self, u):
        return f"(fmax({u}, 0.0) + log1p(exp(-fabs({u}))))"

    def _print_ComplexBase(self, expr):
        raise CodegenError("the C99 target prints real kernels only; this expression has a "
                           f"complex number ({str(expr)[:60]})")

    def _print_ImaginaryUnit(self, expr):
        raise CodegenError("the C99 target prints real kernels only; this expression has I")


def parameters(spec: KernelSpec, names=None) -> list:
    """Parameter names: ``names[k]`` where given and a safe identifier, else ``in<k>``."""
    out = []
    for k in range(len(spec.inputs)):
        name = names[k] if names is not None and k < len(names) else None
        ok = (isinstance(name, str) and re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name)
              and name not in RESERVED and name != "out"
              and not re.fullmatch(r"[at]\d+|in\d+", name))
        out.append(name if ok and name not in out else f"in{k}")
    return out


def prototype(spec: KernelSpec, name: str, names=None) -> str:
    """``void name(const double *F, ..., double *out)``."""
    params = [f"const double *{p}" for p in parameters(spec, names)] + ["double *out"]
    return f"void {check_name(name)}({', '.join(params)})"


class C99(Target):
    """C99 source of ``void name(const double *in0, ..., double *out)``, and its header.

    ``out`` has ``spec.out_size`` doubles: the kernel's flat buffer in C order. Real,
    straight-line kernels only: complex dtypes and element loops raise `CodegenError`.

    Args:
        header: the name of the header file the source includes (`emit_header` prints it).
        names: readable parameter names, per input; unsafe ones fall back to ``in<k>``.
        notes: comment lines for the file header (sanitized).
    """

    printer = C99Printer
    description = "C99"

    def __init__(self, header: str = "kernel.h", names=None, notes=()):
        self.header, self.names, self.notes = header, names, tuple(notes)

    def supports(self, spec: KernelSpec) -> bool:
        return not spec.dtype.startswith("complex") and not spec.loops

    def read(self, spec, pos, idx):
        offset = 0 if spec.inputs[pos].scalar else flat_index(spec.inputs[pos].shape, idx)
        return f"{parameters(spec, self.names)[pos]}[{offset}]"

    def bind(self, printer, sym, value):
        return [f"const double {printer.names[sym]} = {value};"]

    def store(self, spec, printer, value, positions):
        first, rest = positions[0], positions[1:]
        return [f"out[{first}] = {value};"] + [f"out[{p}] = out[{first}];" for p in rest]

    def body(self, spec, printer):
        # the zeroing loop's counter is declared first, as C89 compilers also accept
        return ([] if spec.writes_every_position() else ["long i;"]) + super().body(spec, printer)

    def zero(self, spec):
        return [f"for (i = 0; i < {spec.out_size}; ++i) out[i] = 0.0;"]

    def function(self, name, params, lines, qualifiers=""):
        return (f"void {check_name(name)}({', '.join(params)})\n{{\n"
                + "".join(f"{self.indent}{line}\n" for line in lines) + "}\n")

    def module_header(self, spec, version):
        text = [f"/* Generated by symhess {comment(version)}: {comment(spec.title)}.",
                f" * C99, needs only <math.h> (link with -lm). {len(spec.inputs)} input(s), "
                f"{spec.out_size} output value(s), {len(spec.outputs)} nonzero entries,",
                f" * {len(spec.assignments)} common subexpressions. Do not edit: regenerate it "
                "instead."]
        text += [f" * {comment(n)}" for n in self.notes]
        return "\n".join(text) + "\n */\n"

    def check(self, spec: KernelSpec) -> None:
        """Raise `CodegenError` saying why ``spec`` is not a kernel this target prints."""
        if spec.dtype.startswith("complex"):
            raise CodegenError(f"the C99 target prints real kernels only; this kernel's dtype "
                               f"is {spec.dtype}")
        if spec.loops:
            raise CodegenError("the C99 target prints straight-line kernels only; this kernel "
                               "has element loops (export the unrolled kernel spec instead)")

    def emit(self, spec: KernelSpec, name: str = "kernel", version: str = "") -> str:
        """C99 source of ``void name(const double *in0, ..., double *out)``.

        >>> import symengine as se
        >>> from symhess.codegen import KernelInput, KernelSpec
        >>> x = se.Symbol("x")
        >>> spec = KernelSpec([KernelInput((1,))], {x: (0, (0,))}, [], [(se.sin(x), (0,))], 1, (1,))
        >>> print(C99("h.h").emit(spec, "h").split("{")[1].strip())
        const double a0 = in0[0];
            out[0] = sin(a0);
        }
        """
        check_name(name)
        # the name goes between the quotes of an #include: any character but a quote, a
        # backslash, a path separator or a control character is safe there (spaces and
        # non-ASCII letters too)
        if not re.fullmatch(r'[^"\\/\x00-\x1f\x7f]+\.h', self.header):
            raise ValueError(f"header file name {self.header!r} cannot be written in an "
                             "#include: it must end in .h and hold no quote, backslash, slash "
                             "or control character; rename the .c file")
        self.check(spec)
        printer = self.printer(local_names(spec.reads, spec.assignments))
        params = [f"const double *{p}" for p in parameters(spec, self.names)] + ["double *out"]
        return (self.module_header(spec, version) + f'#include <math.h>\n#include "{self.header}"\n\n'
                + self.function(name, params, self.body(spec, printer)))

    def emit_header(self, spec: KernelSpec, name: str, guard: str) -> str:
        """The header declaring the kernel, with include guards and ``extern "C"`` for C++."""
        guard = re.sub(r"[^A-Za-z0-9_]", "_", guard).upper()
        if not re.match(r"[A-Z_]", guard):
            guard = "H_" + guard
        lines = ["/* " + comment(spec.title) + ": declarations. */"]
        lines += [f"/* {comment(n)} */" for n in self.notes]
        size_macro = re.sub(r"[^A-Za-z0-9_]", "_", name).upper() + "_OUT_SIZE"
        return ("\n".join(lines) + f"\n#ifndef {guard}\n#define {guard}\n\n"
                f"/* Number of doubles the function writes to out. */\n"
                f"#define {size_macro} {spec.out_size}\n\n"
                '#ifdef __cplusplus\nextern "C" {\n#endif\n\n'
                f"{prototype(spec, name, self.names)};\n\n"
                "#ifdef __cplusplus\n}\n#endif\n\n"
                f"#endif /* {guard} */\n")


def emit_c99(spec: KernelSpec, name: str = "kernel", header: str = "kernel.h",
             version: str = "", names=None, notes=()) -> str:
    """C99 source of ``void name(const double *in0, ..., double *out)`` (`C99`).

    ``out`` has ``spec.out_size`` doubles: the kernel's flat buffer in C order. ``names`` may
    give readable parameter names (unsafe ones fall back to ``in<k>``); ``notes`` are comment
    lines for the file header (sanitized).

    >>> import symengine as se
    >>> from symhess.codegen import KernelInput, KernelSpec
    >>> x = se.Symbol("x")
    >>> spec = KernelSpec([KernelInput((1,))], {x: (0, (0,))}, [], [(se.sin(x), (0,))], 1, (1,))
    >>> print(emit_c99(spec, "h", "h.h").split("{")[1].strip())
    const double a0 = in0[0];
        out[0] = sin(a0);
    }
    """
    return C99(header, names, notes).emit(spec, name, version)


def emit_c99_header(spec: KernelSpec, name: str, guard: str, names=None, notes=()) -> str:
    """The header declaring the kernel, with include guards and ``extern "C"`` for C++ (`C99`)."""
    return C99(names=names, notes=notes).emit_header(spec, name, guard)
