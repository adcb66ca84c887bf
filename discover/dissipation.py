"""Friction in the library fit: viscous, the Rayleigh function R = ½ Σ cᵢ q̇ᵢ², and Coulomb
(dry) friction, the force −F_c,i tanh(q̇ᵢ/εᵢ) (a smoothed −F_c,i sign q̇ᵢ), whose dissipation
function is R_c = Σ F_c,i εᵢ log cosh(q̇ᵢ/εᵢ), so that both enter the engine as one R.

ε is fixed from the data, not fitted: εᵢ = ``COULOMB_WIDTH`` × the RMS of q̇ᵢ (1 % of the typical
speed), small enough that tanh(q̇/ε) is ±1 except near turning points, large enough that the
rollouts stay non-stiff at the data's time step.

With friction the Euler–Lagrange equations read d/dt ∂L/∂q̇ − ∂L/∂q + ∂R/∂q̇ = 0.  ∂R/∂q̇ᵢ = cᵢ q̇ᵢ
is linear in the cᵢ, so each cᵢ is one more regression column beside the library's: in the strong
form q̇ᵢ in equation i; in the weak form ∫ψ cᵢ q̇ᵢ dt = −cᵢ ∫ψ' qᵢ dt, which needs positions only.
The cᵢ carry L's normalization (they are friction coefficients divided by the normalized mass) and
are reported separately from L.  Coulomb friction is linear in F_c,i too: the column tanh(q̇ᵢ/εᵢ) in
equation i (strong form) or ∫ψ tanh(q̇ᵢ/εᵢ) dt (weak form, with the smoothed q̇).
"""
from __future__ import annotations

import math

import numpy as np
import sympy
import torch

from .symbolic import velocity_name
from .weak import TestFunctions

__all__ = ["negative_friction", "warn_negative_friction", "rayleigh", "rayleigh_expr", "friction_force",
           "strong_columns", "weak_columns", "force_columns",
           "friction_acceleration", "COULOMB_WIDTH", "coulomb_epsilon", "dissipation_function",
           "coulomb_strong_columns", "coulomb_weak_columns", "coulomb_force_columns"]

#: Coulomb friction's smoothing width εᵢ relative to the RMS of q̇ᵢ on the data
COULOMB_WIDTH = 0.01


def coulomb_epsilon(qdot) -> np.ndarray:
    """εᵢ = COULOMB_WIDTH × RMS(q̇ᵢ) over the samples (N, n) (1e-12 for a coordinate at rest)."""
    qdot = np.asarray(qdot, float)
    return np.maximum(COULOMB_WIDTH * np.sqrt(np.mean(qdot.reshape(-1, qdot.shape[-1]) ** 2, 0)), 1e-12)


def dissipation_function(c=None, coulomb=None, epsilon=None) -> callable:
    """R(q, q̇) = ½ Σ cᵢ q̇ᵢ² + Σ F_c,i εᵢ log cosh(q̇ᵢ/εᵢ) for :func:`discover.mechanics.accelerations`'s
    ``dissipation`` (one state or a batch); ∂R/∂q̇ᵢ = cᵢ q̇ᵢ + F_c,i tanh(q̇ᵢ/εᵢ).  ``c``, ``coulomb``
    (F_c) and ``epsilon``: (n,) arrays or tensors (None: that kind left out); differentiable in
    tensors c and F_c (also per sample, (B, n))."""
    T = lambda x: None if x is None else (x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x, float)))  # noqa: E731
    c, fc, eps = T(c), T(coulomb), T(epsilon)

    def R(q, qdot):
        out = qdot.new_zeros(qdot.shape[:-1])
        if c is not None:
            out = out + 0.5 * (c.to(qdot) * qdot ** 2).sum(-1)
        if fc is not None:
            e = eps.to(qdot)
            x = qdot / e  # log cosh x = x + softplus(−2x) − log 2, stable and smooth
            out = out + (fc.to(qdot) * e * (x + torch.nn.functional.softplus(-2 * x) - math.log(2.0))).sum(-1)
        return out

    R.batched = True
    return R


def friction_force(qdot, c=None, coulomb=None, epsilon=None) -> np.ndarray:
    """∂R/∂q̇ᵢ = cᵢ q̇ᵢ + F_c,i tanh(q̇ᵢ/εᵢ) at the velocities ``qdot`` (N, n), numpy, the same
    (N, n) (the generalized friction force is its negative); None leaves a kind out, as in
    :func:`dissipation_function`."""
    qdot = np.asarray(qdot, float)
    out = np.zeros_like(qdot)
    if c is not None:
        out += np.asarray(c, float) * qdot
    if coulomb is not None:
        out += np.asarray(coulomb, float) * np.tanh(qdot / np.asarray(epsilon, float))
    return out


#: friction coefficients closer to zero than this are the round-off of an exact fit (measured
#: −5e-12 for friction forced onto a clean conservative pendulum), not negative friction
ROUNDOFF = 1e-8


def negative_friction(coordinates, c, c_stderr=None, coulomb=None, coulomb_stderr=None) -> str:
    """The coordinates whose fitted viscous or Coulomb coefficient is negative by more than two
    standard errors (any negative value when no standard error is known), as text; "" when none.
    Negative friction feeds energy in: right for a driven, self-excited system, impossible for a
    passive joint (there it says that the friction model does not describe the joint)."""
    out = []
    for kind, value, err in (("viscous", c, c_stderr), ("Coulomb", coulomb, coulomb_stderr)):
        if value is None:
            continue
        value = np.asarray(value, float)
        err = np.zeros_like(value) if err is None else np.nan_to_num(np.asarray(err, float), posinf=0.0)
        out += [f"{kind} {v:.3g} ± {e:.2g} on {name}" for name, v, e in zip(coordinates, value, err)
                if v < -max(2 * e, ROUNDOFF)]
    return "; ".join(out)


def warn_negative_friction(m) -> None:
    """Warn when a fitted model (``coordinates_``, ``damping_``, ``coulomb_`` and their
    ``*_stderr_``) has negative friction (:func:`negative_friction`)."""
    said = negative_friction(m.coordinates_, m.damping_, m.damping_stderr_, m.coulomb_, m.coulomb_stderr_)
    if said:
        import warnings

        warnings.warn(f"negative friction fitted ({said}): it feeds energy in, which a driven, self-excited "
                      "system can do but a passive joint cannot; for a passive joint the friction model does "
                      "not describe it (joint friction may act on relative, not absolute, rates)", stacklevel=3)


def rayleigh(c) -> callable:
    """R(q, q̇) = ½ Σ cᵢ q̇ᵢ² as a torch callable (one state or a batch)."""
    c = torch.as_tensor(np.asarray(c, float))

    def R(q, qdot):
        return 0.5 * (c.to(qdot) * qdot ** 2).sum(-1)

    R.batched = True
    return R


def rayleigh_expr(c, coordinates, *, digits: int = 6, coulomb=None, epsilon=None) -> sympy.Expr:
    """R as a SymPy expression in the velocities ``<name>_dot`` (coefficients rounded); with
    ``coulomb`` (F_c) and ``epsilon``, the Coulomb part F_c ε log cosh(q̇/ε) too."""
    terms = [sympy.Float(float(ci), digits) * sympy.Symbol(velocity_name(name)) ** 2
             for ci, name in zip(c, coordinates) if ci != 0]
    out = sympy.Rational(1, 2) * sympy.Add(*terms)
    if coulomb is not None:
        for f, e, name in zip(coulomb, epsilon, coordinates):
            if f != 0:
                e = sympy.Float(float(e), digits)
                out += sympy.Float(float(f), digits) * e * sympy.log(sympy.cosh(sympy.Symbol(velocity_name(name)) / e))
    return out


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


def coulomb_strong_columns(qdot: np.ndarray, epsilon) -> np.ndarray:
    """Residual columns (B, n, n): column j is tanh(q̇ⱼ/εⱼ) in equation j, zero elsewhere."""
    qdot = np.asarray(qdot, float)
    return np.tanh(qdot / epsilon)[:, None, :] * np.eye(qdot.shape[-1])


def coulomb_weak_columns(qdot: np.ndarray, tf: TestFunctions, epsilon) -> np.ndarray:
    """Weak-form columns (J, n, n) of one trajectory: ∫ψ tanh(q̇ⱼ/εⱼ) dt on the diagonal. qdot: (N, n)."""
    qdot = np.asarray(qdot, float)
    return (tf.psi @ np.tanh(qdot / epsilon))[:, :, None] * np.eye(qdot.shape[-1])


def coulomb_force_columns(qdot: torch.Tensor, epsilon) -> tuple[torch.Tensor, torch.Tensor]:
    """Like :func:`force_columns` for Coulomb friction: M_j = 0, f_j = −tanh(q̇ⱼ/εⱼ) eⱼ."""
    B, n = qdot.shape
    eps = torch.as_tensor(np.asarray(epsilon, float)).to(qdot)
    eye = torch.eye(n, dtype=qdot.dtype, device=qdot.device)
    return qdot.new_zeros(B, n, n, n), -torch.tanh(qdot / eps)[:, None, :] * eye


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
