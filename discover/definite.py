"""Definite solves M x = f for batches of mass matrices, with the check that M is definite.

A singular or indefinite M = ∂²L/∂q̇² means q̈ is not determined by L: that is an error naming the
state and the condition number, never a pseudo-inverse.  Negative-definite M (L → −L) is fine.
"""
from __future__ import annotations

import torch

__all__ = ["SingularMassMatrixError", "solve_accelerations", "solve_accelerations_masked"]


class SingularMassMatrixError(ValueError):
    """∂²L/∂q̇² is singular or indefinite at some state, so q̈ is not determined by L."""

    def __init__(self, message: str, *, q=None, qdot=None, condition_number=None):
        super().__init__(message)
        self.q = q
        self.qdot = qdot
        self.condition_number = condition_number


def _max_condition(dtype: torch.dtype) -> float:
    return float(torch.finfo(dtype).eps) ** -0.75


def _solve_definite(M, rhs, Q, Qd, max_cond, check: bool, structure: bool = True):
    """Solve M x = rhs per sample; M must be definite (positive or negative).

    With ``structure`` the band of M is read off the batch (the entries that are exactly zero in
    every sample): a diagonal M is divided, a narrow band (lower bandwidth ≤ :data:`MAX_BAND`) or
    a small M (n ≤ :data:`SMALL_N`) is factored by tensor arithmetic over the batch; otherwise,
    and always without ``structure``, by LAPACK's batched Cholesky.
    """
    flip, k = _solve_plan(M, structure)
    x, bad = _planned_solve(M, rhs, flip, k, max_cond)
    if check and bool(bad.any()):
        _raise_singular(M, Q, Qd, int(torch.nonzero(bad)[0]))
    return x


def _solve_plan(M, structure: bool = True) -> tuple[bool, int]:
    """What :func:`_solve_definite` reads off the values of M: whether some sample's M is
    negative definite (flip its sign), and the lower bandwidth k to factor with."""
    n = M.shape[-1]
    # inside torch.func transforms (vmapped ensembles) nothing may depend on the values of M
    if torch._C._functorch.maybe_current_level() is not None:
        return True, n - 1
    flip = bool((M.diagonal(dim1=-2, dim2=-1).sum(-1) < 0).any())
    return flip, (n - 1 if not (structure or n <= SMALL_N) else _bandwidth(M))


def _planned_solve(M, rhs, flip: bool, k: int, max_cond):
    """(x, bad): M x = rhs solved with the plan of :func:`_solve_plan` (tensor operations only),
    and where M is singular or indefinite.  (max/min of the Cholesky diagonal)² is a cheap lower
    bound of cond(M); written so that NaN or inf anywhere in the factor counts as bad too."""
    n = M.shape[-1]
    negative = M.diagonal(dim1=-2, dim2=-1).sum(-1) < 0
    sign = torch.where(negative, -1.0, 1.0).to(M.dtype)
    Ms = M * sign[:, None, None] if flip else M
    dense = k > MAX_BAND and n > SMALL_N
    if dense:
        chol, info = torch.linalg.cholesky_ex(Ms)
        d = chol.diagonal(dim1=-2, dim2=-1).abs()
    elif k == 0:
        s = Ms.diagonal(dim1=-2, dim2=-1)
        info = (~(s > 0)).any(-1)
        d = s.abs().sqrt()
    else:
        factor, d, info = _cholesky_banded(Ms, k)
    bad = (info != 0) | ~(d.amax(-1) <= max_cond ** 0.5 * d.amin(-1))
    b = rhs * sign[:, None]
    if dense:
        return torch.cholesky_solve(b.unsqueeze(-1), chol).squeeze(-1), bad
    if k == 0:
        return b / Ms.diagonal(dim1=-2, dim2=-1), bad
    return _cholesky_solve_banded(factor, b, k), bad


def _raise_singular(M, Q, Qd, i: int):
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


#: up to this many coordinates M is factored by tensor arithmetic over the batch even when dense:
#: LAPACK's per-matrix calls cost more than the arithmetic for 2×2…4×4 blocks
SMALL_N = 4
#: widest band (below the diagonal) factored by tensor arithmetic; wider M go to LAPACK
MAX_BAND = 3


def _bandwidth(A) -> int:
    """Lower bandwidth of the batch: the largest i − j with A[:, i, j] non-zero in some sample
    (NaN counts as non-zero; M is symmetric, so this is also its upper bandwidth).  A first
    look at a few samples settles the common dense case without a pass over the whole batch."""
    n = A.shape[-1]
    if n == 1:
        return 0
    for part in (A[:PROBE], A):
        nz = A.new_zeros(n, n) != 0 if part.shape[0] == 0 else part.abs().sum(0) != 0
        i, j = torch.nonzero(nz, as_tuple=True)
        k = int((i - j).abs().max()) if i.numel() else 0
        if k > MAX_BAND or part.shape[0] == A.shape[0]:
            return k
    return k


#: samples looked at before the whole batch when reading the band of M
PROBE = 64


def _cholesky_banded(A, k: int):
    """Batched Cholesky of (B, n, n) matrices with lower bandwidth k, written out entry by entry
    in tensor operations over the batch (O(n k²) small operations instead of one LAPACK call per
    matrix); differentiable.

    Returns (L as a dict {(i, j): (B,) tensor} for 0 ≤ i − j ≤ k, |diagonal| (B, n), info (B,)
    non-zero where A is not positive definite), like ``torch.linalg.cholesky_ex``.
    """
    n = A.shape[-1]
    L = {}
    info = torch.zeros(A.shape[0], dtype=torch.int32, device=A.device)
    tiny = torch.finfo(A.dtype).tiny
    for j in range(n):
        s = A[:, j, j]
        for m in range(max(0, j - k), j):
            s = s - L[j, m] ** 2
        bad = ~(s > 0)
        info = torch.where(bad & (info == 0), torch.full_like(info, j + 1), info)
        L[j, j] = d = torch.sqrt(torch.where(bad, torch.full_like(s, tiny), s))
        for i in range(j + 1, min(n, j + k + 1)):
            acc = A[:, i, j]
            for m in range(max(0, i - k), j):
                acc = acc - L[i, m] * L[j, m]
            L[i, j] = acc / d
    return L, torch.stack([L[j, j] for j in range(n)], -1), info


def _cholesky_solve_banded(L, b, k: int):
    """x with (L Lᵀ) x = b, L from :func:`_cholesky_banded`; b (B, n)."""
    n = b.shape[-1]
    y = []
    for i in range(n):
        acc = b[:, i]
        for m in range(max(0, i - k), i):
            acc = acc - L[i, m] * y[m]
        y.append(acc / L[i, i])
    x = [None] * n
    for i in reversed(range(n)):
        acc = y[i]
        for m in range(i + 1, min(n, i + k + 1)):
            acc = acc - L[m, i] * x[m]
        x[i] = acc / L[i, i]
    return torch.stack(x, -1)


def solve_accelerations(M, f, *, q=None, qdot=None, check: bool = True, max_condition: float | None = None,
                        structure: bool = True):
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
    return _solve_definite(Mb, fb, Qs, Qds, mc, check, structure).reshape(*lead, n)


def solve_accelerations_masked(M, f, *, max_condition: float | None = None, structure: bool = True):
    """(q̈, bad): like :func:`solve_accelerations`, but where M is singular or indefinite the
    sample is flagged in ``bad`` (shape ``f.shape[:-1]``) instead of raising — for scoring many
    candidate models in one batch, each judged on its own samples."""
    n = f.shape[-1]
    lead = f.shape[:-1]
    Mb, fb = M.reshape(-1, n, n), f.reshape(-1, n)
    mc = max_condition if max_condition is not None else _max_condition(fb.dtype)
    flip, k = _solve_plan(Mb, structure)
    x, bad = _planned_solve(Mb, fb, flip, k, mc)
    return x.reshape(*lead, n), bad.reshape(lead)
