"""The cross-check: compare a Hessian with an independent reference, entry by entry.

`symhess.check` (in `symhess.api`) checks symhess's own Hessian of a function through `check`
here, which is given the Hessian to check and knows nothing of how it was made.

The reference is `symhess.autodiff` (second-order forward mode that runs the user's own function
on jets, with derivative rules of its own) or, with ``against="jax"``, ``jax.hessian``. The
Hessian checked is symhess's compiled one, or any callable passed as ``hessian=``.

Tolerance. An entry ``a`` (checked) and ``r`` (reference) agree when

    |a - r| <= atol + rtol * max(|a|, |r|) + mtol * m

where ``m`` is the autodiff's running bound of that entry's rounding error, in units of the unit
roundoff (`symhess.autodiff.Derivatives.hessian_bounds`): about the sum of ``|terms|`` that
built the entry, so a small entry that is a difference of large terms gets room for their
rounding, and a small entry built from small terms is held to its own magnitude, however large
its neighbours are. Defaults follow the dtype of the checked block: ``rtol=1e-8, atol=1e-300,
mtol=1e-12`` (about 9000 ulps of the terms) for float64 and complex128, ``rtol=1e-3,
atol=1e-30, mtol=1e-5`` for float32 and complex64 (the reference always runs in float64); a
given ``rtol`` scales ``mtol`` with it. Where no bound is known (``against="jax"`` for a
function the autodiff cannot run, or `compare_arrays` without ``bounds``), ``m`` is replaced by
the largest ``|r|`` of the block, with ``atol=1e-12`` (float64) or ``1e-5`` (float32). An entry
that is NaN, or infinite, in both agrees; NaN against a number does not.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Optional

import numpy as np

from . import autodiff
from .autodiff import tree_flatten, tree_paths
from .errors import CheckError, HasAuxError, MissingDependencyError, OptionValueError

TOLERANCES = {"double": (1e-8, 1e-12), "single": (1e-3, 1e-5)}   # (rtol, atol), no bounds
BOUNDED = {"double": (1e-8, 1e-300, 1e-12), "single": (1e-3, 1e-30, 1e-5)}  # (rtol, atol, mtol)
AGAINST = ("autodiff", "jax")


@dataclass
class BlockReport:
    """The comparison of one Hessian block (one leaf of the Hessian tree)."""

    path: str                  # e.g. "H['w'][0]"; "H" for a single-leaf Hessian
    shape: tuple
    max_abs_error: float
    max_rel_error: float       # |a - r| / max(|a|, |r|), over entries where that is defined
    index: tuple               # the worst entry: largest error relative to its tolerance
    value: object              # the checked Hessian's value there
    reference: object          # the reference's value there
    tolerance: float           # the tolerance there
    ratio: float               # error / tolerance at the worst entry; > 1 fails
    rtol: float
    atol: float
    bound: float | None = None  # the reference's rounding bound there (units of roundoff)
    mtol: float | None = None   # None: no bounds, the block's largest |r| scaled the tolerance
    unchecked: int = 0          # entries whose reference overflowed (bound inf or NaN)

    @property
    def ok(self) -> bool:
        return self.ratio <= 1.0


@dataclass
class CheckReport:
    """What `check` compared and how far apart the two Hessians are.

    ``blocks`` has one `BlockReport` per leaf of the Hessian tree; ``worst`` is the block whose
    worst entry is furthest outside (or least inside) its tolerance. ``value_error`` is the
    largest error of the function's value computed by the reference against plain NumPy, and
    ``trace_error`` that of symhess's traced expressions (None when not evaluated; ``notes``
    says why).
    """

    function: str
    checked: str
    against: str
    blocks: list
    value_error: float | None = None
    trace_error: float | None = None
    seconds: float = 0.0
    notes: list = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(b.ok for b in self.blocks)

    @property
    def worst(self) -> BlockReport | None:
        return max(self.blocks, key=lambda b: b.ratio, default=None)

    @property
    def max_abs_error(self) -> float:
        return max((b.max_abs_error for b in self.blocks), default=0.0)

    def __str__(self):
        status = "OK" if self.ok else "FAILED"
        w = max(12, len(self.checked))
        lines = [f"check of {self.function}: {self.checked} against {self.against}: {status} "
                 f"({self.seconds:.3f} s)",
                 f"  {'block':<24} {'shape':<14} {'max abs err':>11} {'max rel err':>11} "
                 f"{'rtol':>7} {'worst entry':<14} {self.checked:>{w}} {'reference':>12}"]
        for b in self.blocks:
            lines.append(
                f"  {b.path:<24} {str(b.shape):<14} {b.max_abs_error:>11.2e} "
                f"{b.max_rel_error:>11.2e} {b.rtol:>7.0e} {str(b.index):<14} "
                f"{_fmt(b.value):>{w}} {_fmt(b.reference):>12}" + ("" if b.ok else "  <- fails"))
        if self.value_error is not None:
            lines.append(f"  function value, reference vs plain NumPy: max abs err "
                         f"{self.value_error:.2e}")
        if self.trace_error is not None:
            lines.append(f"  function value, traced expressions vs plain NumPy: max abs err "
                         f"{self.trace_error:.2e}")
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def _fmt(x) -> str:
    return f"{x:.6g}" if not isinstance(x, complex) else f"{x:.4g}"


def check(fun: Callable[..., Any], *args: Any, hessian: Callable[..., Any],
          argnums: int | Sequence[int] = 0, has_aux: bool = False, holomorphic: bool = False,
          rtol: Optional[float] = None, atol: Optional[float] = None,
          static_argnums: int | Sequence[int] = (),
          against: Literal["autodiff", "jax"] = "autodiff",
          jax_fun: Optional[Callable[..., Any]] = None,
          traced_value: Optional[Callable[[tuple], np.ndarray]] = None) -> CheckReport:
    """Check ``hessian(*args)`` against an independent reference; see `symhess.check`.

    ``traced_value``, for symhess's own Hessian, evaluates the traced output expressions at
    ``args`` (flat), to check them against plain NumPy as well.
    """
    start = time.perf_counter()
    if against not in AGAINST:
        raise OptionValueError(f"against={against!r} is not a reference; choose one of {AGAINST}")
    name = getattr(fun, "__name__", type(fun).__name__)
    checked = ("symhess" if traced_value is not None
               else f"hessian={getattr(hessian, '__name__', 'callable')}")
    report = CheckReport(name, checked, against, [])
    options = dict(argnums=argnums, has_aux=has_aux, holomorphic=holomorphic,
                   static_argnums=static_argnums)
    plain = fun(*args)
    if has_aux:
        if not (isinstance(plain, (tuple, list)) and len(plain) == 2):
            raise HasAuxError(f"{name} was checked with has_aux=True, so it must return a pair "
                              f"(output, aux); it returned {type(plain).__name__}")
        plain = plain[0]
    bounds = value_bounds = None
    if against == "autodiff":
        d = autodiff.derivatives(fun, args, **options)
        reference, bounds, value_bounds = d.hessian_tree(), d.hessian_bound_tree(), \
            d.value_bound_tree()
        report.value_error = _compare_values(report, "value", d.value_tree(), plain,
                                             "the autodiff's value", rtol, atol, value_bounds)
    else:
        reference = _jax_hessian(fun if jax_fun is None else jax_fun, args, **options)
        try:        # the entries' rounding bounds come from the autodiff, where it can run
            d = autodiff.derivatives(fun, args, **options)
            bounds, value_bounds = d.hessian_bound_tree(), d.value_bound_tree()
        except Exception as exc:        # noqa: BLE001  (any failure: fall back, and say so)
            report.notes.append(f"no rounding bounds (the autodiff could not run {name}: "
                                f"{type(exc).__name__}); tolerances scale with each block's "
                                "largest entry")
    got = hessian(*args)
    if traced_value is not None:
        report.trace_error = _check_trace(report, traced_value, args, plain, rtol, atol,
                                          value_bounds)
    if has_aux:
        got = got[0]
    _compare_trees(report, got, reference, rtol, atol, bounds)
    report.seconds = time.perf_counter() - start
    if not report.ok:
        raise CheckError(_failure(report), report)
    return report


def check_derivatives(fun: Callable[..., Any], *args: Any, derivatives: Callable[..., Any],
                      parts: Sequence[str], argnums: int | Sequence[int] = 0,
                      has_aux: bool = False, holomorphic: bool = False,
                      static_argnums: int | Sequence[int] = ()) -> CheckReport:
    """Check a derivative product ``derivatives(*args)`` against the autodiff.

    ``parts`` names what it returns, in order, of ``"value"`` (compared with the autodiff's
    value, within its rounding bounds), ``"first"`` (the Jacobian or gradient, in
    ``jax.jacobian``'s tree) and ``"second"`` (the Hessian, within its rounding bounds);
    with ``has_aux`` the aux is set aside as ``jax.value_and_grad`` and ``jax.grad`` return it.
    """
    start = time.perf_counter()
    name = getattr(fun, "__name__", type(fun).__name__)
    report = CheckReport(name, "symhess", "autodiff", [])
    d = autodiff.derivatives(fun, args, argnums=argnums, has_aux=has_aux, holomorphic=holomorphic,
                             static_argnums=static_argnums, order=2 if "second" in parts else 1)
    got = derivatives(*args)
    got = list(got) if len(parts) > 1 else [got]
    if has_aux:
        got = [got[0][0]] + got[1:] if "value" in parts else [got[0][0]]
    references = {"value": ("f", d.value_tree, d.value_bound_tree),
                  "first": ("J", d.gradient_tree, None), "second": ("H", d.hessian_tree,
                                                               d.hessian_bound_tree)}
    for part, result in zip(parts, got):
        label, reference, bounds = references[part]
        got_leaves, got_structure = tree_flatten(result)
        ref_leaves, ref_structure = tree_flatten(reference())
        if got_structure != ref_structure:
            raise CheckError(f"the {part} part of the derivatives of {name} has the tree "
                             f"structure {_describe(got_structure)}, but the autodiff gives "
                             f"{_describe(ref_structure)}", report)
        bound_leaves = tree_flatten(bounds())[0] if bounds else [None] * len(ref_leaves)
        for path, a, r, m in zip(tree_paths(ref_structure), got_leaves, ref_leaves, bound_leaves):
            report.blocks.append(compare_arrays(label + path, np.asarray(a), np.asarray(r),
                                                bounds=m))
    report.seconds = time.perf_counter() - start
    if not report.ok:
        raise CheckError(_failure(report), report)
    return report


# --- comparing trees of arrays -------------------------------------------------------------------
def _tolerances(dtype, rtol, atol, bounded=False):
    """``(rtol, atol, mtol)``: the given ones, else the defaults of the dtype's precision."""
    precision = "single" if np.dtype(dtype) in (np.float32, np.complex64, np.float16) else "double"
    if not bounded:
        default_rtol, default_atol = TOLERANCES[precision]
        return default_rtol if rtol is None else rtol, default_atol if atol is None else atol, None
    default_rtol, default_atol, mtol = BOUNDED[precision]
    if rtol is not None:
        mtol *= rtol / default_rtol
    return default_rtol if rtol is None else rtol, default_atol if atol is None else atol, mtol


def compare_arrays(path, got, reference, rtol=None, atol=None, bounds=None) -> BlockReport:
    """Compare two arrays of the same shape with `check`'s tolerance rule.

    ``bounds`` (the shape of ``reference``) are the reference's rounding bounds in units of the
    unit roundoff; without them the tolerance scales with the largest ``|reference|``.

    >>> import numpy as np
    >>> b = compare_arrays("H", np.array([1.0, 2.0]), np.array([1.0, 2.5]))
    >>> b.ok, b.index, b.value, b.reference
    (False, (1,), 2.0, 2.5)

    A small entry beside a large one is held to its own bound:

    >>> ref = np.array([1e6, 2e-12])
    >>> compare_arrays("H", np.array([1e6, 2.0002e-12]), ref, bounds=np.array([1e6, 4e-12])).ok
    False
    """
    got, ref = np.asarray(got), np.asarray(reference)
    rtol, atol, mtol = _tolerances(got.dtype, rtol, atol, bounded=bounds is not None)
    gotc, refc = got.astype(np.complex128), ref.astype(np.complex128)
    finite = np.isfinite(gotc) & np.isfinite(refc)
    same_special = ~finite & ((gotc == refc) | (np.isnan(gotc) & np.isnan(refc)))
    with np.errstate(invalid="ignore"):
        err = np.where(finite, np.abs(gotc - refc), np.where(same_special, 0.0, np.inf))
    mag = np.where(finite, np.maximum(np.abs(gotc), np.abs(refc)), 0.0)
    if bounds is None:
        finite_ref = np.abs(refc[np.isfinite(refc)])
        scale = float(finite_ref.max()) if finite_ref.size else 0.0
        tol = atol + rtol * np.maximum(mag, scale)
        bound = np.zeros(got.shape)
    else:
        bound = np.broadcast_to(np.asarray(bounds, dtype=float), got.shape)
        # Where the reference's own computation overflowed (its bound is inf or NaN), it says
        # nothing about the entry: such entries are counted, not compared.
        unreliable = ~np.isfinite(bound)
        unchecked = int(np.count_nonzero(unreliable & (err != 0)))
        err = np.where(unreliable, 0.0, err)
        bound = np.where(unreliable, 0.0, bound)
        tol = atol + rtol * mag + mtol * bound
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = np.where(err == 0, 0.0, err / tol) if tol.size else np.zeros(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(err == 0, 0.0, err / mag)
    if got.size == 0:
        return BlockReport(path, got.shape, 0.0, 0.0, (), None, None, atol, 0.0, rtol, atol)
    unchecked = unchecked if bounds is not None else 0
    k = np.unravel_index(int(np.argmax(ratio)), got.shape)
    return BlockReport(path, got.shape, float(err.max()), float(rel.max()),
                       tuple(int(i) for i in k), got[k].item(), ref[k].item(), float(tol[k]),
                       float(ratio[k]), rtol, atol, None if bounds is None else float(bound[k]),
                       mtol, unchecked)


def _compare_trees(report, got, reference, rtol, atol, bounds=None):
    """Add a `BlockReport` per Hessian leaf; a structure or shape mismatch raises at once."""
    got_leaves, got_structure = tree_flatten(got)
    ref_leaves, ref_structure = tree_flatten(reference)
    if got_structure != ref_structure:
        raise CheckError(
            f"the Hessian of {report.function} from {report.checked} has the tree structure "
            f"{_describe(got_structure)}, but {report.against} gives "
            f"{_describe(ref_structure)}; the structure must be jax.hessian's", report)
    bound_leaves = tree_flatten(bounds)[0] if bounds is not None else [None] * len(ref_leaves)
    for path, a, r, m in zip(tree_paths(ref_structure), got_leaves, ref_leaves, bound_leaves):
        a, r = np.asarray(a), np.asarray(r)
        if a.shape != r.shape:
            raise CheckError(
                f"the Hessian block H{path} of {report.function} from {report.checked} has shape "
                f"{a.shape}, but {report.against} gives {r.shape} "
                "(jax.hessian's layout: out.shape + x_i.shape + x_j.shape)", report)
        block = compare_arrays(f"H{path}", a, r, rtol, atol, m)
        report.blocks.append(block)
        if block.unchecked:
            report.notes.append(
                f"{block.unchecked} entr{'y' if block.unchecked == 1 else 'ies'} of H{path} not "
                f"compared: {report.against}'s own computation overflowed there (its rounding "
                "bound is inf or NaN); check them against='jax' or at another point")


def _describe(structure):
    paths = tree_paths(structure)
    shown = ", ".join(p or "<leaf>" for p in paths[:6]) + (", ..." if len(paths) > 6 else "")
    return f"{structure[0]} with {len(paths)} leaves [{shown}]"


def _compare_values(report, what, values, plain, source, rtol, atol, bounds=None):
    """The largest error of ``values`` (a tree) against the plain output; raise if outside."""
    got_leaves, got_structure = tree_flatten(values)
    plain_leaves, plain_structure = tree_flatten(plain)
    if got_structure != plain_structure:
        raise CheckError(f"{source} of {report.function} has the tree structure "
                         f"{_describe(got_structure)}, but plain NumPy gives "
                         f"{_describe(plain_structure)}", report)
    worst = 0.0
    bound_leaves = tree_flatten(bounds)[0] if bounds is not None else [None] * len(plain_leaves)
    for path, a, p, m in zip(tree_paths(plain_structure), got_leaves, plain_leaves, bound_leaves):
        p = np.asarray(p)
        block = compare_arrays(f"output{path}", np.asarray(a).astype(p.dtype, copy=False)
                               if p.dtype.kind in "fc" else a, p, rtol, atol,
                               None if m is None or np.shape(m) != p.shape else m)
        worst = max(worst, block.max_abs_error)
        if not block.ok:
            raise CheckError(
                f"{source} of {report.function} differs from plain NumPy at {block.path} entry "
                f"{block.index}: {_fmt(block.value)} vs {_fmt(block.reference)}. The function "
                "may not be deterministic (random numbers, global state), or the value rule of "
                f"a primitive is wrong.", report)
    return worst


def _check_trace(report, traced_value, args, plain, rtol, atol, value_bounds=None):
    """Compare the traced output expressions' values at ``args`` with plain NumPy."""
    plain_leaves = tree_flatten(plain)[0]
    expected = (np.concatenate([np.ravel(np.asarray(p)) for p in plain_leaves])
                if plain_leaves else np.zeros(0))
    try:
        traced = np.asarray(traced_value(args))
    except (RuntimeError, TypeError, ValueError, NotImplementedError) as exc:
        report.notes.append(f"traced value not checked: {exc}")
        return None
    if traced.size != expected.size:
        raise CheckError(f"symhess traced {traced.size} output values of {report.function}, "
                         f"but plain NumPy gives {expected.size}", report)
    if not traced.size:
        return 0.0
    bounds = None
    if value_bounds is not None:
        leaves = tree_flatten(value_bounds)[0]
        flat = np.concatenate([np.ravel(b) for b in leaves]) if leaves else np.zeros(0)
        bounds = flat if flat.size == expected.size else None
    block = compare_arrays("traced output", traced.ravel().astype(expected.dtype, copy=False)
                           if expected.dtype.kind in "fc" else traced.ravel(), expected, rtol,
                           atol, bounds)
    if not block.ok:
        raise CheckError(
            f"symhess's traced expressions of {report.function} evaluate to {_fmt(block.value)} "
            f"at flat output entry {block.index[0]}, but plain NumPy gives "
            f"{_fmt(block.reference)}: the tracer or a primitive's symbolic rule is wrong",
            report)
    return block.max_abs_error


def _failure(report) -> str:
    b = report.worst
    bad = sum(not x.ok for x in report.blocks)
    what = "Hessian" if all(x.path.startswith("H") for x in report.blocks) else "derivatives"
    return (f"the {what} of {report.function} from {report.checked} does not agree with "
            f"{report.against} at {b.path} entry {b.index}: {report.checked} gives "
            f"{_fmt(b.value)}, "
            f"{report.against} gives {_fmt(b.reference)} (|difference| "
            f"{abs(b.value - b.reference):.3g} > tolerance {b.tolerance:.3g} = {_rule(b)}); "
            f"{bad} of {len(report.blocks)} block(s) fail. Pass a wider rtol/atol only if the "
            f"difference is rounding.\n{report}")


def _rule(b) -> str:
    if b.mtol is None:
        return (f"atol + rtol * max(|a|, |r|, largest |r| in the block), rtol={b.rtol:g}, "
                f"atol={b.atol:g}")
    return (f"atol + rtol * max(|a|, |r|) + mtol * m, with m = {b.bound:.3g} the reference's "
            f"rounding bound there, rtol={b.rtol:g}, atol={b.atol:g}, mtol={b.mtol:g}")


# --- jax.hessian as the reference ---------------------------------------------------------------
def _jax_hessian(fun, args, argnums, has_aux, holomorphic, static_argnums):
    """``jax.hessian`` in float64, with static arguments bound by closure."""
    try:
        import jax
        import jax.numpy as jnp
    except ImportError:
        raise MissingDependencyError(
            "against='jax' needs jax; install it with pip install 'jax[cpu]', "
            "or use against='autodiff'") from None
    jax.config.update("jax_enable_x64", True)
    nargs = len(args)
    static = {s % nargs for s in np.atleast_1d(static_argnums).astype(int).tolist()}
    dynamic = [i for i in range(nargs) if i not in static]

    def bound(*dyn):
        full = list(args)
        for i, a in zip(dynamic, dyn):
            full[i] = a
        return fun(*full)

    def position(a):
        if a % nargs not in dynamic:
            raise OptionValueError(f"argnums names argument {a}, which is static")
        return dynamic.index(a % nargs)

    many = isinstance(argnums, (tuple, list))
    nums = tuple(map(position, argnums)) if many else position(argnums)

    def to_jax(tree):
        leaves, structure = tree_flatten(tree)
        return autodiff.tree_unflatten(structure, [
            jnp.asarray(x) if isinstance(x, (np.ndarray, np.generic, float, complex)) else x
            for x in leaves])

    transform = jax.hessian(bound, argnums=nums, has_aux=has_aux, holomorphic=holomorphic)
    # jit compiles once in about a second where eager op-by-op dispatch can take ten times that;
    # an aux output need not be arrays, so has_aux runs eagerly.
    out = (transform if has_aux else jax.jit(transform))(*[to_jax(args[i]) for i in dynamic])
    if has_aux:
        out = out[0]
    leaves, structure = tree_flatten(out)
    return autodiff.tree_unflatten(structure, [np.asarray(x) for x in leaves])
