"""The tracer and the primitive table on their own: traced values, evaluated at a point, must equal
NumPy's result on the numbers. No derivatives and no compiled code are involved."""

from __future__ import annotations

import numpy as np
import pytest
import symengine as se
from symengine.lib.symengine_wrapper import BooleanAtom

import symhess
import symhess.primitives  # noqa: F401  (fills the tracer's rule table, as tracing a function does)
from symhess.trace import Traced, constant, describe, object_array, symbols, trace_context

RNG = np.random.default_rng(3)


def evaluate(value, point):
    """A traced value (or a plain array) with the symbols of ``point`` replaced by numbers."""
    exprs = object_array(value)
    mapping = {}
    for syms, numbers in point:
        mapping.update({s: constant(v) for s, v in zip(syms.ravel(), np.ravel(numbers))})
    out = np.empty(exprs.shape, dtype=complex)
    for idx in np.ndindex(*exprs.shape):
        e = exprs[idx].subs(mapping)
        if isinstance(e, BooleanAtom):
            out[idx] = 1.0 if e == se.true else 0.0
        else:
            out[idx] = complex(e)
    return out


def traced(name, values):
    syms = symbols(name, np.shape(values))
    return Traced(syms.copy()), (syms, values)


# (name, fun, input shape, sampler): fun runs once on a Traced and once on the numbers.
CASES = [
    ("elementwise", lambda x: np.exp(x) * np.sin(x) / (1.0 + x ** 2) - np.sqrt(x + 2.0),
     (2, 3), None),
    ("where-compare", lambda x: np.where((x > 0.1) | (x < -0.4), x ** 2, -x), (5,), None),
    ("abs-sign-clip", lambda x: np.abs(x) + np.sign(x) * 2.0 + np.clip(x, -0.2, 0.3), (4,), None),
    ("maximum-minimum", lambda x: np.maximum(x, x[::-1]) - np.minimum(x, 0.0), (4,), None),
    ("max-min-axes", lambda x: np.concatenate([np.ravel(np.max(x, axis=(0, 2))),
                                               np.ravel(np.min(x, axis=None, keepdims=True)),
                                               np.ravel(np.max(x, axis=(-1, 0), keepdims=True)),
                                               np.ravel(np.amin(x, axis=1)),
                                               np.ravel(np.max(x, axis=0, initial=0.25))]),
     (2, 3, 2), None),
    ("sum-axes", lambda x: np.concatenate([np.ravel(np.sum(x, axis=(0, 2))),
                                           np.ravel(np.prod(x, axis=(1, 2), keepdims=True)),
                                           np.cumsum(x, dtype=np.float64),
                                           np.ravel(np.sum(x, axis=0, dtype=float))]),
     (2, 3, 2), None),
    ("maximum-reduce", lambda x: np.maximum.reduce(x, axis=None), (2, 3), None),
    ("add-accumulate-outer", lambda x: np.add.accumulate(x) + np.multiply.outer(x, x)[0],
     (3,), None),
    ("mean-var-std", lambda x: np.stack([np.mean(x, axis=0), np.var(x, axis=0, ddof=1),
                                         np.std(x, axis=0)]), (3, 2), None),
    ("cumsum-diff", lambda x: np.cumsum(x, axis=1)[:, 1:] * np.diff(x, axis=1), (2, 3), None),
    ("linalg", lambda x: np.linalg.det(x) * np.linalg.inv(x) + np.linalg.solve(x, x[0]),
     (3, 3), lambda shape: np.eye(3) + 0.3 * RNG.uniform(-1, 1, shape)),
    ("norm", lambda x: np.stack([np.linalg.norm(x), np.linalg.norm(x, 1), np.linalg.norm(x, np.inf),
                                 np.linalg.norm(x, 3)]), (4,), None),
    ("einsum-matmul", lambda x: np.einsum("ij,kj->ik", x, x) + x @ x.T, (2, 3), None),
    ("reshape-index", lambda x: x.reshape(3, 2)[np.array([2, 0]), ::-1] * x.T[1:], (2, 3), None),
    ("setitem-copy", None, (3,), None),
    ("constants", lambda x: np.pi * x + np.eye(3) @ x + np.arange(3.0) * np.ones(3), (3,), None),
    ("like", lambda x: np.zeros_like(x) + np.ones_like(x) * x + np.full_like(x, 2.5)
     + np.full_like(x, fill_value=-1.0), (2, 2), None),
    ("iterate", lambda x: np.stack([row * i for i, row in enumerate(x)]), (3, 2), None),
]


def _setitem(x):
    y = x.copy()
    y[0] = x[1] ** 2
    y[1:] = np.sin(x[:2])
    return y


@pytest.mark.parametrize("name, fun, shape, make", CASES, ids=[c[0] for c in CASES])
def test_traced_values_equal_numpy(name, fun, shape, make):
    fun = fun or _setitem
    values = make(shape) if make else RNG.uniform(-1.0, 1.0, shape)
    x, point = traced("x", values)
    with trace_context(np.float64, False):
        out = fun(x)
    expected = fun(values)
    assert isinstance(out, Traced)
    assert out.shape == np.shape(expected)
    np.testing.assert_allclose(evaluate(out, [point]), expected, rtol=1e-12, atol=1e-14)


def test_traced_attributes_follow_numpy():
    x, _ = traced("x", np.zeros((2, 3)))
    assert (x.shape, x.ndim, x.size, len(x)) == ((2, 3), 2, 6, 2)
    assert x.T.shape == (3, 2)
    assert np.shape(x) == (2, 3) and np.ndim(x) == 2 and np.size(x) == 6
    assert [row.shape for row in x] == [(3,), (3,)]
    with trace_context(np.float32, False):
        assert x.dtype == np.float32
        assert x.astype(np.float64) is x
    with pytest.raises(TypeError, match="0-d"):
        len(x[0, 0])


def test_symbols_are_named_like_numpy_prints_entries():
    syms = symbols("F", (2, 2))
    assert [str(s) for s in syms.ravel()] == ["F[0, 0]", "F[0, 1]", "F[1, 0]", "F[1, 1]"]
    assert str(symbols("t", ())[()]) == "t"


def test_constants_are_exact_where_possible():
    assert constant(2.0) == se.Integer(2) and isinstance(constant(2.0), se.Integer)
    assert isinstance(constant(np.int64(3)), se.Integer)
    assert float(constant(0.1)) == 0.1
    assert complex(constant(1.5 - 2j)) == 1.5 - 2j
    assert constant(True) == se.true and constant(np.bool_(False)) == se.false
    with pytest.raises(TypeError, match="str"):
        constant("1.0")


def test_conversions_of_known_values_are_allowed():
    """Values that do not depend on the inputs can be used as Python numbers and conditions."""
    known = Traced(object_array(np.array([2.5, 0.0])))
    assert float(known[0]) == 2.5 and complex(known[0]) == 2.5
    assert bool(known[0]) and not bool(known[1])
    x, _ = traced("x", np.zeros(2))
    assert bool(x[0] - x[0] == 0)            # SymEngine simplifies this to a known value


def test_describe_truncates_long_values():
    x, _ = traced("a_rather_long_symbol_name", np.zeros(20))
    text = describe((x * 2).a.tolist())
    assert len(text) <= 80 and text.endswith("...")


def test_holomorphic_context_rejects_non_holomorphic_functions():
    z, _ = traced("z", np.zeros(3))
    with trace_context(np.complex128, True):
        assert isinstance(np.exp(z) * z, Traced)
        with pytest.raises(symhess.UnsupportedFunctionError, match="np.absolute"):
            np.abs(z)
    assert isinstance(np.abs(z), Traced)     # outside the holomorphic trace it is fine


def test_in_place_ufunc_arguments_are_rejected():
    x, _ = traced("x", np.zeros(3))
    with pytest.raises(symhess.UnsupportedFunctionError, match="out="):
        np.add(x, 1.0, out=np.empty(3, dtype=object))
    with pytest.raises(symhess.UnsupportedFunctionError, match="where="):
        np.add(x, 1.0, where=np.array([True, False, True]))


def test_trace_context_is_restored_after_an_error():
    from symhess.trace import current_context
    before = current_context()
    x, _ = traced("x", np.zeros(2))
    with pytest.raises(symhess.TracerBoolConversionError):
        symhess.hessian(lambda x: x[0] if x[0] > 0 else x[1])(np.ones(2, dtype=np.float32))
    after = current_context()
    assert (after.dtype, after.holomorphic) == (before.dtype, before.holomorphic)


def test_a_running_sum_is_the_sum_of_its_terms():
    """``s = s + term`` in a Python loop keeps its terms in a list (linear time, not
    quadratic); the value read is SymEngine's Add of them, however the chain branched."""
    x, point = traced("x", RNG.uniform(-1.0, 1.0, 40))
    with trace_context(np.float64, False):
        s = 0.0
        for i in range(39):
            s = s + (x[i + 1] - x[i] ** 2) ** 2 - 0.5 * x[i]
        branch_a = s + x[0] * 3.0             # two sums extend one chain: the second copies it
        branch_b = s - np.float64(2.0)
        again = 1.0 + s                       # a number on the left
        reversed_ = x[3] + s                  # a running sum on the right extends itself
        total = sum(x[i] for i in range(40))  # Python's sum starts from 0
    v = point[1]
    base = np.sum((v[1:] - v[:-1] ** 2) ** 2 - 0.5 * v[:-1])
    for got, want in ((s, base), (branch_a, base + 3 * v[0]), (branch_b, base - 2.0),
                      (again, base + 1.0), (reversed_, base + v[3]), (total, v.sum())):
        np.testing.assert_allclose(evaluate(got, [point]).real, want, rtol=1e-13)
    expected = se.Add(*[(x.a[i + 1] - x.a[i] ** 2) ** 2 - 0.5 * x.a[i] for i in range(39)])
    assert s.a[()] == expected                 # the same canonical expression as np.sum's


def test_reductions_of_nothing_are_their_identities():
    """np.sum of an empty array is 0 and np.prod 1, along any axes, as in NumPy; a maximum of
    nothing has no value, and the error says so."""
    x, point = traced("x", RNG.uniform(-1.0, 1.0, (3, 4)))
    with trace_context(np.float64, False):
        cases = [(np.sum(x[:0]), np.sum(point[1][:0])),
                 (np.prod(x[:, :0], axis=1), np.prod(point[1][:, :0], axis=1)),
                 (np.sum(x[:0], axis=0), np.sum(point[1][:0], axis=0))]
        for got, want in cases:
            np.testing.assert_array_equal(evaluate(got, [point]).real, want)
        with pytest.raises(symhess.UnsupportedFunctionError, match="empty array"):
            np.max(x[:0])
