"""The Numba CPU target with an LLVM IR body.

The generated module holds the kernel body as LLVM IR text (from `codegen.llvm_ir`) and a small
``@numba.njit(cache=True)`` function that allocates the output and calls the body through a
Numba intrinsic (`codegen.runtime.ir_function`). Numba's type inference and lowering then see a
handful of statements whatever the kernel's size, which is where its compile time goes for large
straight-line code; LLVM optimises the body as part of the function, and Numba's cache stores
the result.
"""

from __future__ import annotations

import hashlib

from . import runtime
from .llvm_ir import LLVMIR, supports
from .numba_cpu import NumbaPython
from .spec import CHUNK, KernelSpec, scratch_size

__all__ = ["NumbaLLVM", "emit_numba_llvm", "ir_function"]

ir_function = runtime.ir_function       # re-exported: its home before `codegen.runtime`


class NumbaLLVM(NumbaPython):
    """`NumbaPython`'s module with the body and each element of an element loop as LLVM IR.

    Real dtypes only (`codegen.llvm_ir.supports`); other kernels take `NumbaPython`.

    Args:
        cache: compile with ``cache=True``.
        chunk: statements per LLVM function (`codegen.llvm_ir.LLVMIR`).
    """

    description = "Numba CPU kernel with an LLVM IR body"
    compiled_elements = True

    def __init__(self, cache: bool = True, chunk: int = CHUNK):
        super().__init__(cache)
        self.chunk = chunk

    def supports(self, spec: KernelSpec) -> bool:
        return supports(spec)

    def scratch(self, spec: KernelSpec) -> int:
        return scratch_size(spec, self.chunk)

    def body_function(self, spec: KernelSpec) -> str:
        """``_body`` and ``_elem<n>`` for each element loop, bound to their IR functions."""
        bodies = [ir_binding("_IR", "_body", LLVMIR(self.chunk).emit(spec, "@SYMBOL@"))]
        for n, loop in enumerate(spec.loops):
            ir_text = LLVMIR(self.chunk, inline=True).emit(loop.element_spec(spec), "@SYMBOL@")
            bodies.append(ir_binding(f"_IR_ELEM{n}", f"_elem{n}", ir_text))
        return "".join(bodies)

    def emit(self, spec: KernelSpec, name: str = "kernel", version: str = "") -> str:
        """Python source of a module defining ``name(in0, ...)``, its body compiled from IR."""
        return (self.module_header(spec, version)
                + f"\nimport numpy as np\nimport numba\n\nfrom {runtime.__name__} import ir_function\n\n"
                + self.body_function(spec) + "\n" + self.loop_functions(spec)
                + self.wrapper(spec, name))


def ir_binding(ir_name: str, name: str, ir_text: str) -> str:
    """Module source binding ``name`` to the IR function in ``ir_text``, named by its hash."""
    symbol = "symhess_" + hashlib.sha256(ir_text.encode()).hexdigest()[:24]
    ir_text = ir_text.replace("@SYMBOL@", symbol)
    return f"{ir_name} = r'''\n{ir_text}'''\n\n{name} = ir_function({ir_name}, {symbol!r})\n\n"


def emit_numba_llvm(spec: KernelSpec, name: str = "kernel", version: str = "",
                    cache: bool = True, chunk: int = CHUNK) -> str:
    """Python source of a module defining ``name(in0, ...)``, its body compiled from LLVM IR
    (`NumbaLLVM`)."""
    return NumbaLLVM(cache, chunk).emit(spec, name, version)
