"""Running a native kernel once per point on all threads: one Numba function for every kernel.

A batched native kernel (`codegen.native`) is compiled by llvmlite like any other; what runs it
over the points is `run_points`, a ``@numba.njit(parallel=True, cache=True)`` function that
takes the point function's address. Numba compiles it once per layout of the arguments (how many
inputs, their dtypes, which are per point, which are numbers) and keeps it in its cache, so a
new kernel costs only its own IR's compile. Numba is imported when this module is.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

__all__ = ["run_points", "CHUNKS"]

CHUNKS = 256        # ranges of points per call, each with its own scratch (a fixed number:
                    # numba.get_num_threads() would keep run_points out of Numba's cache)


@intrinsic
def _call_point(typingctx, address, point, arguments, scratch, out):
    """Call ``void f(in0, ..., double *scratch, out *row)`` at ``address`` for point ``point``:
    a 2-D argument (points, values) passes its row ``point``, a 1-D one its data, a number
    its value as a double; ``out`` is 2-D (points, values)."""
    def row(context, builder, ty, value, index):
        array = context.make_array(ty)(context, builder, value)
        if ty.ndim == 1:
            return array.data
        stride = builder.extract_value(array.strides, 0)
        raw = builder.bitcast(array.data, ir.IntType(8).as_pointer())
        moved = builder.gep(raw, [builder.mul(index, stride)])
        return builder.bitcast(moved, array.data.type)

    def codegen(context, builder, signature, args):
        values = []
        for i, ty in enumerate(signature.args[2]):
            value = builder.extract_value(args[2], i)
            if isinstance(ty, types.Array):
                values.append(row(context, builder, ty, value, args[1]))
            else:
                values.append(context.cast(builder, value, ty, types.float64))
        values.append(context.make_array(signature.args[3])(context, builder, args[3]).data)
        values.append(row(context, builder, signature.args[4], args[4], args[1]))
        fnty = ir.FunctionType(ir.VoidType(), [v.type for v in values])
        function = builder.inttoptr(args[0], fnty.as_pointer())
        builder.call(function, values)
        return context.get_dummy_value()

    return types.void(address, point, arguments, scratch, out), codegen


@numba.njit(parallel=True, cache=True, nogil=True)
def run_points(address, scratch, arguments, out):
    """Call the point function at ``address`` for every row of ``out``, on all threads;
    ``scratch`` is the number of doubles of scratch it takes."""
    n = out.shape[0]
    chunks = min(CHUNKS, max(1, n))
    for c in numba.prange(chunks):
        w = np.empty(max(1, scratch), dtype=np.float64)
        for point in range(c * n // chunks, (c + 1) * n // chunks):
            _call_point(address, point, arguments, w, out)
