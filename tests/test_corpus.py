"""The corpus (``tests/corpus``): functions from public autodiff test suites and documentation,
and realistic models as their users write them, each against ``jax.hessian``.

Every case either matches JAX (float64, relative 1e-8) or is refused with the error it names;
none may give a different number. The share of the cases JAX differentiates that symhess matches
is asserted at the end (at least 95%).
"""

import numpy as np
import pytest

import symhess
from symhess import autodiff

import corpus

CASES = corpus.cases()


def _jax_hessian(jax, jnp, case):
    options = dict(case.options)
    static = options.pop("static_argnums", ())
    if isinstance(static, int):
        static = (static,)
    args = [a if i in static or not isinstance(a, np.ndarray) and not isinstance(a, dict)
            else jax.tree_util.tree_map(jnp.asarray, a) for i, a in enumerate(case.args)]
    dynamic = [i for i in range(len(args)) if i not in static]
    f = case.jax_function
    g = lambda *dyn: f(*[args[i] if i in static else dyn[dynamic.index(i)]
                         for i in range(len(args))])
    out = jax.hessian(g, **options)(*[args[i] for i in dynamic])
    return out[0] if options.get("has_aux") else out


def _assert_close(jax, got, expected, rtol):
    got_leaves, got_tree = jax.tree_util.tree_flatten(got)
    exp_leaves, exp_tree = jax.tree_util.tree_flatten(expected)
    assert got_tree == exp_tree
    for g, e in zip(got_leaves, exp_leaves):
        e = np.asarray(e)
        assert np.shape(g) == e.shape
        scale = max(1.0, float(np.max(np.abs(e), initial=0.0)))
        np.testing.assert_allclose(np.asarray(g), e, rtol=rtol, atol=rtol * scale)


def _symhess(case):
    out = symhess.hessian(case.function, **case.options)(*case.args)
    return out[0] if case.options.get("has_aux") else out


@pytest.mark.slow             # (JAX's eager Hessians take most of its ten minutes)
@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_case(jax, jnp, case):
    if case.raises is not None:
        error, words = case.raises
        with pytest.raises(error, match=words):
            _symhess(case)
        return
    got = _symhess(case)
    if case.jax is None:
        expected = _jax_hessian(jax, jnp, case)
    else:
        expected = autodiff.hessian(case.function, **case.options)(*case.args)
        if case.options.get("has_aux"):
            expected = expected[0]
    _assert_close(jax, got, expected, case.rtol)


def test_corpus_size_and_share():
    functions = [c for c in CASES if c.kind == "function"]
    models = [c for c in CASES if c.kind == "model"]
    assert len(functions) >= 150 and len(models) >= 30, (len(functions), len(models))
    differentiable = [c for c in CASES if c.jax is None]
    refused = [c.name for c in differentiable if c.raises is not None]
    assert len(refused) <= 0.05 * len(differentiable), refused
