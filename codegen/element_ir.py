"""LLVM IR of the native target's element loops (`codegen.spec.LoopSpec`).

`loop_function` runs a range of a loop's elements, adding each element's values into the
output: at computed positions, unrolled, or at those of its row of the position table. A
uniform loop (every element adds at the same positions) and the `summed` outputs of any loop
(a value's terms beside their derivatives) are summed in registers and added once
(`total_function`). `part_function` is what the driver of a kernel whose loops run on threads
(`codegen.drivers.native_loops`) calls for the body and for each range of a loop.
"""

from __future__ import annotations

import symengine as se

from .entry import IRLines
from .llvm_ir import ELEMENT, OUTPUT
from . import numba_cpu
from .printer import CodegenError
from .spec import KernelSpec

__all__ = ["loop_function", "total_function", "part_function", "threaded", "on_threads",
           "in_runs", "passes", "operand", "parameters"]


def _to_double(lines: IRLines, ty: str, value: str) -> str:
    return value if ty == "double" else lines.fresh(f"fpext {ty} {value} to double")


def _from_double(lines: IRLines, ty: str, value: str) -> str:
    return value if ty == "double" else lines.fresh(f"fptrunc double {value} to {ty}")


def operand(spec: KernelSpec, k: int) -> str:
    """Kernel input ``k`` as a typed operand ``%in<k>``: a double, or a pointer to its elements."""
    inp = spec.inputs[k]
    return f"double %in{k}" if inp.scalar else f"{ELEMENT[inp.dtype][0]}* %in{k}"


def parameters(spec: KernelSpec) -> list:
    """The typed kernel inputs ``%in<k>`` (as `LLVMIR.parameters` without scratch and out)."""
    return [operand(spec, k) for k in range(len(spec.inputs))]


def loop_function(spec: KernelSpec, number: int, scratch: int) -> str:
    """IR of ``@SYMBOL@.loop<number>``: the elements ``first, first + step, ...`` (below
    ``stop``) of element loop ``number`` of ``spec`` in sequence, adding each element's values
    (``@SYMBOL@.elem<number>``) into ``out`` (`codegen.spec.LoopSpec`), in one pass over them
    or in the passes of `passes`. The sums of a uniform loop's values, or of the `summed` ones
    of another, are stored in ``sums`` when it is given (a range of a loop on threads), else
    added into ``out`` (`total_function`)."""
    loop = spec.loops[number]
    out_elem = OUTPUT[spec.dtype][0]
    n_slots, n_values = max(1, len(loop.slots)), len(loop.outputs)
    params = parameters(spec) + ["i64* %idx", "i64* %pos", "i64 %first", "i64 %stop",
                                 "i64 %step"] \
        + (["double* %w"] if scratch else []) + ["double* %sums", f"{out_elem}* %out"]
    lines = IRLines()
    lines += [f"%s.a = alloca [{n_slots} x double]", f"%v.a = alloca [{max(1, n_values)} x {out_elem}]",
              f"%s = getelementptr inbounds [{n_slots} x double], [{n_slots} x double]* %s.a, i64 0, i64 0",
              f"%v = getelementptr inbounds [{max(1, n_values)} x {out_elem}], "
              f"[{max(1, n_values)} x {out_elem}]* %v.a, i64 0, i64 0"]
    kept = range(n_values) if loop.uniform else loop.summed     # summed in %acc
    if kept:
        size = max(1, len(kept))
        lines += [f"%acc.a = alloca [{size} x double]",
                  f"%acc = getelementptr inbounds [{size} x double], "
                  f"[{size} x double]* %acc.a, i64 0, i64 0"]
        for i in range(len(kept)):
            lines.append(f"store double 0.0, double* {lines.at('double', '%acc', i)}")
    previous = "entry"                  # the block before a pass's loop
    for k, group in enumerate(passes(loop)):
        label = "" if k == 0 else f".pass{k}"
        head, element, step, done = (f"{name}{label}" for name in ("head", "element", "next",
                                                                     "done"))
        rebased = None
        if loop.position_rows and not loop.uniform:
            rebased = _rebase(lines, loop, [e for e in group if e not in kept], out_elem, k)
        lines += [f"br label %{head}", f"{head}:",
                  f"%p{label} = phi i64 [%first, %{previous}], [%p.next{label}, %{step}]",
                  f"%more{label} = icmp slt i64 %p{label}, %stop",
                  f"br i1 %more{label}, label %{element}, label %{done}", f"{element}:"]
        _element(lines, spec, number, scratch, f"%p{label}")
        summed = [(i, e) for i, e in enumerate(kept) if e in group]
        for i, e in summed:
            x = lines.fresh(f"load {out_elem}, {out_elem}* {lines.at(out_elem, '%v', e)}")
            # Reassociable where the loop is not uniform: LLVM sums it in vector lanes.
            lines.add_into("double", "%acc", i, _to_double(lines, out_elem, x),
                           "" if loop.uniform else "reassoc ")
        if loop.uniform:
            lines += [f"br label %{step}"]
        else:
            skip = set(kept) | set(range(n_values)) - set(group)
            _scatter(lines, loop, out_elem, "%v", f"%p{label}", element, step, skip, rebased)
        lines += [f"{step}:", f"%p.next{label} = add i64 %p{label}, %step",
                  f"br label %{head}", f"{done}:"]
        previous = done
    if kept:
        lines += ["%given = icmp ne double* %sums, null",
                  "br i1 %given, label %keep, label %own", "keep:"]
        for i in range(len(kept)):
            x = lines.fresh(f"load double, double* {lines.at('double', '%acc', i)}")
            lines.append(f"store double {x}, double* {lines.at('double', '%sums', i)}")
        lines += ["br label %exit", "own:",       # added once, at the first element's positions
                  "%some = icmp slt i64 %first, %stop", "br i1 %some, label %sum, label %exit",
                  "sum:", f"call void @@SYMBOL@.total{number}(i64* %pos, double* %acc, "
                  f"{out_elem}* %out)", "br label %exit", "exit:"]
    lines.append("ret void")
    return (f"define internal void @@SYMBOL@.loop{number}({', '.join(params)}) nounwind {{\n"
            f"entry:\n{lines.text()}}}\n")


def _element(lines: IRLines, spec: KernelSpec, number: int, scratch: int, row: str) -> None:
    """Append the reads of element ``row``'s slots and the call computing its values into
    ``%v``."""
    loop = spec.loops[number]
    for j, (_, pos) in enumerate(loop.slots):
        inp = spec.inputs[pos]
        if inp.scalar:
            raise CodegenError(f"element loop {number} reads slot {j} from a scalar input")
        if loop.slot_rows:
            index = lines.affine(*loop.slot_rows[j], row)
        else:
            start = lines.fresh(f"mul i64 {row}, {len(loop.slots)}")
            column = lines.fresh(f"add i64 {start}, {j}")
            index = lines.fresh(f"load i64, i64* {lines.at('i64', '%idx', column)}")
        elem, conv = ELEMENT[inp.dtype]
        value = lines.fresh(f"load {elem}, {elem}* {lines.at(elem, f'%in{pos}', index)}")
        if conv:
            value = lines.fresh(f"{conv} {elem} {value} to double")
        lines.append(f"store double {value}, double* {lines.at('double', '%s', j)}")
    out_elem = OUTPUT[spec.dtype][0]
    shared = [operand(spec, k) for k in loop.shared_inputs()]
    passed = ["double* %s"] + shared + (["double* %w"] if scratch else []) + [f"{out_elem}* %v"]
    lines.append(f"call void @@SYMBOL@.elem{number}({', '.join(passed)})")


def _rebase(lines: IRLines, loop, scattered: list, out_elem: str, k: int):
    """``(pointer, offset)``: ``out`` from the least position of the outputs ``scattered``,
    for the computed positions of pass ``k``; None when there are none. LLVM vectorizes a loop
    whose neighbouring elements add into the same entries (the gradient of a chain) when its
    positions start at its pointer, and not when they start some entries after it."""
    places = [place for e in scattered for place in loop.position_rows[e] if place is not None]
    if not places:
        return None
    base = min(start for start, _ in places)
    pointer = f"%out.base{k}"
    lines.append(f"{pointer} = getelementptr inbounds {out_elem}, {out_elem}* %out, i64 {base}")
    return pointer, base


def passes(loop) -> list:
    """The outputs of element loop ``loop`` each pass over its elements adds: all of them in
    one pass, or, for a loop of an arithmetic element (no function calls) whose computed
    positions step by one element or none for some outputs (a chain's value and gradient)
    and by more for others (its Hessian), those first and the others in a second pass. LLVM
    vectorizes the first pass, and each pass computes only what its outputs need (the
    element function is inlined), where one pass over all is not vectorized at all."""
    every = list(range(len(loop.outputs)))
    if loop.uniform or not loop.position_rows or not _arithmetic(loop):
        return [every]
    unit = [e for e, pair in enumerate(loop.position_rows)
            if all(place is None or place[1] in (0, 1) for place in pair)]
    if not unit or len(unit) == len(every):
        return [every]
    return [unit, [e for e in every if e not in unit]]


def _arithmetic(loop) -> bool:
    """Whether an element of ``loop`` computes with ``+``, ``-``, ``*`` and integer powers
    only (what LLVM vectorizes without a vector math library)."""
    seen = set()

    def plain(expr) -> bool:
        if isinstance(expr, (se.Symbol, se.Number)):
            return True
        if isinstance(expr, se.Pow) and not isinstance(expr.args[1], se.Integer):
            return False
        if not isinstance(expr, (se.Add, se.Mul, se.Pow)):
            return False
        for arg in expr.args:
            if arg not in seen:
                if not plain(arg):
                    return False
                seen.add(arg)
        return True
    return all(plain(e) for e in [e for _, e in loop.assignments] + list(loop.outputs))


def total_function(spec: KernelSpec, number: int) -> str:
    """IR of ``@SYMBOL@.total<number>(pos, sums, out)``: the sums of element loop ``number``
    added into ``out``: a uniform loop's at the first element's positions, another's `summed`
    outputs at their positions (the same for every element)."""
    loop = spec.loops[number]
    out_elem = OUTPUT[spec.dtype][0]
    n = max(1, len(loop.outputs))
    lines = IRLines()
    if not loop.uniform:
        for i, e in enumerate(loop.summed):
            x = lines.fresh(f"load double, double* {lines.at('double', '%sums', i)}")
            x = _from_double(lines, out_elem, x)
            if loop.position_rows:
                for place in loop.position_rows[e]:
                    if place is not None:
                        lines.add_into(out_elem, "%out", place[0], x)
                continue
            lines.add_into(out_elem, "%out", lines.fresh(
                f"load i64, i64* {lines.at('i64', '%pos', 2 * e)}"), x)
            mirror = lines.fresh(f"load i64, i64* {lines.at('i64', '%pos', 2 * e + 1)}")
            lines += [f"br i1 {lines.fresh(f'icmp sge i64 {mirror}, 0')}, label %mirror{i}, "
                      f"label %next{i}", f"mirror{i}:"]
            lines.add_into(out_elem, "%out", mirror, x)
            lines += [f"br label %next{i}", f"next{i}:"]
        lines.append("ret void")
        return (f"define internal void @@SYMBOL@.total{number}(i64* %pos, double* %sums, "
                f"{out_elem}* %out) nounwind {{\nentry:\n{lines.text()}}}\n")
    base = lines.fresh(f"getelementptr inbounds [{n} x {out_elem}], [{n} x {out_elem}]* "
                       f"{lines.fresh(f'alloca [{n} x {out_elem}]')}, i64 0, i64 0")
    for e in range(len(loop.outputs)):
        x = lines.fresh(f"load double, double* {lines.at('double', '%sums', e)}")
        lines.append(f"store {out_elem} {_from_double(lines, out_elem, x)}, "
                     f"{out_elem}* {lines.at(out_elem, base, e)}")
    _scatter(lines, loop, out_elem, base, "0", "entry", "exit")
    lines += ["exit:", "ret void"]
    return (f"define internal void @@SYMBOL@.total{number}(i64* %pos, double* %sums, "
            f"{out_elem}* %out) nounwind {{\nentry:\n{lines.text()}}}\n")


def part_function(spec: KernelSpec, scratch: list) -> str:
    """IR of ``void @SYMBOL@.part(in0, ..., idx0, pos0, ..., scratch, sums, out, which, first,
    stop, step, chunks, count)``, what the driver of a kernel whose element loops run on threads
    (`codegen.drivers.native_loops`) calls: ``which`` 0 runs the body (``scratch``: its
    scratch); ``n + 1``, a part of element loop ``n`` (`loop_function`): the elements
    ``first, first + step, ...`` below ``stop`` (the sums of its `summed` outputs in
    ``sums``, when given), or, for a uniform loop, chunks ``first`` to ``stop`` of ``count``
    elements cut in ``chunks``, each chunk's sum in its row of ``sums``; ``-(n + 1)``, the
    addition of loop ``n``'s ``sums`` (`total_function`). Each part
    has its own element scratch on the stack, so parts run on several threads at once."""
    out_elem = OUTPUT[spec.dtype][0]
    operands = parameters(spec)
    tables = [f"i64* %in{len(spec.inputs) + k}" for k in range(2 * len(spec.loops))]
    lines = IRLines()
    cases = []
    for n, loop in enumerate(spec.loops):
        if scratch[n + 1]:
            lines.append(f"%w{n}.a = alloca [{scratch[n + 1]} x double], align 16")
        cases.append(f"i64 {n + 1}, label %loop{n}")
        if loop.uniform or loop.summed:
            cases.append(f"i64 {-(n + 1)}, label %total{n}")
    lines.append(f"switch i64 %which, label %body [{' '.join(cases)}]")
    body_scratch = ["double* %scratch"] if scratch[0] else []
    lines += ["body:", f"call void @@SYMBOL@.body("
              f"{', '.join(operands + body_scratch + [f'{out_elem}* %out'])})", "ret void"]
    for n, loop in enumerate(spec.loops):
        idx, pos = tables[2 * n:2 * n + 2]
        lines.append(f"loop{n}:")
        work = []
        if scratch[n + 1]:
            k = scratch[n + 1]
            work = [f"double* {lines.fresh(f'getelementptr inbounds [{k} x double], [{k} x double]* %w{n}.a, i64 0, i64 0')}"]

        def call(first, stop, step, sums):
            return (f"call void @@SYMBOL@.loop{n}({', '.join(operands + [idx, pos])}, "
                    f"i64 {first}, i64 {stop}, i64 {step}, "
                    f"{', '.join(work + [f'double* {sums}', f'{out_elem}* %out'])})")
        total = [f"total{n}:", f"call void @@SYMBOL@.total{n}({pos}, double* %sums, "
                 f"{out_elem}* %out)", "ret void"]
        if not loop.uniform:
            # A constant step where the driver passes 1: LLVM vectorizes the loop for it.
            step = "%step" if on_threads(loop) and not in_runs(loop) else 1
            lines += [call("%first", "%stop", step, "%sums"), "ret void"]
            lines += total if loop.summed else []
            continue
        c = f"%c{n}"
        lines += [f"br label %chunk{n}", f"chunk{n}:",
                  f"{c} = phi i64 [%first, %loop{n}], [{c}.next, %chunk{n}.run]",
                  f"{c}.more = icmp slt i64 {c}, %stop",
                  f"br i1 {c}.more, label %chunk{n}.run, label %chunk{n}.done", f"chunk{n}.run:"]
        start = lines.fresh(f"sdiv i64 {lines.fresh(f'mul i64 {c}, %count')}, %chunks")
        c_next = lines.fresh(f"add i64 {c}, 1")
        end = lines.fresh(f"sdiv i64 {lines.fresh(f'mul i64 {c_next}, %count')}, %chunks")
        row = lines.at("double", "%sums", lines.fresh(f"mul i64 {c}, {max(1, len(loop.outputs))}"))
        lines += [call(start, end, 1, row), f"{c}.next = add i64 {c}, 1", f"br label %chunk{n}",
                  f"chunk{n}.done:", "ret void"] + total
    params = operands + tables + ["double* %scratch", "double* %sums", f"{out_elem}* %out"] \
        + [f"i64 %{name}" for name in ("which", "first", "stop", "step", "chunks", "count")]
    return (f"define void @@SYMBOL@.part({', '.join(params)}) nounwind {{\nentry:\n"
            f"{lines.text()}}}\n")


def on_threads(loop) -> bool:
    """Whether element loop ``loop`` runs on threads: as the Numba target's
    (`codegen.numba_cpu.parallel`), or when its elements fall into classes adding into
    disjoint positions but for its `summed` outputs, which each range of elements sums apart
    (the driver adds the ranges' sums in an order that does not depend on the threads)."""
    return numba_cpu.parallel(loop) or (
        bool(loop.summed) and loop.scatter_colours > 0
        and loop.elements * loop.statements >= numba_cpu.PARALLEL_WORK)


def in_runs(loop) -> bool:
    """Whether element loop ``loop``, on threads and not uniform, runs in runs of consecutive
    elements (`codegen.drivers.native_loops`), not in classes of elements modulo its colours:
    where its positions are computed and its `codegen.spec.LoopSpec.reach` is known."""
    return on_threads(loop) and not loop.uniform and loop.reach >= 0


def threaded(spec: KernelSpec) -> bool:
    """Whether an element loop of ``spec`` runs on threads (`on_threads`)."""
    return any(on_threads(loop) for loop in spec.loops)


def _scatter(lines: IRLines, loop, out_elem: str, values: str, row: str, block: str,
             then: str, skip=(), base_pointer=None) -> None:
    """Append the additions of ``values[e]`` at the positions of element ``row``, from the
    block ``block``, ending with a branch to ``then``: computed positions unrolled, a
    table's in a loop over its row (a mirror of -1: none), but for the outputs ``skip``."""
    n = len(loop.outputs)
    if loop.position_rows:
        out, base = ("%out", 0) if base_pointer is None else base_pointer
        for e, (first, mirror) in enumerate(loop.position_rows):
            if e in skip:
                continue
            x = lines.fresh(f"load {out_elem}, {out_elem}* {lines.at(out_elem, values, e)}")
            for place in (first, mirror) if mirror else (first,):
                lines.add_into(out_elem, out, lines.affine(place[0] - base, place[1], row), x)
        lines.append(f"br label %{then}")
        return
    head, body, mirror, step = (f"{block}.{name}" for name in ("head", "add", "mirror", "step"))
    lines += [f"br label %{head}", f"{head}:",
              f"%{head}.e = phi i64 [0, %{block}], [%{step}.e, %{step}]",
              f"%{head}.more = icmp slt i64 %{head}.e, {n}",
              f"br i1 %{head}.more, label %{head}.which, label %{then}", f"{head}.which:"]
    e = f"%{head}.e"
    skipped = "false"
    for k in sorted(skip):
        skipped = lines.fresh(f"or i1 {skipped}, {lines.fresh(f'icmp eq i64 {e}, {k}')}")
    lines += [f"br i1 {skipped}, label %{step}, label %{body}", f"{body}:"]
    x = lines.fresh(f"load {out_elem}, {out_elem}* {lines.at(out_elem, values, e)}")
    row_start = lines.fresh(f"mul i64 {row}, {2 * n}")
    at = lines.fresh(f"add i64 {row_start}, {lines.fresh(f'mul i64 {e}, 2')}")
    first = lines.fresh(f"load i64, i64* {lines.at('i64', '%pos', at)}")
    lines.add_into(out_elem, "%out", first, x)
    other = lines.fresh(f"load i64, i64* {lines.at('i64', '%pos', lines.fresh(f'add i64 {at}, 1'))}")
    has = lines.fresh(f"icmp sge i64 {other}, 0")
    lines += [f"br i1 {has}, label %{mirror}, label %{step}", f"{mirror}:"]
    lines.add_into(out_elem, "%out", other, x)
    lines += [f"br label %{step}", f"{step}:", f"%{step}.e = add i64 {e}, 1",
              f"br label %{head}"]
