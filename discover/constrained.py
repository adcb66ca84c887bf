"""The constrained least-squares fit under every support search: min ‖R_S x‖ subject to the
normalization A_S x = 1 (:func:`constrained_fit`)."""
from __future__ import annotations

import numpy as np
from scipy.linalg import qr, solve_triangular

__all__ = ["constrained_fit"]


def constrained_fit(R: np.ndarray, a: np.ndarray, support) -> np.ndarray | None:
    """argmin ‖R_S x‖ subject to A_S x = 1 (R: any matrix with the same Gram matrix as Θ).

    a: one normalization row (K,) or several (m, K), one per independently scaled block of a
    decoupled system.  The constraints are eliminated: m pivot coefficients (chosen by a
    column-pivoted QR of A_S) are solved for in terms of the others, which then solve an
    ordinary least-squares problem.  Exact data make R_S itself rank deficient (its null vector
    is the Lagrangian), which this form handles.  None when the support cannot carry the
    normalization, or when the reduced problem is rank deficient (two models in one support).
    """
    S = list(support)
    if not S:
        return None
    A = np.atleast_2d(a)[:, S]
    m, s = A.shape
    if s < m:
        return None
    _, Ra, piv = qr(A, mode="economic", pivoting=True)
    da = np.abs(np.diag(Ra))
    if da.min() <= 1e-12 * max(da.max(), 1e-300):
        return None
    p, f = piv[:m], piv[m:]
    Ap_inv = np.linalg.inv(A[:, p])
    x = np.zeros(s)
    x[p] = Ap_inv @ np.ones(m)
    if s > m:
        if s - m > R.shape[0]:  # more unknowns than rows: underdetermined
            return None
        RS = R[:, S]
        E = Ap_inv @ A[:, f]  # x_p = x_p⁰ − E x_f
        B = RS[:, f] - RS[:, p] @ E
        Qb, Rb = qr(B, mode="economic")
        d = np.abs(np.diag(Rb))
        if d.max() == 0 or d.min() <= 1e-11 * d.max():
            return None
        xf = -solve_triangular(Rb, Qb.T @ (RS[:, p] @ x[p]))
        x[f] = xf
        x[p] -= E @ xf
    if not np.all(np.isfinite(x)):
        return None
    out = np.zeros(R.shape[1])
    out[S] = x
    return out
