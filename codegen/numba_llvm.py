"""The Numba CPU target with an LLVM IR body.

The generated module holds the kernel body as LLVM IR text (from `codegen.llvm_ir`) and a small
``@numba.njit(cache=True)`` function that allocates the output and calls the body through a
Numba intrinsic. Numba's type inference and lowering then see a handful of statements whatever
the kernel's size, which is where its compile time goes for large straight-line code; LLVM
optimises the body as part of the function, and Numba's cache stores the result.
"""

from __future__ import annotations

import hashlib

from .llvm_ir import CHUNK, emit_llvm, scratch_size
from .numba_cpu import header, loop_functions, wrapper
from .spec import KernelSpec


def ir_function(ir_text: str, symbol: str):
    """A Numba intrinsic ``body((in0, ..., out))`` that calls the IR function ``symbol``.

    Array arguments are passed as data pointers (the caller makes them C-contiguous); numbers
    are converted to double.
    """
    from llvmlite import binding as ll
    from llvmlite import ir
    from numba import types
    from numba.core import cgutils
    from numba.extending import intrinsic

    @intrinsic
    def body(typingctx, arguments):
        def codegen(context, builder, signature, args):
            module = ll.parse_assembly(ir_text)
            module.verify()
            context.active_code_library.add_llvm_module(module)
            values = []
            for i, ty in enumerate(signature.args[0]):
                value = builder.extract_value(args[0], i)
                if isinstance(ty, types.Array):
                    values.append(context.make_array(ty)(context, builder, value).data)
                else:
                    values.append(context.cast(builder, value, ty, types.float64))
            fnty = ir.FunctionType(ir.VoidType(), [v.type for v in values])
            builder.call(cgutils.get_or_insert_function(builder.module, fnty, symbol), values)
            return context.get_dummy_value()
        return types.void(arguments), codegen

    return body


def emit_numba_llvm(spec: KernelSpec, name: str = "kernel", version: str = "",
                    cache: bool = True, chunk: int = CHUNK) -> str:
    """Python source of a module defining ``name(in0, ...)``, its body compiled from LLVM IR."""
    bodies = [_ir_function("_IR", "_body", emit_llvm(spec, "@SYMBOL@", chunk))]
    for n, loop in enumerate(spec.loops):
        bodies.append(_ir_function(f"_IR_ELEM{n}", f"_elem{n}",
                                   emit_llvm(loop.element_spec(spec), "@SYMBOL@", chunk,
                                             inline=True)))
    return (header(spec, version, "Numba CPU kernel with an LLVM IR body")
            + f"\nimport numpy as np\nimport numba\n\nfrom {__name__} import ir_function\n\n"
            + "".join(bodies) + "\n"
            + loop_functions(spec, cache, elements=True)
            + wrapper(spec, name, cache, scratch_size(spec, chunk)))


def _ir_function(ir_name: str, name: str, ir_text: str) -> str:
    """Module source binding ``name`` to the IR function in ``ir_text``, named by its hash."""
    symbol = "symhess_" + hashlib.sha256(ir_text.encode()).hexdigest()[:24]
    ir_text = ir_text.replace("@SYMBOL@", symbol)
    return f"{ir_name} = r'''\n{ir_text}'''\n\n{name} = ir_function({ir_name}, {symbol!r})\n\n"
