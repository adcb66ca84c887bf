"""Definite solves M x = f for batches of mass matrices, with the check that M is definite.

A singular or indefinite M = ∂²L/∂q̇² means q̈ is not determined by L: that is an error naming the
state and the condition number, never a pseudo-inverse.  Negative-definite M (L → −L) is fine.
"""
from __future__ import annotations

import torch

__all__ = ["SingularMassMatrixError", "solve_accelerations"]


class SingularMassMatrixError(ValueError):
    """∂²L/∂q̇² is singular or indefinite at some state, so q̈ is not determined by L."""

    def __init__(self, message: str, *, q=None, qdot=None, condition_number=None):
        super().__init__(message)
        self.q = q
        self.qdot = qdot
        self.condition_number = condition_number


def _max_condition(dtype: torch.dtype) -> float:
    return float(torch.finfo(dtype).eps) ** -0.75


def _solve_definite(M, rhs, Q, Qd, max_cond, check: bool):
    """Solve M x = rhs per sample; M must be definite (positive or negative)."""
    n = M.shape[-1]
    sign = torch.where(M.diagonal(dim1=-2, dim2=-1).sum(-1) < 0, -1.0, 1.0).to(M.dtype)
    Ms = M * sign[:, None, None]
    small = n <= SMALL_N
    if small:
        factor, d, info = _cholesky_small(Ms)
    else:
        chol, info = torch.linalg.cholesky_ex(Ms)
        d = chol.diagonal(dim1=-2, dim2=-1).abs()
    if check:
        # (max/min of the Cholesky diagonal)² is a cheap lower bound of cond(M); written so that
        # NaN or inf anywhere in the factor counts as bad too
        bad = (info != 0) | ~(d.amax(-1) <= max_cond ** 0.5 * d.amin(-1))
        if bool(bad.any()):
            i = int(torch.nonzero(bad)[0])
            ev = torch.linalg.eigvalsh(M[i].detach().double()) if torch.isfinite(M[i]).all() else None
            if ev is None:
                cond, what = float("nan"), "not finite"
            else:
                cond = float(ev.abs().max() / ev.abs().min().clamp_min(1e-300))
                what = "indefinite" if (ev.min() < 0 < ev.max()) else "singular"
            raise SingularMassMatrixError(
                f"mass matrix ∂²L/∂q̇² is {what} at sample {i} "
                f"(q={Q[i].tolist()}, qdot={Qd[i].tolist()}, condition number {cond:.3g}, "
                f"eigenvalues {None if ev is None else ev.tolist()}): q̈ is not determined by this L",
                q=Q[i].detach(), qdot=Qd[i].detach(), condition_number=cond,
            )
    b = rhs * sign[:, None]
    if small:
        return _cholesky_solve_small(factor, b)
    return torch.cholesky_solve(b.unsqueeze(-1), chol).squeeze(-1)


#: up to this many coordinates the Cholesky factor is written out in batched tensor operations:
#: LAPACK's per-matrix calls cost more than the arithmetic for 2×2…4×4 blocks
SMALL_N = 4


def _cholesky_small(A):
    """Batched Cholesky of small (B, n, n) matrices as tensor arithmetic over the batch.

    Returns (factor entries L[i][j] for j ≤ i, |diagonal| (B, n), info (B,) non-zero where A
    is not positive definite), like ``torch.linalg.cholesky_ex``; differentiable."""
    n = A.shape[-1]
    L = [[None] * n for _ in range(n)]
    info = torch.zeros(A.shape[0], dtype=torch.int32, device=A.device)
    tiny = torch.finfo(A.dtype).tiny
    for j in range(n):
        s = A[:, j, j] - sum((L[j][k] ** 2 for k in range(j)), torch.zeros_like(A[:, j, j]))
        bad = ~(s > 0)
        info = torch.where(bad & (info == 0), torch.full_like(info, j + 1), info)
        L[j][j] = torch.sqrt(torch.where(bad, torch.full_like(s, tiny), s))
        for i in range(j + 1, n):
            acc = A[:, i, j] - sum((L[i][k] * L[j][k] for k in range(j)), torch.zeros_like(s))
            L[i][j] = acc / L[j][j]
    return L, torch.stack([L[j][j] for j in range(n)], -1), info


def _cholesky_solve_small(L, b):
    """x with (L Lᵀ) x = b, L from :func:`_cholesky_small`; b (B, n)."""
    n = b.shape[-1]
    y = []
    for i in range(n):
        acc = b[:, i] - sum((L[i][k] * y[k] for k in range(i)), torch.zeros_like(b[:, i]))
        y.append(acc / L[i][i])
    x = [None] * n
    for i in reversed(range(n)):
        acc = y[i] - sum((L[k][i] * x[k] for k in range(i + 1, n)), torch.zeros_like(b[:, i]))
        x[i] = acc / L[i][i]
    return torch.stack(x, -1)


def solve_accelerations(M, f, *, q=None, qdot=None, check: bool = True, max_condition: float | None = None):
    """q̈ = M⁻¹ f for ``M`` ``(..., n, n)`` definite and ``f`` ``(..., n)``.

    Raises :class:`SingularMassMatrixError` (naming the state when ``q``, ``qdot`` are given)
    where M is singular or indefinite; never falls back to a pseudo-inverse.
    """
    n = f.shape[-1]
    lead = f.shape[:-1]
    Mb, fb = M.reshape(-1, n, n), f.reshape(-1, n)
    Qs = q.reshape(-1, n) if q is not None else torch.full_like(fb, float("nan"))
    Qds = qdot.reshape(-1, n) if qdot is not None else torch.full_like(fb, float("nan"))
    mc = max_condition if max_condition is not None else _max_condition(fb.dtype)
    return _solve_definite(Mb, fb, Qs, Qds, mc, check).reshape(*lead, n)
