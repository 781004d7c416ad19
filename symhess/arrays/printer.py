"""The array graph printed as matrix expressions: NumPy notation or LaTeX.

A Hessian derived by the array tier is an array expression such as
``X.T @ diag(y * y * e * (r - e * r / (1 + e))) @ X``; this module prints it the way one
writes it on paper (matrixcalculus.org's style): contractions of two matrices as products
with transposes, a vector weighting the contracted index as ``diag(w)``, elementwise
arithmetic with NumPy's operators (``\\odot`` in LaTeX), and a subexpression used more than
once named ``s1, s2, ...`` and defined first.
"""

from __future__ import annotations

import re

from .graph import topological

_LETTERS = "ijklmnopqrstuvwxyzabcdefgh"
_PRECEDENCE = {"add": 1, "sub": 1, "mul": 2, "div": 2, "neg": 3, "pow": 4}
_TEX_FUNCTIONS = {"exp": r"\exp", "log": r"\log", "sin": r"\sin", "cos": r"\cos",
                  "tan": r"\tan", "tanh": r"\tanh", "sinh": r"\sinh", "cosh": r"\cosh",
                  "arctan": r"\arctan", "arcsin": r"\arcsin", "arccos": r"\arccos"}


class MatrixPrinter:
    """Prints nodes of one graph; ``labels`` names the kernel inputs (``{index: label}``)."""

    def __init__(self, roots, labels: dict, latex: bool = False):
        self.latex, self.labels = latex, labels
        order = topological(roots)
        uses = {}
        for node in order:
            for a in node.args:
                uses[a.id] = uses.get(a.id, 0) + 1
        self.named = {}
        self.definitions = []
        for node in order:
            if uses.get(node.id, 0) > 1 and node.op not in ("input", "const", "eye", "bcast",
                                                            "transpose") and node.ndim <= 2:
                text = self.print(node, top=True)
                name = f"s_{{{len(self.named) + 1}}}" if latex else f"s{len(self.named) + 1}"
                self.named[node.id] = name
                self.definitions.append((name, text))

    def print(self, node, top=False) -> str:
        if not top and node.id in self.named:
            return self.named[node.id]
        op, p, args = node.op, node.params, node.args
        tex = self.latex
        if op == "input":
            label = self.labels.get(p[0], f"in{p[0]}")
            return _tex_label(label) if tex else label
        if op == "const":
            if p[0] == "s":
                return _number(p[1])
            return f"c_{{{p[0]}}}" if tex else f"c{p[0]}"
        if op == "eye":
            square = node.ndim == 2 and node.shape[0] == node.shape[1] and p[0] == 0
            return "I" if square else (f"E_{{{p[0]}}}" if tex else f"E{p[0]}")
        if op == "bcast":
            return self.print(args[0])
        if op == "unary":
            return self._unary(p[0], args[0])
        if op == "binary":
            return self._binary(p[0], args[0], args[1])
        if op == "where":
            c, a, b = (self.print(x) for x in args)
            return rf"\operatorname{{where}}({c}, {a}, {b})" if tex else f"where({c}, {a}, {b})"
        if op == "transpose":
            inner = self._atom(args[0])
            if node.ndim == 2:
                return f"{inner}^\\top" if tex else f"{inner}.T"
            return f"transpose({inner}, {p[0]})"
        if op == "einsum":
            return self._einsum(node)
        if op in ("sum", "max"):
            inner = self.print(args[0])
            axes = "" if len(p[0]) == args[0].ndim else f", axis={p[0] if len(p[0]) > 1 else p[0][0]}"
            return rf"\operatorname{{{op}}}({inner}{axes})" if tex else f"{op}({inner}{axes})"
        if op == "reshape":
            return f"reshape({self.print(args[0])}, {node.shape})"
        if op == "slice" and args[0].op == "slogdet":
            which = ("sign", "logabsdet")[p[0][-1][1]]
            inner = self.print(args[0].args[0])
            if tex:
                return (rf"\operatorname{{sign}}\det\left({inner}\right)" if which == "sign"
                        else rf"\log\left|\det\left({inner}\right)\right|")
            return f"{which}({inner})"
        if op == "slice":
            return f"{self._atom(args[0])}[{_key(p[0])}]"
        if op == "inv" and tex:
            return f"{self._atom(args[0])}^{{-1}}"
        if op == "cholesky" and tex:
            return rf"\operatorname{{chol}}\left({self.print(args[0])}\right)"
        if op == "gather":
            axis = p[0]
            return f"take({self.print(args[0])}, {self.print(args[1])}, axis={axis})"
        if op == "scatter":
            parts = ", ".join(f"({self.print(g)}, {self.print(i)})"
                              for g, i in zip(args[0::2], args[1::2]))
            return f"scatter_add([{parts}], axis={p[0]}, size={p[1]})"
        if op == "embed":
            return f"embed({self.print(args[0])}, {p[0]}, [{_key(p[1])}])"
        if op == "concat":
            return f"concatenate([{', '.join(self.print(a) for a in args)}], axis={p[0]})"
        return f"{op}({', '.join(self.print(a) for a in args)})"

    # --- pieces ------------------------------------------------------------------------------
    def _atom(self, node) -> str:
        text = self.print(node)
        return text if re.fullmatch(r"[\w{}\\^]+(\.T)?", text) else f"({text})"

    def _unary(self, name, a) -> str:
        x = self.print(a)
        if name == "neg":
            return f"-{self._wrap(a, 3)}"
        if name == "square":
            return f"{self._wrap(a, 4)}^2" if self.latex else f"{self._wrap(a, 4)}**2"
        if name == "recip":
            return rf"\frac{{1}}{{{x}}}" if self.latex else f"1 / {self._wrap(a, 3)}"
        if self.latex:
            if name == "sqrt":
                return rf"\sqrt{{{x}}}"
            fn = _TEX_FUNCTIONS.get(name, rf"\operatorname{{{name}}}")
            return rf"{fn}\left({x}\right)"
        return f"{name}({x})"

    def _wrap(self, node, level) -> str:
        text = self.print(node)
        inner = _PRECEDENCE.get(node.params[0], 5) if node.op in ("unary", "binary") and \
            node.id not in self.named else 5
        if node.op == "einsum" and node.id not in self.named and not self.latex:
            inner = 2                   # printed with @, which binds as * does in Python
        if node.op == "const" and node.params[0] == "s" and node.params[1] < 0:
            inner = 0
        return f"({text})" if inner < level else text

    def _binary(self, name, a, b) -> str:
        level = _PRECEDENCE.get(name)
        if level is None:
            x, y = self.print(a), self.print(b)
            return rf"\operatorname{{{name}}}({x}, {y})" if self.latex else f"{name}({x}, {y})"
        if name == "div" and self.latex:
            return rf"\frac{{{self.print(a)}}}{{{self.print(b)}}}"
        x = self._wrap(a, level)
        y = self._wrap(b, level + (name != "add"))
        if self.latex:
            symbol = {"add": "+", "sub": "-", "pow": "^",
                      "mul": r"\odot" if a.ndim and b.ndim else ""}[name]
            if name == "pow":
                return f"{{{x}}}^{{{self.print(b)}}}"
            return f"{x} {symbol} {y}" if symbol else f"{x} {y}"
        return f"{x} {dict(add='+', sub='-', mul='*', div='/', pow='**')[name]} {y}"

    def _einsum(self, node) -> str:
        labels, out = node.params
        args = node.args
        matrices = [(x, ls) for x, ls in zip(args, labels) if len(ls) == 2]
        vectors = [(x, ls) for x, ls in zip(args, labels) if len(ls) == 1]
        reduced = {l for ls in labels for l in ls} - set(out)
        if len(out) == 2 and len(reduced) == 1 and len(matrices) == 2 and \
                len(matrices) + len(vectors) == len(args):
            (r,) = reduced
            (A, la), (B, lb) = matrices
            if set(la) != {r, out[0]}:
                (A, la), (B, lb) = (B, lb), (A, la)
            if all(ls == (r,) for _, ls in vectors) and set(la) == {r, out[0]} \
                    and set(lb) == {r, out[1]}:
                left = self._oriented(A, la, (out[0], r))
                right = self._oriented(B, lb, (r, out[1]))
                if not vectors:
                    return f"{left} {right}" if self.latex else f"{left} @ {right}"
                weights = self._product(vectors)
                if self.latex:
                    return rf"{left} \operatorname{{diag}}\left({weights}\right) {right}"
                return f"{left} @ diag({weights}) @ {right}"
        if len(out) <= 1 and len(matrices) <= 1 and len(reduced) == 1:
            (r,) = reduced
            if matrices and all(ls == (r,) for _, ls in vectors) and out and \
                    set(matrices[0][1]) == {r, out[0]}:
                left = self._oriented(matrices[0][0], matrices[0][1], (out[0], r))
                v = self._product(vectors) if vectors else "1"
                return f"{left} {self._paren(v, vectors)}" if self.latex else \
                    f"{left} @ {self._paren(v, vectors)}"
            if not matrices and not out and all(ls == (r,) for _, ls in vectors):
                if len(vectors) == 2:
                    x, y = (self._atom(v) for v, _ in vectors)
                    return f"{x}^\\top {y}" if self.latex else f"{x} @ {y}"
                inner = self._product(vectors)
                return rf"\operatorname{{sum}}({inner})" if self.latex else f"sum({inner})"
        letters = {}
        for ls in list(labels) + [out]:
            for l in ls:
                letters.setdefault(l, _LETTERS[len(letters) % len(_LETTERS)])
        spec = ",".join("".join(letters[l] for l in ls) for ls in labels) + "->" + \
            "".join(letters[l] for l in out)
        return f"einsum('{spec}', {', '.join(self.print(x) for x in args)})"

    def _oriented(self, x, ls, want) -> str:
        inner = self._atom(x)
        if tuple(ls) == want:
            return inner
        return f"{inner}^\\top" if self.latex else f"{inner}.T"

    def _product(self, vectors) -> str:
        join = r" \odot " if self.latex else " * "
        return join.join(self._wrap(v, 2) for v, _ in vectors)

    @staticmethod
    def _paren(text, vectors) -> str:
        return f"({text})" if len(vectors) > 1 else text


def _number(value) -> str:
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return repr(value)


def _tex_label(label: str) -> str:
    label = re.sub(r"[^A-Za-z0-9_]", "", label) or "x"
    head, _, tail = label.partition("_")
    return f"{head}_{{{tail}}}" if tail else head


def _key(key) -> str:
    parts = []
    for k in key:
        if k[0] == "i":
            parts.append(str(k[1]))
        else:
            start, step, length = k[1], k[2], k[3]
            stop = start + step * length
            text = f"{start}:{stop}" if step > 0 else f"{start}:{stop if stop >= 0 else ''}"
            parts.append(text + (f":{step}" if step != 1 else ""))
    return ", ".join(parts)


def matrix_form(roots, labels: dict, latex: bool = False) -> tuple[list, list]:
    """``(definitions, expressions)``: the named subexpressions ``[(name, text)]`` and the text
    of each root, in NumPy notation or (``latex``) LaTeX."""
    printer = MatrixPrinter(roots, labels, latex)
    return printer.definitions, [printer.print(r, top=True) if r.id not in printer.named
                                 else printer.named[r.id] for r in roots]
