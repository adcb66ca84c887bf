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

    x = G⁻¹a / (aᵀG⁻¹a) with G = R_SᵀR_S, computed through a QR factor of R_S so that the
    conditioning is that of R_S, not its square.  None when the support cannot carry the
    normalization or is rank deficient.
    """
    S = list(support)
    if not S:
        return None
    aS = a[S]
    if not np.any(np.abs(aS) > 0):
        return None
    _, Rs = qr(R[:, S], mode="economic")
    d = np.abs(np.diag(Rs))
    if d.min() <= 1e-12 * d.max():
        return None
    w = solve_triangular(Rs, aS, trans="T")
    y = solve_triangular(Rs, w)
    denom = aS @ y
    if not np.isfinite(denom) or abs(denom) < 1e-300:
        return None
    x = np.zeros(R.shape[1])
    x[S] = y / denom
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


def candidate_supports(
    Theta: np.ndarray, a: np.ndarray, kept: list[int], *, max_backward: int = 80
) -> tuple[list[tuple[int, ...]], np.ndarray, np.ndarray]:
    """Union of the STLSQ and backward-elimination supports over the kept terms.

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
    return sup, Rfull, scale
