"""Sparse solvers for Θ ξ ≈ 0 under a normalization aᵀξ = 1, and gauge reduction of a library.

Θ is any linear operator on ξ whose zero set is the motion: strong-form Euler–Lagrange columns
(samples × coordinates × terms) or weak-form ones (test windows × coordinates × terms).  Because
L and cL give the same motion, Θξ = 0 alone only fixes ξ up to scale; the normalization row a
(e.g. the data mean of ∂²φ_k/∂q̇_i²) fixes it and keeps the kinetic part away from zero.

Supports are proposed by two paths — sequentially thresholded least squares over a grid of
thresholds, and greedy backward elimination — and chosen later by validation.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import qr, solve_triangular

__all__ = [
    "reduce_gauge",
    "constrained_fit",
    "stlsq_path",
    "backward_path",
    "candidate_supports",
    "small_supports",
    "Fit",
]


def reduce_gauge(
    columns: np.ndarray, order: list[int], *, null_tol: float = 1e-9, collinear_tol: float = 1e-7,
    scales: np.ndarray | None = None,
) -> tuple[list[int], list[int], list[int]]:
    """Split terms into kept, null and collinear by their Euler–Lagrange columns.

    Args:
        columns: (rows, K) Euler–Lagrange columns evaluated at generic (random) states and
            accelerations, so that only identities of the terms themselves make a column vanish
            or depend on others.
        order: term indices, simplest first; among dependent columns the simpler terms are kept.
        scales: (K,) size of each term's derivatives; a column is null when its norm is below
            ``null_tol * scale``.
    Returns:
        (kept, null, collinear) lists of term indices.
    """
    K = columns.shape[1]
    norms = np.linalg.norm(columns, axis=0)
    ref = scales if scales is not None else np.full(K, norms.max() if K else 1.0)
    kept, null, collinear = [], [], []
    basis = np.zeros((columns.shape[0], 0))
    for k in order:
        if norms[k] <= null_tol * max(ref[k], 1e-300):
            null.append(k)
            continue
        c = columns[:, k] / norms[k]
        r = c - basis @ (basis.T @ c)
        r = r - basis @ (basis.T @ r)  # re-orthogonalize
        nr = np.linalg.norm(r)
        if nr <= collinear_tol:
            collinear.append(k)
        else:
            kept.append(k)
            basis = np.column_stack([basis, r / nr])
    return kept, null, collinear


@dataclass
class Fit:
    support: tuple[int, ...]
    coef: np.ndarray  # (K,) full-length, zeros off the support
    residual: float  # ‖Θξ‖ / ‖Θ‖-scale, relative


def constrained_fit(R: np.ndarray, a: np.ndarray, support) -> np.ndarray | None:
    """argmin ‖R_S x‖ subject to a_S·x = 1 (R: any matrix with the same Gram matrix as Θ).

    The constraint is eliminated with a Householder reflection that maps a_S onto its first
    axis: x = x₀ + N z with x₀ = a_S/‖a_S‖² and N an orthonormal basis of a_S's complement, and
    z solves an ordinary least-squares problem.  Exact data make R_S itself rank deficient (its
    null vector is the Lagrangian), which this form handles; None when the support cannot carry
    the normalization, or when R_S N is rank deficient (two different models in one support).
    """
    S = list(support)
    if not S:
        return None
    aS = a[S]
    na = np.linalg.norm(aS)
    if not na > 0:
        return None
    RS = R[:, S]
    x0 = aS / na**2
    if len(S) > 1:
        if len(S) - 1 > RS.shape[0]:  # more unknowns than rows: underdetermined
            return None
        w = aS / na
        w[0] += 1.0 if w[0] >= 0 else -1.0
        w /= np.linalg.norm(w)
        B = (RS - 2.0 * np.outer(RS @ w, w))[:, 1:]  # R_S times the reflection's last s−1 columns
        Nmat = (np.eye(len(S)) - 2.0 * np.outer(w, w))[:, 1:]
        Q, Rb = qr(B, mode="economic")
        d = np.abs(np.diag(Rb))
        if d.max() == 0 or d.min() <= 1e-11 * d.max():
            return None
        z = -solve_triangular(Rb, Q.T @ (RS @ x0))
        x0 = x0 + Nmat @ z
    if not np.all(np.isfinite(x0)):
        return None
    x = np.zeros(R.shape[1])
    x[S] = x0
    return x


def _stlsq(R, a, threshold, support, max_iter=20):
    S = list(support)
    x = None
    for _ in range(max_iter):
        x = constrained_fit(R, a, S)
        if x is None:
            return None
        big = [k for k in S if abs(x[k]) >= threshold * np.abs(x[S]).max()]
        if big == S:
            return tuple(S)
        S = big
    return tuple(S)


def stlsq_path(R: np.ndarray, a: np.ndarray, support, *, thresholds=None) -> list[tuple[int, ...]]:
    """Supports from sequentially thresholded constrained least squares over a grid of
    relative thresholds (coefficients are compared on unit-norm columns)."""
    if thresholds is None:
        thresholds = np.logspace(-6, -0.3, 25)
    out = []
    for th in thresholds:
        s = _stlsq(R, a, th, support)
        if s and s not in out:
            out.append(s)
    return out


def backward_path(R: np.ndarray, a: np.ndarray, support, *, min_size: int = 1) -> list[tuple[int, ...]]:
    """Greedy backward elimination: repeatedly drop the term whose removal raises the
    constrained residual least.  The minimum of xᵀGx subject to aᵀx = 1 is 1/(aᵀG⁻¹a); removing
    term k turns aᵀG⁻¹a into aᵀHa − (Ha)_k²/H_kk (H = G⁻¹), so every candidate removal is scored
    at once and H is downdated in O(K²)."""
    S = list(support)
    G = R[:, S].T @ R[:, S]
    try:
        H = np.linalg.inv(G)
    except np.linalg.LinAlgError:
        return []
    out = [tuple(S)]
    while len(S) > min_size:
        aS = a[S]
        Ha = H @ aS
        diag = np.diag(H).copy()
        diag[diag <= 0] = np.inf
        score = aS @ Ha - Ha**2 / diag
        # keep at least one term that carries the normalization
        carriers = [i for i, k in enumerate(S) if a[k] != 0]
        if len(carriers) == 1:
            score[carriers[0]] = -np.inf
        j = int(np.argmax(score))
        if not np.isfinite(score[j]):
            break
        h = H[:, j]
        H = H - np.outer(h, h) / H[j, j]
        H = np.delete(np.delete(H, j, 0), j, 1)
        S.pop(j)
        out.append(tuple(S))
    return out


def small_supports(R: np.ndarray, a: np.ndarray, kept: list[int], *, max_size: int = 3,
                   budget: int = 20000, keep: int = 3) -> list[tuple[int, ...]]:
    """The best few supports of each size up to ``max_size``, by exhaustive search.

    Few data (two circles of a charge in a magnetic field, say) can admit a second exact model
    in a rich library; the fit over all terms is then an arbitrary mix of the two, from which
    thresholding and elimination do not find the sparse one.  Small supports are cheap to
    enumerate: sizes stop where the number of combinations exceeds ``budget``.
    """
    from itertools import combinations
    from math import comb

    out = []
    carriers = [k for k in kept if a[k] != 0]
    for size in range(1, max_size + 1):
        if comb(len(kept), size) > budget:
            break
        scored = []
        for S in combinations(kept, size):
            if not any(a[k] != 0 for k in S):
                continue
            x = constrained_fit(R, a, S)
            if x is not None:
                scored.append((float(np.linalg.norm(R @ x)), S))
        out += [S for _, S in sorted(scored)[:keep]]
    return out if carriers else []


def candidate_supports(
    Theta: np.ndarray, a: np.ndarray, kept: list[int], *, max_backward: int = 80
) -> tuple[list[tuple[int, ...]], np.ndarray, np.ndarray]:
    """Union of the STLSQ, backward-elimination and small exhaustive supports over the kept terms.

    Theta: (rows, K).  Columns are scaled to unit norm internally; returns the supports
    (indices into the full K), and the scaled (R, a) used, with the column scales, so that
    ``constrained_fit(R, a_scaled, S) / scale`` gives coefficients of the original terms.
    """
    scale = np.linalg.norm(Theta, axis=0)
    scale[scale == 0] = 1.0
    A = Theta / scale
    a_s = a / scale
    # the R factor has the same Gram matrix as A and only K rows
    _, R = qr(A[:, kept], mode="economic")
    Rfull = np.zeros((R.shape[0], Theta.shape[1]))
    Rfull[:, kept] = R
    sup = stlsq_path(Rfull, a_s, kept)
    start = kept
    if len(kept) > max_backward:
        # start elimination from the largest STLSQ support that is small enough
        small = [s for s in sup if len(s) <= max_backward]
        start = list(max(small, key=len)) if small else []
    if start:
        for s in backward_path(Rfull, a_s, start):
            if s not in sup:
                sup.append(s)
    for s in small_supports(Rfull, a_s, kept):
        if s not in sup:
            sup.append(s)
    return sup, Rfull, scale
