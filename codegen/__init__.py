"""Code generation: from a `KernelSpec` to source text for a target.

This package knows nothing about tracing, pytrees or derivatives. It takes a `KernelSpec` (flat
inputs, assignments, output slots) and returns source code. Targets are printer classes plus a
kernel template; the emitters for other targets subclass the shared Python/NumPy printer and
override what differs.
"""

from .spec import KernelInput, KernelSpec, sanitize
from .printer import CodegenError, NumPyPrinter
from .numba_cpu import emit_numba
from .llvm_ir import emit_llvm
from .numba_llvm import emit_numba_llvm
from .numba_cuda import emit_numba_cuda
from .c99 import C99Printer, emit_c99, emit_c99_header

__all__ = ["KernelInput", "KernelSpec", "sanitize", "CodegenError", "NumPyPrinter", "emit_numba",
           "emit_llvm", "emit_numba_llvm", "emit_numba_cuda", "C99Printer", "emit_c99", "emit_c99_header"]
