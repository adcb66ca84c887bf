"""Scores of many small supports at once, for the exhaustive search of
:func:`discover.sparse.small_supports`.

Few data (two circles of a charge in a magnetic field, say) can admit a second exact model in a
rich library; the fit over all terms is then an arbitrary mix of the two, from which
thresholding and elimination do not find the sparse one.  Small supports are cheap to
enumerate — but one least-squares fit per support, each through a Python call, cost seconds
on a 50-term tier (≈ 20 000 supports).  With one normalization row the fits of all supports of
one size are the same small computation on stacked matrices: the constraint aᵀx = 1 is
eliminated at the pivot term (the largest |a_k| in the support, as the column-pivoted QR of
:func:`discover.sparse.constrained_fit` chooses it) and the remaining (K × (s − 1)) least-squares
problems are solved by one stacked Householder QR.
"""
from __future__ import annotations

import numpy as np

__all__ = ["one_row_scores"]


def one_row_scores(R: np.ndarray, a: np.ndarray, C: np.ndarray) -> np.ndarray:
    """min ‖R_S x‖ subject to a_Sᵀx = 1 for every support S (a row of C); inf where the
    support cannot carry the normalization or leaves two models (rank-deficient reduced
    problem), with the tolerances of :func:`discover.sparse.constrained_fit`."""
    n, s = C.shape
    aS = a[C]                                               # (n, s)
    pos = np.argmax(np.abs(aS), axis=1)                     # pivot: largest |a_k|, first on ties
    ap = aS[np.arange(n), pos]
    score = np.full(n, np.inf)
    good = ap != 0
    xp = np.divide(1.0, ap, out=np.zeros(n), where=good)
    p = C[np.arange(n), pos]
    if s == 1:
        score[good] = np.linalg.norm(R[:, p[good]], axis=0) * np.abs(xp[good])
        return score
    if s - 1 > R.shape[0]:
        return score
    others = np.ones((n, s), dtype=bool)
    others[np.arange(n), pos] = False
    f = C[others].reshape(n, s - 1)                         # the free terms, in support order
    E = np.divide(a[f], ap[:, None], out=np.zeros((n, s - 1)), where=good[:, None])
    Rp = R[:, p].T                                          # (n, K)
    B = np.transpose(R[:, f], (1, 0, 2)) - Rp[:, :, None] * E[:, None, :]   # (n, K, s − 1)
    Q, Rb = np.linalg.qr(B)
    d = np.abs(np.diagonal(Rb, axis1=1, axis2=2))
    full = (d.max(axis=1) > 0) & (d.min(axis=1) > 1e-11 * d.max(axis=1)) & good
    rhs = np.einsum("nkj,nk->nj", Q, Rp * xp[:, None])      # Qᵀ (R_p x_p)
    xf = np.zeros((n, s - 1))
    for j in range(s - 2, -1, -1):                          # back substitution, s − 1 ≤ 2 steps
        acc = rhs[:, j] + np.einsum("nk,nk->n", Rb[:, j, j + 1:], xf[:, j + 1:])
        xf[:, j] = -np.divide(acc, Rb[:, j, j], out=np.zeros(n), where=full)
    xpp = xp - np.einsum("nj,nj->n", E, xf)
    resid = Rp * xpp[:, None] + np.einsum("knj,nj->nk", R[:, f], xf)
    val = np.linalg.norm(resid, axis=1)
    fin = full & np.isfinite(val) & np.isfinite(xf).all(axis=1) & np.isfinite(xpp)
    score[fin] = val[fin]
    return score
