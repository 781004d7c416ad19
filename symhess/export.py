"""Standalone code from a compiled Hessian: a NumPy + Numba module, C99 with a header, a cfunc.

`save` writes files that need nothing of symhess: ``.py`` (NumPy and Numba only, printed by
`codegen.emit_numba`) or ``.c`` plus a ``.h`` beside it (C99 and libm, printed by
`codegen.c99`). `cfunc` compiles the same kernel as a Numba ``cfunc`` for callers that take a
C function pointer (ctypes, cffi, ``scipy.LowLevelCallable``).

Layout of the flat output buffer (``.c``, ``cfunc``, and ``.py`` for pytree Hessians): the blocks
of the Hessian tree one after another, in (output leaf, row leaf, column leaf) order, each block
of shape ``out.shape + x_i.shape + x_j.shape`` in C order, both triangles filled. The generated
files list every block with its offset and shape.
"""

from __future__ import annotations

import keyword
import re
import weakref
from pathlib import Path

import numpy as np

from .codegen import NumbaCFunc, c99, emit_numba

from . import cache
from .errors import ExportError
from .version import __version__

__all__ = ["save", "python_module", "c_source", "c_header", "cfunc", "low_level_callable"]

# Names the generated Python module defines itself (and the modules it imports).
_PY_RESERVED = {"np", "numba", "INPUTS", "BLOCKS", "PARTS", "SPARSE"}


def _safe(text, limit: int = 80) -> str:
    """User text (a label, a dict key) made safe for a docstring, a comment or a string literal.

    Only letters, digits and ``_[]'.,()<>- `` survive: no double quote, backslash, ``*/`` or
    newline can reach the generated file.
    """
    text = re.sub(r"[^A-Za-z0-9_\[\]'.,()<> \-]", "?", str(text))
    return text if len(text) <= limit else text[:limit - 3] + "..."


def _default_name(c) -> str:
    name = f"{c.name}_{'hessian' if _sections(c) is None else 'derivatives'}"
    return name if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name) and name not in c99.RESERVED \
        else "hessian"


def _check_python_name(name) -> str:
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*", name) \
            or keyword.iskeyword(name):
        raise ExportError(f"function name {name!r} is not a valid Python identifier: use ASCII "
                          "letters, digits and underscores, starting with a letter")
    if name in _PY_RESERVED:
        raise ExportError(f"function name {name!r} is taken by the generated module itself "
                          f"({', '.join(sorted(_PY_RESERVED))}); choose another name")
    return name


def _sparse(c) -> bool:
    """Whether ``c`` is a ``sparse=`` Hessian (its buffer holds the values of a CSR matrix);
    a derivative product's sparse parts are among its `part_blocks`."""
    return _sections(c) is None and hasattr(c.layout, "matrix")


def _csr_text(values, per_line: int = 16) -> str:
    """Integers as comma-separated lines for an array literal."""
    items = [str(int(v)) for v in values]
    return ",\n".join("    " + ", ".join(items[i:i + per_line])
                       for i in range(0, len(items), per_line))


def blocks(c) -> list:
    """``[(output path, row label, column label, offset, shape)]`` per block, labels made safe
    (none for a sparse Hessian: its buffer is the values of one CSR matrix)."""
    if _sparse(c):
        return []
    rows = c.diff_leaves
    out, b = [], 0
    for path in c.out_tree.paths():
        for i in rows:
            for j in rows:
                offset, shape = c.layout.blocks[b]
                out.append((_safe("f" + path), _safe(i.label), _safe(j.label), offset, shape))
                b += 1
    return out


# A derivative product's parts (`symhess.derivatives`), named as in the generated files.
_PART_NAMES = {"value": "value", "first": "jacobian", "second": "hessian"}


def _sections(c):
    """``[(part name, layout, offset)]`` of a derivative product's flat output (the value,
    first and second derivatives one after another), or None for a Hessian."""
    sections = getattr(c.derivation, "sections", None)
    return None if sections is None else [(_PART_NAMES[what], layout, offset)
                                          for what, layout, offset in sections]


def part_blocks(c) -> list:
    """A derivative product's blocks: ``(part, output path, row label, column label, offset,
    shape)``, labels None where a part has fewer axes (a value; a first derivative has no
    column); a sparse part is one block, the values of its CSR matrix, of shape
    ``(nonzeros,)``."""
    rows, out = c.diff_leaves, []
    for part, layout, offset in _sections(c):
        if hasattr(layout, "matrix"):
            out.append((part, None, None, None, offset, (layout.size,)))
            continue
        depth = {"value": 0, "jacobian": 1, "hessian": 2}[part]
        labels = [(path, i, j) for path in c.out_tree.paths()
                  for i in (rows if depth else [None]) for j in (rows if depth == 2 else [None])]
        for (path, i, j), (start, shape) in zip(labels, layout.blocks):
            out.append((part, _safe("f" + path), i and _safe(i.label), j and _safe(j.label),
                        offset + start, shape))
    return out


def _sparse_parts(c) -> list:
    """``[(part name, layout)]`` of a derivative product's sparse parts."""
    return [(part, layout) for part, layout, _ in _sections(c) or []
            if hasattr(layout, "matrix")]


def _inputs(c) -> list:
    """``[(label, shape, dtype name, differentiated, batched)]`` per kernel input, labels safe."""
    return [(_safe(leaf.label), tuple(leaf.shape), leaf.dtype.name, leaf.differentiated,
             leaf.batch_axis is not None) for leaf in c.leaves]


# --- a NumPy + Numba module ---------------------------------------------------------------------
def python_module(c, name=None) -> str:
    """Source of a module defining ``name(in0, in1, ...)``; it imports only NumPy and Numba.

    The arguments are the compiled function's input leaves in order (arrays, or numbers for 0-d
    leaves). With one array argument differentiated and one array output, ``name`` returns the
    Hessian in the compiled object's shape; for pytrees it returns the flat buffer, and the
    module's ``BLOCKS`` lists ``(output, row leaf, column leaf, offset, shape)`` per block.

    >>> import importlib.util, os, tempfile, numpy as np, symhess
    >>> c = symhess.hessian(lambda x: np.sum(x ** 3)).compile(np.ones(2))
    >>> path = os.path.join(tempfile.mkdtemp(), "cubes.py")
    >>> with open(path, "w") as f:
    ...     _ = f.write(python_module(c, "cubes"))
    >>> spec = importlib.util.spec_from_file_location("cubes", path)
    >>> module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)
    >>> module.cubes(np.array([1.0, 2.0]))
    array([[ 6.,  0.],
           [ 0., 12.]])
    """
    name = _check_python_name(_default_name(c) if name is None else name)
    spec = c.kernel_spec()
    source = emit_numba(spec, name=name, version=__version__, cache=True)
    lines = source.split("\n")
    at = next(i for i, line in enumerate(lines) if line.startswith(f"def {name}("))
    doc = "\n".join(("    " + line).rstrip() for line in _docstring(c, spec).splitlines())
    lines[at + 1:at + 1] = ['    """' + doc.lstrip() + '\n    """']
    tables = ["", "", "",
              "# Inputs in order: (label, shape, dtype, differentiated, batched).",
              "INPUTS = " + repr(_inputs(c))]
    if _sparse(c):
        layout = c.layout
        tables += [
            "# The Hessian is the CSR matrix (values, INDICES, INDPTR) of shape SHAPE: row r holds",
            "# columns INDICES[INDPTR[r]:INDPTR[r + 1]]. TRIANGLE: which part is stored ('both',",
            "# 'upper' or 'lower'); UPPER: only the upper triangle is.",
            f"SHAPE = ({layout.n}, {layout.n})",
            f"TRIANGLE = {layout.triangle!r}",
            f"UPPER = {bool(layout.upper)}",
            "INDPTR = np.array([\n" + _csr_text(layout.indptr) + "], dtype=np.int64)",
            "INDICES = np.array([\n" + _csr_text(layout.indices) + "], dtype=np.int64)", ""]
    elif _sections(c) is not None:
        tables += [
            "# The flat output buffer holds the parts one after another: PARTS lists their blocks",
            "# as (part, output, row leaf, column leaf, offset, shape), leaves None where a part",
            "# has fewer axes. A sparse part is one block, the values of the CSR matrix",
            "# SPARSE[part] = (shape, INDPTR, INDICES).",
            "PARTS = " + repr(part_blocks(c))]
        sparse = _sparse_parts(c)
        if sparse:
            tables.append("SPARSE = {")
            for part, layout in sparse:
                tables += [f"    {part!r}: ({layout.shape!r},",
                           "        np.array([\n" + _csr_text(layout.indptr) + "], dtype=np.int64),",
                           "        np.array([\n" + _csr_text(layout.indices) + "], dtype=np.int64)),"]
            tables.append("}")
        tables.append("")
    else:
        tables += ["# Blocks of the flat output buffer: (output, row leaf, column leaf, offset, shape).",
                   "BLOCKS = " + repr(blocks(c)), ""]
    return "\n".join(lines).rstrip("\n") + "\n".join(tables)


def _docstring(c, spec) -> str:
    batched = any(inp.batched for inp in spec.inputs)
    args = []
    for k, (label, shape, dtype, diff, is_batched) in enumerate(_inputs(c)):
        kind = "differentiated" if diff else "data (not differentiated)"
        lead = "(points,) + " if is_batched else ""
        args.append(f"    in{k}: {label}: {dtype}, shape {lead}{shape}, {kind}.")
    dtype = spec.dtype
    if _sparse(c):
        returns = (f"    {dtype} array of shape ({spec.out_size},): the values of the CSR Hessian;\n"
                   "    scipy.sparse.csr_array((out, INDICES, INDPTR), shape=SHAPE) is the matrix.")
    elif _sections(c) is not None and c.layout.direct:
        returns = f"    {dtype} array of shape {tuple(spec.out_shape)!r}: the {_safe(spec.title)}."
    elif _sections(c) is not None:
        returns = (f"    {dtype} array of shape ({spec.out_size},): the flat buffer of the parts;\n"
                   "    block (part, output, row, column, offset, shape) of PARTS is\n"
                   "    out[offset:offset + prod(shape)].reshape(shape).")
    elif c.single:
        shape = ("(points,) + " if batched else "") + repr(tuple(c.layout.blocks[0][1]))
        returns = f"    {dtype} array of shape {shape}: H[out..., x..., x...]."
    else:
        lead = "(points, N)" if batched else "(N,)"
        returns = (f"    {dtype} array of shape {lead}, N = {spec.out_size}: the flat Hessian\n"
                   "    buffer. Block b of BLOCKS = (output, row, column, offset, shape) is\n"
                   "    out[..., offset:offset + prod(shape)].reshape(shape).")
    return (f"{_safe(spec.title)} at one point (generated by symhess).\n\n"
            "Args:\n" + "\n".join(args) + "\n\nReturns:\n" + returns + "\n")


# --- C99 ----------------------------------------------------------------------------------------
def _c_notes(c, spec) -> list:
    notes = []
    for k, (label, shape, _, diff, batched) in enumerate(_inputs(c)):
        size = int(np.prod(shape, dtype=np.int64))
        notes.append(f"input {k}: {label}, shape {shape}, {size} double(s) in C order"
                     + ("" if diff else ", not differentiated") + (", one point" if batched else ""))
    if _sparse(c):
        notes.append(f"out: {spec.out_size} doubles, the values of the {c.layout.n} x {c.layout.n} "
                     "CSR Hessian" + ("" if c.layout.triangle == "both" else
                                        f" ({c.layout.triangle} triangle)") +
                     ": row r holds columns <name>_indices[<name>_indptr[r] .. <name>_indptr[r + 1] - 1]")
        return notes
    if _sections(c) is not None:
        notes.append(f"out: {spec.out_size} doubles, the parts one after another, each block in C "
                     "order (second derivatives: both triangles):")
        for part, out, row, col, offset, shape in part_blocks(c):
            what = part + (f" of {out}" if out else " (CSR values: <name>_<part>_indptr, "
                                                    "<name>_<part>_indices)")
            by = "".join(f", by {leaf}" for leaf in (row, col) if leaf)
            notes.append(f"  {what}{by}: offset {offset}, shape {shape}")
        return notes
    notes.append(f"out: {spec.out_size} doubles, the Hessian blocks in C order, both triangles:")
    for out, row, col, offset, shape in blocks(c):
        notes.append(f"  {out}, rows {row}, columns {col}: offset {offset}, shape {shape}")
    return notes


def _c_parameter_names(c) -> list:
    return [leaf.label for leaf in c.leaves]


def _check_real(c, what):
    if c.kernel_spec().dtype.startswith("complex"):
        raise ExportError(f"{what} supports real Hessians only; {c.name} has a "
                          f"{c.kernel_spec().dtype} Hessian. Export it as a .py module instead.")


def c_source(c, name=None, header_name="hessian.h") -> str:
    """C99 source of ``void name(const double *x0, ..., double *out)``; see `save`.

    >>> import numpy as np, symhess
    >>> c = symhess.hessian(lambda x: np.sum(x ** 3)).compile(np.ones(2))
    >>> print(c_source(c, "h").split("{")[1].strip())
    long i;
        const double a0 = x[0];
        const double a1 = x[1];
        for (i = 0; i < 4; ++i) out[i] = 0.0;
        out[0] = (6.0 * a0);
        out[3] = (6.0 * a1);
    }
    """
    _check_real(c, "C export")
    name = c99.check_name(_default_name(c) if name is None else name)
    spec = c.kernel_spec()
    source = c99.emit_c99(spec, name, header_name, version=__version__,
                          names=_c_parameter_names(c), notes=_c_notes(c, spec))
    if _sparse(c):
        layout = c.layout
        source = source.rstrip("\n") + (
            f"\n\n/* The CSR pattern of out: row r holds columns {name}_indices[{name}_indptr[r]] "
            f"..\n * {name}_indices[{name}_indptr[r + 1] - 1]. */\n"
            f"const long {name}_indptr[{layout.n + 1}] = {{\n{_csr_text(layout.indptr)}\n}};\n"
            f"const long {name}_indices[{max(layout.size, 1)}] = {{\n"
            f"{_csr_text(layout.indices) if layout.size else '    0'}\n}};\n")
    for part, layout in _sparse_parts(c):
        source = source.rstrip("\n") + (
            f"\n\n/* The CSR pattern of the {part} part ({layout.shape[0]} x {layout.shape[1]}). */\n"
            f"const long {name}_{part}_indptr[{layout.shape[0] + 1}] = {{\n"
            f"{_csr_text(layout.indptr)}\n}};\n"
            f"const long {name}_{part}_indices[{max(layout.size, 1)}] = {{\n"
            f"{_csr_text(layout.indices) if layout.size else '    0'}\n}};\n")
    return source


def c_header(c, name=None, guard="HESSIAN_H") -> str:
    """The header declaring the function of `c_source`, usable from C, C++ and Fortran."""
    _check_real(c, "C export")
    name = c99.check_name(_default_name(c) if name is None else name)
    spec = c.kernel_spec()
    head = c99.emit_c99_header(spec, name, guard, names=_c_parameter_names(c),
                               notes=_c_notes(c, spec))
    if _sparse(c):
        at = head.index("\n#ifdef __cplusplus\nextern")
        upper = name.upper()
        head = (head[:at] + f"\n/* The CSR Hessian: {upper}_N rows and columns, "
                f"{upper}_OUT_SIZE values. */\n#define {upper}_N {c.layout.n}\n"
                f"#define {upper}_UPPER {int(c.layout.upper)}\n"
                f"#define {upper}_LOWER {int(c.layout.lower)}\n" + head[at:])
        at = head.index(f"void {name}(")
        head = (head[:at] + f"extern const long {name}_indptr[{c.layout.n + 1}];\n"
                f"extern const long {name}_indices[];\n" + head[at:])
    for part, layout in _sparse_parts(c):
        at = head.index(f"void {name}(")
        head = (head[:at] + f"extern const long {name}_{part}_indptr[{layout.shape[0] + 1}];\n"
                f"extern const long {name}_{part}_indices[];\n" + head[at:])
    return head


def save(c, path, name=None) -> list:
    """Write standalone code for the compiled Hessian ``c`` and return the paths written.

    - ``.py``: a module that imports only NumPy and Numba (``cache=True``), defining
      ``name(in0, in1, ...)``: see `python_module`.
    - ``.c``: C99 source needing only libm, and a header with the same stem beside it. The
      function is ``void name(const double *arg0, ..., double *out)``: one pointer per input
      leaf in order, each leaf flattened in C order (a 0-d input is a pointer to one double),
      and ``out`` the flat Hessian buffer (``<NAME>_OUT_SIZE`` doubles) in C order, both
      triangles filled. The header has ``extern "C"`` guards; from Fortran, declare it with
      ``bind(C)`` and pass ``real(c_double)`` arrays. Values are computed in double precision.

    Args:
        c: a `CompiledHessian`.
        path: the file to write; its suffix picks the language.
        name: the function's name (an identifier); default ``<function>_hessian``.

    >>> import numpy as np, symhess, tempfile, os
    >>> c = symhess.hessian(lambda x: np.sum(x ** 3)).compile(np.ones(2))
    >>> folder = tempfile.mkdtemp()
    >>> [os.path.basename(p) for p in c.save(os.path.join(folder, "cubes.c"), name="cubes")]
    ['cubes.c', 'cubes.h']
    """
    path = Path(path)
    if path.suffix == ".py":
        path.write_text(python_module(c, name))
        return [path]
    if path.suffix == ".c":
        header_path = path.with_suffix(".h")
        source = c_source(c, name, header_path.name)
        head = c_header(c, name, guard=header_path.name)
        path.write_text(source)
        header_path.write_text(head)
        return [path, header_path]
    raise ExportError(f"cannot export to {str(path)!r}: the file name must end in .py (NumPy + "
                      "Numba module) or .c (C99 source and header)")


# --- a Numba cfunc ------------------------------------------------------------------------------
def _cfunc_source(c) -> str:
    """Source of a module defining the cfunc ``kernel_cfunc`` of ``c`` (`codegen.NumbaCFunc`)."""
    return NumbaCFunc().emit(c.kernel_spec(), name="kernel_cfunc", version=__version__)


_CFUNCS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def cfunc(c):
    """The Hessian as a Numba ``cfunc`` ``void(double *x0, ..., double *out)``.

    The arguments follow the C export (`save` with ``.c``): one pointer per input leaf, flattened
    in C order (0-d inputs as pointers to one double), and the flat output buffer. ``.address``
    is the function pointer, ``.ctypes`` a ctypes function; the kernel is cached on disk.

    >>> import ctypes, numpy as np, symhess
    >>> c = symhess.hessian(lambda x: np.sum(x ** 3)).compile(np.ones(2))
    >>> f = symhess.export.cfunc(c)
    >>> x, out = np.array([1.0, 2.0]), np.zeros(4)
    >>> ptr = ctypes.POINTER(ctypes.c_double)
    >>> f.ctypes(x.ctypes.data_as(ptr), out.ctypes.data_as(ptr))
    >>> out
    array([ 6.,  0.,  0., 12.])
    """
    _check_real(c, "cfunc")
    if c not in _CFUNCS:
        source = _cfunc_source(c)
        module = cache.module(source)        # the cfunc compiles as the module is imported
        cache.seal(module)
        _CFUNCS[c] = module.kernel_cfunc
    return _CFUNCS[c]


def low_level_callable(c):
    """`cfunc` wrapped as a ``scipy.LowLevelCallable`` (signature ``void (double *, ...)``)."""
    import scipy

    return scipy.LowLevelCallable(cfunc(c).ctypes)
