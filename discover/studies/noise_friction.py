"""Damped systems in the noise sweep: a reference system plus linear friction.

A damped sweep system is a reference system with the force −c q̇ on every coordinate (Rayleigh
function R = ½ c Σ q̇ᵢ²).  Its training and held-out trajectories are integrated with the friction
(RK4: no closed form), the fit runs with ``dissipation=True``, and a cell succeeds only when,
beside the exact L support, every friction coefficient is selected.  ``damping_rel_error`` is the
largest |cᵢ,fit − cᵢ| / cᵢ, with the true cᵢ carried into the fit's normalization of L (divided
by the same data mean of ∂²L/∂q̇ᵢ² as the true L).
"""
from __future__ import annotations

import numpy as np
import sympy

__all__ = ["DAMPED", "reference", "normalized_friction", "score_friction"]

#: sweep system name → (reference system, friction coefficient c)
DAMPED = {"damped_pendulum": ("pendulum", 0.3)}


def reference(name: str):
    """(reference System, friction c) for a sweep system name; c = 0 for a conservative one.
    Raises ValueError for an unknown name."""
    from ..systems import get_system

    base, c = DAMPED.get(name, (name, 0.0))
    return get_system(base), c


def normalized_friction(system, truth: sympy.Expr, c: float, q, qdot) -> np.ndarray:
    """The true cᵢ in the fit's units: c times the factor by which the normalized ``truth``
    scales the system's mass ∂²L/∂q̇ᵢ² (data means over the (N, n) states q, qdot)."""
    from ..symbolic import velocity_name

    coords = list(system.coordinates)
    args = [sympy.Symbol(s) for s in coords] + [sympy.Symbol(velocity_name(s)) for s in coords]
    q, qdot = np.asarray(q, float), np.asarray(qdot, float)

    def mean_mass(expr, name):
        f = sympy.lambdify(args, sympy.diff(expr, sympy.Symbol(velocity_name(name)), 2), "numpy")
        return float(np.mean(np.broadcast_to(np.asarray(f(*q.T, *qdot.T), float), (len(q),))))

    L = system.lagrangian()
    return np.array([c * mean_mass(truth, s) / mean_mass(L, s) for s in coords])


def score_friction(damping, expected) -> tuple[bool, float]:
    """(every friction coefficient selected, largest relative coefficient error)."""
    damping, expected = np.asarray(damping, float), np.asarray(expected, float)
    return bool(np.all(damping != 0)), float(np.max(np.abs(damping - expected) / np.abs(expected)))
