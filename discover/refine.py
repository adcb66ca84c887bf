"""Stage 2 of the sparse fit: refine the coefficients on the q̈-loss through the engine.

The seed's loss Σ‖q̈ᵢ − q̈(L)(qᵢ, q̇ᵢ)‖² is not linear in ξ (q̈ = M(ξ)⁻¹ f(ξ)), so stage 1 (the
linear Euler–Lagrange regression) minimizes a different error.  Starting from stage 1, Adam
steps on the relative q̈-loss, each followed by an L1 proximal step (soft threshold) and the
projection back onto the normalization constraints (A ξ = 1), move the coefficients to the
q̈-loss optimum; terms whose coefficient is driven to zero leave the support.

M and f are linear in ξ, so the per-term columns M_k, f_k come from the engine once
(:meth:`discover.library.TermSet.mass_force_columns`); every step is then one batched definite
solve, on CPU or CUDA.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .library import TermSet
from .mechanics import solve_accelerations

__all__ = ["Refinement", "refine_coefficients"]


@dataclass
class Refinement:
    coef: np.ndarray  # (K,) refined coefficients, zeros for dropped terms
    loss_before: float  # relative q̈-loss at the start
    loss_after: float
    steps: int
    dropped: list[int]  # indices of terms whose coefficients reached zero


def refine_coefficients(
    ts: TermSet, coef: np.ndarray, q: np.ndarray, qdot: np.ndarray, qddot: np.ndarray, A: np.ndarray, *,
    steps: int = 300, lr: float = 1e-3, l1: float = 0.0, device: str = "cpu", seed: int = 0,
) -> Refinement:
    """Minimize Σ‖q̈ − M(ξ)⁻¹f(ξ)‖² / Σ‖q̈‖² over ξ subject to A ξ = 1, from ``coef``.

    Args:
        ts: the support's terms (K of them); coef: (K,) stage-1 coefficients (meeting A ξ = 1).
        q, qdot, qddot: (B, n) training states and estimated accelerations.
        A: (m, K) normalization rows.
        steps, lr: Adam steps and learning rate (relative: the step of each coefficient is
            scaled by its starting magnitude, so that small and large coefficients move alike).
        l1: weight of the L1 penalty Σ|ξ_k|/|ξ_k⁰| (0: refinement only, no further sparsity).
        device: "cpu" or "cuda".
    Returns the best coefficients seen (lowest loss); the start itself if no step improves it.
    """
    torch.manual_seed(seed)
    dtype = torch.float64
    T = lambda x: torch.as_tensor(np.asarray(x, float), dtype=dtype)
    Mk, fk = ts.mass_force_columns(T(q), T(qdot))
    Mk, fk = Mk.detach().to(device), fk.detach().to(device)
    target = T(qddot).to(device)
    denom = (target**2).sum()
    scale = T(np.where(np.abs(coef) > 0, np.abs(coef), 1.0)).to(device)
    A_t = T(A).to(device) * scale  # constraints on the scaled variables u = ξ / scale
    AAt_inv = torch.linalg.inv(A_t @ A_t.T)
    u = (T(coef).to(device) / scale).clone().requires_grad_(True)
    opt = torch.optim.Adam([u], lr=lr)

    def loss_of(uu):
        xi = uu * scale
        pred = solve_accelerations(Mk @ xi, fk @ xi, check=False)
        return ((pred - target) ** 2).sum() / denom

    with torch.no_grad():
        start = float(loss_of(u))
    best, best_u = start, u.detach().clone()
    for _ in range(steps):
        opt.zero_grad()
        loss = loss_of(u)
        if not torch.isfinite(loss):
            break
        loss.backward()
        opt.step()
        with torch.no_grad():
            if l1 > 0:  # proximal step of the L1 penalty on the scaled coefficients
                u.copy_(torch.sign(u) * torch.clamp(u.abs() - lr * l1, min=0))
            u.sub_(A_t.T @ (AAt_inv @ (A_t @ u - 1)))  # back onto A ξ = 1
            value = float(loss_of(u))
            M_ok = _definite(Mk @ (u * scale))
        if np.isfinite(value) and M_ok and value < best:
            best, best_u = value, u.detach().clone()
    xi = (best_u * scale).cpu().numpy()
    dropped = [k for k in range(len(xi)) if xi[k] == 0 and coef[k] != 0]
    return Refinement(xi, start, best, steps, dropped)


def _definite(M: torch.Tensor) -> bool:
    """Whether every sample's mass matrix is definite with one common sign."""
    ev = torch.linalg.eigvalsh(M)
    return bool((ev > 0).all() or (ev < 0).all())
