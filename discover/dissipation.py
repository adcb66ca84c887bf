"""Linear (viscous) friction in the library fit: the Rayleigh function R = ½ Σ cᵢ q̇ᵢ².

With friction the Euler–Lagrange equations read d/dt ∂L/∂q̇ − ∂L/∂q + ∂R/∂q̇ = 0.  ∂R/∂q̇ᵢ = cᵢ q̇ᵢ
is linear in the cᵢ, so each cᵢ is one more regression column beside the library's: in the strong
form q̇ᵢ in equation i; in the weak form ∫ψ cᵢ q̇ᵢ dt = −cᵢ ∫ψ' qᵢ dt, which needs positions only.
The cᵢ carry L's normalization (they are friction coefficients divided by the normalized mass) and
are reported separately from L.
"""
from __future__ import annotations

import numpy as np
import sympy
import torch

from .symbolic import velocity_name
from .weak import TestFunctions

__all__ = ["rayleigh", "rayleigh_expr", "strong_columns", "weak_columns", "force_columns",
           "friction_acceleration"]


def rayleigh(c) -> callable:
    """R(q, q̇) = ½ Σ cᵢ q̇ᵢ² as a torch callable (one state or a batch)."""
    c = torch.as_tensor(np.asarray(c, float))

    def R(q, qdot):
        return 0.5 * (c.to(qdot) * qdot ** 2).sum(-1)

    R.batched = True
    return R


def rayleigh_expr(c, coordinates, *, digits: int = 6) -> sympy.Expr:
    """R as a SymPy expression in the velocities ``<name>_dot`` (coefficients rounded)."""
    terms = [sympy.Float(float(ci), digits) * sympy.Symbol(velocity_name(name)) ** 2
             for ci, name in zip(c, coordinates) if ci != 0]
    return sympy.Rational(1, 2) * sympy.Add(*terms)


def strong_columns(qdot: np.ndarray) -> np.ndarray:
    """Residual columns (B, n, n): column j is q̇ⱼ in equation j, zero elsewhere."""
    qdot = np.asarray(qdot, float)
    n = qdot.shape[-1]
    return qdot[:, None, :] * np.eye(n)


def weak_columns(q: np.ndarray, tf: TestFunctions) -> np.ndarray:
    """Weak-form columns (J, n, n) of one trajectory: −∫ψ' qⱼ dt on the diagonal. q: (N, n)."""
    q = np.asarray(q, float)
    return -(tf.dpsi @ q)[:, :, None] * np.eye(q.shape[-1])


def force_columns(qdot: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-coefficient (M_j, f_j) like :meth:`discover.library.TermSet.mass_force_columns`:
    M_j = 0 (B, n, n, n) and f_j = −q̇ⱼ eⱼ (B, n, n)."""
    B, n = qdot.shape
    eye = torch.eye(n, dtype=qdot.dtype, device=qdot.device)
    return qdot.new_zeros(B, n, n, n), -qdot[:, None, :] * eye


def friction_acceleration(system, c: float, force=None):
    """``f(q, q̇, t)`` for :func:`discover.integrate.rollout`'s ``acceleration``: the motion of a
    :class:`discover.systems.System` with the force −c q̇ on every coordinate and, with ``force``
    (a callable of time returning the known applied generalized force, (n,)), that force too;
    None for c = 0 and no force."""
    if not c and force is None:
        return None
    from .mechanics import accelerations

    L, R = system.torch_lagrangian(), (rayleigh([c] * len(system.coordinates)) if c else None)

    def acc(q, v, t):
        Q = None if force is None else torch.as_tensor(force(t), dtype=q.dtype).expand_as(q)
        return accelerations(L, q, v, t if system.time_dependent else None, dissipation=R, force=Q)

    return acc
