"""Support searches over subsets of the library's terms: every support of up to three terms
(:func:`small_supports`) and single swaps into and out of the best supports
(:func:`swap_refined`).

Few data (two circles of a charge in a magnetic field, say) can admit a second exact model in a
rich library; the fit over all terms is then an arbitrary mix of the two, from which
thresholding and elimination do not find the sparse one.  Small supports are cheap to
enumerate, but one least-squares fit per support, each through a Python call, cost seconds
on a 50-term tier (≈ 20 000 supports).  With one normalization row the fits of all supports of
one size are the same small computation on stacked matrices: the constraint aᵀx = 1 is
eliminated at the pivot term (the largest |a_k| in the support, as the column-pivoted QR of
:func:`discover.constrained.constrained_fit` chooses it) and the remaining (K × (s − 1)) least-squares
problems are solved by one stacked Householder QR.
"""
from __future__ import annotations

import math
from itertools import combinations

import numpy as np
from scipy.linalg import solve_triangular

from .constrained import constrained_fit

__all__ = ["one_row_scores", "small_supports", "swap_refined", "SWAP_MAX_SIZE"]


def one_row_scores(R: np.ndarray, a: np.ndarray, C: np.ndarray) -> np.ndarray:
    """min ‖R_S x‖ subject to a_Sᵀx = 1 for every support S (a row of C); inf where the
    support cannot carry the normalization or leaves two models (rank-deficient reduced
    problem), with the tolerances of :func:`discover.constrained.constrained_fit`."""
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


def small_supports(R: np.ndarray, a: np.ndarray, kept: list[int], *, max_size: int = 3,
                   budget: int = 20000, keep: int = 3) -> list[tuple[int, ...]]:
    """The best few supports of each size up to ``max_size``, by exhaustive search.

    Few data (two circles of a charge in a magnetic field, say) can admit a second exact model
    in a rich library; the fit over all terms is then an arbitrary mix of the two, from which
    thresholding and elimination do not find the sparse one.  Small supports are cheap to
    enumerate: sizes stop where the number of combinations exceeds ``budget``.  With one
    normalization row a size's supports are scored at once (:mod:`discover.subsets`).
    """
    from math import comb

    A = np.atleast_2d(a)
    carries = A != 0
    if not carries[:, kept].any():
        return []
    out = []
    for size in range(len(A), max_size + 1):
        if comb(len(kept), size) > budget:
            break
        C = np.array(list(combinations(kept, size)), dtype=np.intp).reshape(-1, size)
        C = C[carries[:, C].any(axis=2).all(axis=0)]  # every row carried by a term of S
        if len(C) == 0:
            continue
        if len(A) == 1:
            score = one_row_scores(R, A[0], C)
        else:
            fits = (constrained_fit(R, a, S) for S in C)
            score = np.array([np.inf if x is None else np.linalg.norm(R @ x) for x in fits])
        ok = np.isfinite(score)
        scored = sorted(zip(score[ok].tolist(), map(tuple, C[ok].tolist())))
        out += [S for _, S in scored[:keep]]
    return out


def _residual(R, a, S, G=None) -> float:
    """min ‖R_S x‖ subject to A_S x = 1.  With the Gram matrix G = RᵀR this is closed-form,
    r² = 1ᵀ (A_S G_S⁻¹ A_Sᵀ)⁻¹ 1, an s×s Cholesky instead of a QR of R_S; where G_S is not
    safely positive definite (near-exact data) the constrained fit decides."""
    S = list(S)
    if G is not None:
        A = np.atleast_2d(a)[:, S]
        try:
            C = np.linalg.cholesky(G[np.ix_(S, S)])
            d = np.diag(C)
            if d.min() > 1e-6 * d.max():
                Y = solve_triangular(C, A.T, lower=True)
                H = Y.T @ Y
                r2 = float(np.ones(len(H)) @ np.linalg.solve(H, np.ones(len(H))))
                if np.isfinite(r2):
                    return math.sqrt(max(r2, 0.0))
        except np.linalg.LinAlgError:
            pass
    x = constrained_fit(R, a, S)
    return math.inf if x is None else float(np.linalg.norm(R @ x))


#: supports up to this size are improved by single swaps (:func:`swap_refined`); 16 covers the
#: physical supports of three-link arms (the MultiArm triple: 10 terms, whose textbook-like form
#: with cos θ₁ was on no path and came back only from a swap, where 6 returned a look-alike)
SWAP_MAX_SIZE = 16
#: a residual this small relative to the worst of the best supports' is an exact fit up to
#: round-off and derivative error (clean double pendulum: 1.5e-6 against 2.6e2): larger supports
#: are not refined once a size reaches it
EXACT_RESIDUAL = 1e-6


def swap_refined(R: np.ndarray, a: np.ndarray, supports, kept: list[int], *, max_size: int = SWAP_MAX_SIZE,
                 max_rounds: int = 3, screen: int = 5) -> list[tuple[int, ...]]:
    """The best support of each size up to ``max_size``, improved by single swaps.

    Thresholding and elimination paths take one wrong turn at high noise and never come back
    (measured: the double pendulum at 3 % noise, where the 5-term support is not on any path);
    a swap (one term out, one kept term in) at fixed size, repeated while the training residual
    drops, recovers it.  For each term out, only the ``screen`` outside terms most correlated with
    it (its near-substitutes: θ² for cos θ) and the ``screen`` most correlated with the residual
    are tried: at most 2 · size · screen small constrained fits per round.  Sizes are refined from
    the smallest up, and not beyond the first that fits exactly (``EXACT_RESIDUAL``).
    """
    G = R.T @ R
    best: dict[int, tuple[float, tuple]] = {}
    for S in supports:
        if len(S) <= max_size:
            r = _residual(R, a, S, G)
            if r < best.get(len(S), (math.inf,))[0]:
                best[len(S)] = (r, tuple(S))
    out = []
    scale = max((r for r, _ in best.values() if np.isfinite(r)), default=0.0)
    for size, (r, S) in sorted(best.items()):
        S = set(S)
        for _ in range(max_rounds):
            move = None
            x = constrained_fit(R, a, sorted(S))
            if x is None:
                break
            outside = [j for j in kept if j not in S]
            Ro = R[:, outside] / np.maximum(np.linalg.norm(R[:, outside], axis=0), 1e-300)
            top = lambda v: {outside[k] for k in np.argsort(-np.abs(v))[:screen]}
            by_residual = top(Ro.T @ (R @ x))
            for i in sorted(S):
                for j in sorted(by_residual | top(Ro.T @ R[:, i])):
                    T = tuple(sorted(S - {i} | {j}))
                    rt = _residual(R, a, T, G)
                    if rt < r * (1 - 1e-9):
                        r, move = rt, T
            if move is None:
                break
            S = set(move)
        out.append(tuple(sorted(S)))
        if r <= EXACT_RESIDUAL * scale:  # an exact support: larger ones cannot be sparser and fit better
            break
    return out
