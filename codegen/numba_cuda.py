"""The numba.cuda target (`NumbaCUDA`): one GPU thread per point, and one per element of an
element loop. What its kernels call at run time is in `codegen.runtime`."""

from __future__ import annotations

import math

from . import runtime
from .printer import NumPyPrinter
from .runtime import THREADS, blocks, device_input, on_device
from .spec import KernelSpec, plain_label
from .target import PythonTarget, local_names

# THREADS, blocks, device_input and on_device live in `codegen.runtime`, which generated modules
# import; they are re-exported here for callers of their old home.
__all__ = ["NumbaCUDA", "CudaPrinter", "emit_numba_cuda", "supports",
           "THREADS", "blocks", "device_input", "on_device"]


class CudaPrinter(NumPyPrinter):
    """Python for CUDA device code: the `math` module's functions, which Numba maps to libdevice."""

    module = "math"
    functions = {**NumPyPrinter.functions, "asin": "asin", "acos": "acos", "atan": "atan",
                 "asinh": "asinh", "acosh": "acosh", "atanh": "atanh", "atan2": "atan2",
                 "Abs": "fabs"}
    constants = {"Pi": "math.pi", "Exp1": "math.e", "Infinity": "math.inf",
                 "NegativeInfinity": "-math.inf", "NaN": "math.nan", "ComplexInfinity": "math.nan"}

    def _print_special_softplus(self, u):
        return f"(max({u}, 0.0) + math.log1p(math.exp(-abs({u}))))"

    def _print_special_floor(self, u):
        """A float: CUDA's math.floor returns an integer, which cannot hold inf, NaN or a value
        beyond 2**63 (and every double from 2**52 up is an integer already)."""
        return f"({u} if not abs({u}) < 4503599627370496.0 else float(math.floor({u})))"


def supports(spec: KernelSpec) -> bool:
    """Whether the CUDA target can print ``spec``: real dtypes only (no complex device math)."""
    return spec.dtype in ("float32", "float64")


ZERO = """\
@cuda.jit
def _zero(out):
    k = cuda.grid(1)
    if k < out.shape[0]:
        out[k] = 0
"""

HOST = '''\
def {name}({args}):
    device = any(on_device(a) for a in ({inputs}))
{convert}
    n = {count}
    out = cuda.device_array(n * OUT_SIZE, dtype=OUT_DTYPE)
{zero}    if n:
        _points[blocks(n), THREADS]({passed}, out, n)
{loops}    if not device:
        out = out.copy_to_host()
    return {result}
'''


class NumbaCUDA(PythonTarget):
    """numba.cuda kernels: one GPU thread per point, and one per element of an element loop.

    The generated module defines ``kernel(in0, ..., idx0, pos0, ...)``. Each input may be a
    NumPy array, a Numba device array or any array with ``__cuda_array_interface__`` (CuPy,
    PyTorch): host arrays are copied to the device, device arrays are used in place. The result
    stays where the inputs were: a device array when any input was one, else a NumPy array.

    ``_points`` runs one thread per point of the batched inputs (one thread in all for an
    unbatched kernel) and writes that point's values. The output buffer is block-major: block
    ``k`` of the spec's ``out_blocks`` holds the block for every point, one after the other, so
    each block is a contiguous ``(points, ...)`` array on the device. Element loops
    (`LoopSpec`) run afterwards, one thread per element, adding their values with atomic
    additions.
    """

    printer = CudaPrinter
    description = "numba.cuda kernel"

    def supports(self, spec: KernelSpec) -> bool:
        return supports(spec)

    def store(self, spec, printer, value, positions):
        return [f"v = {_value(spec, value)}"] + [f"out[{_address(spec, p)}] = v" for p in positions]

    def zero(self, spec):
        # The host zeroes the whole block-major buffer of every point with `_zero` first.
        return []

    def points_kernel(self, spec: KernelSpec) -> str:
        """Source of ``_points(in0, ..., out, n)``: thread ``b`` computes point ``b``."""
        args = [f"in{i}" for i in range(len(spec.inputs))]
        lines = ["b = cuda.grid(1)", "if b >= n:", "    return"]
        lines += [f"{a} = {a}[b]" for a, inp in zip(args, spec.inputs) if inp.batched]
        lines += self.body(spec, self.printer(local_names(spec.reads, spec.assignments)))
        return self.function("_points", args + ["out", "n"], lines, "@cuda.jit")

    def loop_kernel(self, spec: KernelSpec, number: int) -> str:
        """Source of ``_loop<number>(in0, ..., idx, pos, out)``: thread ``p`` adds element ``p``."""
        loop = spec.loops[number]
        shared, slots, assignments, printer = self.element_statements(spec, loop)
        lines = ["p = cuda.grid(1)", "if p >= idx.shape[0]:", "    return"]
        lines += shared + slots + assignments
        for e, expr in enumerate(loop.outputs):
            lines.append(f"v = {_value(spec, printer.doprint(expr))}")
            lines += self.scatter_add(loop, e, "cuda.atomic.add(out, {}, v)")
        args = [f"in{i}" for i in range(len(spec.inputs))] + ["idx", "pos", "out"]
        return self.function(f"_loop{number}", args, lines, "@cuda.jit")

    def host(self, spec: KernelSpec, name: str) -> str:
        """Source of ``name(in0, ..., idx0, pos0, ...)``: move the inputs to the device, launch
        the kernels, and return the output where the inputs were."""
        args = [f"in{i}" for i in range(len(spec.inputs))]
        convert, passed = [], []
        for a, inp in zip(args, spec.inputs):
            if inp.scalar:
                passed.append(a)
                continue
            shape = f"(-1, {max(1, math.prod(inp.shape))})" if inp.batched else "(-1,)"
            readable = plain_label(inp.label)
            label = f"input {a[2:]}" + (f" ({readable})" if readable else "")
            convert.append(f"    d{a[2:]} = device_input({a}, np.{inp.dtype}, {label!r}, "
                           f"{tuple(inp.shape)!r}, {inp.batched}).reshape({shape})")
            passed.append(f"d{a[2:]}")
        batched = [f"d{a[2:]}" for a, inp in zip(args, spec.inputs) if inp.batched]
        loops = []
        for k in range(len(spec.loops)):
            loops.append(f"    _loop{k}[blocks(idx{k}.shape[0]), THREADS]"
                         f"({', '.join(passed)}, device_input(idx{k}, np.int64, 'idx{k}'), "
                         f"device_input(pos{k}, np.int64, 'pos{k}'), out)\n")
        tables = [f"{kind}{k}" for k in range(len(spec.loops)) for kind in ("idx", "pos")]
        single = not spec.out_blocks or len(spec.out_blocks) == 1
        if not batched:
            result = f"out.reshape({tuple(spec.out_shape)!r})"
        elif single:
            result = f"out.reshape((n,) + {tuple(spec.out_shape)!r})"
        else:
            result = "out"
        return HOST.format(
            name=name, args=", ".join(args + tables), inputs=", ".join(args) + ",",
            convert="\n".join(convert), count=f"{batched[0]}.shape[0]" if batched else "1",
            passed=", ".join(passed), loops="".join(loops), result=result,
            zero="" if spec.writes_every_position() else
            "    _zero[blocks(out.shape[0]), THREADS](out)\n")

    def emit(self, spec: KernelSpec, name: str = "kernel", version: str = "") -> str:
        """Python source of a module defining ``name(in0, ...)``, computed by numba.cuda kernels.

        A batched kernel returns ``(points,) + out_shape`` when the output is one block, else
        the flat block-major buffer; an unbatched one ``out_shape``.
        """
        if not name.isidentifier():
            raise ValueError(f"kernel name {name!r} is not a Python identifier")
        if not supports(spec):
            raise ValueError(f"the CUDA target computes float32 and float64 Hessians, not {spec.dtype}")
        return (self.module_header(spec, version) + "\nimport math\n\nimport numba\n"
                "import numpy as np\nfrom numba import cuda\n\n"
                f"from {runtime.__name__} import THREADS, blocks, device_input, on_device\n\n"
                f"OUT_SIZE = {spec.out_size}\nOUT_DTYPE = np.{spec.dtype}\n\n\n"
                + ZERO + "\n\n" + self.points_kernel(spec) + "\n\n"
                + "".join(self.loop_kernel(spec, k) + "\n\n" for k in range(len(spec.loops)))
                + self.host(spec, name))


def _value(spec: KernelSpec, text: str) -> str:
    """A value in the output's dtype (float64 literals would otherwise widen float32 stores)."""
    return text if spec.dtype == "float64" else f"numba.{spec.dtype}({text})"


def _address(spec: KernelSpec, position: int) -> str:
    """The block-major address of flat ``position`` of point ``b`` among ``n`` points."""
    start = 0
    for size in spec.out_blocks or [spec.out_size]:
        if position < start + size:
            base = f"{start} * n + " if start else ""
            return f"{base}b * {size} + {position - start}"
        start += size
    raise ValueError(f"position {position} is outside the output ({spec.out_size} values)")


def emit_numba_cuda(spec: KernelSpec, name: str = "kernel", version: str = "") -> str:
    """Python source of a module defining ``name(in0, ...)``, computed by numba.cuda kernels
    (`NumbaCUDA`)."""
    return NumbaCUDA().emit(spec, name, version)
