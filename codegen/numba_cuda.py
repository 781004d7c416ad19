"""The numba.cuda target: one GPU thread per point, and one per element of an element loop.

The generated module defines ``kernel(in0, ..., idx0, pos0, ...)``. Each input may be a NumPy
array, a Numba device array or any array with ``__cuda_array_interface__`` (CuPy, PyTorch):
host arrays are copied to the device, device arrays are used in place. The result stays where
the inputs were: a device array when any input was one, else a NumPy array.

``_points`` runs one thread per point of the batched inputs (one thread in all for an unbatched
kernel) and writes that point's values. The output buffer is block-major: block ``k`` of the
spec's ``out_blocks`` holds the block for every point, one after the other, so each block is a
contiguous ``(points, ...)`` array on the device. Element loops (`LoopSpec`) run afterwards,
one thread per element, adding their values with atomic additions.
"""

from __future__ import annotations

import math

import numpy as np

from .numba_cpu import element_statements, header, kernel_body, scatter_add
from .printer import NumPyPrinter
from .spec import KernelSpec, plain_label

THREADS = 128


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


def supports(spec: KernelSpec) -> bool:
    """Whether this target can print ``spec``: real dtypes only (no complex device math)."""
    return spec.dtype in ("float32", "float64")


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


ZERO = """\
@cuda.jit
def _zero(out):
    k = cuda.grid(1)
    if k < out.shape[0]:
        out[k] = 0
"""


def _points_kernel(spec: KernelSpec) -> str:
    """Source of ``_points(in0, ..., out, n)``: thread ``b`` computes point ``b``."""
    args = [f"in{i}" for i in range(len(spec.inputs))]
    lines = ["    b = cuda.grid(1)", "    if b >= n:", "        return"]
    for a, inp in zip(args, spec.inputs):
        if inp.batched:
            lines.append(f"    {a} = {a}[b]")
    body, names = kernel_body(spec, CudaPrinter)
    printer = CudaPrinter(names)
    lines += body
    for expr, positions in spec.outputs:
        lines.append(f"    v = {_value(spec, printer.doprint(expr))}")
        lines += [f"    out[{_address(spec, p)}] = v" for p in positions]
    return (f"@cuda.jit\ndef _points({', '.join(args + ['out', 'n'])}):\n"
            + "\n".join(lines) + "\n")


def _loop_kernel(spec: KernelSpec, number: int) -> str:
    """Source of ``_loop<number>(in0, ..., idx, pos, out)``: thread ``p`` adds element ``p``."""
    loop = spec.loops[number]
    shared, slots, assignments, printer = element_statements(spec, loop, CudaPrinter)
    lines = ["    p = cuda.grid(1)", "    if p >= idx.shape[0]:", "        return"]
    lines += ["    " + line for line in shared + slots + assignments]
    for e, expr in enumerate(loop.outputs):
        lines.append(f"    v = {_value(spec, printer.doprint(expr))}")
        lines += scatter_add(loop, e, "    ", "cuda.atomic.add(out, {}, v)")
    args = [f"in{i}" for i in range(len(spec.inputs))] + ["idx", "pos", "out"]
    return f"@cuda.jit\ndef _loop{number}({', '.join(args)}):\n" + "\n".join(lines) + "\n"


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


def blocks(n: int) -> int:
    """Thread blocks of `THREADS` covering ``n`` threads (at least one)."""
    return max(1, -(-n // THREADS))


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


def emit_numba_cuda(spec: KernelSpec, name: str = "kernel", version: str = "") -> str:
    """Python source of a module defining ``name(in0, ...)``, computed by numba.cuda kernels.

    A batched kernel returns ``(points,) + out_shape`` when the output is one block, else the
    flat block-major buffer (see the module's docstring); an unbatched one ``out_shape``.
    """
    if not name.isidentifier():
        raise ValueError(f"kernel name {name!r} is not a Python identifier")
    if not supports(spec):
        raise ValueError(f"the CUDA target computes float32 and float64 Hessians, not {spec.dtype}")
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
    host = HOST.format(
        name=name, args=", ".join(args + tables), inputs=", ".join(args) + ",",
        convert="\n".join(convert), count=f"{batched[0]}.shape[0]" if batched else "1",
        passed=", ".join(passed), loops="".join(loops), result=result,
        zero="" if spec.writes_every_position() else
        "    _zero[blocks(out.shape[0]), THREADS](out)\n")
    return (header(spec, version, "numba.cuda kernel") + "\nimport math\n\nimport numba\n"
            "import numpy as np\nfrom numba import cuda\n\n"
            f"from {__name__} import THREADS, blocks, device_input, on_device\n\n"
            f"OUT_SIZE = {spec.out_size}\nOUT_DTYPE = np.{spec.dtype}\n\n\n"
            + ZERO + "\n\n" + _points_kernel(spec) + "\n\n"
            + "".join(_loop_kernel(spec, k) + "\n\n" for k in range(len(spec.loops)))
            + host)
