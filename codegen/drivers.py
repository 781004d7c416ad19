"""Drivers of the native kernels that run on several threads: batched kernels
(`native_points`) and kernels whose element loops run on threads (`native_loops`).

A driver calls a function of the kernel's object code through ctypes, which releases the GIL,
for ranges of the work (points, or elements of a loop), on this process's thread pool and the
calling thread at once. The pool has Numba's number of threads (``NUMBA_NUM_THREADS``), as
every kernel that runs on threads, and is made again in a forked process.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading

import numpy as np

from .jit import convert, function_address

__all__ = ["native_loops", "native_points"]

# A batched call runs on several threads when points x statements is at least this (below it,
# handing ranges to threads costs more than they save), in ranges of at least MIN_POINTS.
PARALLEL_WORK = 1_000_000
MIN_POINTS = 64
_POOL: dict = {}            # process id -> the thread pool of batched calls, made on first use
_POOL_LOCK = threading.Lock()


def _threads() -> int:
    """Threads a call uses: Numba's setting, as for every kernel that runs on threads:
    ``numba.get_num_threads()`` where Numba is loaded (it follows ``numba.set_num_threads``),
    else what Numba would start with (``NUMBA_NUM_THREADS``, else the CPUs this process may
    run on), without loading Numba for it."""
    numba = sys.modules.get("numba")
    if numba is not None:
        return max(1, numba.get_num_threads())
    value = os.environ.get("NUMBA_NUM_THREADS", "")
    if value.strip().isdigit() and int(value) > 0:
        return int(value)
    cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else range(os.cpu_count() or 1)
    return max(1, len(cpus))


def _pool():
    """This process's pool: a process forked from one that had a pool has none of its threads,
    and a pool whose threads are gone would wait for them forever."""
    from concurrent.futures import ThreadPoolExecutor
    with _POOL_LOCK:
        pid = os.getpid()
        if pid not in _POOL:
            _POOL.clear()
            _POOL[pid] = ThreadPoolExecutor(max_workers=max(1, _threads() - 1),
                                            thread_name_prefix="symhess")
        return _POOL[pid]


def _run_on_threads(call, parts: list) -> None:
    """``call(*part)`` for each of ``parts``, on up to Numba's number of threads (this one
    among them), each taking the next part when it is done with one: a thread slowed by other
    work on its core takes fewer parts instead of holding the others up."""
    threads = min(_threads(), len(parts))
    todo = iter(parts)          # shared: each next() hands a part to one thread only

    def work():
        for part in todo:
            call(*part)
    others = [_pool().submit(work) for _ in range(threads - 1)]
    work()
    for done in others:
        done.result()


def _split(count: int, pieces: int) -> list:
    """``pieces`` consecutive ranges ``(start, stop)`` of ``range(count)``, none empty."""
    pieces = max(1, min(pieces, count))
    return [(count * t // pieces, count * (t + 1) // pieces) for t in range(pieces)]


# A loop on threads is cut in this many parts per thread, which threads take as they finish.
PARTS_PER_THREAD = 4
# A coloured loop with summed outputs cuts each class in at most this many ranges, whatever the
# number of threads: each range sums them apart, and the sums are added in order.
SUMMED_RANGES = 32
# A loop run in runs of consecutive elements is cut in at most this many, whatever the number
# of threads (each sums its summed outputs apart; the sums are added in order).
RUNS = 64


def native_loops(ir_text: str, symbol: str, inputs: list, out_shape: tuple, dtype: str,
                 loops: list, scratch: int, where: dict):
    """The kernel of a native module whose element loops run on threads (`NativeCPU`): the
    function ``symbol.part`` (`codegen.element_ir.part_function`) called through ctypes (which
    releases the GIL) for the body, then for parts of each loop, one part per thread.

    ``loops``: ``(uniform, colours, on threads, statements per element, values summed, reach)``
    of each element loop (values summed: a uniform loop's values, or another's `summed`
    outputs, `codegen.spec.LoopSpec.summed`; reach: its `codegen.spec.LoopSpec.reach` where it
    runs in runs, `codegen.element_ir.in_runs`, else -1). A uniform loop on threads sums its
    elements in at most `codegen.numba_cpu.CHUNKS` chunks of `codegen.numba_cpu.CHUNK_WORK`
    statements or more, as the Numba target does, and adds the chunks' sums in order: the same
    result on any number of threads. A loop in runs is cut in at most `RUNS` runs of
    consecutive elements, each at least its reach and `codegen.numba_cpu.CHUNK_WORK`
    statements long: the even runs at once, then the odd ones (runs two apart never add into
    one position; none do when the reach is 0), each summing apart, the sums added in order.
    Another coloured loop runs its classes of elements one after the other, the elements of a
    class at once (they add into disjoint entries); a class with summed outputs is cut in at
    most `SUMMED_RANGES` ranges of `codegen.numba_cpu.CHUNK_WORK` statements or more, whose
    sums are added in order. Other work is cut in `PARTS_PER_THREAD` parts per thread
    (`_run_on_threads`).
    """
    from . import numba_cpu
    address = function_address(ir_text, symbol + ".part", where, context=False)
    argtypes = [ctypes.c_double if inp[2] else ctypes.c_void_p for inp in inputs]
    part = ctypes.CFUNCTYPE(None, *argtypes, *[ctypes.c_void_p] * 3,
                            *[ctypes.c_int64] * 6)(address)
    first_table = len(inputs) - 2 * len(loops)

    def kernel(*args):
        if len(args) != len(inputs):
            raise TypeError(f"symhess kernel takes {len(inputs)} arguments; got {len(args)}")
        converted = [convert(a, k, inp)[0] for k, (a, inp) in enumerate(zip(args, inputs))]
        out = np.empty(out_shape, dtype=dtype)
        work = np.empty(max(1, scratch))
        # The arrays stay referenced by `converted`, `out` and `work` until every call returned.
        passed = [a if isinstance(a, float) else a.ctypes.data for a in converted]

        def call(which, sums=None, first=0, stop=0, step=0, chunks=0, count=0):
            part(*passed, work.ctypes.data, sums, out.ctypes.data, which, first, stop, step,
                 chunks, count)
        call(0)
        pieces = PARTS_PER_THREAD * _threads()
        for n, (uniform, colours, on_threads, statements, values, reach) in enumerate(loops):
            elements = len(converted[first_table + 2 * n])
            if uniform:
                least = max(1, numba_cpu.CHUNK_WORK // max(1, statements))
                chunks = min(numba_cpu.CHUNKS, max(1, elements // least)) if on_threads else 1
                sums = np.zeros((chunks, max(1, values)))
                _run_on_threads(call, [(n + 1, sums.ctypes.data, a, b, 0, chunks, elements)
                                       for a, b in _split(chunks, pieces if on_threads else 1)])
                total = sums[0].copy()
                for c in range(1, chunks):
                    total += sums[c]
                if elements:
                    call(-(n + 1), total.ctypes.data)
            elif not on_threads:
                call(n + 1, None, 0, elements, 1)
            elif reach >= 0:
                least = max(1, reach, numba_cpu.CHUNK_WORK // max(1, statements))
                runs = _split(elements, min(RUNS, max(1, elements // least)))
                sums = np.zeros((len(runs), max(1, values)))
                for phase in [range(len(runs))] if reach == 0 else [range(0, len(runs), 2),
                                                                   range(1, len(runs), 2)]:
                    _run_on_threads(call, [(n + 1, sums[i].ctypes.data if values else None,
                                            *runs[i], 1) for i in phase])
                if values and elements:
                    total = sums[0].copy()
                    for row in sums[1:]:
                        total += row
                    call(-(n + 1), total.ctypes.data)
            else:
                least = max(1, numba_cpu.CHUNK_WORK // max(1, statements))
                sums = []           # per range, the sums of the summed outputs
                for r in range(colours):
                    count = (elements - r + colours - 1) // colours
                    ranges = _split(count, min(SUMMED_RANGES, max(1, count // least))
                                    if values else pieces)
                    sums.append(np.zeros((len(ranges), max(1, values))))
                    _run_on_threads(call, [(n + 1, sums[-1][i].ctypes.data if values else None,
                                            r + colours * a, r + colours * b, colours)
                                           for i, (a, b) in enumerate(ranges)])
                if values and elements:
                    total = np.zeros(values)
                    for row in (row for rows in sums for row in rows):
                        total += row
                    call(-(n + 1), total.ctypes.data)
        return out

    where["_native"] = part
    return kernel


def native_points(ir_text: str, symbol: str, inputs: list, out_shape: tuple, dtype: str,
                  statements: int, where: dict):
    """``(kernel, kernel_into)`` of the batched native kernel ``symbol`` (`NativeCPU`): the
    function ``symbol.points`` called through ctypes (which releases the GIL) for ranges of
    points, on several threads when the batch is large (`PARALLEL_WORK`).

    ``kernel(in0, ...)`` returns an array of shape ``(points,) + out_shape``;
    ``kernel_into(in0, ..., out)`` writes into ``out`` of shape (points, values)."""
    address = function_address(ir_text, symbol + ".points", where, context=False)
    size = int(np.prod(out_shape, dtype=np.int64))
    argtypes = [ctypes.c_double if inp[2] else ctypes.c_void_p for inp in inputs]
    points = ctypes.CFUNCTYPE(None, *argtypes, ctypes.c_void_p, ctypes.c_int64,
                              ctypes.c_int64)(address)

    def arguments(args):
        if len(args) != len(inputs):
            raise TypeError(f"symhess kernel takes {len(inputs)} arguments; got {len(args)}")
        converted, counts = zip(*[convert(a, k, inp) for k, (a, inp) in
                                  enumerate(zip(args, inputs))]) if args else ((), ())
        counted = {n for n in counts if n is not None}
        if len(counted) != 1:
            raise ValueError(f"symhess kernel: the inputs given per point have different "
                             f"numbers of points ({sorted(counted)})")
        return converted, counted.pop()

    def run(converted, n, out):
        # The arrays stay referenced by `converted` and `out` until every range has returned.
        passed = [a if isinstance(a, float) else a.ctypes.data for a in converted]
        passed.append(out.ctypes.data)
        pieces = min(PARTS_PER_THREAD * _threads(), n // MIN_POINTS) \
            if n * statements >= PARALLEL_WORK else 1
        _run_on_threads(lambda a, b: points(*passed, a, b), _split(n, pieces))

    def kernel_into(*args):
        *args, out = args
        converted, n = arguments(args)
        if not (isinstance(out, np.ndarray) and out.shape == (n, size) and out.flags.c_contiguous
                and out.dtype == np.dtype(dtype) and out.flags.writeable):
            raise ValueError(f"symhess kernel: out must be a writeable C-contiguous {dtype} "
                             f"array of shape {(n, size)}")
        run(converted, n, out)
        return out

    def kernel(*args):
        converted, n = arguments(args)
        # NumPy allocates the output: it asks for huge pages for large arrays
        out = np.empty((n, size), dtype=dtype)
        run(converted, n, out)
        return out.reshape((n,) + tuple(out_shape))

    where["_native"] = points, kernel_into
    return kernel, kernel_into
