"""Code generation: from a `KernelSpec` to source text for a target.

This package knows nothing about tracing, pytrees or derivatives. It takes a `KernelSpec` (flat
inputs, assignments, output slots) and returns source code. Each language is a `Target`
(`codegen.target`): one statement printer with hooks for what the language spells its way, and
a printer class for expressions. `target_for` picks the target of a kernel; generated modules
import only `codegen.runtime`.
"""

from .spec import KernelInput, KernelSpec, sanitize
from .printer import CodegenError, NumPyPrinter
from .target import Target
from .numba_cpu import NumbaPython, emit_numba
from .llvm_ir import LLVMIR, emit_llvm
from .numba_llvm import NumbaLLVM, emit_numba_llvm
from .native import NativeCPU, emit_native, is_native
from .numba_cuda import NumbaCUDA, emit_numba_cuda
from .cfunc import NumbaCFunc
from .c99 import C99, C99Printer, emit_c99, emit_c99_header
from .choice import target_for

__all__ = ["KernelInput", "KernelSpec", "sanitize", "CodegenError", "NumPyPrinter", "Target",
           "NumbaPython", "NumbaLLVM", "NativeCPU", "NumbaCUDA", "NumbaCFunc", "C99", "LLVMIR", "target_for",
           "emit_numba", "emit_llvm", "emit_numba_llvm", "emit_native", "is_native", "emit_numba_cuda", "C99Printer",
           "emit_c99", "emit_c99_header"]
