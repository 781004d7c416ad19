"""Compiling and loading native kernels (`codegen.native`) in this process, with llvmlite.

`native_kernel` turns a module's IR into a CPython function: it compiles the IR to object code
(or reads the object code from the kernel's disk-cache entry), loads it into one MCJIT engine
per process, fills the entry's table of addresses (``@<entry>.ctx``) and wraps the entry in
a ``builtin_function_or_method`` (``PyCFunction_NewEx``, ``METH_FASTCALL``).

The object code is kept beside the kernel module, in ``__pycache__/k<key>.<tag>.o``, where
``tag`` names what the code was compiled for (llvmlite, target triple, CPU and its features):
a cache folder shared by different machines never loads code built for another CPU. The
cache's manifest records its SHA-256 like Numba's files (`symhess.cache_numba`), so an object
file symhess did not write is deleted before the module is imported, never loaded; and the file
carries the SHA-256 of its code, so a damaged one (even one the manifest vouches for) is
compiled again rather than loaded.

`abi_ok` checks, once per process, that this is CPython on 64-bit little-endian Linux and
that the interpreter and NumPy lay out their objects as `codegen.entry.LAYOUT` says; where
they do not (another system, a debug or free-threaded build), the native target is not chosen
and kernels compile with Numba.
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np

from .entry import CONTEXT, DTYPES, LAYOUT

__all__ = ["abi_ok", "convert", "function_address", "native_kernel", "object_tag", "prepare", "OPT_LEVEL"]

MAGIC = b"symhess-object-1\n"   # an object file: this, the code's SHA-256, the code
OPT_LEVEL = 3               # LLVM's speed level (as Numba's); its compile time is linear in the kernel
METH_FASTCALL = 0x0080

_LOCK = threading.RLock()
_LOADED: dict = {}          # entry symbol (a hash of its IR) -> (address, object code)


class _MethodDef(ctypes.Structure):
    _fields_ = [("ml_name", ctypes.c_void_p), ("ml_meth", ctypes.c_void_p),
                ("ml_flags", ctypes.c_int), ("ml_doc", ctypes.c_void_p)]


def _kept(data: bytes) -> int:
    """The address of a copy of ``data`` in memory that is never freed."""
    allocate = ctypes.pythonapi.PyMem_RawMalloc
    allocate.restype, allocate.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
    address = allocate(len(data))
    if not address:
        raise MemoryError("no memory for a native kernel's method definition")
    ctypes.memmove(address, data, len(data))
    return address


def _method_definition(address: int, doc: str) -> int:
    """A ``PyMethodDef`` for the function at ``address``, in memory that is never freed: a
    function object reads its definition until the object itself is gone, which at
    interpreter shutdown may be after everything Python owns (a ctypes structure freed first
    was read as freed memory: a segmentation fault at exit)."""
    definition = _MethodDef(_kept(b"kernel\0"), address, METH_FASTCALL,
                            _kept(doc.encode() + b"\0"))
    return _kept(bytes(definition))


@functools.lru_cache(maxsize=None)
def abi_ok() -> bool:
    """Whether this interpreter and NumPy have the object layout the native entry reads."""
    try:
        # Linux only, where it is tested; elsewhere kernels compile with Numba.
        if sys.implementation.name != "cpython" or not sys.platform.startswith("linux") \
                or ctypes.sizeof(ctypes.c_void_p) != 8 or sys.byteorder != "little" \
                or getattr(sys, "_is_gil_enabled", lambda: True)() is not True \
                or hasattr(sys, "gettotalrefcount"):
            return False
        a = np.empty((2, 3), dtype=np.float64)

        def at(obj, name, ctype):
            return ctype.from_address(id(obj) + LAYOUT[name]).value

        dims = ctypes.cast(at(a, "dims", ctypes.c_void_p), ctypes.POINTER(ctypes.c_int64))
        flags = at(a, "flags", ctypes.c_int)
        return (at(a, "ob_type", ctypes.c_void_p) == id(np.ndarray)
                and at(a, "data", ctypes.c_void_p) == a.ctypes.data
                and at(a, "nd", ctypes.c_int) == 2 and (dims[0], dims[1]) == (2, 3)
                and at(a, "descr", ctypes.c_void_p) == id(a.dtype) and flags & 0x101 == 0x101
                and not at(a[:, ::2], "flags", ctypes.c_int) & 1
                and at(1.5, "float_value", ctypes.c_double) == 1.5
                and at((a, 2.5), "tuple_items", ctypes.c_void_p) == id(a)
                and at(1.5, "ob_type", ctypes.c_void_p) == id(float)
                and _array_api() is not None)
    except Exception:       # any surprise means: not this target
        return False


def _array_api():
    """NumPy's C-API table (``PyArray_API``) as a ctypes array of addresses, or None.

    It is found as every C extension's ``import_array()`` finds it: the capsule
    ``_ARRAY_API`` of NumPy's ``_multiarray_umath`` module (``numpy._core`` from NumPy 2)."""
    import importlib
    for name in ("numpy._core._multiarray_umath", "numpy.core._multiarray_umath"):
        try:
            capsule = getattr(importlib.import_module(name), "_ARRAY_API")
            break
        except (ImportError, AttributeError):
            continue
    else:
        return None
    get = ctypes.pythonapi.PyCapsule_GetPointer
    get.restype, get.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    table = ctypes.cast(get(capsule, None), ctypes.POINTER(ctypes.c_void_p))
    return table if table[2] == id(np.ndarray) else None    # PyArray_Type is entry 2


@functools.lru_cache(maxsize=None)
def _context() -> tuple:
    """The addresses of `codegen.entry.CONTEXT` and of each dtype's descriptor, in order."""
    api = ctypes.pythonapi

    def function(name):
        return ctypes.cast(getattr(api, name), ctypes.c_void_p).value
    api_table = _array_api()    # (the entries' numbers are the same in NumPy 1 and 2)
    values = {"ndarray": id(np.ndarray), "float": id(float), "IndexError": id(IndexError),
              "PyArray_New": api_table[93], "PyArray_Scalar": api_table[60],
              "PyArray_SetBaseObject": api_table[282]}
    for name in CONTEXT:
        if name not in values:
            values[name] = function(name)
    return tuple(values[name] for name in CONTEXT) + tuple(id(np.dtype(d)) for d in DTYPES)


@functools.lru_cache(maxsize=None)
def _blas() -> tuple:
    """The addresses of the Fortran BLAS and LAPACK functions SciPy links
    (``scipy.linalg.cython_blas``, ``cython_lapack``) that loop programs call
    (`codegen.loop_calls.LINEAR_ALGEBRA`): the array tier's matrix products and inverses."""
    from . import blas_tables
    from .loop_calls import LINEAR_ALGEBRA
    api = ctypes.pythonapi
    api.PyCapsule_GetName.restype, api.PyCapsule_GetName.argtypes = ctypes.c_char_p, [ctypes.py_object]
    get = api.PyCapsule_GetPointer
    get.restype, get.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    blas, lapack = blas_tables.modules()
    exported = {**blas.__pyx_capi__, **lapack.__pyx_capi__}
    capsules = [exported[name] for name in LINEAR_ALGEBRA]
    return tuple(get(c, api.PyCapsule_GetName(c)) for c in capsules)


@functools.lru_cache(maxsize=None)
def _machine():
    """``(target machine, engine, tag)``: this process's MCJIT engine for native kernels."""
    import llvmlite
    from llvmlite import binding as ll
    ll.initialize_native_target()
    ll.initialize_native_asmprinter()
    cpu, features = ll.get_host_cpu_name(), ll.get_host_cpu_features().flatten()
    triple = ll.get_process_triple()
    tm = _target_machine(OPT_LEVEL)
    engine = ll.create_mcjit_compiler(ll.parse_assembly(""), tm)
    tag = hashlib.sha256(f"{llvmlite.__version__} {triple} {cpu} {features} {OPT_LEVEL}"
                         .encode()).hexdigest()[:16]
    return tm, engine, tag


@functools.lru_cache(maxsize=None)
def _target_machine(level: int):
    """The host's target machine generating code at optimisation ``level``: 0 is LLVM's
    fast code generator (instruction selection and register allocation in one quick pass),
    for kernels whose call costs more than their arithmetic."""
    from llvmlite import binding as ll
    ll.initialize_native_target()
    ll.initialize_native_asmprinter()
    cpu, features = ll.get_host_cpu_name(), ll.get_host_cpu_features().flatten()
    target = ll.Target.from_triple(ll.get_process_triple())
    return target.create_target_machine(cpu=cpu, features=features, opt=level,
                                        codemodel="jitdefault", jit=True)


def prepare() -> None:
    """Initialise llvmlite's native target, this process's target machines and JIT engine, and
    LLVM's code generators, the optimising one and the fast one of small kernels (the first
    object file of each costs some milliseconds more than the next): once per process, when
    the compiler loads, rather than in the first compile. BLAS is found when the first kernel
    calling it loads (`codegen.blas_tables`: a few hundredths of a second, which a kernel
    without matrix products need not pay)."""
    _machine()
    for level in (OPT_LEVEL, 0):
        _compile("define void @symhess.prepare() {\nentry:\n  ret void\n}\n", level)


def object_tag() -> str:
    """What object code in the cache is compiled for (llvmlite, triple, CPU, features)."""
    return _machine()[2]


def _compile(ir_text: str, level: int = OPT_LEVEL) -> bytes:
    """Object code of ``ir_text``, optimised at speed ``level`` (0: no passes, and the fast
    code generator)."""
    from llvmlite import binding as ll
    tm = _machine()[0] if level else _target_machine(0)
    module = ll.parse_assembly(ir_text)
    module.verify()
    module.triple, module.data_layout = tm.triple, str(tm.target_data)
    options = ll.create_pipeline_tuning_options(speed_level=level)
    builder = ll.create_pass_builder(tm, options)
    builder.getModulePassManager().run(module, builder)
    return tm.emit_object(module)


def _object_path(where: dict):
    """Where the object code of the module with globals ``where`` is kept, or None (no file)."""
    file = where.get("__file__")
    if not file:
        return None
    path = Path(file)
    return path.parent / "__pycache__" / f"{path.stem}.{object_tag()}.o"


def _read(path) -> bytes | None:
    """The object code kept at ``path``, or None when there is none or it is not intact (the
    file holds `MAGIC`, the code's SHA-256, then the code)."""
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as f:
        data = f.read()
    head, digest, code = data[:len(MAGIC)], data[len(MAGIC):len(MAGIC) + 32], \
        data[len(MAGIC) + 32:]
    return code if head == MAGIC and hashlib.sha256(code).digest() == digest else None


def _write(path: Path, code: bytes) -> None:
    """Keep ``code`` at ``path`` through a temporary file renamed into place (best effort:
    a kernel whose code cannot be kept is compiled again by the next process)."""
    data = MAGIC + hashlib.sha256(code).digest() + code
    try:
        path.parent.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".tmp.")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError:
        pass


def function_address(ir_text: str, symbol: str, where: dict, context: bool = True,
                     blas: bool = False, level: int = OPT_LEVEL) -> int:
    """The address of function ``symbol``, compiled (at speed ``level``) or loaded from the
    cache; with ``context``, an entry's, whose table of addresses is filled; with ``blas``, its
    table ``<symbol>.blas`` of BLAS functions too (`_blas`)."""
    from llvmlite import binding as ll
    with _LOCK:
        path = _object_path(where)
        if symbol in _LOADED:           # loaded already, perhaps from another cache folder
            address, code = _LOADED[symbol]
            if path and _read(path) != code:
                _write(path, code)
            return address
        code = _read(path) if path else None
        if code is None:
            code = _compile(ir_text, level)
            if path:
                _write(path, code)
        engine = _machine()[1]
        engine.add_object_file(ll.ObjectFileRef.from_data(code))
        engine.finalize_object()
        address = engine.get_function_address(symbol)
        ctx = engine.get_global_value_address(symbol + ".ctx") if context else 0
        if not address or (context and not ctx):
            raise RuntimeError(f"native kernel {symbol}: its object code does not define it; "
                               "run `symhess cache clear` to rebuild the cache")
        if context:
            values = _context()
            (ctypes.c_void_p * len(values)).from_address(ctx)[:] = values
        if blas:
            table = engine.get_global_value_address(symbol + ".blas")
            addresses = _blas()
            (ctypes.c_void_p * len(addresses)).from_address(table)[:] = addresses
        _LOADED[symbol] = address, code
        return address


class NativeKernel:
    """Holds what a native kernel's functions need alive, and converts their arguments.

    ``kernel`` is the fast function: it takes exact float64 (or the input's dtype) C-contiguous
    arrays of the right shapes, and hands any other arguments to `convert`, which makes them so
    (or raises the error a user should see) and calls ``strict``, the same code whose own
    fallback is `refuse`.
    """

    def __init__(self, address: int, symbol: str, inputs: list, out_shape: tuple, dtype: str):
        self.inputs, self.out_shape, self.dtype = inputs, out_shape, dtype
        definition = _method_definition(address, f"native kernel {symbol}")
        self.kernel = self._function(definition, self.convert)
        self.strict = self._function(definition, self.refuse)

    @staticmethod
    def _function(definition, fallback):
        new = ctypes.pythonapi.PyCFunction_NewEx
        new.restype = ctypes.py_object
        new.argtypes = [ctypes.c_void_p, ctypes.py_object, ctypes.py_object]
        return new(definition, fallback, None)

    def convert(self, *args):
        """The arguments as the kernel takes them, then the kernel's result."""
        if len(args) != len(self.inputs):
            raise TypeError(f"symhess kernel takes {len(self.inputs)} arguments; got {len(args)}")
        return self.strict(*[convert(a, k, inp)[0] for k, (a, inp) in
                             enumerate(zip(args, self.inputs))])

    @staticmethod
    def refuse(*args):
        raise TypeError("symhess kernel: an argument was converted but still not accepted "
                        f"({', '.join(type(a).__name__ for a in args)})")


def convert(value, k: int, inp: tuple):
    """``(argument k as input inp takes it, its points)``; ``inp`` is ``(dtype, shape, scalar,
    label, per point)``. An input given per point becomes a C-contiguous array of shape
    (points, values), and its points are counted; other inputs' points are None."""
    dtype, shape, scalar, label, per_point = inp
    name = f"input {k}{f' ({label})' if label else ''}"
    if scalar:
        if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer,
                                                                           np.floating)):
            if not (isinstance(value, np.ndarray) and value.shape == ()
                    and value.dtype.kind in "iuf"):
                raise TypeError(f"symhess kernel: {name} is a number; got {type(value).__name__}")
        return float(value), None
    array = np.asarray(value)
    want = np.dtype(dtype)
    if array.dtype != want and not np.can_cast(array.dtype, want, "same_kind"):
        raise TypeError(f"symhess kernel: {name} is {want} with shape {shape}"
                        f"{' per point' if per_point else ''}; got {array.dtype}")
    got = array.shape[1:] if per_point and array.ndim else None if per_point else array.shape
    if got is None or len(got) != len(shape) or any(n is not None and n != m
                                                    for n, m in zip(shape, got)):
        raise ValueError(f"symhess kernel: {name} has the wrong shape; it takes {shape}"
                         f"{' per point' if per_point else ''}")
    array = np.asarray(array, dtype=want, order="C")
    if array.dtype is not want or not array.flags.aligned:
        array = np.array(array, dtype=want)      # a fresh array has the interned descriptor
    if per_point:
        return array.reshape(len(array), int(np.prod(shape, dtype=np.int64))), len(array)
    return array, None


def native_kernel(ir_text: str, symbol: str, inputs: list, out_shape: tuple, dtype: str,
                  where: dict, blas: bool = False, level: int = OPT_LEVEL):
    """The CPython function of the native kernel ``symbol`` in ``ir_text`` (`NativeCPU`).

    ``where`` is the generated module's globals: its ``__file__`` places the object code, and
    the function's holder is kept there as ``_native``.
    """
    address = function_address(ir_text, symbol, where, blas=blas, level=level)
    holder = NativeKernel(address, symbol, inputs, out_shape, dtype)
    where["_native"] = holder
    return holder.kernel
