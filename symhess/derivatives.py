"""Gradients, Jacobians, and a value with its gradient and Hessian from one kernel.

`grad`, `value_and_grad` and `jacobian` have the names and contract of JAX's;
`value_grad_hessian` gives what one Newton step needs, ``(f, g, H)``, from one kernel whose
value, first and second derivatives share one CSE pass. Each is a product (`DerivativesProduct`)
built by `symhess.lower.build` like the Hessian: the same trace, element templates, disk cache
and runtime. Those of a scalar function are compiled by the array tier under the rule
`symhess.hessian` follows (`symhess.arrays.product.DerivativesProduct`); Jacobians by the
scalar tier.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, Optional, Union

import numpy as np

from .codegen.spec import LoopSpec

from . import crosscheck, pytree
from .api import HessianFunction
from .options import ArgNums, SparseFormat
from .derive import derivative_entries
from .errors import OptionValueError, OutputShapeError
from .layout import JacobianLayout, Layout, Sections, SparseJacobianLayout, Values
from .lower import Derivation, Plan, hessian_csr, kernel_spec
from .loops import applicable, element_loops, keep_linear_sums, loop_spec, row_loops, uniform
from .runtime import CompiledDerivation
from .signature import Trace
from .templates import MIN_INSTANCES


class Kind(NamedTuple):
    """What a product returns: the value, first derivatives, second derivatives; whether the
    function must return one scalar; how the result is named."""

    value: bool
    first: bool
    second: bool
    scalar: bool
    what: str


KINDS = {
    "grad": Kind(False, True, False, True, "gradient"),
    "value_and_grad": Kind(True, True, False, True, "value and gradient"),
    "jacobian": Kind(False, True, False, False, "Jacobian"),
    "value_and_jacobian": Kind(True, True, False, False, "value and Jacobian"),
    "value_grad_hessian": Kind(True, True, True, True, "value, gradient and Hessian"),
}


def grad(fun: Callable[..., Any], argnums: ArgNums = 0, has_aux: bool = False,
         holomorphic: bool = False, *, static_argnums: ArgNums = (),
         verbose: Optional[bool] = None, templates: Optional[bool] = None,
         tier: Literal["auto", "array", "scalar"] = "auto",
         check: bool = False) -> DerivativeFunction:
    """The gradient of a scalar ``fun`` as a compiled function, with ``jax.grad``'s contract.

    The result has the structure of the differentiated argument (a tuple of them for a tuple
    ``argnums``); with ``has_aux`` the call returns ``(gradient, aux)``. The first
    derivatives are derived symbolically, reduced with one CSE pass and compiled once per
    input signature, as `symhess.hessian` does; sums of many terms of one shape are element
    loops (``templates``, as in `symhess.hessian`).

    Args:
        fun: a function of NumPy arrays returning one scalar.
        argnums, has_aux, holomorphic, static_argnums, verbose, templates, tier: as in
            `symhess.hessian` (the array tier derives the gradient of an array program as
            one reverse pass).
        check: cross-check each new signature's kernel once, when it is compiled, against the
            independent autodiff at the arguments of that first call (values within their
            rounding bounds); a disagreement raises `CheckError`. For dense results.

    Returns:
        A `DerivativeFunction`: call it like ``fun``.

    >>> import numpy as np, symhess
    >>> symhess.grad(lambda x: np.sum(x ** 3))(np.array([1.0, 2.0]))
    array([ 3., 12.])
    """
    return DerivativeFunction(fun, argnums, has_aux, holomorphic, static_argnums, False, "cpu",
                              verbose=verbose, templates=templates, tier=tier, check=check,
                              kind="grad")


def value_and_grad(fun: Callable[..., Any], argnums: ArgNums = 0, has_aux: bool = False,
                   holomorphic: bool = False, *, static_argnums: ArgNums = (),
                   verbose: Optional[bool] = None,
                   templates: Optional[bool] = None,
                   tier: Literal["auto", "array", "scalar"] = "auto",
                   check: bool = False) -> DerivativeFunction:
    """``fun`` and its gradient from one kernel, with ``jax.value_and_grad``'s contract.

    The call returns ``(value, gradient)`` (``((value, aux), gradient)`` with ``has_aux``),
    the value a NumPy scalar: what ``scipy.optimize.minimize(..., jac=True)`` takes.

    Args:
        fun, argnums, has_aux, holomorphic, static_argnums, verbose, templates, tier, check:
            as in `grad`.

    >>> import numpy as np, symhess
    >>> value, g = symhess.value_and_grad(lambda x: np.sum(x ** 3))(np.array([1.0, 2.0]))
    >>> float(value), g
    (9.0, array([ 3., 12.]))
    """
    return DerivativeFunction(fun, argnums, has_aux, holomorphic, static_argnums, False, "cpu",
                              verbose=verbose, templates=templates, tier=tier, check=check,
                              kind="value_and_grad")


def jacobian(fun: Callable[..., Any], argnums: ArgNums = 0, has_aux: bool = False,
             holomorphic: bool = False, *, static_argnums: ArgNums = (),
             sparse: bool = False, verbose: Optional[bool] = None,
             templates: Optional[bool] = None,
             sparse_format: SparseFormat = "csr_array", check: bool = False) -> DerivativeFunction:
    """The Jacobian of ``fun`` as a compiled function, with ``jax.jacobian``'s contract.

    A leaf of the result has shape ``out.shape + x.shape``, arranged as the tree product of
    ``fun``'s output tree with the differentiated inputs' tree (``J[out][i]``). Outputs of one
    form (the entries of a vectorized constraint ``c(x)``) are instances of a row template,
    derived once and evaluated in a loop over the outputs, so compile time stays flat as the
    number of outputs grows.

    Args:
        fun, argnums, has_aux, holomorphic, static_argnums, verbose: as in `symhess.hessian`;
            check: as in `grad`.
        templates: None (the default): row templates for forms of at least 16 outputs; True:
            for every form; False: never (every entry derived and printed on its own).
        sparse: ``True`` returns a sparse matrix of shape (outputs, variables) with the exact
            symbolic pattern: rows are ``fun``'s outputs flattened in order, columns the
            variables in `symhess.hessian`'s global order. ``J.compile(*args).pattern`` gives
            the pattern without evaluating anything.
        sparse_format: as in `symhess.hessian` (a ``scipy.sparse.csr_array`` by default).

    >>> import numpy as np, symhess
    >>> symhess.jacobian(lambda x: x[1:] * x[:-1])(np.array([1.0, 2.0, 3.0]))
    array([[2., 1., 0.],
           [0., 3., 2.]])
    """
    if sparse not in (False, True):
        raise OptionValueError(f"sparse must be False or True for a Jacobian; got {sparse!r}")
    return DerivativeFunction(fun, argnums, has_aux, holomorphic, static_argnums, False, "cpu",
                              sparse=sparse, verbose=verbose, templates=templates, tier="scalar",
                              sparse_format=sparse_format, check=check, kind="jacobian")


def value_grad_hessian(fun: Callable[..., Any], argnums: ArgNums = 0, has_aux: bool = False,
                       holomorphic: bool = False, *, static_argnums: ArgNums = (),
                       sparse: Union[bool, Literal["upper", "lower"]] = False,
                       verbose: Optional[bool] = None,
                       templates: Optional[bool] = None,
                       tier: Literal["auto", "array", "scalar"] = "auto",
                       sparse_format: SparseFormat = "csr_array",
                       check: bool = False) -> DerivativeFunction:
    """``(value, gradient, Hessian)`` of a scalar ``fun`` from one kernel: a Newton step's needs.

    The value, first and second derivatives are derived together (each first derivative once)
    and reduced by one CSE pass, so the three cost little more than the Hessian alone. The
    gradient has the structure of `grad`'s result and the Hessian of `symhess.hessian`'s
    (``sparse=`` as there: a CSR matrix, or one triangle of it); with ``has_aux`` the call
    returns ``((value, aux), gradient, Hessian)``.

    Args:
        fun, argnums, has_aux, holomorphic, static_argnums, verbose, templates: as in
            `symhess.hessian`.
        sparse, tier, sparse_format: as in `symhess.hessian`.
        check: as in `grad`.

    >>> import numpy as np, symhess
    >>> f, g, H = symhess.value_grad_hessian(lambda x: np.sum(x ** 3))(np.array([1.0, 2.0]))
    >>> float(f), g, H
    (9.0, array([ 3., 12.]), array([[ 6.,  0.],
           [ 0., 12.]]))
    """
    return DerivativeFunction(fun, argnums, has_aux, holomorphic, static_argnums, False, "cpu",
                              sparse=sparse, verbose=verbose, templates=templates, tier=tier,
                              sparse_format=sparse_format, check=check,
                              kind="value_grad_hessian")


@dataclass
class DerivativeFunction(HessianFunction):
    """The callable returned by `grad`, `value_and_grad`, `jacobian` and `value_grad_hessian`:
    compiles one kernel per input signature (the options of `symhess.hessian` it shares keep
    their meaning)."""

    kind: str = "grad"

    def _checked_build(self, args, kwargs) -> CompiledDerivation:
        kind = KINDS[self.kind]
        product = DerivativesProduct(self.kind, sparse=self.sparse, templates=self.templates,
                                     has_aux=self.has_aux, fun=self.fun,
                                     sparse_format=self.sparse_format)

        def array_product():
            from .arrays import product as arrays
            scalar = self.scalar_trace(args, kwargs)        # traced when closed forms are asked
            return arrays.DerivativesProduct(
                kind.value, kind.first, kind.second, kind.what,
                functools.partial(CompiledDerivatives, what=kind.what, has_aux=self.has_aux,
                                  fun=self.fun, value_first=kind.value,
                                  derivation=lambda: dense_derivation(scalar(), self.kind)),
                sparse=self.sparse, sparse_format=self.sparse_format)
        arrays_apply = kind.scalar and self.array_tier_applies(self.target)
        compiled = self.trace_and_build(args, kwargs, product, f"{kind.what} of {self.name}",
                                        target=self.target,
                                        array_product=array_product if arrays_apply else None)
        if self.check:
            if kwargs:
                raise OptionValueError("check=True needs positional arguments only")
            parts = [p for p, wanted in zip(("value", "first", "second"), kind[:3]) if wanted]
            crosscheck.check_derivatives(
                self.fun, *args, derivatives=compiled, parts=parts, argnums=self.argnums,
                has_aux=self.has_aux, holomorphic=self.holomorphic,
                static_argnums=self.static_argnums)
        return compiled


class CompiledDerivatives(CompiledDerivation):
    """A compiled `DerivativesProduct`; with ``has_aux`` and a value, the aux is returned beside
    the value: ``((value, aux), gradient, ...)``, as ``jax.value_and_grad`` does. Its closed
    forms (`entries`, `expressions`, `latex`, `pretty`, `cse`) and standalone code (`save`)
    hold every part it returns: entries ``(o,)`` of the value, ``(o, k)`` of the first and
    ``(o, k, l)`` (upper triangle) of the second derivatives."""

    def __init__(self, *, value_first: bool, **options):
        super().__init__(**options)
        self._value_first = value_first

    def _call_general(self, *args, **kwargs):
        result = super()._call_general(*args, **kwargs)
        if self._has_aux and self._value_first:
            (value, *rest), aux = result
            return ((value, aux), *rest)
        return result


class DerivativesDerivation(Derivation):
    """The symbolic side of a derivative product: the entries of every part it returns
    (`entries`: keys ``(o,)``, ``(o, k)``, ``(o, k, l)`` for the value, first and second
    derivatives), each part's dense layout and key length for the closed forms (`parts`), and
    the unrolled kernel spec (`symhess.lower.Derivation.kernel_spec`) storing them where the
    product's ``sections`` ``[(what, layout, offset)]`` do.
    """

    LENGTH = {"value": 1, "first": 2, "second": 3}

    def __init__(self, trace: Trace, kind: Kind, outputs, sums, sections, layout, derived=None):
        out_shapes = [tuple(o.shape) for o in trace.outputs]
        super().__init__(trace.name, trace.leaves, trace.diff_leaves, outputs, sums, layout,
                         trace.dtype, trace.out_tree, trace.diff_tree, out_shapes)
        self.kind, self.sections, self._derived = kind, sections, derived
        self.title = f"{kind.what} of {trace.name}"
        diff_shapes = [leaf.shape for leaf in trace.diff_leaves]
        dense = {"value": Values(out_shapes, trace.out_tree),
                 "first": JacobianLayout(out_shapes, diff_shapes, trace.out_tree, trace.diff_tree),
                 "second": self.dense_layout}
        self.parts = [(dense[what], self.LENGTH[what]) for what, _, _ in sections]
        self._section = {self.LENGTH[what]: (section, offset) for what, section, offset in sections}

    def entries(self) -> dict:
        """``{key: expression}`` of every part's nonzero entries (second derivatives: the
        upper triangle)."""
        if self._entries is None:
            self._entries = part_entries(self.outputs, self.variables, self.kind,
                                         [what for what, _, _ in self.sections], self._derived)
        return self._entries

    def positions(self, key) -> tuple:
        """Where entry ``key`` (and its mirror) is stored in the kernel's flat output."""
        section, offset = self._section[len(key)]
        return tuple(offset + p for p in section.positions(*key))


def part_entries(outputs, wrt, kind: Kind, parts, derived=None) -> dict:
    """The nonzero entries of ``parts`` (of "value", "first", "second") of ``outputs``, keyed
    ``(o,)``, ``(o, k)`` and ``(o, k, l)``; ``derived``: their ``(first, second)`` entries
    when already derived."""
    first, second = derived or derivative_entries(outputs, wrt, kind.second)
    found = {"value": {(o,): e for o, e in enumerate(outputs) if e != 0},
             "first": first, "second": second}
    return {key: e for what in parts for key, e in found[what].items()}


@dataclass(frozen=True)
class DerivativesProduct:
    """The value, first and second derivatives of ``KINDS[kind]``, stored one after the other
    (`symhess.layout.Sections`) and computed by one kernel after one CSE pass.

    ``sparse``: the Jacobian as a CSR matrix, or the Hessian's ``sparse=`` option;
    ``templates`` as `symhess.hessian`'s option: element templates of a scalar output, row
    templates of a vector one.
    """

    kind: str
    sparse: object = False
    templates: object = None
    has_aux: bool = False
    fun: object = None
    sparse_format: str = "csr_array"

    def plan(self, trace: Trace, progress) -> Plan:
        kind = KINDS[self.kind]
        name, leaves, diff_leaves, dtype, wrt = (trace.name, trace.leaves, trace.diff_leaves,
                                                 trace.dtype, trace.wrt)
        out_shapes = [tuple(o.shape) for o in trace.outputs]
        if kind.scalar and (trace.out_tree != pytree.LEAF or out_shapes != [()]):
            raise OutputShapeError(
                f"{kind.what} needs a function returning one scalar; {name} returns "
                f"{_describe(trace.out_tree, out_shapes)}. Use symhess.jacobian for "
                "vector outputs")
        loopable = self.templates is not False and applicable(leaves, dtype)
        outputs, sums, coefficients = keep_linear_sums(trace.flat_outputs, trace.sums,
                                                       loopable and kind.scalar)
        whole = outputs, sums              # the outputs before loops take their terms
        loops, rows = [], []             # rows: the output each instance computes (vectors)
        minimum = 1 if self.templates else MIN_INSTANCES
        if loopable and kind.scalar:
            with progress.stage("templates"):
                remainder, loops = element_loops(outputs[0], sums, coefficients, leaves,
                                                 diff_leaves, minimum, first=True)
            outputs, rows = [remainder], [None] * len(loops)
        elif loopable and len(outputs) >= minimum:
            with progress.stage("templates"):
                outputs, loops, rows = row_loops(outputs, leaves, diff_leaves, minimum)
        entries = None               # derived before the layout when a sparse pattern needs them
        if self.sparse:
            with progress.stage("differentiate"):
                entries = derivative_entries(outputs, wrt, kind.second)
        layout, sections = _placed(self._sections(trace, out_shapes, entries, loops, rows))
        tables = [(loop.index, _loop_positions(loop, out, sections))
                  for loop, out in zip(loops, rows)]
        derivation = DerivativesDerivation(trace, kind, *whole, sections, layout,
                                           None if loops else entries)

        def spec():
            if not loops:
                with progress.stage("differentiate"):
                    derivation.entries()
                with progress.stage("CSE"):
                    return derivation.kernel_spec()
            with progress.stage("differentiate"):
                found = part_entries(outputs, wrt, kind, [w for w, _, _ in sections], entries)
            with progress.stage("CSE"):
                result = kernel_spec(derivation.title, leaves,
                                     [(e, derivation.positions(key)) for key, e in found.items()],
                                     layout, dtype)
                result.loops = [
                    loop_spec(list(zip(loop.template.slots, loop.template.slot_input)),
                              _loop_values(loop, kind), leaves, uniform(positions),
                              LoopSpec.rows(index, positions))
                    for loop, (index, positions) in zip(loops, tables)]
            return result

        make = functools.partial(CompiledDerivatives, what=kind.what, has_aux=self.has_aux,
                                 fun=self.fun, round_to=trace.round_to, value_first=kind.value,
                                 derivation=derivation,
                                 templates=[loop.template for loop in loops])
        return Plan(leaves=leaves, layout=layout, dtype=dtype, spec=spec, make=make,
                    tables=[t for pair in tables for t in pair])

    def _sections(self, trace, out_shapes, entries, loops, rows) -> list:
        """``[(what, layout)]``: the value, first and second derivatives this kind returns."""
        kind = KINDS[self.kind]
        diff_shapes = [leaf.shape for leaf in trace.diff_leaves]
        n = len(trace.wrt)
        sections = []
        if kind.value:
            sections.append(("value", Values(out_shapes, trace.out_tree)))
        if self.sparse and not kind.second:
            keys = np.array(list(entries[0]), dtype=np.int64).reshape(-1, 2)
            outs, variables = [keys[:, 0]], [keys[:, 1]]
            for loop, out in zip(loops, rows):
                k = _first_variables(loop)
                outs.append(np.broadcast_to(out[:, None], k.shape).ravel())
                variables.append(k.ravel())
            sections.append(("first", SparseJacobianLayout(
                np.concatenate(outs), np.concatenate(variables),
                sum(int(np.prod(s)) for s in out_shapes), n, self.sparse_format)))
        else:
            sections.append(("first", JacobianLayout(out_shapes, diff_shapes, trace.out_tree,
                                                     trace.diff_tree)))
        if kind.second and self.sparse:
            sections.append(("second", hessian_csr(entries[1], loops, n, self.sparse,
                                                   self.sparse_format)))
        elif kind.second:
            sections.append(("second", Layout(out_shapes, diff_shapes, trace.out_tree,
                                              trace.diff_tree)))
        return sections


def _placed(sections) -> tuple:
    """``(layout, [(what, layout, offset)])`` of ``[(what, layout)]`` stored one after the
    other: the product's layout, and where each part starts in it."""
    if len(sections) == 1:
        (what, layout), = sections
        return layout, [(what, layout, 0)]
    layout = Sections([s for _, s in sections])
    return layout, [(what, s, off) for (what, s), off in zip(sections, layout.offsets)]


def dense_derivation(trace: Trace, kind: str) -> DerivativesDerivation:
    """The `DerivativesDerivation` of ``trace``'s dense product ``kind`` (its closed forms,
    nothing compiled): what an array-tier product's closed forms come from."""
    out_shapes = [tuple(o.shape) for o in trace.outputs]
    layout, sections = _placed(DerivativesProduct(kind)._sections(trace, out_shapes, None, [], []))
    return DerivativesDerivation(trace, KINDS[kind], trace.flat_outputs, trace.sums, sections,
                                 layout)


def _loop_values(loop, kind) -> list:
    """An element's values in the order of `_loop_positions`' columns."""
    values = [loop.template.expr] if kind.value else []
    values += list(loop.first.values())
    if kind.second:
        values += list(loop.entries.values())
    return values


def _first_variables(loop) -> np.ndarray:
    """The (instances, first derivatives) variables a loop's first derivatives are by."""
    slots = np.array([a for _, a in loop.first], dtype=np.int64)
    return loop.var[:, slots]


def _loop_positions(loop, rows, sections) -> np.ndarray:
    """The (instances, values, 2) position table of a template loop's values
    (`_loop_values`): where each instance adds its value, first and second derivatives.
    ``rows``: the output each instance computes, or None for all of a scalar output."""
    instances = loop.template.instances
    out = np.zeros((instances, 1), dtype=np.int64) if rows is None else rows[:, None]
    columns = []
    for what, section, offset in sections:
        if what == "value":
            first = out + offset
            columns.append(np.stack([first, np.full_like(first, -1)], axis=-1))
        elif what == "first":
            first = section.position_arrays(_first_variables(loop), out) + offset
            columns.append(np.stack([first, np.full_like(first, -1)], axis=-1))
        else:
            positions = loop.positions(section)
            columns.append(np.where(positions >= 0, positions + offset, -1))
    return np.ascontiguousarray(np.concatenate(columns, axis=1), dtype=np.int64)


def _describe(tree, shapes) -> str:
    if tree == pytree.LEAF:
        return f"an array of shape {shapes[0]}"
    return f"a {tree} of {len(shapes)} arrays"


__all__ = ["grad", "value_and_grad", "jacobian", "value_grad_hessian", "DerivativeFunction",
           "DerivativesProduct", "KINDS"]
