"""What generated kernel modules import at run time, and nothing else.

A generated module imports this module by its package's real name (``symhess.codegen.runtime``
when installed), never an emitter module: the emitters print source, this module runs with it.
Numba and llvmlite are imported when a helper is first called, so importing the module costs
nothing for targets that need neither.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ir_function", "native_kernel", "native_points", "THREADS", "blocks", "on_device", "device_input"]

THREADS = 128       # threads per block of the CUDA kernels


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


def native_kernel(ir_text: str, symbol: str, inputs: list, out_shape: tuple, dtype: str,
                  where: dict, blas: bool = False, level: int = 3):
    """The CPython function of a native kernel module (`codegen.jit.native_kernel`)."""
    from .jit import native_kernel as load
    return load(ir_text, symbol, inputs, out_shape, dtype, where, blas, level)


def native_loops(ir_text: str, symbol: str, inputs: list, out_shape: tuple, dtype: str,
                 loops: list, scratch: int, where: dict):
    """The kernel of a native module whose element loops run on threads
    (`codegen.drivers.native_loops`)."""
    from .drivers import native_loops as load
    return load(ir_text, symbol, inputs, out_shape, dtype, loops, scratch, where)


def native_points(ir_text: str, symbol: str, inputs: list, out_shape: tuple, dtype: str,
                  statements: int, where: dict):
    """``(kernel, kernel_into)`` of a batched native kernel (`codegen.drivers.native_points`)."""
    from .drivers import native_points as load
    return load(ir_text, symbol, inputs, out_shape, dtype, statements, where)


def blocks(n: int) -> int:
    """Thread blocks of `THREADS` covering ``n`` threads (at least one)."""
    return max(1, -(-n // THREADS))


def on_device(x) -> bool:
    """Whether ``x`` is a GPU array: it has ``__cuda_array_interface__`` (CuPy, PyTorch, Numba
    device arrays) or is a Numba device array (the CUDA simulator's have no interface)."""
    return hasattr(x, "__cuda_array_interface__") or bool(getattr(x, "__cuda_ndarray__", False))


def device_input(a, dtype, label, shape=None, batched=False):
    """``a`` as a Numba device array of ``dtype``: a GPU array in place, a host array copied.

    With ``shape``, ``a`` must have that shape (after a leading batch axis when ``batched``):
    the kernels read fixed positions.
    """
    from numba import cuda
    if shape is not None and tuple(np.shape(a)[1:] if batched else np.shape(a)) != shape:
        raise ValueError(f"symhess kernel: {label} has shape {tuple(np.shape(a))}; it takes "
                         f"{shape}{' per point' if batched else ''}")
    if not on_device(a):
        return cuda.to_device(np.ascontiguousarray(a, dtype=dtype))
    if not getattr(a, "__cuda_ndarray__", False):
        a = cuda.as_cuda_array(a)
    if a.dtype != dtype:
        raise TypeError(f"GPU input {label} has dtype {a.dtype}, but the kernel was compiled for "
                        f"{np.dtype(dtype)}: convert it on the device first")
    if not a.is_c_contiguous():
        raise ValueError(f"GPU input {label} is not C-contiguous: pass a contiguous copy")
    return a
