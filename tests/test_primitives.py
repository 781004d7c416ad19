"""Every primitive of the table, compared with JAX's Hessian of the same function.

Each spec is a function ``fun(m, x)`` written once for a NumPy-like module ``m``: symhess traces
``fun(numpy, x)`` and JAX differentiates ``fun(jax.numpy, x)``. Specs are expanded over shapes and
dtypes: every shape in float64, the last shape in float32 (compared with the float64 reference at
the rounded inputs) and, for holomorphic primitives, the last shape in complex128 with
``holomorphic=True``. A few functions are also checked against central finite differences of a
hand-written gradient, which needs no JAX.

The same table is expanded over targets, each compared with the independent autodiff
(`symhess.autodiff`, which needs no JAX): the Numba kernel with an LLVM IR body (the default
real path), the Numba kernel printed as Python (the complex path, and real specs through
`codegen.emit_numba`), C99 (`symhess.export`, built with the C compiler and called through
ctypes) and CUDA (`target="cuda"`, batched, in Numba's CUDA simulator in one subprocess). The
default run takes one shape per primitive on the slower targets; the slow run takes every case.
"""

from __future__ import annotations

import ctypes
import dataclasses
import functools
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

import symhess
from conftest import assert_tree_close
from symhess import autodiff

SHAPES = ((), (3,), (2, 3))


@dataclass(frozen=True)
class Spec:
    """One primitive test: ``fun(m, x)``, where its input is drawn from, which shapes it takes."""

    name: str
    fun: object
    domain: tuple = (-1.0, 1.0)       # interval the real part of every entry is drawn from
    signed: bool = False              # draw |x| from the domain and give it a random sign
    shapes: tuple = SHAPES
    holomorphic: bool = True          # also run in complex128 with holomorphic=True
    float32: bool = True
    sample: object = None             # custom sampler(rng, shape) -> float64 array
    python: bool = True               # also on the Numba-Python target (slow run)


def unary(name, fun, **kw):
    return Spec(name, fun, **kw)


def binary(name, fun, **kw):
    """A two-argument primitive: its operands are x[0] and x[1] of one input of shape (2, ...)."""
    shapes = tuple((2,) + s for s in kw.pop("shapes", SHAPES))
    return Spec(name, lambda m, x: fun(m, x[0], x[1]), shapes=shapes, **kw)


def near_identity(rng, shape):
    """Well-conditioned square matrices for det, inv and solve."""
    return np.eye(shape[-1]) + 0.3 * rng.uniform(-1.0, 1.0, shape)


def _special(m):
    """``scipy.special``, or ``jax.scipy.special`` when ``m`` is ``jax.numpy``."""
    if m is np:
        import scipy.special
        return scipy.special
    import jax.scipy.special
    return jax.scipy.special


# (Numba compiles these long kernels printed as Python in 10 to 25 s each: the printer's
# forms are all in the other specs)
_SPECIAL = dict(shapes=((3,),), holomorphic=False, float32=False, python=False)
C3 = np.array([0.5, -1.25, 2.0])
C23 = np.array([[1.0, -0.5, 0.25], [0.75, 2.0, -1.5]])
POSITIVE = (0.5, 2.0)

ELEMENTWISE = [
    # arithmetic and powers
    binary("add-subtract", lambda m, a, b: (a + b) * (a - b) * a),
    binary("multiply", lambda m, a, b: a * b * b + 3.0 * a),
    binary("divide", lambda m, a, b: a / (b + 3.0) - 2.0 / (a + 3.0)),
    unary("negative", lambda m, x: -(x ** 3) + m.negative(x) * x),
    unary("power-int", lambda m, x: x ** 3 + m.power(x, 4)),
    unary("power-negative-int", lambda m, x: x ** -2 + m.power(x, -3), domain=POSITIVE),
    unary("power-half", lambda m, x: x ** 0.5 + x ** -0.5, domain=POSITIVE),
    unary("power-fractional", lambda m, x: x ** 1.7 + x ** (1 / 3), domain=POSITIVE),
    unary("power-integral-float", lambda m, x: x ** 2.0 + x ** -1.0, domain=POSITIVE),
    binary("power-traced-exponent", lambda m, a, b: a ** b, domain=POSITIVE),
    unary("rpow", lambda m, x: 2.0 ** x + m.exp2(x)),
    unary("float_power", lambda m, x: m.float_power(x, 2.5), domain=POSITIVE),
    unary("square", lambda m, x: m.square(x) * x),
    unary("reciprocal", lambda m, x: m.reciprocal(x), domain=POSITIVE),
    # exponentials, logarithms and roots
    unary("exp", lambda m, x: m.exp(x)),
    unary("expm1", lambda m, x: m.expm1(x)),
    unary("log", lambda m, x: m.log(x), domain=POSITIVE),
    unary("log1p", lambda m, x: m.log1p(x), domain=(-0.5, 1.0)),
    unary("log2-log10", lambda m, x: m.log2(x) + m.log10(x) * x, domain=POSITIVE),
    unary("sqrt", lambda m, x: m.sqrt(x), domain=POSITIVE),
    unary("cbrt", lambda m, x: m.cbrt(x), domain=(0.3, 2.0), signed=True, holomorphic=False),
    binary("logaddexp", lambda m, a, b: m.logaddexp(a, b), holomorphic=False),
    # trigonometric and inverse trigonometric
    unary("sin", lambda m, x: m.sin(x)),
    unary("cos", lambda m, x: m.cos(x)),
    unary("tan", lambda m, x: m.tan(x)),
    unary("arcsin", lambda m, x: m.arcsin(x), domain=(-0.8, 0.8)),
    unary("arccos", lambda m, x: m.arccos(x), domain=(-0.8, 0.8)),
    unary("arctan", lambda m, x: m.arctan(x), domain=(-2.0, 2.0)),
    unary("deg2rad", lambda m, x: m.sin(m.deg2rad(x * 90.0)) + m.rad2deg(x) ** 2),
    binary("arctan2", lambda m, a, b: m.arctan2(a, b), domain=(0.3, 2.0), signed=True,
           holomorphic=False),
    binary("hypot", lambda m, a, b: m.hypot(a, b), domain=(0.3, 2.0), signed=True,
           holomorphic=False),
    # hyperbolic
    unary("sinh", lambda m, x: m.sinh(x)),
    unary("cosh", lambda m, x: m.cosh(x)),
    unary("tanh", lambda m, x: m.tanh(x)),
    unary("arcsinh", lambda m, x: m.arcsinh(x), domain=(-2.0, 2.0)),
    unary("arccosh", lambda m, x: m.arccosh(x), domain=(1.2, 3.0)),
    unary("arctanh", lambda m, x: m.arctanh(x), domain=(-0.8, 0.8)),
    # piecewise: each is composed so that its Hessian differs between the branches
    unary("abs", lambda m, x: m.abs(x) * x ** 2, domain=(0.2, 1.5), signed=True,
          holomorphic=False),
    unary("abs-operator", lambda m, x: abs(x) ** 3, domain=(0.2, 1.5), signed=True,
          holomorphic=False),
    unary("sign", lambda m, x: m.sign(x) * x ** 2, domain=(0.2, 1.5), signed=True,
          holomorphic=False),
    binary("maximum", lambda m, a, b: m.maximum(a, b) ** 2 * (a + 2.0 * b), holomorphic=False),
    binary("minimum", lambda m, a, b: m.minimum(a, b) ** 2 * (a + 2.0 * b), holomorphic=False),
    unary("maximum-constant", lambda m, x: m.maximum(x, 0.1) ** 3, holomorphic=False),
    unary("clip", lambda m, x: m.clip(x, -0.4, 0.5) ** 2 * x, domain=(-1.2, 1.2),
          holomorphic=False),
    unary("where", lambda m, x: m.where(x > 0.1, x ** 3, m.sin(x)), holomorphic=False),
    binary("where-compound", lambda m, a, b: m.where((a > b) & (a < 0.5), a * b, b ** 3),
           holomorphic=False),
    # rounding and remainders: piecewise constant and piecewise linear
    unary("floor-ceil", lambda m, x: m.floor(3.0 * x) * x ** 2 + m.ceil(x) * x ** 3,
          domain=(-3.0, 3.0), holomorphic=False),
    unary("trunc-rint-round", lambda m, x: (m.trunc(x) + m.rint(2.0 * x)) * x ** 2
          + m.round(x, 1) * x, domain=(-3.0, 3.0), holomorphic=False),
    binary("remainder-fmod", lambda m, a, b: m.remainder(a, b) ** 2 * b + m.fmod(a, b) * a,
           domain=(0.4, 3.0), signed=True, holomorphic=False),
    binary("floor_divide", lambda m, a, b: (a // b) * a * b, domain=(0.4, 3.0), signed=True,
           holomorphic=False),
    # scipy.special (jax.scipy.special for JAX)
    unary("erf-erfc", lambda m, x: _special(m).erf(x) * x + _special(m).erfc(2.0 * x) ** 2,
          domain=(-2.0, 2.0), **_SPECIAL),
    unary("ndtr-log_ndtr", lambda m, x: _special(m).ndtr(x) ** 2 + _special(m).log_ndtr(3.0 * x),
          domain=(-3.0, 3.0), **_SPECIAL),
    unary("gammaln-digamma", lambda m, x: _special(m).gammaln(x) * x + _special(m).digamma(x),
          domain=(0.2, 14.0), **_SPECIAL),
    unary("expit-logit", lambda m, x: _special(m).expit(4.0 * x) * x
          + _special(m).logit(0.5 + 0.3 * x), **_SPECIAL),
    binary("xlogy-xlog1py", lambda m, a, b: _special(m).xlogy(a, b) + _special(m).xlog1py(b, a),
           domain=(0.2, 2.0), **_SPECIAL),
    unary("erfinv-ndtri", lambda m, x: _special(m).erfinv(x) ** 2
          + _special(m).ndtri(0.5 + 0.45 * x), domain=(-0.99, 0.99), **_SPECIAL),
    unary("polygamma-gammaln-negative", lambda m, x: _special(m).polygamma(1, x + 2.0) * x
          + _special(m).gammaln(x - 1.0), domain=(0.1, 0.9), **_SPECIAL),
    unary("i0e-i1", lambda m, x: _special(m).i0e(x) * x + _special(m).i1(x), domain=(-3.0, 3.0),
          **_SPECIAL),
    unary("gammainc-betaincc", lambda m, x: _special(m).gammainc(2.5, 4.0 * x) ** 2
          + _special(m).gammaincc(0.5, x) * x + _special(m).betainc(1.5, 3.0, x / (1.0 + x)),
          domain=(0.1, 3.0), **_SPECIAL),
]

# Reductions and scans: a power after the reduction makes every entry of the Hessian depend on
# which inputs were combined.
REDUCTIONS = []
for _axis, _keep in [(None, False), (None, True), (0, False), (-1, True)]:
    _kw = dict(axis=_axis, keepdims=_keep)
    _shapes = ((3,), (2, 3)) if _axis is None else ((2, 3),)
    _tag = f"axis={_axis},keepdims={_keep}"
    REDUCTIONS += [
        unary(f"sum[{_tag}]", lambda m, x, kw=_kw: m.sum(x ** 3, **kw) ** 2, shapes=_shapes),
        unary(f"prod[{_tag}]", lambda m, x, kw=_kw: m.prod(x, **kw), domain=POSITIVE,
              shapes=_shapes),
        unary(f"mean[{_tag}]", lambda m, x, kw=_kw: m.mean(x ** 2, **kw) ** 2, shapes=_shapes),
        unary(f"var[{_tag}]", lambda m, x, kw=_kw: m.var(x, **kw), shapes=_shapes,
              holomorphic=False),
        unary(f"std[{_tag}]", lambda m, x, kw=_kw: m.std(x, **kw), shapes=_shapes,
              holomorphic=False),
        unary(f"max[{_tag}]", lambda m, x, kw=_kw: m.max(x, **kw) ** 3, shapes=_shapes,
              holomorphic=False),
        unary(f"min[{_tag}]", lambda m, x, kw=_kw: m.min(x ** 2 - x, **kw) ** 2,
              shapes=_shapes, holomorphic=False),
    ]
REDUCTIONS += [
    unary("sum-0d", lambda m, x: m.sum(m.sin(x)) ** 2, shapes=((),)),
    unary("sum-method", lambda m, x: x.sum(axis=0) ** 2 + (x ** 2).mean() * x.prod(),
          shapes=((2, 3),)),
    unary("var-ddof", lambda m, x: m.var(x, axis=-1, ddof=1), shapes=((2, 3),),
          holomorphic=False),
    unary("std-method", lambda m, x: x.std() + x.var(axis=0), shapes=((2, 3),), holomorphic=False),
]
for _axis in (None, 0, -1):
    REDUCTIONS += [
        unary(f"cumsum[axis={_axis}]", lambda m, x, a=_axis: m.cumsum(x, axis=a) ** 2,
              shapes=((2, 3),)),
        unary(f"cumprod[axis={_axis}]", lambda m, x, a=_axis: m.cumprod(x, axis=a),
              domain=POSITIVE, shapes=((2, 3),)),
    ]
for _axis in (0, -1):
    for _n in (1, 2):
        REDUCTIONS.append(unary(f"diff[n={_n},axis={_axis}]",
                                lambda m, x, a=_axis, n=_n: m.diff(x ** 2, n=n, axis=a) ** 2,
                                shapes=((3, 3),)))
REDUCTIONS.append(unary("diff-1d", lambda m, x: m.diff(m.sin(x)) ** 2, shapes=((4,),)))

LINALG = [
    unary("dot-vector", lambda m, x: m.dot(x, x) * m.dot(C3, x), shapes=((3,),)),
    unary("dot-matrix-vector", lambda m, x: m.dot(x, x[:, 0]) ** 2, shapes=((3, 3),)),
    unary("dot-method", lambda m, x: x.dot(x) ** 2, shapes=((3,),)),
    unary("matmul", lambda m, x: m.matmul(x, x) * x, shapes=((3, 3),)),
    unary("matmul-operator", lambda m, x: (C23 @ x) ** 3 + x @ C3 * (x @ x), shapes=((3,),)),
    unary("matmul-rectangular", lambda m, x: m.sin(x) @ x.T, shapes=((2, 3),)),
    unary("matmul-rmatmul", lambda m, x: C23 @ (x @ x), shapes=((3, 3),)),
    unary("outer", lambda m, x: m.outer(x, x ** 2), shapes=((3,),)),
    unary("inner", lambda m, x: m.inner(x, m.sin(x)), shapes=((3,), (2, 3))),
    unary("einsum-trace-cube", lambda m, x: m.einsum("ij,jk,ki->", x, x, x), shapes=((3, 3),)),
    unary("einsum-rows", lambda m, x: m.einsum("ij,ij->i", x, x) ** 2, shapes=((2, 3),)),
    unary("einsum-bilinear", lambda m, x: m.einsum("i,ij,j->", C3[:2], x, x[0]),
          shapes=((2, 3),)),
    unary("tensordot", lambda m, x: m.tensordot(x, x ** 2, axes=1), shapes=((3, 3),)),
    unary("kron", lambda m, x: m.kron(x, x), shapes=((2, 2),)),
    unary("trace", lambda m, x: m.trace(x @ x) * m.trace(x) + x.trace() ** 3, shapes=((3, 3),)),
    unary("det", lambda m, x: m.linalg.det(x), shapes=((2, 2), (3, 3), (4, 4)),
          sample=near_identity),
    unary("log-det", lambda m, x: m.log(m.linalg.det(x)), shapes=((3, 3),), sample=near_identity),
    unary("inv", lambda m, x: m.linalg.inv(x), shapes=((2, 2), (3, 3)), sample=near_identity, holomorphic=False),
    unary("solve-vector", lambda m, x: m.linalg.solve(x, C3), shapes=((3, 3),),
          sample=near_identity, holomorphic=False),
    unary("solve-matrix", lambda m, x: m.linalg.solve(x, C23.T), shapes=((3, 3),),
          sample=near_identity, holomorphic=False),
    unary("norm-vector", lambda m, x: m.linalg.norm(x), shapes=((3,),), holomorphic=False),
    unary("norm-frobenius", lambda m, x: m.linalg.norm(x, "fro") + m.linalg.norm(x),
          shapes=((2, 3),), holomorphic=False),
    unary("norm-axis", lambda m, x: m.linalg.norm(x, axis=1), shapes=((2, 3),),
          holomorphic=False),
    unary("norm-ord-3", lambda m, x: m.linalg.norm(x, ord=3), shapes=((3,),), domain=(0.3, 1.0),
          signed=True, holomorphic=False),
    unary("norm-ord-1", lambda m, x: m.linalg.norm(x, ord=1) ** 2, shapes=((3,),),
          domain=(0.3, 1.0), signed=True, holomorphic=False),
]

STRUCTURAL = [
    unary("reshape", lambda m, x: m.reshape(x, (3, 2)) ** 2 @ x, shapes=((2, 3),)),
    unary("reshape-method", lambda m, x: x.reshape(-1) * x.reshape(6)[::-1] ** 2,
          shapes=((2, 3),)),
    unary("ravel", lambda m, x: m.ravel(x) ** 3 * m.ravel(x)[0], shapes=((2, 3),)),
    unary("transpose", lambda m, x: m.transpose(x) @ m.sin(x), shapes=((2, 3),)),
    unary("transpose-T", lambda m, x: x.T ** 2 * x[:, 0], shapes=((2, 3),)),
    unary("swapaxes-moveaxis", lambda m, x: m.swapaxes(x, 0, 1) * m.moveaxis(x ** 2, 0, -1),
          shapes=((2, 2),)),
    unary("concatenate", lambda m, x: m.concatenate([x, x ** 2, m.sin(x)], axis=-1) ** 2,
          shapes=((3,), (2, 3))),
    unary("stack", lambda m, x: m.stack([x, x * x[::-1]], axis=-1) ** 2, shapes=((3,), (2, 3))),
    unary("hstack-vstack", lambda m, x: m.vstack([x, x ** 2]).ravel() * m.hstack([x, x]) ** 2, shapes=((3,),)),
    unary("broadcast-rows-columns", lambda m, x: x * x[0] + x[:, :1] ** 2 * x,
          shapes=((2, 3),)),
    unary("broadcast-constant", lambda m, x: C23 * x ** 2 + C3 * x, shapes=((3,), (2, 3))),
    unary("broadcast_to", lambda m, x: m.broadcast_to(x, (2, 3)) ** 2 * x, shapes=((3,),)),
    unary("expand-squeeze", lambda m, x: m.squeeze(m.expand_dims(x, 0) ** 2, 0) * x[None, :],
          shapes=((3,),)),
    unary("index-basic", lambda m, x: x[0] * x[1, ::-1] + x[-1, 1:2] ** 3 * x[..., 0, None],
          shapes=((2, 3),)),
    unary("index-scalar", lambda m, x: x[1] ** 2 * x[0] * x[-1], shapes=((3,),)),
    unary("index-integer-array", lambda m, x: x[np.array([2, 0, 2])] ** 2 * x[np.array([1])],
          shapes=((3,),)),
    unary("index-integer-array-2d",
          lambda m, x: x[np.array([0, 1, 1]), np.array([2, 0, 1])] * x[:, np.array([2, 0])].ravel()[:3],
          shapes=((2, 3),)),
    unary("index-boolean-mask", lambda m, x: x[np.array([True, False, True])] ** 3,
          shapes=((3,),)),
    unary("flip-roll-tile-repeat",
          lambda m, x: m.flip(x) * m.roll(x, 1) * m.tile(x, 2)[1:4] + m.repeat(x, 2)[::2] ** 3,
          shapes=((3,),)),
    unary("take-diagonal-triu", lambda m, x: m.take(x, np.array([2, 0])) * m.diagonal(x)[:2]
          + m.sum(m.triu(x) ** 3), shapes=((3, 3),)),
    unary("constants", lambda m, x: m.pi * m.sum((m.eye(3) + m.ones((3, 3))) @ x ** 2)
          + m.arange(3) * x ** 3 + m.e * m.concatenate([m.zeros(1), x[1:] ** 2]),
          shapes=((3,),)),
    unary("constant-closure", lambda m, x: m.sum(C23 @ m.sin(x)) ** 2 + 1.5 ** x,
          shapes=((3,),)),
]

# float32 runs for every element-wise primitive and for a sample of the others; complex128 runs
# for the reductions without keepdims only (keepdims is a layout question, not a dtype one).
_FLOAT32 = {"sum[axis=0,keepdims=False]", "prod[axis=None,keepdims=False]", "var-ddof",
            "cumsum[axis=0]", "matmul", "einsum-rows", "det", "inv", "solve-vector", "norm-vector",
            "reshape", "index-basic", "index-integer-array-2d", "constants"}
ALL = ELEMENTWISE + [
    dataclasses.replace(s, float32=s.name in _FLOAT32,
                        holomorphic=s.holomorphic and "keepdims=True" not in s.name)
    for s in REDUCTIONS + LINALG + STRUCTURAL]


def _cases():
    for spec in ALL:
        for shape in spec.shapes:
            yield pytest.param(spec, shape, np.dtype(np.float64),
                               id=f"{spec.name}-{shape}-float64")
        if spec.float32:
            yield pytest.param(spec, spec.shapes[-1], np.dtype(np.float32),
                               id=f"{spec.name}-{spec.shapes[-1]}-float32")
        if spec.holomorphic:
            yield pytest.param(spec, spec.shapes[-1], np.dtype(np.complex128),
                               id=f"{spec.name}-{spec.shapes[-1]}-complex128")


def sample(spec, shape, dtype, point=0):
    """A deterministic input for ``spec``, different per primitive (and per ``point``)."""
    rng = np.random.default_rng(zlib.crc32(spec.name.encode()) + point)
    if spec.sample is not None:
        x = spec.sample(rng, shape)
    else:
        x = rng.uniform(*spec.domain, shape)
        if spec.signed:
            x = x * rng.choice([-1.0, 1.0], shape)
    if dtype.kind == "c":
        x = x + 1j * rng.uniform(-0.3, 0.3, np.shape(x))
    return np.asarray(x, dtype=dtype)


@functools.lru_cache(maxsize=None)
def compiled(spec, shape, dtype):
    """Symhess's compiled Hessian of ``spec`` at its sample, built once for every test here."""
    x = sample(spec, shape, dtype)
    return symhess.hessian(functools.partial(spec.fun, np), holomorphic=dtype.kind == "c").compile(x)


@pytest.mark.parametrize("spec, shape, dtype", list(_cases()))
def test_primitive_matches_jax(spec, shape, dtype, jax, jnp):
    holomorphic = dtype.kind == "c"
    x = sample(spec, shape, dtype)
    got = compiled(spec, shape, dtype)(x)

    reference_dtype = np.complex128 if holomorphic else np.float64
    reference = jax.jit(jax.hessian(functools.partial(spec.fun, jnp), holomorphic=holomorphic))
    expected = np.asarray(reference(jnp.asarray(x.astype(reference_dtype))))
    assert isinstance(got, np.ndarray)
    assert got.dtype == dtype, f"dtype {got.dtype}, expected {dtype}"
    assert got.shape[got.ndim - 2 * x.ndim:] == x.shape + x.shape
    assert_tree_close(got, expected, dtype)
    assert np.all(np.isfinite(got))


# --- the table on every target, against the autodiff -------------------------------------------
def autodiff_reference(spec, x):
    """The autodiff's Hessian of ``spec`` at ``x`` (in float64, or complex128 when complex)."""
    holomorphic = x.dtype.kind == "c"
    x = x.astype(np.complex128 if holomorphic else np.float64)
    return autodiff.hessian(functools.partial(spec.fun, np), holomorphic=holomorphic)(x)


def _case_id(spec, shape, dtype):
    return f"{spec.name}-{shape}-{np.dtype(dtype).name}"


CASES = {_case_id(*c.values): c.values for c in _cases()}
# One case per primitive for the targets that compile or launch a kernel per case (its last
# shape in float64); the others run in the slow run.
ONE_PER_SPEC = {_case_id(spec, spec.shapes[-1], np.dtype(np.float64)) for spec in ALL}
# Numba's compile of a real kernel printed as Python takes a second or more: a sample by default
# (complex kernels are printed as Python anyway, and compiled once for this whole file).
PYTHON_SAMPLE = {_case_id(spec, spec.shapes[-1], np.dtype(np.float64)) for spec in ALL
                 if spec.name in _FLOAT32 - {"inv", "solve-vector"} or spec.name == "cbrt"}

def _target_cases(target):
    for case_id, (spec, shape, dtype) in CASES.items():
        if target == "numba-llvm":
            run, default = dtype.kind == "f", True
        elif target == "numba-python":
            run, default = dtype.kind in "fc" and dtype != np.float32 and spec.python, \
                dtype.kind == "c" or case_id in PYTHON_SAMPLE
        else:                           # C99 and CUDA: real float64 (C computes in double)
            run, default = dtype == np.float64, case_id in ONE_PER_SPEC
        if not run:
            continue
        marks = [] if default else [pytest.mark.slow]
        yield pytest.param(case_id, id=case_id, marks=marks)


@pytest.mark.parametrize("case_id", list(_target_cases("numba-llvm")))
def test_primitive_on_the_numba_llvm_target(case_id):
    """The default real kernel: Numba calling a function written in LLVM IR."""
    spec, shape, dtype = CASES[case_id]
    x = sample(spec, shape, dtype)
    c = compiled(spec, shape, dtype)
    assert "define void @" in c.source, "the default real kernel is not the LLVM IR one"
    got = c(x)
    assert got.dtype == dtype
    assert_tree_close(got, autodiff_reference(spec, x), dtype)


def _load_module(path, source):
    path.write_text(source)
    module_spec = importlib.util.spec_from_file_location(path.stem, path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("case_id", list(_target_cases("numba-python")))
def test_primitive_on_the_numba_python_target(case_id, tmp_path):
    """The kernel printed as Python for Numba: symhess's own choice for complex Hessians, and
    `codegen.emit_numba` of the same `KernelSpec` for real ones."""
    from symhess.codegen import emit_numba
    spec, shape, dtype = CASES[case_id]
    x = sample(spec, shape, dtype)
    c = compiled(spec, shape, dtype)
    if dtype.kind == "c":
        assert "define void @" not in c.source and "@numba.njit" in c.source
        got = c(x)
    else:
        module = _load_module(tmp_path / "python_kernel.py",
                              emit_numba(c.kernel_spec(), name="hessian", cache=False))
        got = module.hessian(x)
    assert got.dtype == dtype
    expected = autodiff_reference(spec, x)
    assert_tree_close(got.reshape(expected.shape), expected, dtype)


@pytest.fixture(scope="module")
def c_library(tmp_path_factory):
    """``load(case_ids)``: one shared library of the C99 export of every case asked for, built
    by one compiler call, and the function of each case in it (name ``case<k>``)."""
    compiler = shutil.which("cc") or shutil.which("gcc") or shutil.which("clang")
    if compiler is None:
        pytest.skip("no C compiler (cc, gcc or clang) on PATH to build the C99 export")
    folder = tmp_path_factory.mktemp("c99")
    built = {}

    def load(case_ids):
        missing = [c for c in case_ids if c not in built]
        if missing:
            names = {c: f"case{len(built) + k}" for k, c in enumerate(missing)}
            sources = []
            for case_id, name in names.items():
                spec, shape, dtype = CASES[case_id]
                sources += [str(p) for p in symhess.export.save(
                    compiled(spec, shape, dtype), folder / f"{name}.c", name=name) if p.suffix == ".c"]
            library = folder / f"lib{len(built)}.so"
            result = subprocess.run([compiler, "-shared", "-fPIC", "-O1", "-o", str(library),
                                     *sources, "-lm"], capture_output=True, text=True, timeout=600)
            assert result.returncode == 0, result.stderr[-4000:]
            lib = ctypes.CDLL(str(library))
            for case_id, name in names.items():
                built[case_id] = getattr(lib, name)
        return built
    return load


def selected_cases(request, test):
    """The case ids of ``test`` that this run selected (by -m, -k or node ids)."""
    return [item.callspec.params["case_id"] for item in request.session.items
            if getattr(item, "originalname", None) == test]


@pytest.mark.parametrize("case_id", list(_target_cases("c99")))
def test_primitive_on_the_c99_target(case_id, c_library, request):
    spec, shape, dtype = CASES[case_id]
    wanted = selected_cases(request, "test_primitive_on_the_c99_target")   # one build for all
    function = c_library(wanted if case_id in wanted else [case_id])[case_id]
    x = np.ascontiguousarray(sample(spec, shape, dtype), dtype=np.float64)
    expected = autodiff_reference(spec, x)
    out = np.full(expected.size, np.nan)        # the flat buffer: H[out..., x..., x...]
    pointer = ctypes.POINTER(ctypes.c_double)
    function.restype = None
    function.argtypes = [pointer, pointer]
    function(x.ctypes.data_as(pointer), out.ctypes.data_as(pointer))
    assert_tree_close(out.reshape(expected.shape), expected, dtype)


CUDA_SCRIPT = textwrap.dedent("""
    import functools, json, sys, traceback
    import numpy as np
    sys.path.insert(0, sys.argv[1])
    import symhess
    import test_primitives as tp
    case_ids, out = json.loads(sys.argv[2]), sys.argv[3]
    results, errors = {}, {}
    for k, case_id in enumerate(case_ids):
        spec, shape, dtype = tp.CASES[case_id]
        points = np.stack([tp.sample(spec, shape, dtype, point) for point in (0, 1)])
        try:
            H = symhess.hessian(functools.partial(spec.fun, np), batch_axis=0, target="cuda")
            results[f"case{k}"] = np.asarray(H(points))
        except Exception:
            errors[case_id] = traceback.format_exc(limit=3)
    np.savez(out, **results)
    with open(out + ".errors.json", "w") as f:
        json.dump(errors, f)
""")


@pytest.fixture(scope="module")
def cuda_results(tmp_path_factory, request):
    """The batched CUDA Hessians of the cases of this run, computed in one subprocess where
    ``NUMBA_ENABLE_CUDASIM=1`` is set before Numba is imported: ``{case id: array}`` and
    ``{case id: error}``."""
    case_ids = selected_cases(request, "test_primitive_on_the_cuda_target_in_the_simulator")
    folder = tmp_path_factory.mktemp("cuda")
    out = str(folder / "results.npz")
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    result = subprocess.run([sys.executable, "-c", CUDA_SCRIPT, str(Path(__file__).parent),
                             json.dumps(case_ids), out], capture_output=True, text=True,
                            env=env, timeout=900)
    assert result.returncode == 0, result.stderr[-4000:]
    with np.load(out) as data:
        arrays = {case_id: data[f"case{k}"] for k, case_id in enumerate(case_ids)
                  if f"case{k}" in data.files}
    with open(out + ".errors.json") as f:
        errors = json.load(f)
    return arrays, errors


@pytest.mark.parametrize("case_id", list(_target_cases("cuda")))
def test_primitive_on_the_cuda_target_in_the_simulator(case_id, cuda_results):
    spec, shape, dtype = CASES[case_id]
    arrays, errors = cuda_results
    assert case_id not in errors, errors.get(case_id)
    got = arrays[case_id]
    for point in (0, 1):
        x = sample(spec, shape, dtype, point)
        assert_tree_close(got[point], autodiff_reference(spec, x), dtype, path=f"H[{point}]")


def test_complex_hessian_with_constant_entries():
    """A complex kernel storing a constant entry (2) next to a complex one (6 z1)."""
    z = np.array([1.0 + 1.0j, 2.0 - 1.0j])
    got = symhess.hessian(lambda z: z[0] ** 2 + z[1] ** 3, holomorphic=True)(z)
    np.testing.assert_allclose(got, np.diag([2.0, 6.0 * z[1]]), rtol=1e-14)


def test_item_assignment_into_traced_array(jax, jnp):
    def f(x):
        y = x.copy()
        y[0] = x[1] ** 2
        y[1:] = np.sin(x[:2]) * x[2]
        return np.sum(y ** 2 * x)

    def f_jax(x):
        y = x.at[0].set(x[1] ** 2).at[1:].set(jnp.sin(x[:2]) * x[2])
        return jnp.sum(y ** 2 * x)
    x = np.array([0.4, -0.7, 1.3])
    np.testing.assert_allclose(symhess.hessian(f)(x), jax.jit(jax.hessian(f_jax))(x),
                               rtol=1e-10, atol=1e-12)


# --- finite differences of hand-written gradients: no JAX involved ------------------------------
def _neo_hookean(F):
    J = np.linalg.det(F)
    return 0.5 * (np.sum(F * F) - 3.0) - np.log(J) + np.log(J) ** 2


def _neo_hookean_grad(F):
    J = np.linalg.det(F)
    Finv_T = np.linalg.inv(F).T
    return F - Finv_T + 2.0 * np.log(J) * Finv_T


def _rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)


def _rosenbrock_grad(x):
    g = np.zeros_like(x)
    r = x[1:] - x[:-1] ** 2
    g[:-1] += -400.0 * x[:-1] * r - 2.0 * (1.0 - x[:-1])
    g[1:] += 200.0 * r
    return g


_A = np.array([[2.0, 0.5, 0.0], [0.5, 3.0, -0.4], [0.0, -0.4, 1.5]])


def _quadratic_norm(x):
    return np.sqrt(x @ _A @ x) + np.log1p(np.sum(x ** 2)) + np.prod(np.cbrt(x))


def _quadratic_norm_grad(x):
    s = np.sum(x ** 2)
    p = np.prod(np.cbrt(x))
    return _A @ x / np.sqrt(x @ _A @ x) + 2.0 * x / (1.0 + s) + p / (3.0 * x)


def _softplus_tanh(x):
    return np.sum(np.logaddexp(0.0, x) * np.tanh(x[::-1]))


def _softplus_tanh_grad(x):
    sp, th = np.logaddexp(0.0, x), np.tanh(x[::-1])
    sig = 1.0 / (1.0 + np.exp(-x))
    return sig * th + sp[::-1] * (1.0 - np.tanh(x) ** 2)


FD_CASES = [
    ("neo-hookean", _neo_hookean, _neo_hookean_grad,
     np.eye(3) + 0.2 * np.random.default_rng(1).uniform(-1, 1, (3, 3))),
    ("rosenbrock", _rosenbrock, _rosenbrock_grad, np.array([-1.2, 1.0, 0.8, 1.1])),
    ("quadratic-norm", _quadratic_norm, _quadratic_norm_grad, np.array([0.7, -1.3, 0.4])),
    ("softplus-tanh", _softplus_tanh, _softplus_tanh_grad, np.array([-0.8, 0.3, 1.7, 0.1])),
]


def finite_difference_jacobian(grad, x, h=1e-5):
    """Central differences of ``grad``: ``out[i..., j...] = d grad[i...] / d x[j...]``."""
    columns = np.empty(x.shape + x.shape)          # columns[j..., i...]
    for idx in np.ndindex(*x.shape):
        e = np.zeros_like(x)
        e[idx] = h
        columns[idx] = (grad(x + e) - grad(x - e)) / (2 * h)
    axes = tuple(range(x.ndim, 2 * x.ndim)) + tuple(range(x.ndim))
    return np.transpose(columns, axes)


@pytest.mark.parametrize("name, fun, grad, x", FD_CASES, ids=[c[0] for c in FD_CASES])
def test_hessian_matches_finite_differences_of_gradient(name, fun, grad, x):
    got = symhess.hessian(fun)(x)
    expected = finite_difference_jacobian(grad, x)
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6)
    np.testing.assert_allclose(got, np.swapaxes(got.reshape(x.size, x.size), 0, 1)
                               .reshape(got.shape), rtol=1e-12, atol=0)


def test_gradients_used_as_references_are_right():
    """The hand-written gradients agree with central differences of the functions."""
    for name, fun, grad, x in FD_CASES:
        fd = np.empty_like(x)
        for idx in np.ndindex(*x.shape):
            e = np.zeros_like(x)
            e[idx] = 1e-6
            fd[idx] = (fun(x + e) - fun(x - e)) / 2e-6
        np.testing.assert_allclose(grad(x), fd, rtol=1e-6, atol=1e-7, err_msg=name)


def test_closed_forms():
    """Hessians known on paper: a quadratic form, a product, and exp of a linear form."""
    A = np.array([[2.0, -1.0, 0.5], [0.0, 1.0, 3.0], [1.0, 2.0, -2.0]])
    np.testing.assert_allclose(symhess.hessian(lambda x: x @ A @ x)(np.array([0.3, -0.2, 1.0])),
                               A + A.T, rtol=1e-14)
    x = np.array([1.5, -2.0, 0.5])
    expected = np.array([[0.0, x[2], x[1]], [x[2], 0.0, x[0]], [x[1], x[0], 0.0]])
    np.testing.assert_allclose(symhess.hessian(np.prod)(x), expected, rtol=1e-14)
    c = np.array([0.2, -0.7, 1.1])
    np.testing.assert_allclose(symhess.hessian(lambda x: np.exp(c @ x))(x),
                               np.exp(c @ x) * np.outer(c, c), rtol=1e-13)


# --- cancellation-prone arguments: closed forms evaluated by mpmath at 50 digits ----------------
try:
    import mpmath
except ImportError:          # only the tests below need it: they skip
    mpmath = None


@pytest.fixture
def mp():
    """mpmath's context, or a skip when mpmath is not installed."""
    if mpmath is None:
        pytest.skip("mpmath is not installed")
    return mpmath.mp


def _sigmoid(x):
    return 1 / (1 + mpmath.exp(-x))


def _softplus_hessian(x, y):
    s = _sigmoid(x)
    return [[s * _sigmoid(-x) * y ** 2, 2 * y * s], [2 * y * s, 2 * mpmath.log1p(mpmath.exp(x))]]


def _hypot_hessian(x, y):
    r = mpmath.hypot(x, y)
    return [[y * y / r ** 3, -x * y / r ** 3], [-x * y / r ** 3, x * x / r ** 3]]


# (name, f(v) of v = [x, y], closed-form Hessian of (x, y) in mpmath, points (x, y), rtol)
PRECISE = [
    ("log1p", lambda v: np.log1p(v[0]) * v[1] ** 2,
     lambda x, y: [[-y ** 2 / (1 + x) ** 2, 2 * y / (1 + x)], [2 * y / (1 + x), 2 * mpmath.log1p(x)]],
     [(1e-12, 1.5), (-3e-9, 0.7), (1e-6, -2.0)], 1e-12),
    ("expm1", lambda v: np.expm1(v[0]) * v[1] ** 2,
     lambda x, y: [[mpmath.exp(x) * y ** 2, 2 * y * mpmath.exp(x)],
                   [2 * y * mpmath.exp(x), 2 * mpmath.expm1(x)]],
     [(1e-12, 1.5), (-3e-9, 0.7), (1e-6, -2.0)], 1e-12),
    ("softplus-log1p-exp", lambda v: np.log1p(np.exp(v[0])) * v[1] ** 2, _softplus_hessian,
     [(1e-12, 1.5), (-30.0, 0.7), (30.0, -2.0), (700.0, 1.0)], 1e-12),
    ("softplus-logaddexp", lambda v: np.logaddexp(0.0, v[0]) * v[1] ** 2, _softplus_hessian,
     [(1e-12, 1.5), (-30.0, 0.7), (30.0, -2.0), (800.0, 1.0)], 1e-12),
    ("hypot", lambda v: np.hypot(v[0], v[1]), _hypot_hessian,
     [(1e200, 3e200), (-1e-200, 2e-200), (3.0, 4.0), (1e-6, 1.0)], 1e-12),
    # The second derivative of expm1(x)/x is a difference of terms 1e12 times larger than it at
    # x = 1e-6 in any closed form, so its precision is that of the terms (about 1e-16 * 1e12);
    # exp(x) - 1 in place of expm1 gave -113.4 instead of 0.75.
    ("expm1-over-x", lambda v: np.expm1(v[0]) / v[0] * v[1],
     lambda x, y: [[y * (mpmath.exp(x) * (x * x - 2 * x + 2) - 2) / x ** 3,
                    (x * mpmath.exp(x) - mpmath.expm1(x)) / x ** 2],
                   [(x * mpmath.exp(x) - mpmath.expm1(x)) / x ** 2, 0]],
     [(1e-6, 2.25)], 1e-5),
]


@pytest.mark.parametrize("name, fun, closed, points, rtol", PRECISE, ids=[p[0] for p in PRECISE])
def test_precise_primitives_at_cancelling_arguments(name, fun, closed, points, rtol, mp):
    for x, y in points:
        with mp.workdps(50):
            expected = np.array([[float(e) for e in row] for row in closed(mp.mpf(x), mp.mpf(y))])
        got = symhess.hessian(fun)(np.array([x, y]))
        assert np.all(np.isfinite(got)), (x, y, got)
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=0, err_msg=f"{name} at {x, y}")
        if name != "expm1-over-x":
            assert symhess.check(fun, np.array([x, y])).ok


def test_logaddexp_of_two_traced_values_is_precise(mp):
    """logaddexp(a, b) = max + softplus(-|a - b|): far apart, close together, and tied."""
    f = lambda v: np.logaddexp(v[0], v[1])
    for a, b in [(-1e10, 1.0), (3.0, 3.0 + 1e-9), (2.0, 2.0), (-40.0, 40.0)]:
        with mp.workdps(50):
            pa = mpmath.exp(a) / (mpmath.exp(a) + mpmath.exp(b))
            w = float(pa * (1 - pa))
        np.testing.assert_allclose(symhess.hessian(f)(np.array([a, b])),
                                   [[w, -w], [-w, w]], rtol=1e-12, atol=0)


def test_power_of_a_zero_constant_has_no_nan(jax, jnp):
    """np.power(0.0, y) is identically 0 for y > 0: its Hessian is 0, as JAX gives."""
    y = np.array([0.0996, 1.5, 2.0])
    got = symhess.hessian(lambda y: np.sum(np.power(np.zeros(3), y)))(y)
    expected = jax.hessian(lambda y: jnp.sum(jnp.power(jnp.zeros(3), y)))(y)
    np.testing.assert_array_equal(got, np.zeros((3, 3)))
    np.testing.assert_array_equal(got, expected)
    assert symhess.hessian(lambda y: np.power(0.0, y) * y)(0.0996) == 0.0
    # 1.5 ** y and a zero base next to it: the positive base keeps its log(1.5) ** 2 1.5 ** y.
    h = symhess.hessian(lambda y: np.sum(np.power(np.array([0.0, 1.5]), y)))(np.array([0.3, 0.7]))
    np.testing.assert_allclose(h, [[0.0, 0.0], [0.0, np.log(1.5) ** 2 * 1.5 ** 0.7]], rtol=1e-14)


def test_power_of_a_negative_constant_keeps_the_value_and_has_no_derivative():
    """(-2.0) ** y is NumPy's value (-8 at y = 3), defined at integer y only: no derivative."""
    f = lambda v: np.power(-2.0, v[0]) * v[1] + v[1] ** 2
    h = symhess.hessian(f)(np.array([3.0, 1.5]))
    assert np.isnan(h[0, 0]) and np.isnan(h[0, 1]) and np.isnan(h[1, 0]) and h[1, 1] == 2.0
    assert symhess.hessian(lambda v: np.power(-2.0, v[1]) * v[0] ** 2)(np.array([1.0, 3.0]))[0, 0] \
        == 2 * (-8.0)


def test_conditions_used_as_numbers_and_numbers_as_conditions(jax, jnp):
    """``(k > 2) == 0``, ``1 - (k > 2)``, ``np.where(k, a, b)`` with numeric ``k`` and
    ``np.logical_and`` of data comparisons inside ``log1p`` summed over data (element
    templates): NumPy's semantics of booleans, and the Hessian JAX gives."""
    def f(t, k, xp=np):
        on = k > 2
        return (xp.sum(xp.where(on == 0, 1.0, 2.0) * t[0] ** 2) + xp.sum((1 - on) * t[1] ** 3)
                + xp.sum(xp.where(k, t[0], t[1]) ** 2)
                + xp.sum(k * xp.log1p(xp.where(xp.logical_and(k == 0, t[1] <= -1), 0.0,
                                                t[0] ** 2)))
                + xp.sum(xp.where(xp.logical_or(k < 1, xp.logical_not(on)), t[0], 0.0) ** 4))

    k = np.array([0.0, 1.0, 3.0, 4.0, 0.0, 2.0, 5.0, 1.0, 3.0, 0.0])
    t = np.array([0.7, -0.4])
    want = np.asarray(jax.hessian(lambda t: f(t, k, jnp))(t))
    for templates in (None, False):
        got = symhess.hessian(f, tier="scalar", templates=templates, check=True)(t, k)
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_conditions_compared_with_each_other_inside_a_function_kept_whole(jax, jnp):
    """``(a < 0) != (b < 0)`` and a condition compared with a value, inside ``log1p`` (a node
    SymEngine rebuilds through SymPy, which rewrites such comparisons into an ``ITE`` that
    SymEngine cannot read back): the Hessian JAX gives, for element sums and plain terms."""
    def f(t, k, xp=np):
        differ = (t[0] * k < 0) != (t[1] < 0)
        return (xp.sum(xp.log1p(xp.where(differ, t[0] ** 2, t[1] ** 2)) * t[1])
                + xp.log1p(xp.where((t[0] < 0) < t[1], t[1] ** 4, t[0] ** 2)) * t[0])

    k = np.array([1.0, -2.0, 0.5, -0.25])
    for t in (np.array([0.7, -0.4]), np.array([-0.3, 0.9])):
        want = np.asarray(jax.hessian(lambda t: f(t, k, jnp))(t))
        for templates in (None, False):
            got = symhess.hessian(f, tier="scalar", templates=templates, check=True)(t, k)
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_nan_and_inf_constants_compare_as_numpy_compares_them(jax, jnp):
    """Data holding NaN and +-inf: ``x != x`` is NumPy's NaN test (SymEngine would fold it to
    False), a NaN constant orders as False (SymEngine refuses to order it), ``np.isnan``,
    ``np.isinf``, ``np.isfinite`` and ``np.nan_to_num`` read the values at run time, and a
    function kept whole whose argument becomes NaN when an element template renames it is
    rebuilt as NaN (the error inside SymEngine's rebuild ended the process): every tier gives
    JAX's Hessian, NaN where JAX's is."""
    y = np.array([0.0, np.nan, np.inf, -np.inf])

    def functions(xp):
        return [
            lambda x: xp.sum(xp.sin(xp.nan_to_num(x + y))),
            lambda x: xp.sum(xp.where(xp.isnan(x + y), x ** 2, xp.where(
                xp.isinf(x + y), x ** 3, xp.where(xp.isfinite(x + y), xp.sin(x), 0.0)))),
            lambda x: xp.sum(xp.where(x + y < 1.0, x ** 2, x ** 3)),
            lambda x: xp.sum(xp.maximum(x + y, 0.0) * x),
            lambda x: xp.sum(xp.log1p(xp.where(x + y != x + y, x ** 2, 1.0))),
        ]

    x = np.array([0.3, -0.5, 0.8, 1.1])
    for f, g in zip(functions(np), functions(jnp)):
        want = np.asarray(jax.hessian(g)(x))
        for tier in ("scalar", "array"):
            np.testing.assert_allclose(symhess.hessian(f, tier=tier)(x), want, rtol=1e-12,
                                       atol=1e-12, equal_nan=True)
    t = np.array([0.7, -0.4])
    k = np.array([1.0, np.nan, 0.5, np.inf, 2.0, np.nan] * 3)
    f = lambda t, k, xp=np: xp.sum(xp.log1p((t[0] * k) ** 2) * t[1] ** 2)  # noqa: E731
    want = np.asarray(jax.hessian(lambda t: f(t, k, jnp))(t))
    got = symhess.hessian(f, tier="scalar", templates=True)(t, k)
    np.testing.assert_allclose(got, want, equal_nan=True)


@pytest.mark.parametrize("tier", ["scalar", "array"])
def test_a_nan_in_one_term_leaves_the_other_terms_derivatives(tier, jax, jnp):
    """A sum of a few terms with a selection in each (``abs``, ``where``, ``clip``,
    ``fmax``), one term NaN and one infinite: the gradient and the Hessian block of the
    variables whose terms are all numbers are JAX's. SymEngine differentiates a selection by
    a variable it does not read to a selection of zeros, which times the NaN term's own factor
    made every entry NaN (`symhess.derive`). (Within one term, a selection's zero derivative
    times an infinite factor is NaN, where JAX's select gives 0.)"""
    def functions(xp):
        return [lambda x: xp.sum(xp.abs(x) ** 3),
                lambda x: xp.sum(xp.where(x > 0, x, 2 * x) ** 3),
                lambda x: xp.sum(xp.clip(x, -1.5, 1.5) ** 2 * xp.sin(x)),
                lambda x: xp.sum(xp.fmax(x[1:], x[:-1]) ** 2 * x[1:])]
    x = np.array([np.nan, 1.0, -2.0, 0.5, np.inf, 0.7])
    finite = np.isfinite(x)
    pairs = finite & np.isfinite(np.roll(x, 1)) & np.isfinite(np.roll(x, -1))
    for n, (f, g) in enumerate(zip(functions(np), functions(jnp))):
        clean = pairs if n == 3 else finite     # the pairs' terms read two neighbours
        grad, H = symhess.grad(f, tier=tier)(x), symhess.hessian(f, tier=tier)(x)
        np.testing.assert_allclose(grad[clean], np.asarray(jax.grad(g)(x))[clean], rtol=1e-13)
        block = np.ix_(clean, clean)
        np.testing.assert_allclose(H[block], np.asarray(jax.hessian(g)(x))[block], rtol=1e-13,
                                   atol=1e-13)


@pytest.mark.parametrize("tier", ["scalar", "array", "autodiff"])
@pytest.mark.parametrize("uf", [np.maximum, np.minimum, np.fmax, np.fmin],
                         ids=lambda uf: uf.__name__)
def test_maximum_and_fmax_of_nan_as_numpy(uf, tier, jax, jnp):
    """``np.maximum`` and ``np.minimum`` of a NaN are NaN whichever operand it is, ``np.fmax``
    and ``np.fmin`` the other operand, as NumPy's; ties take the first operand. Values
    against NumPy, and the derivatives of ordered operands against JAX. (The scalar tier's
    ``maximum`` and ``minimum`` of a NaN first operand are the second: docs/contract.md.)"""
    nan = np.nan
    a = np.array([nan, 1.0, nan, 2.0, 1.0, 1.5, -3.0])
    b = np.array([1.0, nan, nan, 1.0, 2.0, 1.5, -0.5])
    if tier == "scalar" and uf in (np.maximum, np.minimum):
        a, b = a[1:], b[1:]

    def f(xp, x):
        return xp.sum(getattr(xp, uf.__name__)(x[:a.size], x[a.size:]) ** 3)
    x = np.concatenate([a, b])
    if tier == "autodiff":
        got = autodiff.derivatives(lambda x: f(np, x), (x,), order=1)
        value, grad = got.value_tree(), got.gradient_tree()
    else:
        value, grad = symhess.value_and_grad(lambda x: f(np, x), tier=tier)(x)
    np.testing.assert_equal(value, f(np, x))
    terms = uf(a, b) ** 3
    term = lambda y: uf(y[0], y[1]) ** 3                           # noqa: E731
    for k in range(a.size):          # each term alone: NaN or a number, as NumPy's
        y = np.array([a[k], b[k]])
        one = (autodiff.derivatives(term, (y,), order=1).value_tree() if tier == "autodiff"
               else symhess.value_and_grad(term, tier=tier)(y)[0])
        np.testing.assert_equal(one, terms[k])
    x0 = np.where(np.tile(np.isnan(a) | np.isnan(b), 2), 0.0, x)       # the NaNs made 0
    want = jax.grad(lambda x: f(jnp, x))(x0)
    got0 = (autodiff.derivatives(lambda x: f(np, x), (x0,), order=1).gradient_tree()
            if tier == "autodiff" else symhess.value_and_grad(lambda x: f(np, x), tier=tier)(x0)[1])
    tie = np.tile(a == b, 2)         # JAX splits a tie's derivative; NumPy's rule and ours pick one
    np.testing.assert_allclose(got0[~tie], np.asarray(want)[~tie], rtol=1e-14)
    if tier == "autodiff":          # forward mode: a NaN term's gradient is NaN * its zeros,
        return                      # NaN in every entry (as jax.jacfwd's)
    # With NaNs in other terms, JAX's derivatives of the terms that are numbers (a NaN once
    # made every entry NaN: 0 * NaN, `symhess.derive`).
    want = np.asarray(jax.grad(lambda x: f(jnp, x))(x))
    number = np.tile(~np.isnan(terms), 2) & ~tie
    np.testing.assert_allclose(grad[number], want[number], rtol=1e-14)
    assert np.isnan(grad).any() == np.isnan(terms).any()


def test_a_nan_constant_in_a_branch_leaves_the_derivatives_right():
    """``scipy.stats.norm.ppf`` and ``isf`` hold NaN in their edge branches: a NaN constant must
    be SymEngine's own (a float NaN is unequal to itself, and SymEngine's maps of terms then
    merged and dropped terms: the scale block's signs flipped). Closed form: the product's
    second derivative in each scale is ``-2 ndtri(q)^2``."""
    from scipy import stats
    from scipy.special import ndtri

    q, loc, scale = np.array([0.82, 0.86, 0.67, 0.24]), np.array([0.1, -0.3, 0.5, 1.2]), \
        np.array([1.2, 0.8, 1.5, 2.0])
    f = lambda q, loc, scale: np.sum(stats.norm.ppf(q, loc, scale)      # noqa: E731
                                     * stats.norm.isf(q, loc, scale))
    H = symhess.hessian(f, argnums=(0, 2), check=True)(q, loc, scale)
    np.testing.assert_allclose(np.diag(H[1][1]), -2 * ndtri(q) ** 2, rtol=1e-12)
    np.testing.assert_allclose(H[1][1] - np.diag(np.diag(H[1][1])), 0.0)
