"""Hessian-vector products: ``hvp(f)(*args, v)`` compiled without forming the Hessian."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, Optional

import numpy as np
import symengine as se

from .codegen.spec import LoopSpec

from . import pytree
from .api import HessianFunction, PyTree
from .options import ArgNums
from .derive import hessian_entries
from .errors import ArgumentCountError, ArgumentValueError, OptionValueError, OutputShapeError
from .layout import Parts
from .lower import Plan, kernel_spec
from .loops import applicable, element_loops, keep_linear_sums, loop_spec, uniform
from .runtime import Compiled
from .signature import Leaf, Trace, numeric
from .templates import MIN_INSTANCES

if TYPE_CHECKING:
    from scipy.sparse.linalg import LinearOperator


def hvp(fun: Callable[..., Any], argnums: ArgNums = 0, holomorphic: bool = False, *,
        static_argnums: ArgNums = (), verbose: Optional[bool] = None,
        target: Literal["cpu"] = "cpu",
        tier: Literal["auto", "array", "scalar"] = "auto") -> HVPFunction:
    """The Hessian-vector product of a scalar ``fun``, as a compiled function ``(*args, v)``.

    The kernel evaluates ``sum_l H[k, l] v[l]`` for every ``k`` as expressions in ``args`` and
    ``v`` after one CSE pass: the Hessian is never stored. ``v`` has the structure of the
    differentiated argument (a tuple of such structures for a tuple ``argnums``), and so has the
    result.

    Args:
        fun: a scalar-valued function of NumPy arrays.
        argnums: the argument(s) to differentiate, as in `symhess.hessian`.
        holomorphic: complex inputs, differentiated as a holomorphic function.
        static_argnums: configuration arguments, as in `symhess.hessian`.
        verbose: progress reporting, as in `symhess.hessian`.
        target: ``"cpu"`` (the only one for Hessian-vector products so far).
        tier: which symbolic tier compiles it, as in `symhess.hessian`. The array tier
            differentiates the gradient's array expression along ``v``: it never forms H, and
            its compile time does not depend on the data's size.

    Returns:
        An `HVPFunction`; ``.linear_operator(*args)`` gives a SciPy ``LinearOperator``.

    >>> import numpy as np, symhess
    >>> Hv = symhess.hvp(lambda x: np.sum(x ** 3))
    >>> Hv(np.array([1.0, 2.0]), np.array([1.0, 1.0]))
    array([ 6., 12.])
    """
    if target != "cpu":
        raise OptionValueError(f"hvp computes on the CPU (target='cpu'); target={target!r} is for "
                               "symhess.hessian")
    return HVPFunction(fun, argnums, False, holomorphic, static_argnums, False, target,
                       verbose=verbose, tier=tier)


class HVPFunction(HessianFunction):
    """The callable returned by `hvp`: compiles one kernel per signature of ``(*args, v)``."""

    def __call__(self, *args_and_v: PyTree, **kwargs: PyTree) -> PyTree:
        args_and_v, kwargs = self.arrays(args_and_v, kwargs)
        return self.compile(*args_and_v, **kwargs)(*args_and_v, **kwargs)

    def compile(self, *args_and_v: PyTree, **kwargs: PyTree) -> Compiled:
        """The compiled product for the signature of ``(*args, v)``."""
        if not args_and_v:
            raise ArgumentCountError(
                f"hvp of {self.name} is called as (*args, v): the tangent v is missing")
        args_and_v, kwargs = self.arrays(args_and_v, kwargs)
        key = self.signature(args_and_v, kwargs)
        return self._once(key, lambda: self._build(args_and_v[:-1], args_and_v[-1], kwargs))

    def hessp(self, x: PyTree, p: PyTree, *args: PyTree) -> PyTree:
        """``H(x, *args) @ p`` in SciPy's argument order, for ``minimize(..., hessp=Hv.hessp)``.

        >>> import numpy as np, symhess
        >>> symhess.hvp(lambda x, a: a * np.sum(x ** 3)).hessp(np.ones(2), np.ones(2), 2.0)
        array([12., 12.])
        """
        return self(x, *args, p)

    def linear_operator(self, *args: PyTree, **kwargs: PyTree) -> LinearOperator:
        """A ``scipy.sparse.linalg.LinearOperator`` ``v -> H v`` at ``args`` (flat vectors).

        The product is compiled once per signature of ``args``: later operators at new points
        (every iteration of ``trust-constr``) only bind the new values.

        >>> import numpy as np, symhess
        >>> op = symhess.hvp(lambda x: np.sum(x ** 3)).linear_operator(np.array([1.0, 2.0]))
        >>> op @ np.array([1.0, 1.0])
        array([ 6., 12.])
        """
        from scipy.sparse.linalg import LinearOperator
        positions, many, _ = self.normalized_argnums(len(args))
        parts = [pytree.flatten(args[p]) for p in positions]
        tree = pytree.TreeDef("tuple", None, tuple(t for _, t in parts)) if many else parts[0][1]
        shapes = [np.shape(leaf) for leaves, _ in parts for leaf in leaves]
        # The tangent has the dtype of its differentiated input (float for a number or int).
        dtypes = [np.result_type(leaf, np.float16) for leaves, _ in parts for leaf in leaves]
        tangent = tree.unflatten([np.zeros(s, d) for s, d in zip(shapes, dtypes)])
        compiled = self.compile(*args, tangent, **kwargs)      # cached per signature
        sizes = [int(np.prod(s, dtype=np.int64)) for s in shapes]
        ends = np.cumsum(sizes)[:-1]
        n = sum(sizes)
        dtype = np.result_type(*[leaf.dtype for leaf in compiled.leaves if not leaf.weak]
                               or [np.float64])

        def matvec(v):
            flat = np.asarray(v).reshape(-1)
            if flat.dtype.kind == "c" and dtype.kind != "c":    # a complex v: its own kernel
                pieces = np.split(flat, ends)
                return np.concatenate([np.ravel(r) for r in pytree.flatten(self(
                    *args, tree.unflatten([p.reshape(s) for p, s in zip(pieces, shapes)]),
                    **kwargs))[0]])
            pieces = [p.astype(d, copy=False).reshape(s)
                      for p, d, s in zip(np.split(flat, ends), dtypes, shapes)]
            result = pytree.flatten(compiled(*args, tree.unflatten(pieces), **kwargs))[0]
            return np.concatenate([np.ravel(r) for r in result])

        return LinearOperator((n, n), matvec=matvec, rmatvec=matvec, dtype=dtype)

    def _build(self, args, v, kwargs):
        product = HVPProduct(v, len(args))

        def array_product():
            from .arrays.product import HVPProduct as ArrayHVPProduct
            return ArrayHVPProduct(product)
        return self.trace_and_build(
            args, kwargs, product, f"hvp of {self.name}",
            array_product=array_product if self.array_tier_applies(self.target) else None)


class HVPProduct:
    """The Hessian-vector product ``H v`` of a scalar function, for the tangent ``v``."""

    def __init__(self, v, nargs: int):
        self.v, self.nargs = v, nargs

    def tangents(self, trace: Trace) -> tuple[list, pytree.TreeDef]:
        """The tangent's leaves as kernel inputs after the arguments', and its tree."""
        name, leaves = trace.name, trace.leaves
        v_leaves, v_tree = pytree.flatten(self.v)
        if v_tree != trace.diff_tree:
            raise ArgumentValueError(f"the tangent v of hvp({name}) must have the structure of the "
                                     f"differentiated argument(s): {trace.diff_tree}; got {v_tree}")
        # The tangent's symbols need names no argument uses (a user argument may be called v).
        base = "v"
        while any(l.label == base or l.label.startswith((base + "[", base + ".")) for l in leaves):
            base += "_"
        tangents = []
        for leaf, path, value in zip(trace.diff_leaves, v_tree.paths(), v_leaves):
            arr = numeric(value, f"v{path}", name)
            if arr.shape != leaf.shape:
                raise ArgumentValueError(f"the tangent v{path} has shape {arr.shape}; expected "
                                         f"{leaf.shape} like {leaf.label}")
            tangents.append(Leaf(arg="v", path=path, label=f"{base}{path}", shape=leaf.shape,
                                 dtype=arr.dtype, weak=False, differentiated=False,
                                 index=len(leaves) + len(tangents)))
        return tangents, v_tree

    def plan(self, trace: Trace, progress) -> Plan:
        name, leaves, diff_leaves = trace.name, trace.leaves, trace.diff_leaves
        size = sum(o.size for o in trace.outputs)
        if size != 1 or trace.out_tree != pytree.LEAF:
            raise OutputShapeError(f"hvp needs a function with one scalar output; {name} returns "
                                   f"{size} values")
        tangents, v_tree = self.tangents(trace)
        templated = applicable(leaves, trace.dtype)
        (output,), sums, coefficients = keep_linear_sums(trace.flat_outputs, trace.sums,
                                                         templated)
        dtype = np.result_type(trace.dtype, *[t.dtype for t in tangents])
        loops = []
        if templated:
            with progress.stage("templates"):
                output, loops = element_loops(output, sums, coefficients, leaves, diff_leaves,
                                              MIN_INSTANCES)
        tangent_of = {leaf.index: t.index for leaf, t in zip(diff_leaves, tangents)}
        tables = []
        for loop in loops:
            t = loop.template
            index = np.concatenate([t.index, t.index[:, loop.diff]], axis=1)
            pos = np.stack([loop.var, np.full_like(loop.var, -1)], axis=-1)
            tables.append((np.ascontiguousarray(index), np.ascontiguousarray(pos)))
        inputs = leaves + tangents
        layout = Parts([leaf.shape for leaf in diff_leaves], v_tree)

        def spec():
            # (the tangents' symbols are made only for terms outside element loops)
            rows = {}
            with progress.stage("differentiate"):
                entries = hessian_entries([output], trace.wrt) if output.free_symbols else {}
            if entries:
                vs = [s for t in tangents for s in t.symbols().ravel()]
            for (_, k, l), h in entries.items():
                rows.setdefault(k, []).append(h * vs[l])
                if k != l:
                    rows.setdefault(l, []).append(h * vs[k])
            values = [(se.Add(*rows[k]), (k,)) for k in sorted(rows)]
            with progress.stage("CSE"):
                result = kernel_spec(f"Hessian-vector product of {name}", inputs, values,
                                     layout, dtype)
                result.loops = [_hvp_loop(loop, leaves, tangent_of, table)
                                for loop, table in zip(loops, tables)]
                return result

        names, keywords = trace.arguments
        return Plan(leaves=inputs, layout=layout, dtype=dtype, spec=spec,
                    make=functools.partial(Compiled, what="Hessian-vector product"),
                    tables=[t for pair in tables for t in pair],
                    arg_pytrees=trace.arg_pytrees + [(self.nargs, v_tree)],
                    arguments=(names + ("v",), keywords))


def _hvp_loop(loop, leaves, tangent_of, tables):
    """The element loop of ``H v`` for a template: per differentiated slot a, the value
    ``sum_b h[a, b] v[b]``, with the tangent read at the same flat index as slot b's variable."""
    t = loop.template
    us = [se.Symbol(f"#v{a}") for a in range(len(loop.diff))]
    rows = [[] for _ in loop.diff]
    for (_, a, b), h in loop.entries.items():
        rows[a].append(h * us[b])
        if a != b:
            rows[b].append(h * us[a])
    slots = list(zip(t.slots, t.slot_input)) + \
        [(u, tangent_of[t.slot_input[j]]) for u, j in zip(us, loop.diff)]
    return loop_spec(slots, [se.Add(*r) for r in rows], leaves, uniform(tables[1]),
                     LoopSpec.rows(*tables))
