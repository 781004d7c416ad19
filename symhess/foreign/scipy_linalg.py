"""``scipy.linalg``'s dense functions written in NumPy, for traced arrays.

Each definition takes SciPy's arguments and computes SciPy's value with NumPy calls that the
tracers know (``np.linalg.solve``, ``cholesky``, ``eigh``, ``tril``/``triu``), reading the same
entries as SciPy: a Cholesky factor, a triangular solve or a symmetric solve reads one triangle
of its matrix, so its derivative is that of the triangle, as for NumPy's ``cholesky``. Options
that only tune memory or checks (``overwrite_*``, ``check_finite``, ``driver``) are accepted
and have nothing to do on a traced array.

A triangular or Cholesky solve is a solve with the triangular (or reassembled) matrix: one
inverse per matrix in the compiled kernel, shared by every right-hand side and derivative term.
"""

from __future__ import annotations

import numpy as np

from ..errors import OptionValueError

__all__ = ["DEFINITIONS"]

_T = (-1, -2)


def _transpose(a):
    return np.swapaxes(a, *_T)


def _triangle(a, lower: bool, unit_diagonal: bool = False):
    """The triangle of ``a`` that SciPy reads (its diagonal ones if ``unit_diagonal``)."""
    if not unit_diagonal:
        return np.tril(a) if lower else np.triu(a)
    strict = np.tril(a, -1) if lower else np.triu(a, 1)
    return strict + np.eye(np.shape(a)[-1])


def _symmetric(a, lower: bool):
    """The symmetric matrix that one triangle of ``a`` stands for."""
    t = _triangle(a, lower)
    return t + _transpose(np.tril(a, -1) if lower else np.triu(a, 1))


_STRUCTURES = {
    None: "general", "gen": "general", "general": "general",
    "sym": "symmetric", "symmetric": "symmetric", "her": "symmetric", "hermitian": "symmetric",
    "pos": "symmetric", "positive definite": "symmetric",
    "diagonal": "diagonal", "tridiagonal": "tridiagonal",
    "upper triangular": "upper", "lower triangular": "lower", "banded": "general",
}
_INV_STRUCTURES = (None, "gen", "general", "sym", "her", "pos", "upper triangular",
                   "lower triangular")     # what scipy.linalg.inv accepts


def _structured(a, assume_a, lower: bool, function: str, accepted=tuple(_STRUCTURES)):
    """The matrix SciPy's ``solve``/``inv`` use for ``assume_a``: the entries it reads."""
    if assume_a not in accepted:
        raise OptionValueError(f"scipy.linalg.{function}: assume_a={assume_a!r} is not one of "
                               f"{[k for k in accepted if k]}")
    structure = _STRUCTURES[assume_a]
    n = np.shape(a)[-1]
    if structure == "symmetric":
        return _symmetric(a, lower)
    if structure in ("upper", "lower"):
        return _triangle(a, structure == "lower")
    if structure == "diagonal":
        return a * np.eye(n)
    if structure == "tridiagonal":
        i = np.arange(n)
        return a * (np.abs(i[:, None] - i[None, :]) <= 1).astype(float)
    return a


def cholesky(a, lower=False, overwrite_a=False, check_finite=True):
    """``scipy.linalg.cholesky``: the upper factor ``U`` (``U.T @ U = a``) from the upper
    triangle, or the lower one from the lower triangle."""
    if lower:
        return np.linalg.cholesky(a)
    return _transpose(np.linalg.cholesky(_transpose(a)))


def cho_factor(a, lower=False, overwrite_a=False, check_finite=True):
    """``scipy.linalg.cho_factor``: ``(c, lower)``, ``c`` the factor in one triangle and
    ``a``'s own entries in the other (what SciPy leaves there)."""
    factor = cholesky(a, lower)
    rest = np.triu(a, 1) if lower else np.tril(a, -1)
    return factor + rest, lower


def cho_solve(c_and_lower, b, overwrite_b=False, check_finite=True):
    """``scipy.linalg.cho_solve``: ``x`` with ``(c c^T) x = b`` (``c^T c`` for an upper
    factor), reading only the factor's triangle of ``c``."""
    c, lower = c_and_lower
    t = _triangle(c, lower)
    a = t @ _transpose(t) if lower else _transpose(t) @ t
    return np.linalg.solve(a, b)


def solve_triangular(a, b, trans=0, lower=False, unit_diagonal=False, overwrite_b=False,
                     check_finite=True):
    """``scipy.linalg.solve_triangular``: ``x`` with ``T x = b`` (``T^T x = b`` for
    ``trans`` 1, 2, ``'T'`` or ``'C'``), ``T`` the triangle of ``a``."""
    if trans not in (0, 1, 2, "N", "T", "C"):
        raise OptionValueError(f"scipy.linalg.solve_triangular: trans={trans!r} is not one of "
                               "0, 1, 2, 'N', 'T', 'C'")
    t = _triangle(a, lower, unit_diagonal)
    if trans not in (0, "N"):
        t = _transpose(t)
    return np.linalg.solve(t, b)


def solve(a, b, lower=False, overwrite_a=False, overwrite_b=False, check_finite=True,
          assume_a=None, transposed=False):
    """``scipy.linalg.solve``: ``x`` with ``a x = b`` (``a^T x = b`` if ``transposed``),
    reading the entries that ``assume_a`` names."""
    m = _structured(a, assume_a, lower, "solve")
    return np.linalg.solve(_transpose(m) if transposed else m, b)


def inv(a, overwrite_a=False, check_finite=True, *, assume_a=None, lower=False):
    """``scipy.linalg.inv``."""
    return np.linalg.inv(_structured(a, assume_a, lower, "inv", _INV_STRUCTURES))


def det(a, overwrite_a=False, check_finite=True):
    """``scipy.linalg.det``."""
    return np.linalg.det(a)


def _checked(function, b, type_, subset_by_value):
    """Refuse what has no meaning on a traced matrix, before any work."""
    if b is not None or type_ != 1:
        raise OptionValueError(f"scipy.linalg.{function}: the generalized eigenproblem (b=...) "
                               "is not supported on traced arrays; with b = L L^T positive "
                               "definite, solve the standard problem of inv(L) a inv(L)^T")
    if subset_by_value is not None:
        raise OptionValueError(f"scipy.linalg.{function}: subset_by_value selects eigenvalues by "
                               "their traced values; use subset_by_index")


def _subset(x, subset_by_index):
    """The eigenvalues (or eigenvector columns) ``lo..hi`` of ``subset_by_index``."""
    if subset_by_index is None:
        return x
    lo, hi = subset_by_index
    return x[..., lo:hi + 1]


def eigh(a, b=None, *, lower=True, eigvals_only=False, overwrite_a=False, overwrite_b=False,
         type=1, check_finite=True, subset_by_index=None, subset_by_value=None, driver=None):
    """``scipy.linalg.eigh`` of the standard problem: eigenvalues ascending (and eigenvectors
    in columns) of the symmetric matrix of ``a``'s lower (or upper) triangle."""
    _checked("eigh", b, type, subset_by_value)
    uplo = "L" if lower else "U"
    if eigvals_only:
        return _subset(np.linalg.eigvalsh(a, UPLO=uplo), subset_by_index)
    w, v = np.linalg.eigh(a, UPLO=uplo)
    return _subset(w, subset_by_index), _subset(v, subset_by_index)


def eigvalsh(a, b=None, *, lower=True, overwrite_a=False, overwrite_b=False, type=1,
             check_finite=True, subset_by_index=None, subset_by_value=None, driver=None):
    """``scipy.linalg.eigvalsh`` of the standard problem."""
    _checked("eigvalsh", b, type, subset_by_value)
    return _subset(np.linalg.eigvalsh(a, UPLO="L" if lower else "U"), subset_by_index)


DEFINITIONS = {f.__name__: f for f in (cholesky, cho_factor, cho_solve, solve_triangular, solve,
                                        inv, det, eigh, eigvalsh)}
