"""Closed forms of a compiled Hessian: SymPy expressions, LaTeX, pretty text, CSE, sparsity.

Everything here starts from a `CompiledHessian` (or the `CompiledDerivation` of a gradient,
Jacobian or value with its derivatives) and reads what it already derived: the nonzero
upper-triangle entries (`CompiledHessian.entries`; a derivative product's keys are ``(o,)``,
``(o, k)`` and ``(o, k, l)``) and the kernel's CSE (`kernel_spec`). Symbols
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
    if not isinstance(values, np.ndarray):        # a scalar value, as `Values` gives it
        return values
    if values.ndim == 0:
        return values[()]
    if values.ndim == 2:
        return sympy.ImmutableMatrix(values.tolist())
    return sympy.ImmutableDenseNDimArray(values.ravel().tolist(), values.shape)


def _parts(c) -> list:
    """``[(dense layout, key length)]`` of each part ``c`` returns: the Hessian alone (keys
    ``(o, k, l)``), or a derivative product's value, first and second derivatives."""
    return getattr(c.derivation, "parts", None) or [(c.dense_layout, 3)]


def _per_part(c, make) -> object:
    """``make(layout, length)`` for each part of ``c``: one result, or a tuple of them."""
    results = [make(layout, length) for layout, length in _parts(c)]
    return results[0] if len(results) == 1 else tuple(results)


def _blocks_of(layout, entries: dict, fill) -> list:
    """Object arrays per block of ``layout``, ``fill`` where no entry is, each entry at every
    position (both mirrors of a second derivative)."""
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
    too, since they are runtime inputs of the kernel. A derivative product (`symhess.grad`,
    `symhess.jacobian`, `symhess.value_grad_hessian`...) gives its parts as its call does: the
    value, the gradient (or Jacobian) and the Hessian, each in its tree, in a tuple when there
    are several.

    >>> import numpy as np, symhess
    >>> c = symhess.hessian(lambda x: x[0] ** 2 * x[1]).compile(np.array([1.0, 2.0]))
    >>> c.expressions()
    Matrix([
    [2*x[1], 2*x[0]],
    [2*x[0],      0]])
    """
    return _per_part(c, lambda layout, length: _sympy_tree(layout, _sympy_entries(c), length))


def _sympy_tree(layout, entries: dict, length: int):
    """The part of ``entries`` whose keys have ``length`` indices, as SymPy blocks arranged in
    ``layout``'s tree."""
    part = {key: e for key, e in entries.items() if len(key) == length}
    return layout.arrange([_block(b) for b in _blocks_of(layout, part, sympy.S.Zero)])


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
    return _per_part(c, lambda layout, length: _sympy_tree(layout, simple, length))


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


# --- the printed forms: common subexpressions named, or each entry in full ---------------------
_PREFIX_LETTERS = "xtuvwsyzqr"


def _prefix(c) -> str:
    """A name stem for the subexpressions that no input's name can be mistaken for.

    ``x`` unless an input is called ``x``, ``x0``, ``x_1``... (in LaTeX ``x_{0}`` would then
    read both as the subexpression and as ``x[0]``); then the next free letter of
    `_PREFIX_LETTERS`, or a doubled one.
    """
    bases = set()
    for leaf in c.leaves:
        m = re.match(r"[A-Za-z_]\w*", leaf.label)
        bases.add(m.group() if m else "x")        # `_label_latex` writes a nameless leaf as x
    for repeat in range(1, len(bases) + 2):
        for letter in _PREFIX_LETTERS:
            stem = letter * repeat
            if not any(re.fullmatch(rf"{stem}_*\d*", b) for b in bases):
                return stem
    raise InternalError("no free name for the common subexpressions")   # pragma: no cover


def _named(c) -> tuple[list, dict]:
    """The kernel's CSE (`cse`) with its temporaries renamed ``x0, x1, ...`` in order.

    The stem is `_prefix`, so no name collides with an input symbol, whatever names the
    kernel's CSE used (several CSE groups name theirs ``#cse0_1``...).
    """
    replacements, reduced = cse(c)
    stem = _prefix(c)
    rename = {s: sympy.Symbol(f"{stem}{i}") for i, (s, _) in enumerate(replacements)}
    return ([(rename[s], e.xreplace(rename)) for s, e in replacements],
            {key: e.xreplace(rename) for key, e in reduced.items()})


def _headers(c, keys, use_unicode: bool) -> list:
    """Per key: ``∂²f / ∂F[0, 0] ∂F[0, 1]`` (or ``d2 f / d F[0, 0] d F[0, 1]``) for a second
    derivative ``(o, k, l)``, ``∂f / ∂F[0, 0]`` for a first one ``(o, k)``, ``f`` for a value."""
    variables = [label + (f"[{', '.join(map(str, idx))}]" if idx else "")
                 for label, idx in _variables(c)]
    outputs = _outputs(c)
    d, d2 = ("∂", "∂²") if use_unicode else ("d ", "d2 ")
    headers = []
    for o, *ks in keys:
        path, idx = outputs[o]
        f = "f" + path + (f"[{', '.join(map(str, idx))}]" if idx else "")
        if not ks:
            headers.append(f)
        elif len(ks) == 1:
            headers.append(f"{d}{f} / {d}{variables[ks[0]]}")
        else:
            k, l = ks
            wrt = (f"{d}{variables[k]}{'²' if use_unicode else '^2'}" if k == l
                   else f"{d}{variables[k]} {d}{variables[l]}")
            headers.append(f"{d2}{f} / {wrt}")
    return headers


def _ordered(entries) -> list:
    """The keys of ``entries`` in printing order: values, first, then second derivatives."""
    return sorted(entries, key=lambda key: (len(key), key))


def _equation(lhs, expr, settings: dict) -> str:
    """``lhs = expr`` as SymPy's 2-D text art, aligned on the baseline, trailing spaces cut.

    ``lhs`` is a string (printed as it is) or a SymPy expression. ``settings`` are
    `sympy.pretty`'s (``use_unicode``, ``wrap_line``, ``num_columns``).
    """
    from sympy.printing.pretty.pretty import PrettyPrinter
    from sympy.printing.pretty.pretty_symbology import pretty_use_unicode
    from sympy.printing.pretty.stringpict import prettyForm

    printer = PrettyPrinter(settings)
    previous = pretty_use_unicode(settings["use_unicode"])    # as sympy.pretty does
    try:
        left = prettyForm(lhs) if isinstance(lhs, str) else printer._print(lhs)
        text = prettyForm(*left.right(" = ", printer._print(expr))).render(**settings)
    finally:
        pretty_use_unicode(previous)
    return "\n".join(line.rstrip() for line in text.splitlines())


def _preamble(keys: list, names: list, use_unicode: bool) -> str:
    """What the listing holds: second derivatives in the upper triangle only, and the
    subexpressions' names."""
    if not keys:
        return "No nonzero entries: the result is identically zero."
    n_entries = len(keys)
    text = ("The Hessian is symmetric: only its upper triangle is printed.\n"
            if any(len(key) == 3 for key in keys) else "")
    text += f"{n_entries} nonzero entr{'y' if n_entries == 1 else 'ies'}"
    if not names:
        return text + ":"
    span = names[0] if len(names) == 1 else f"{names[0]} {'…' if use_unicode else '...'} {names[-1]}"
    plural = "s" if len(names) > 1 else ""
    return text + f", in terms of {len(names)} common subexpression{plural} {span} defined first:"


def _stacked(equations: list) -> str:
    """One equation a line, with a blank line around those that take several lines."""
    text = ""
    for i, equation in enumerate(equations):
        if i:
            tall = "\n" in equation or "\n" in equations[i - 1]
            text += "\n\n" if tall else "\n"
        text += equation
    return text


def latex(c, simplify: bool = False, cse: bool = True) -> str:
    """LaTeX of the nonzero upper-triangle entries, one line each in an ``aligned`` environment.

    The lower triangle mirrors the upper one and is not printed. By default the kernel's common
    subexpressions come first, one line each in dependency order (the order of `cse`), named
    ``x_{0}, x_{1}, ...``, or after another letter when an input is called ``x`` (so that no
    name reads as an input's); each entry is then written in terms of them. An entry reads
    ``\\frac{\\partial^2 f}{\\partial F_{0,1} \\partial F_{1,1}} &= ...``, ``f`` getting the
    output's index (and pytree keys) as a subscript when the function returns more than one
    value.

    Args:
        c: a `CompiledHessian`.
        simplify: run ``sympy.simplify`` on each printed expression first (slow on large ones).
        cse: name the common subexpressions (the default). False writes each entry in full,
            as earlier versions did: long, since a subexpression such as a determinant is then
            expanded in every entry that uses it.

    Returns:
        The LaTeX source, from ``\\begin{aligned}`` to ``\\end{aligned}``.

    >>> import numpy as np, symhess
    >>> c = symhess.hessian(lambda x: x[0] ** 2 * x[1]).compile(np.array([1.0, 2.0]))
    >>> print(c.latex())
    \\begin{aligned}
    \\frac{\\partial^2 f}{\\partial x_{0}^{2}} &= 2 x_{1} \\\\
    \\frac{\\partial^2 f}{\\partial x_{0} \\partial x_{1}} &= 2 x_{0}
    \\end{aligned}
    >>> c = symhess.hessian(lambda x: np.sin(x[0] * x[1])).compile(np.array([1.0, 2.0]))
    >>> print(c.latex().splitlines()[1])
    t_{0} &= x_{0} x_{1} \\\\
    """
    names = _symbol_latex(c)
    variables = [_label_latex(label, idx) for label, idx in _variables(c)]
    outputs = _outputs(c)
    single = len(outputs) == 1
    if cse:
        replacements, entries = _named(c)
        stem = _prefix(c)
        names.update({s: rf"{stem}_{{{i}}}" for i, (s, _) in enumerate(replacements)})
    else:
        replacements, entries = [], _sympy_entries(c)

    def tex(expr):
        return sympy.latex(sympy.simplify(expr) if simplify else expr, symbol_names=names)

    lines = [f"{names[s]} &= {tex(e)}" for s, e in replacements]
    for key in _ordered(entries):
        o, *ks = key
        f = "f" if single else _label_latex("f" + outputs[o][0], outputs[o][1])
        if not ks:
            lhs = f
        elif len(ks) == 1:
            lhs = rf"\frac{{\partial {f}}}{{\partial {variables[ks[0]]}}}"
        else:
            k, l = ks
            wrt = (rf"\partial {variables[k]}^{{2}}" if k == l
                   else rf"\partial {variables[k]} \partial {variables[l]}")
            lhs = rf"\frac{{\partial^2 {f}}}{{{wrt}}}"
        lines.append(f"{lhs} &= " + tex(entries[key]))
    return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"


def pretty(c, use_unicode: bool = True, wrap_line: bool = True, num_columns=None,
           cse: bool = True) -> str:
    """A readable text form of the nonzero upper-triangle entries, after lines saying so.

    By default the kernel's common subexpressions are named first, ``x0 = ...`` one per line in
    dependency order (the order of `cse`; another letter than ``x`` when an input is called
    ``x``), and then each entry reads ``∂²f / ∂F[0, 0] ∂F[0, 1] = ...`` in terms of them: the
    compact form, in which a determinant is spelt out once. Expressions are `sympy.pretty`'s
    2-D art; one that takes several lines has a blank line around it.

    Args:
        c: a `CompiledHessian`.
        use_unicode: ``∂``, ``⋅`` and subscript digits (``x₀``); False writes plain ASCII.
        wrap_line: wrap long lines at ``num_columns``.
        num_columns: the width to wrap at; None: the terminal's width, or 80.
        cse: name the common subexpressions (the default). False gives each entry in full,
            indented under its header, as earlier versions did: long, since a subexpression
            such as a determinant is then expanded in every entry that uses it.

    Returns:
        The text: a line on what is printed, then the subexpressions, then the entries.

    >>> import numpy as np, symhess
    >>> f = lambda x: np.sin(x[0]) * np.cos(x[1]) * x[2]
    >>> c = symhess.hessian(f).compile(np.array([1.0, 2.0, 3.0]))
    >>> print(symhess.inspect.pretty(c, use_unicode=False))
    The Hessian is symmetric: only its upper triangle is printed.
    5 nonzero entries, in terms of 5 common subexpressions t0 ... t4 defined first:
    <BLANKLINE>
    t0 = sin(x[0])
    t1 = cos(x[1])
    t2 = -t0*t1*x[2]
    t3 = cos(x[0])
    t4 = sin(x[1])
    <BLANKLINE>
    d2 f / d x[0]^2 = t2
    d2 f / d x[0] d x[1] = -t3*t4*x[2]
    d2 f / d x[0] d x[2] = t1*t3
    d2 f / d x[1]^2 = t2
    d2 f / d x[1] d x[2] = -t0*t4
    >>> print(symhess.inspect.pretty(c, use_unicode=False, cse=False).splitlines()[3:5])
    ['d2 f / d x[0]^2 =', '  -x[2]*sin(x[0])*cos(x[1])']
    """
    settings = {"use_unicode": use_unicode, "wrap_line": wrap_line, "num_columns": num_columns}
    if not cse:
        entries = _sympy_entries(c)
        keys = _ordered(entries)
        narrower = dict(settings, num_columns=None if num_columns is None
                        else max(num_columns - 2, 20))        # room for the indent
        blocks = [_preamble(keys, [], use_unicode)]
        for header, key in zip(_headers(c, keys, use_unicode), keys):
            art = sympy.pretty(entries[key], **narrower)
            blocks.append(f"{header} =\n" + "\n".join("  " + line for line in art.splitlines()))
        return "\n\n".join(blocks)
    replacements, entries = _named(c)
    keys = _ordered(entries)
    names = [sympy.pretty(s, use_unicode=use_unicode) for s, _ in replacements]
    parts = [_preamble(keys, names, use_unicode)]
    if replacements:
        parts.append(_stacked([_equation(s, e, settings) for s, e in replacements]))
    if keys:
        parts.append(_stacked([_equation(header, entries[key], settings)
                               for header, key in zip(_headers(c, keys, use_unicode), keys)]))
    return "\n\n".join(parts)


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
        if tuple(c.derivation.positions(key)) != tuple(positions):
            raise InternalError(f"the kernel of {c.name} stores entry {key} at {positions}, not "
                                f"at its layout positions {c.derivation.positions(key)}")
        reduced[key] = sympy.sympify(expr)
    replacements = [(sympy.sympify(s), sympy.sympify(e)) for s, e in spec.assignments]
    return replacements, reduced


def sparsity(c, blocks: bool = False):
    """The structural nonzero pattern of the Hessian: entries that are not identically zero.

    By default a ``scipy.sparse.csr_array`` of booleans of shape ``(m * n, n)``, where ``n`` is
    the number of differentiated variables (global order: see the module docstring) and ``m``
    the number of output entries; row ``o * n + k``, column ``l`` is entry ``(o, k, l)``. For the
    usual scalar function that is the ``(n, n)`` symmetric pattern. With ``blocks=True``, a
    boolean NumPy array per block, in the numeric Hessian's tree and shapes. For a derivative
    product (`symhess.grad`, `symhess.jacobian`, `symhess.value_grad_hessian`), the pattern
    of its highest derivative: the Hessian's as here, or the ``(m, n)`` Jacobian's (row ``o``,
    column ``k``).

    >>> import numpy as np, symhess
    >>> c = symhess.hessian(lambda x: np.sum(x[1:] * x[:-1])).compile(np.ones(3))
    >>> c.sparsity.toarray().astype(int)
    array([[0, 1, 0],
           [1, 0, 1],
           [0, 1, 0]])
    """
    from .layout import CSRLayout
    sparse = getattr(c.layout, "sparse", None)
    if not blocks and isinstance(sparse, CSRLayout):
        return sparse.pattern()                 # a sparse Hessian's pattern: its layout's
    layout, length = _parts(c)[-1]
    entries = [key for key in c.entries() if len(key) == length]
    if blocks:
        flags = _blocks_of(layout, {key: True for key in entries}, False)
        return layout.arrange([np.asarray(b, dtype=bool) for b in flags])
    import scipy.sparse

    n = len(c.variables)
    m = len(c.outputs)
    rows, cols = [], []
    for o, k, *rest in entries:
        l = rest[0] if rest else None
        rows.append(o * n + k if rest else o)
        cols.append(l if rest else k)
        if rest and k != l:
            rows.append(o * n + l)
            cols.append(k)
    data = np.ones(len(rows), dtype=bool)
    return scipy.sparse.csr_array((data, (rows, cols)), shape=(m * n if length == 3 else m, n))
