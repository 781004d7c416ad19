"""Rules of NumPy's matrix functions for the autodiff's jets, by matrix calculus.

``det``, ``inv`` (and ``solve`` through it), ``slogdet``, ``cholesky`` and ``eigh`` on stacks of
matrices in the last two axes. They need nonsingular matrices (``eigh``: distinct eigenvalues
for its eigenvector derivatives). Each rule also carries its rounding bound: the same formulas
in absolute values, scaled by how much the factorization may amplify rounding.
"""

from __future__ import annotations

import numpy as np

from ..errors import OperandError
from ..foreign import EighResult
from .jet import Jet, function, make

def _square(name, a):
    if np.ndim(a) < 2 or np.shape(a)[-1] != np.shape(a)[-2]:
        raise OperandError(f"{name} needs square matrices in the last two axes; got {np.shape(a)}")
    return a


@function(np.linalg.det)
def _det(func, a):
    """d det = det tr(A^-1 dA); the second derivative adds tr X_k tr X_l - tr(X_k X_l)."""
    if not isinstance(_square("np.linalg.det", a), Jet):
        return np.linalg.det(a)
    s, r = a.seed, slice(a.seed.r0, a.seed.r1)
    det, inv = np.linalg.det(a.v), np.linalg.inv(a.v)
    x = np.einsum("...ij,...jkn->...ikn", inv, a.g)
    tr = np.einsum("...iin->...n", x)
    h = (np.einsum("...ij,...jicn->...cn", inv, a.h) + tr[..., r, None] * tr[..., None, :]
         - np.einsum("...ijc,...jin->...cn", x[..., r], x))
    # Rounding bound: the same formulas in absolute values, times n and Skeel's condition number.
    p, gm, hm = np.abs(inv), np.abs(a.g) + a.mg, np.abs(a.h) + a.mh
    xm = np.einsum("...ij,...jkn->...ikn", p, gm)
    trm = np.einsum("...iin->...n", xm)
    hb = (np.einsum("...ij,...jicn->...cn", p, hm) + trm[..., r, None] * trm[..., None, :]
          + np.einsum("...ijc,...jin->...cn", xm[..., r], xm))
    scale = _lu_scale(a) * np.abs(det)
    return make(s, det, det[..., None] * tr, det[..., None, None] * h,
                (scale, scale[..., None] * trm, scale[..., None, None] * hb))


@function(np.linalg.inv)
def _inv(func, a):
    """d inv = -Y dA Y; the second derivative is Y A_k Y A_l Y + Y A_l Y A_k Y - Y A_kl Y."""
    if not isinstance(_square("np.linalg.inv", a), Jet):
        return np.linalg.inv(a)
    r = slice(a.seed.r0, a.seed.r1)
    y = np.linalg.inv(a.v)
    p = np.einsum("...ij,...jkn->...ikn", y, a.g)
    g = -np.einsum("...ijn,...jk->...ikn", p, y)
    h = (np.einsum("...ijc,...jkn,...kl->...ilcn", p[..., r], p, y)
         + np.einsum("...ijn,...jkc,...kl->...ilcn", p, p[..., r], y)
         - np.einsum("...ij,...jkcn,...kl->...ilcn", y, a.h, y))
    # Rounding bound: the same formulas in absolute values, times n and Skeel's condition number.
    q, gm, hm = np.abs(y), np.abs(a.g) + a.mg, np.abs(a.h) + a.mh
    pm = np.einsum("...ij,...jkn->...ikn", q, gm)
    gb = np.einsum("...ijn,...jk->...ikn", pm, q)
    hb = (2 * np.einsum("...ijc,...jkn,...kl->...ilcn", pm[..., r], pm, q)
          + np.einsum("...ij,...jkcn,...kl->...ilcn", q, hm, q))
    scale = _lu_scale(a)[..., None, None]
    return make(a.seed, y, g, h, (scale * q, scale[..., None] * gb, scale[..., None, None] * hb))


@function(np.linalg.slogdet)
def _slogdet(func, a):
    """``(sign(det), log|det|)``, through the determinant's own rule."""
    if not isinstance(_square("np.linalg.slogdet", a), Jet):
        return np.linalg.slogdet(a)
    det = _det(np.linalg.det, a)
    return np.sign(det), np.log(np.abs(det))


def _lower(x, at):
    """The symmetric matrices of the lower triangles of ``x``'s matrices on axes ``at, at+1``
    (what ``np.linalg.cholesky`` reads)."""
    x = np.moveaxis(x, (at, at + 1), (-2, -1))
    n = x.shape[-1]
    out = x * np.tril(np.ones((n, n))) + np.swapaxes(x * np.tril(np.ones((n, n)), -1), -1, -2)
    return np.moveaxis(out, (-2, -1), (at, at + 1))


def _phi(x, at):
    """The lower triangle with half the diagonal, on axes ``at, at+1``."""
    x = np.moveaxis(x, (at, at + 1), (-2, -1))
    n = x.shape[-1]
    return np.moveaxis(x * (np.tril(np.ones((n, n))) - 0.5 * np.eye(n)), (-2, -1), (at, at + 1))


@function(np.linalg.cholesky)
def _cholesky(func, a, upper=False):
    """``dL = L Y`` with ``Y = Phi(X)``, ``X = L^-1 dS L^-T``; the second derivative is
    ``L (Y_n Y_c + Phi(L^-1 S_cn L^-T - Y_n X_c - X_c Y_n^T))``."""
    if not isinstance(_square("np.linalg.cholesky", a), Jet):
        return np.linalg.cholesky(a, upper=upper) if upper else np.linalg.cholesky(a)
    r, k = slice(a.seed.r0, a.seed.r1), a.ndim
    with np.errstate(invalid="ignore"):
        try:
            chol = np.linalg.cholesky(a.v)
        except np.linalg.LinAlgError:
            chol = np.full(a.shape, np.nan)
    li = np.linalg.inv(chol)
    sg, sh = _lower(a.g, k - 2), _lower(a.h, k - 2)
    x = np.einsum("...ij,...jkn,...lk->...iln", li, sg, li)
    y = _phi(x, k - 2)
    g = np.einsum("...ij,...jkn->...ikn", chol, y)
    inner = (np.einsum("...ij,...jkcn,...lk->...ilcn", li, sh, li)
             - np.einsum("...ijn,...jkc->...ikcn", y, x[..., r])
             - np.einsum("...ijc,...kjn->...ikcn", x[..., r], y))
    h = np.einsum("...ij,...jkcn->...ikcn", chol,
                  np.einsum("...ijn,...jkc->...ikcn", y, y[..., r]) + _phi(inner, k - 2))
    # Rounding bound: the same formulas in absolute values, times n and Skeel's condition number.
    q, lm = np.abs(li), np.abs(chol)
    xm = np.einsum("...ij,...jkn,...lk->...iln", q, _lower(np.abs(a.g) + a.mg, k - 2), q)
    hm = np.einsum("...ij,...jkcn,...lk->...ilcn", q, _lower(np.abs(a.h) + a.mh, k - 2), q)
    hm = hm + 2 * np.einsum("...ijn,...jkc->...ikcn", xm, xm[..., r])
    gb = np.einsum("...ij,...jkn->...ikn", lm, xm)
    hb = np.einsum("...ij,...jkcn->...ikcn", lm,
                   np.einsum("...ijn,...jkc->...ikcn", xm, xm[..., r]) + hm)
    scale = _lu_scale(a)[..., None, None]
    result = make(a.seed, chol, g, h,
                  (scale * lm, scale[..., None] * gb, scale[..., None, None] * hb))
    return np.swapaxes(result, -1, -2) if upper else result


def _lu_scale(a):
    """Per matrix, ``n || |A^-1| |A| ||_inf`` (how much an LU solve may amplify rounding) plus
    ``sum |A^-1|^T * m_A`` (how much the entries' own errors move the result, relatively)."""
    n = a.shape[-1]
    p = np.abs(np.linalg.inv(a.v))
    skeel = np.sum(p @ np.abs(a.v), axis=-1).max(axis=-1)
    return n * skeel + np.einsum("...ij,...ji->...", p, a.mv)


@function(np.linalg.solve)
def _solve(func, a, b):
    return np.matmul(np.linalg.inv(a), b)


def _symmetric(x, at, uplo):
    """The symmetric matrices of ``x``'s lower (``uplo="L"``) or upper triangles on axes
    ``at, at+1``: what ``np.linalg.eigh`` reads."""
    if uplo == "L":
        return _lower(x, at)
    return np.swapaxes(_lower(np.swapaxes(x, at, at + 1), at), at, at + 1)


def _eigen(a, uplo):
    """Values, first and second derivatives of ``w, V = eigh(S)``.

    With ``P_n = V^T S_n V``, ``F_ij = 1 / (w_j - w_i)`` (0 on the diagonal) and
    ``C_n = P_n * F``: ``w_n = diag(P_n)``, ``V_n = V C_n``; differentiating those along ``c``
    (``P_n`` moves by ``P_n C_c - C_c P_n + V^T S_cn V`` and ``F`` by ``-(w_cj - w_ci) F^2``)
    gives ``w_cn = diag(V^T S_cn V) - 2 sum_j P_n P_c F`` and ``V_cn = V (C_c C_n + C_cn)``.
    Equal eigenvalues make ``F`` infinite: the eigenvector derivatives are then NaN.
    """
    r, k = slice(a.seed.r0, a.seed.r1), a.ndim
    w, v = np.linalg.eigh(a.v, UPLO=uplo)
    sg, sh = _symmetric(a.g, k - 2, uplo), _symmetric(a.h, k - 2, uplo)
    n = w.shape[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        f = np.where(np.eye(n, dtype=bool), 0.0, 1.0 / (w[..., None, :] - w[..., :, None]))
    p = np.einsum("...ji,...jkn,...kl->...iln", v, sg, v)
    q = np.einsum("...ji,...jkcn,...kl->...ilcn", v, sh, v)
    c = p * f[..., None]
    pc, cc = p[..., r], c[..., r]
    wg = np.einsum("...iin->...in", p)
    wh = np.einsum("...iicn->...icn", q) - 2 * np.einsum("...ijn,...ijc,...ij->...icn", p, pc, f)
    wc = np.einsum("...iic->...ic", pc)
    df = -(wc[..., None, :, :] - wc[..., :, None, :]) * (f * f)[..., None]
    dp = (np.einsum("...ijn,...jkc->...ikcn", p, cc) - np.einsum("...ijc,...jkn->...ikcn", cc, p)
          + q)
    dc = dp * f[..., None, None] + p[..., None, :] * df[..., :, None]
    vg = np.einsum("...ij,...jkn->...ikn", v, c)
    vh = np.einsum("...ij,...jkcn->...ikcn", v, np.einsum("...ijc,...jkn->...ikcn", cc, c) + dc)
    # Rounding bound: the same formulas in absolute values, scaled by n (1 + |S| max|F|), the
    # amplification of a perturbation of size eps |S| by the smallest gap.
    am, fm = np.abs(v), np.abs(f)
    pm = np.einsum("...ji,...jkn,...kl->...iln", am, _symmetric(np.abs(a.g) + a.mg, k - 2, uplo),
                   am)
    qm = np.einsum("...ji,...jkcn,...kl->...ilcn", am, _symmetric(np.abs(a.h) + a.mh, k - 2, uplo),
                   am)
    cm = pm * fm[..., None]
    wgm = np.einsum("...iin->...in", pm)
    whm = np.einsum("...iicn->...icn", qm) + 2 * np.einsum("...ijn,...ijc,...ij->...icn", pm,
                                                              pm[..., r], fm)
    wcm = np.einsum("...iic->...ic", pm[..., r])
    dfm = (wcm[..., None, :, :] + wcm[..., :, None, :]) * (fm * fm)[..., None]
    dcm = ((2 * np.einsum("...ijn,...jkc->...ikcn", pm, cm[..., r]) + qm) * fm[..., None, None]
           + pm[..., None, :] * dfm[..., :, None])
    vgm = np.einsum("...ij,...jkn->...ikn", am, cm)
    vhm = np.einsum("...ij,...jkcn->...ikcn", am,
                    np.einsum("...ijc,...jkn->...ikcn", cm[..., r], cm) + dcm)
    size = np.abs(a.v).max(axis=(-2, -1)) + np.abs(a.mv).max(axis=(-2, -1))
    scale = n * (1 + size * fm.max(axis=(-2, -1)))
    s1, s2 = scale[..., None], scale[..., None, None]
    values = make(a.seed, w, wg, wh, (s1 * size[..., None], s2 * wgm, s2[..., None] * whm))
    vectors = make(a.seed, v, vg, vh, (s2 * am, s2[..., None] * vgm, s2[..., None, None] * vhm))
    return values, vectors


@function(np.linalg.eigh)
def _eigh(func, a, UPLO="L"):
    """``(w, V)`` of the symmetric matrices of ``a``'s ``UPLO`` triangles (`_eigen`)."""
    if not isinstance(_square("np.linalg.eigh", a), Jet):
        return np.linalg.eigh(a, UPLO=UPLO)
    w, v = _eigen(a, UPLO)
    return EighResult(w, v)


@function(np.linalg.eigvalsh)
def _eigvalsh(func, a, UPLO="L"):
    """The eigenvalues of `_eigh`."""
    if not isinstance(_square("np.linalg.eigvalsh", a), Jet):
        return np.linalg.eigvalsh(a, UPLO=UPLO)
    return _eigen(a, UPLO)[0]
