"""Internal units: data far from order one are fitted in rescaled units, and the result is
written back in the user's units.

The library's terms (q⁴, q̇², …) and the solvers' tolerances assume coordinates and time steps of
moderate size; 1e-8 m or 1e8 m positions, or a time column in nanoseconds, make the columns
of the regression differ by tens of orders of magnitude.  A coordinate whose largest value lies
outside ``Q_RANGE`` is divided by a power of ten ``s`` that brings it near 1; time by a power of
ten ``τ`` when the median step is outside ``DT_RANGE``.  Angles and ordinary lengths are left
alone, so trig terms keep their meaning.  Values beyond ``LIMIT`` are refused when read
(:mod:`discover.data.reading`): their Lagrangian's coefficients (s⁴ and more) would not be
representable in double precision.

Back to user units: with x = s x′ and t = τ t′, L(x, ẋ) = λ L′(x/s, ẋ τ/s) moves like L′ for any
λ, and a Rayleigh function transforms as R(ẋ) = (λ/τ) R′(ẋ τ/s), so a friction coefficient
becomes c = c′ λ τ / s².  λ is chosen per block so that the normalization (mean ∂²L/∂ẋᵢ² = 1)
holds in user units.
"""
from __future__ import annotations

import math

import numpy as np
import sympy

from .symbolic import velocity_name

__all__ = ["Q_RANGE", "DT_RANGE", "LIMIT", "unit_scales", "rescale", "terms_to_user_units"]

#: largest |q| of a coordinate outside this range → the coordinate is rescaled
Q_RANGE = (1e-3, 1e4)
#: median time step outside this range → time is rescaled
DT_RANGE = (1e-5, 1.0)
#: magnitudes beyond LIMIT (or below 1/LIMIT) are refused when the data are read
LIMIT = 1e50


def _power_of_ten(x: float) -> float:
    return 10.0 ** round(math.log10(x))


def unit_scales(data) -> tuple[np.ndarray, float]:
    """(s (n,), τ): the powers of ten the fit divides each coordinate and time by (1 where the
    data are already of moderate size)."""
    qmax = np.max([np.max(np.abs(tr.q), axis=0) for tr in data.trajectories], axis=0)
    s = np.array([1.0 if (Q_RANGE[0] <= m <= Q_RANGE[1] or m == 0) else _power_of_ten(m) for m in qmax])
    dts = np.concatenate([np.diff(tr.t) for tr in data.trajectories])
    dt = float(np.median(dts)) if len(dts) else 1.0
    tau = 1.0 if DT_RANGE[0] <= dt <= DT_RANGE[1] else _power_of_ten(dt) * 100.0
    return s, tau


def rescale(data, s: np.ndarray, tau: float):
    """The TrajectorySet in internal units: q/s, t/τ (given derivatives scaled to match)."""
    from .data import Trajectory, TrajectorySet

    out = []
    for tr in data.trajectories:
        out.append(Trajectory(
            tr.t / tau, tr.q / s,
            None if tr.qdot is None else tr.qdot * tau / s,
            None if tr.qddot is None else tr.qddot * tau**2 / s,
            tr.id,
        ))
    return TrajectorySet(list(data.coordinates), out, data.source)


def terms_to_user_units(terms, coordinates, s: np.ndarray, tau: float):
    """Each internal-unit term φ′(q′, q̇′) written in user units: (factor_k, term_k) with
    φ′(q/s, q̇ τ/s) = factor_k · term_k (term_k free of numeric factors where φ′ is a monomial)."""
    subs = {}
    for c, sc in zip(coordinates, s):
        subs[sympy.Symbol(c)] = sympy.Symbol(c) / sympy.Float(sc)
        subs[sympy.Symbol(velocity_name(c))] = sympy.Symbol(velocity_name(c)) * sympy.Float(tau / sc)
    out = []
    for e in terms:
        u = sympy.expand(e.xreplace(subs)) if any(sc != 1 for sc in s) or tau != 1 else e
        factor, rest = u.as_coeff_Mul()
        out.append((float(factor), rest))
    return out
