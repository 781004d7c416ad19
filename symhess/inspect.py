"""Closed forms of a compiled Hessian: SymPy expressions, LaTeX, pretty text, CSE, sparsity.

Everything here starts from a `CompiledHessian` and reads what it already derived: the nonzero
upper-triangle entries (`CompiledHessian.entries`) and the kernel's CSE (`kernel_spec`). Symbols
are named after the inputs as NumPy prints their entries: ``F[0, 1]`` for entry (0, 1) of the
argument ``F``, ``p['w'][2]`` inside a dict argument ``p``, ``a`` for a 0-d argument.

Indices used throughout: ``o`` is the flat index of an output entry (outputs flattened in
pytree order, each in C order); ``k`` and ``l`` are global variable indices: the differentiated
leaves in ``argnums`` order (argument order when ``argnums`` is an int or increasing), each
flattened in C order.
"""

from __future__ import annotations

import re
import weakref

import numpy as np
import sympy

from .errors import InternalError

__all__ = ["expressions", "simplified", "latex", "pretty", "cse", "sparsity"]


# --- from SymEngine entries to a tree of SymPy blocks ------------------------------------------
_SYMPY_ENTRIES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _sympy_entries(c) -> dict:
    """``{(o, k, l): SymPy expression}`` for the nonzero upper-triangle entries (memoised)."""
    if c not in _SYMPY_ENTRIES:
        _SYMPY_ENTRIES[c] = {key: sympy.sympify(e) for key, e in c.entries().items()}
    return _SYMPY_ENTRIES[c]


def _block(values: np.ndarray):
    """One block as SymPy: a scalar for 0-d, an ImmutableMatrix for 2-d, else an Array."""
    if values.ndim == 0:
        return values[()]
    if values.ndim == 2:
        return sympy.ImmutableMatrix(values.tolist())
    return sympy.ImmutableDenseNDimArray(values.ravel().tolist(), values.shape)


def _tree(c, blocks: list):
    """Arrange blocks (in the layout's (o, i, j) order) in the numeric Hessian's tree."""
    return c.dense_layout.arrange(blocks)


def _blocks_of(c, entries: dict, fill) -> list:
    """Object arrays per block, ``fill`` where no entry is, each entry at both mirror positions."""
    layout = c.dense_layout
    flat = np.empty(layout.size, dtype=object)
    flat[...] = fill
    for key, value in entries.items():
        for position in layout.positions(*key):
            flat[position] = value
    return layout.views(flat)


def expressions(c):
    """The closed-form Hessian as SymPy objects, in the same tree as the numeric Hessian.

    Each block (leaf of the tree) holds the entries of the numeric block of the same shape
    ``out.shape + x_i.shape + x_j.shape``: a ``sympy.ImmutableMatrix`` when that shape has two
    axes, a SymPy expression when it has none, else a ``sympy.ImmutableDenseNDimArray``. Both
    triangles are filled (the lower one mirrors the upper); structural zeros are ``0``. Symbols
    are named after the inputs (``F[0, 1]``); non-differentiated arguments appear as symbols
    too, since they are runtime inputs of the kernel.

    >>> import numpy as np, symhess
    >>> c = symhess.hessian(lambda x: x[0] ** 2 * x[1]).compile(np.array([1.0, 2.0]))
    >>> c.expressions()
    Matrix([
    [2*x[1], 2*x[0]],
    [2*x[0],      0]])
    """
    return _tree(c, [_block(b) for b in _blocks_of(c, _sympy_entries(c), sympy.S.Zero)])


def simplified(c):
    """`expressions` with ``sympy.simplify`` applied to each distinct entry.

    SymPy's ``simplify`` tries many rewrites; it takes seconds per entry on long expressions,
    so this is for small Hessians or for reading a few blocks.

    >>> import numpy as np, symhess
    >>> f = lambda x: np.log(np.exp(x[0]) * np.exp(x[1])) * x[0]
    >>> symhess.hessian(f).compile(np.array([1.0, 2.0])).simplified()
    Matrix([
    [2, 1],
    [1, 0]])
    """
    simple = {key: sympy.simplify(e) for key, e in _sympy_entries(c).items()}
    simple = {key: e for key, e in simple.items() if e != 0}
    return _tree(c, [_block(b) for b in _blocks_of(c, simple, sympy.S.Zero)])


# --- names of outputs and variables for printing ------------------------------------------------
_TOKEN = re.compile(r"\[(?:'((?:[^'\\]|\\.)*)'|\"((?:[^\"\\]|\\.)*)\"|(-?\d+))\]|\.([A-Za-z_]\w*)")


def _latex_text(text: str) -> str:
    """A dict key or field name as upright LaTeX, dropping characters LaTeX would interpret."""
    text = re.sub(r"[^A-Za-z0-9_ ]", "", text).replace("_", r"\_").replace(" ", r"\ ")
    return rf"\mathrm{{{text}}}" if text else r"\mathrm{?}"


def _label_latex(label: str, index: tuple) -> str:
    """LaTeX of one entry of a leaf: ``F`` and (0, 1) give ``F_{0,1}``; ``p['w']``, (2,) ``p_{\\mathrm{w},2}``."""
    m = re.match(r"[A-Za-z_]\w*", label)
    base, rest = (m.group(), label[m.end():]) if m else ("x", label)
    parts, end = [], 0
    for t in _TOKEN.finditer(rest):
        if t.start() != end:
            break
        end = t.end()
        key = next(g for g in t.groups() if g is not None)
        parts.append(key if re.fullmatch(r"-?\d+", key) and t.group(3) else _latex_text(key))
    if end != len(rest):
        parts = [_latex_text(rest)]
    parts += [str(i) for i in index]
    head = sympy.latex(sympy.Symbol(base))
    if not parts:
        return head
    if "_" in head or "^" in head:
        head = "{" + head + "}"
    return f"{head}_{{{','.join(parts)}}}"


def _variables(c) -> list:
    """Per global variable index: ``(label, index)`` of the input entry it is."""
    where = {}
    for leaf in c.leaves:
        if leaf.differentiated:
            syms = leaf.symbols()
            for idx in np.ndindex(*leaf.shape):
                where[str(syms[idx])] = (leaf.label, idx)
    return [where[str(s)] for s in c.variables]


def _outputs(c) -> list:
    """Per flat output index: ``(path, index)``, the output leaf's pytree path and entry index."""
    paths = c.out_tree.paths()
    out = []
    for path, shape in zip(paths, c.dense_layout.out_shapes):
        out += [(path, idx) for idx in np.ndindex(*shape)]
    return out


def _symbol_latex(c) -> dict:
    """``{SymPy symbol: LaTeX name}`` for every input entry."""
    names = {}
    for leaf in c.leaves:
        syms = leaf.symbols()
        for idx in np.ndindex(*leaf.shape):
            names[sympy.Symbol(str(syms[idx]))] = _label_latex(leaf.label, idx)
    return names


def latex(c, simplify: bool = False) -> str:
    """LaTeX of the nonzero upper-triangle entries, one line each in an ``aligned`` environment.

    An entry reads ``\\frac{\\partial^2 f}{\\partial F_{0,1} \\partial F_{1,1}} = ...``; ``f`` gets
    the output's index (and pytree keys) as a subscript when the function returns more than one
    value. ``simplify=True`` runs ``sympy.simplify`` on each entry first (slow on large entries).

    >>> import numpy as np, symhess
    >>> c = symhess.hessian(lambda x: x[0] ** 2 * x[1]).compile(np.array([1.0, 2.0]))
    >>> print(c.latex())
    \\begin{aligned}
    \\frac{\\partial^2 f}{\\partial x_{0}^{2}} &= 2 x_{1} \\\\
    \\frac{\\partial^2 f}{\\partial x_{0} \\partial x_{1}} &= 2 x_{0}
    \\end{aligned}
    """
    entries = _sympy_entries(c)
    names = _symbol_latex(c)
    variables = [_label_latex(label, idx) for label, idx in _variables(c)]
    outputs = _outputs(c)
    single = len(outputs) == 1
    lines = []
    for o, k, l in sorted(entries):
        expr = sympy.simplify(entries[o, k, l]) if simplify else entries[o, k, l]
        f = "f" if single else _label_latex("f" + outputs[o][0], outputs[o][1])
        wrt = (rf"\partial {variables[k]}^{{2}}" if k == l
               else rf"\partial {variables[k]} \partial {variables[l]}")
        lines.append(rf"\frac{{\partial^2 {f}}}{{{wrt}}} &= "
                     + sympy.latex(expr, symbol_names=names))
    return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"


def pretty(c, use_unicode: bool = True, wrap_line: bool = True, num_columns=None) -> str:
    """A readable text form: each nonzero upper-triangle entry, then its ``sympy.pretty`` form.

    Long expressions wrap at ``num_columns`` (SymPy's default, 80, when None) unless
    ``wrap_line=False``.

    >>> import numpy as np, symhess
    >>> c = symhess.hessian(lambda x: x[0] ** 2 * x[1]).compile(np.array([1.0, 2.0]))
    >>> print(symhess.inspect.pretty(c, use_unicode=False))
    d2 f / d x[0]^2 =
      2*x[1]
    <BLANKLINE>
    d2 f / d x[0] d x[1] =
      2*x[0]
    """
    entries = _sympy_entries(c)
    variables = [label + (f"[{', '.join(map(str, idx))}]" if idx else "")
                 for label, idx in _variables(c)]
    outputs = _outputs(c)
    d, d2 = ("∂", "∂²") if use_unicode else ("d ", "d2 ")
    blocks = []
    for o, k, l in sorted(entries):
        path, idx = outputs[o]
        f = "f" + path + (f"[{', '.join(map(str, idx))}]" if idx else "")
        wrt = (f"{d}{variables[k]}{'²' if use_unicode else '^2'}" if k == l
               else f"{d}{variables[k]} {d}{variables[l]}")
        art = sympy.pretty(entries[o, k, l], use_unicode=use_unicode, wrap_line=wrap_line,
                           num_columns=None if num_columns is None else max(num_columns - 2, 20))
        blocks.append(f"{d2}{f} / {wrt} =\n" + "\n".join("  " + line for line in art.splitlines()))
    return "\n\n".join(blocks)


# --- what the kernel computes -------------------------------------------------------------------
def cse(c):
    """``(replacements, reduced)``: the kernel's common subexpressions, as SymPy.

    ``replacements`` is a list of ``(symbol, expression)`` in dependency order, as the kernel
    assigns them; ``reduced`` is ``{(o, k, l): expression}`` over the nonzero upper-triangle
    entries, in terms of the input symbols and the replacement symbols.

    >>> import numpy as np, symhess
    >>> c = symhess.hessian(lambda x: np.sin(x[0] * x[1])).compile(np.array([1.0, 2.0]))
    >>> replacements, reduced = c.cse()
    >>> len(reduced)
    3
    """
    spec = c.kernel_spec()
    keys = list(c.entries())
    if len(keys) != len(spec.outputs):
        raise InternalError(f"the kernel of {c.name} has {len(spec.outputs)} outputs but "
                            f"{len(keys)} Hessian entries")
    reduced = {}
    for key, (expr, positions) in zip(keys, spec.outputs):
        if tuple(c.layout.positions(*key)) != tuple(positions):
            raise InternalError(f"the kernel of {c.name} stores entry {key} at {positions}, not "
                                f"at its layout positions {c.layout.positions(*key)}")
        reduced[key] = sympy.sympify(expr)
    replacements = [(sympy.sympify(s), sympy.sympify(e)) for s, e in spec.assignments]
    return replacements, reduced


def sparsity(c, blocks: bool = False):
    """The structural nonzero pattern of the Hessian: entries that are not identically zero.

    By default a ``scipy.sparse.csr_array`` of booleans of shape ``(m * n, n)``, where ``n`` is
    the number of differentiated variables (global order: see the module docstring) and ``m``
    the number of output entries; row ``o * n + k``, column ``l`` is entry ``(o, k, l)``. For the
    usual scalar function that is the ``(n, n)`` symmetric pattern. With ``blocks=True``, a
    boolean NumPy array per block, in the numeric Hessian's tree and shapes.

    >>> import numpy as np, symhess
    >>> c = symhess.hessian(lambda x: np.sum(x[1:] * x[:-1])).compile(np.ones(3))
    >>> c.sparsity.toarray().astype(int)
    array([[0, 1, 0],
           [1, 0, 1],
           [0, 1, 0]])
    """
    entries = c.entries()
    if blocks:
        flags = _blocks_of(c, {key: True for key in entries}, False)
        return _tree(c, [np.asarray(b, dtype=bool) for b in flags])
    import scipy.sparse

    n = len(c.variables)
    m = len(c.outputs)
    rows, cols = [], []
    for o, k, l in entries:
        rows.append(o * n + k)
        cols.append(l)
        if k != l:
            rows.append(o * n + l)
            cols.append(k)
    data = np.ones(len(rows), dtype=bool)
    return scipy.sparse.csr_array((data, (rows, cols)), shape=(m * n, n))
