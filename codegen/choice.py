"""Which target prints a kernel: the one rule, in one place."""

from __future__ import annotations

import os

from .numba_cpu import NumbaPython
from .numba_cuda import NumbaCUDA
from .native import NativeCPU
from .numba_llvm import NumbaLLVM
from .spec import KernelSpec
from .target import Target

DEVICES = ("cpu", "cuda")


def target_for(spec: KernelSpec, device: str = "cpu") -> Target:
    """The target that prints ``spec`` for ``device``.

    On ``"cuda"``, `NumbaCUDA`. On ``"cpu"``, `NativeCPU` where it supports the spec (real
    dtypes) and `native_enabled`: only the kernel's own IR is compiled, by llvmlite, and a
    call is a C call. Else `NumbaLLVM` where it supports the spec (real dtypes), since Numba
    compiles an LLVM IR body far faster than the same statements as Python; else
    `NumbaPython` (complex dtypes).

    Args:
        spec: the kernel to print.
        device: ``"cpu"`` or ``"cuda"``.

    Returns:
        A `Target` with default options; call ``.emit(spec, name=..., version=...)``.

    >>> from symhess.codegen import KernelInput, KernelSpec, target_for
    >>> spec = KernelSpec([KernelInput((1,))], {}, [], [], 1, (1,), dtype="complex128")
    >>> type(target_for(spec)).__name__, type(target_for(spec, "cuda")).__name__
    ('NumbaPython', 'NumbaCUDA')
    """
    if device == "cuda":
        return NumbaCUDA()
    if device != "cpu":
        raise ValueError(f"device {device!r} has no target; choose one of {DEVICES}")
    native = NativeCPU()
    if native.supports(spec) and native_enabled():
        return native
    llvm = NumbaLLVM()
    return llvm if llvm.supports(spec) else NumbaPython()


def native_enabled() -> bool:
    """Whether kernels may compile to the native target: ``SYMHESS_NATIVE`` is not ``"0"`` and
    the interpreter's object layout is the one native entries read (`codegen.jit.abi_ok`)."""
    if os.environ.get("SYMHESS_NATIVE", "1") == "0":
        return False
    from .jit import abi_ok
    return abi_ok()
