"""Sparse solvers for Θ ξ ≈ 0 under a normalization aᵀξ = 1, and gauge reduction of a library.

Θ is any linear operator on ξ whose zero set is the motion: strong-form Euler–Lagrange columns
(samples × coordinates × terms) or weak-form ones (test windows × coordinates × terms).  Because
L and cL give the same motion, Θξ = 0 alone only fixes ξ up to scale; the normalization row a
(e.g. the data mean of ∂²φ_k/∂q̇_i²) fixes it and keeps the kinetic part away from zero; a
decoupled system (L = L₁(x) + L₂(y)) needs one such row per block (:func:`independent_blocks`).

Supports are proposed by three paths — sequentially thresholded least squares over a grid of
thresholds, greedy backward elimination, and an exhaustive search over small supports — and
chosen later by validation.
"""
from __future__ import annotations

from itertools import combinations

import numpy as np
from scipy.linalg import qr

from .candidate import Candidate
from .constrained import constrained_fit
from .subsets import small_supports, swap_refined

__all__ = [
    "reduce_gauge",
    "constrained_fit",
    "stlsq_path",
    "backward_path",
    "candidate_supports",
    "small_supports",
    "scaled_factor",
    "independent_blocks",
    "SupportSearch",
    "size_cap",
    "normalization_rows",
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
    start = list(support)
    for th in sorted(thresholds):  # supports shrink as the threshold grows: warm start
        s = _stlsq(R, a, th, start)
        if not s:
            continue
        start = list(s)
        if s not in out:
            out.append(s)
    return out


def backward_path(R: np.ndarray, a: np.ndarray, support, *, min_size: int = 1) -> list[tuple[int, ...]]:
    """Greedy backward elimination: repeatedly drop the term whose removal raises the
    constrained residual least, under one normalization row a (K,) or several (m, K).

    The minimum of xᵀGx subject to A x = 1 is 1ᵀP⁻¹1 with P = A H Aᵀ, H = G⁻¹.  Dropping term k
    changes P by the rank-one −u uᵀ (u = A h_k / √H_kk), so Sherman–Morrison scores every removal
    at once (for one row: 1/(aᵀHa − (Ha)_k²/H_kk)), and H is downdated in O(K²).  A removal
    that leaves a row without a term to carry it scores infinity."""
    A = np.atleast_2d(a)
    min_size = max(min_size, len(A))
    S = list(support)
    G = R[:, S].T @ R[:, S]
    try:
        H = np.linalg.inv(G)
    except np.linalg.LinAlgError:
        return []
    one = np.ones(len(A))
    out = [tuple(S)]
    while len(S) > min_size:
        AS = A[:, S]
        AH = AS @ H
        try:
            Pinv = np.linalg.inv(AH @ AS.T)
        except np.linalg.LinAlgError:
            break
        diag = np.diag(H).copy()
        ok = diag > 0
        U = AH / np.sqrt(np.where(ok, diag, 1.0))
        w = Pinv @ one
        c = w @ U
        d = np.einsum("ik,ik->k", U, Pinv @ U)
        with np.errstate(divide="ignore", invalid="ignore"):
            value = one @ w + c**2 / (1.0 - d)
        value[~ok | ~(1.0 - d > 1e-12)] = np.inf
        j = int(np.argmin(value))
        if not np.isfinite(value[j]):
            break
        h = H[:, j]
        H = H - np.outer(h, h) / H[j, j]
        H = np.delete(np.delete(H, j, 0), j, 1)
        S.pop(j)
        out.append(tuple(S))
    return out


def _blockwise_r(X: np.ndarray, *, min_groups: int = 8, max_fill: float = 0.25) -> np.ndarray | None:
    """An R factor of X (RᵀR = XᵀX) from its rows grouped by their pattern of nonzero columns,
    or None when X is not sparse that way.

    In a local library the Euler–Lagrange row of coordinate i is zero in every column of a term
    without q_i or q̇_i: a chain's rows fall into n groups of ~13 nonzero columns out of 9n − 4.
    Each group is factored on its own columns (N × 13 instead of N × 9n), and the stacked
    small factors once more: the Gram matrix is the same, the cost O(N) instead of O(N n²).
    Only used with at least ``min_groups`` groups averaging at most ``max_fill`` of the
    columns (so small and dense problems keep the plain QR, bit for bit)."""
    nz = X != 0
    patterns, inverse = np.unique(np.packbits(nz, axis=1), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    if len(patterns) < min_groups:
        return None
    groups = [np.flatnonzero(inverse == g) for g in range(len(patterns))]
    cols = [np.flatnonzero(nz[rows].any(0)) for rows in groups]
    if sum(len(r) * len(c) for r, c in zip(groups, cols)) > max_fill * X.size:
        return None
    parts = []
    for rows, c in zip(groups, cols):
        if len(c) == 0:
            continue
        _, Rg = qr(X[np.ix_(rows, c)], mode="economic")
        block = np.zeros((Rg.shape[0], X.shape[1]))
        block[:, c] = Rg
        parts.append(block)
    _, R = qr(np.vstack(parts), mode="economic")
    return R


def scaled_factor(Theta: np.ndarray, kept: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(R, scale): Θ's columns scaled to unit norm, and the R factor of the kept ones (it has
    the same Gram matrix with only K rows), zero in the other columns.  Row-sparse Θ (a local
    library) is factored group by group (:func:`_blockwise_r`)."""
    scale = np.linalg.norm(Theta, axis=0)
    scale[scale == 0] = 1.0
    X = (Theta / scale)[:, kept]
    R = _blockwise_r(X)
    if R is None:
        _, R = qr(X, mode="economic")
    Rfull = np.zeros((R.shape[0], Theta.shape[1]))
    Rfull[:, kept] = R
    return Rfull, scale


#: squared residual (unit-norm columns) at or below which data are exact up to round-off: costs
#: below it are not compared relatively (1e-28 vs 5e-27 is noise in the last digits, not signal)
ROUNDOFF_R2 = 1e-20


def independent_blocks(Theta: np.ndarray, A: np.ndarray, kept: list[int], first: int, *,
                       tol: float = 30.0, factor: tuple[np.ndarray, np.ndarray] | None = None) -> list[int]:
    """Coordinates whose normalization rows can all be imposed: a proposal of one per block.

    L = L₁(x) + L₂(y) moves like c₁L₁ + c₂L₂ for any c₁, c₂, so one normalization row leaves
    the other blocks free (the least-squares fit shrinks them towards a singular mass matrix).
    Imposing coordinate j's row as well (A_j·ξ = 1, e.g. its mean ∂²L/∂q̇_j² = 1) costs a
    decoupled block only its own share of the noise residual, while in a coupled system with a
    mass ratio other than 1 it costs the signal.  Starting from ``first``, rows are added
    greedily while the squared residual over all kept terms grows by at most ``tol`` × its
    current value.  The result is a proposal: candidates from it and from ``[first]`` alone
    compete on validation.  A: (n, K) normalization rows.  ``factor``: ``scaled_factor(Theta,
    kept)`` when the caller has it already (it is the costly part: a QR of all of Θ).
    """
    R, scale = scaled_factor(Theta, kept) if factor is None else factor

    def r2(rows):
        x = constrained_fit(R, A[rows] / scale, kept)
        return np.inf if x is None else float(np.sum((R @ x) ** 2))

    rows, current = [first], r2([first])
    while len(rows) < len(A):
        trial = {j: r2(rows + [j]) for j in range(len(A)) if j not in rows}
        j = min(trial, key=trial.get)
        if not np.isfinite(trial[j]):
            break
        # an infinite current cost: exact decoupled data leave one row's fit without a unique
        # solution (each block's scale is free), which a second row fixes
        if np.isfinite(current) and not trial[j] - current <= tol * max(current, ROUNDOFF_R2):
            break
        rows.append(j)
        current = trial[j]
    return rows


def candidate_supports(
    Theta: np.ndarray, a: np.ndarray, kept: list[int], *, max_backward: int = 80,
    factor: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[list[tuple[int, ...]], np.ndarray, np.ndarray]:
    """Union of the STLSQ, backward-elimination and small exhaustive supports over the kept terms.

    Theta: (rows, K).  Columns are scaled to unit norm internally; returns the supports
    (indices into the full K), and the scaled (R, a) used, with the column scales, so that
    ``constrained_fit(R, a_scaled, S) / scale`` gives coefficients of the original terms.
    ``factor``: ``scaled_factor(Theta, kept)``, computed once by a caller that tries several
    normalization rows on the same Θ.
    """
    Rfull, scale = scaled_factor(Theta, kept) if factor is None else factor
    a_s = a / scale
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
    for s in swap_refined(Rfull, a_s, sup, kept):
        if s not in sup:
            sup.append(s)
    return sup, Rfull, scale


def size_cap(n_coordinates: int) -> int:
    """The largest support proposed for n coordinates: 40 up to n = 10 (every system of the
    acceptance set is far below), 4n beyond, so that a chain of n springs (3n − 1 terms: n
    kinetic, n + n − 1 potential) stays in reach."""
    return max(40, 4 * n_coordinates)


def normalization_rows(A: np.ndarray, kept: list[int], *, all_up_to: int = 8, spread: int = 4) -> list[int]:
    """The normalization rows tried one by one: every row that the kept columns can carry, or,
    beyond ``all_up_to`` of them, ``spread`` rows spread evenly over the coordinates.  In a
    coupled system every row gives the same supports up to scale, so trying all n costs n times
    the search (and the validation of its candidates) for nothing new; decoupled blocks still
    get one row each from :func:`independent_blocks`, started from each row tried."""
    rows = [i for i in range(A.shape[0]) if np.any(np.abs(A[i][kept]) > 0)]
    if len(rows) <= all_up_to:
        return rows
    return [rows[int(j)] for j in np.unique(np.round(np.linspace(0, len(rows) - 1, spread)))]


class SupportSearch:
    """The support search as an optimizer object: candidate supports and their constrained
    least-squares coefficients for a regression problem Θξ ≈ 0 under normalization rows.

    Args (keyword-only):
        per_size: the best (lowest training residual) supports kept per support size.
        max_size: larger supports are not proposed; None (default): :func:`size_cap` of the
            number of coordinates (40 up to 10 coordinates, 4n beyond: a chain of n springs
            has 3n − 1 terms).
        force_friction: friction columns (the first group's, with groups: viscous) in every
            support (else each support is also tried with all and with none of them: their effect
            on the residual is small, so the paths often drop them early).
    """

    def __init__(self, *, per_size: int = 2, max_size: int | None = None, force_friction: bool = False):
        self.per_size = per_size
        self.max_size = max_size
        self.force_friction = force_friction

    def propose(self, Theta: np.ndarray, A_norm: np.ndarray, kept: list[int], rows: list[int],
                friction=(), required=(), factor=None) -> list[Candidate]:
        """Candidates under the normalization rows ``rows`` of ``A_norm`` (rows, columns).

        Theta: (samples, columns); kept: the columns allowed; friction: the friction columns, or
        groups of them (one per kind: viscous, Coulomb), each support then tried with every
        combination of the groups; required: columns in every support (a known force's column,
        whose coefficient the normalization fixes); factor: ``scaled_factor(Theta, kept)`` if
        already computed."""
        a = A_norm[rows] if len(rows) > 1 else A_norm[rows[0]]
        cap = size_cap(len(A_norm)) if self.max_size is None else self.max_size
        supports, R, colscale = candidate_supports(Theta, a, kept, factor=factor,
                                                   max_backward=max(80, 2 * cap))
        if required:
            supports = list(dict.fromkeys(tuple(sorted(set(S) | set(required))) for S in supports))
        if len(friction):
            groups = [set(g) for g in friction] if np.ndim(friction[0]) else [set(friction)]
            fr = set().union(*groups)
            base = groups[0] if self.force_friction else set()  # forced: the first kind (viscous)
            rest = groups[1:] if self.force_friction else groups
            adds = [base | set().union(*c) for r in range(len(rest) + 1) for c in combinations(rest, r)]
            supports = list(dict.fromkeys(tuple(sorted(v)) for S in supports
                                          for v in ([] if self.force_friction else [set(S)])
                                          + [set(S) - fr | a for a in adds] if v - fr - set(required)))
        a_s = a / colscale
        kinetic = A_norm != 0
        by_size: dict[int, list] = {}
        for S in supports:
            if not kinetic[:, list(S)].any(axis=1).all():
                # some q̇_i² has no term: M_ii = 0, a singular mass matrix that validation drops
                continue
            x = constrained_fit(R, a_s, S)
            if x is None:
                continue
            by_size.setdefault(len(S), []).append((float(np.linalg.norm(R @ x)), S, x / colscale))
        out = []
        for size, lst in by_size.items():
            if size > cap:
                continue
            for res, S, coef in sorted(lst, key=lambda z: z[0])[: self.per_size]:
                out.append(Candidate(tuple(rows), tuple(sorted(S)), coef, res))
        return out
