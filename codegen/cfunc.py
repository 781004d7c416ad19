"""The Numba cfunc target (`NumbaCFunc`): a kernel callable through a C function pointer."""

from __future__ import annotations

import math

from .numba_cpu import NumbaPython
from .printer import CodegenError
from .spec import KernelSpec

__all__ = ["NumbaCFunc"]


class NumbaCFunc(NumbaPython):
    """A module defining the Numba ``cfunc`` ``name(double *in0, ..., double *out)``.

    The arguments follow the C99 target: one pointer per input, flattened in C order (a scalar
    input as a pointer to one double), and the flat output buffer of ``spec.out_size`` doubles.
    The body is `NumbaPython`'s, called once; ``name.address`` is the function pointer. Real,
    straight-line kernels only: complex dtypes and element loops raise `CodegenError`.
    """

    description = "Numba cfunc"

    def supports(self, spec: KernelSpec) -> bool:
        return not spec.dtype.startswith("complex") and not spec.loops

    def emit(self, spec: KernelSpec, name: str = "kernel", version: str = "") -> str:
        """Python source of a module whose import compiles the cfunc ``name``."""
        if not name.isidentifier():
            raise ValueError(f"kernel name {name!r} is not a Python identifier")
        if not self.supports(spec):
            raise CodegenError(f"the cfunc target prints real straight-line kernels only; this "
                               f"kernel has dtype {spec.dtype} and {len(spec.loops)} element loop(s)")
        params = [f"p{k}" for k in range(len(spec.inputs))]
        passed = []
        for p, inp in zip(params, spec.inputs):
            size = max(math.prod(inp.shape), 1)
            passed.append(f"{p}[0]" if inp.scalar else f"numba.carray({p}, ({size},))")
        passed.append(f"numba.carray(out, ({spec.out_size},))")
        signature = f"types.void(*[types.CPointer(types.float64)] * {len(params) + 1})"
        return (self.module_header(spec, version) + "\nimport numpy as np\nimport numba\n"
                "from numba import types\n\n" + self.body_function(spec) + "\n\n"
                + self.function(name, params + ["out"], [f"_body(({', '.join(passed)},))"],
                                f"@numba.cfunc({signature}, cache={self.cache})"))
