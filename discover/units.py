"""Internal units: data far from order one are fitted in rescaled units, and the result is
written back in the user's units.

The library's terms (q⁴, q̇², …) and the solvers' tolerances assume coordinates and time steps of
moderate size; 1e-8 m or 1e8 m positions, or a time column in nanoseconds, make the columns
of the regression differ by tens of orders of magnitude.  A coordinate whose largest value lies
outside ``Q_RANGE`` is divided by a power of ten ``s`` that brings it near 1; time by a power of
ten ``τ`` when the median step is outside ``DT_RANGE``.  Angles and ordinary lengths are left
alone, so trig terms keep their meaning.  Values beyond ``LIMIT`` are refused when read
(:mod:`discover.data.validation`): their Lagrangian's coefficients (s⁴ and more) would not be
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

from .symbolic import build_lagrangian, velocity_name

__all__ = ["Q_RANGE", "DT_RANGE", "LIMIT", "unit_scales", "rescale", "rescale_prepared", "terms_to_user_units",
           "to_user_units"]

#: largest |q| of a coordinate outside this range → the coordinate is rescaled
Q_RANGE = (1e-3, 1e4)
#: median time step outside this range → time is rescaled
DT_RANGE = (1e-5, 1.0)
#: magnitudes beyond LIMIT (or below 1/LIMIT) are refused when the data are read
LIMIT = 1e50


def _power_of_ten(x: float) -> float:
    return 10.0 ** round(math.log10(x))


def unit_scales(trajectories) -> tuple[np.ndarray, float]:
    """(s (n,), τ): the powers of ten the fit divides each coordinate and time by (1 where the
    data are already of moderate size).  ``trajectories``: objects with ``t`` and ``q`` (the
    trajectories of a TrajectorySet, or prepared ones)."""
    qmax = np.max([np.max(np.abs(tr.q), axis=0) for tr in trajectories], axis=0)
    s = np.array([1.0 if (Q_RANGE[0] <= m <= Q_RANGE[1] or m == 0) else _power_of_ten(m) for m in qmax])
    dts = np.concatenate([np.diff(tr.t) for tr in trajectories])
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


def rescale_prepared(data, s: np.ndarray, tau: float):
    """Prepared data (:class:`discover.prepare.PreparedData`) in internal units: q/s, t/τ,
    q̇ τ/s, q̈ τ²/s (derivatives are linear in q, so this equals differentiating rescaled data).
    A known force Q becomes s·Q: with L′(q′, q̇′) = L(q, q̇) (λ = 1, L keeps the force's energy
    units) the Euler–Lagrange side scales by 1/s."""
    from dataclasses import replace

    def one(p):
        return replace(p, t=p.t / tau, q_obs=p.q_obs / s, q=p.q / s, qdot=p.qdot * tau / s,
                       qddot=p.qddot * tau**2 / s, tf=None, force=None if p.force is None else p.force * s,
                       qddot_error=None if p.qddot_error is None else p.qddot_error * tau**2 / s)

    memo = {id(p): one(p) for p in data.all + data.train + data.validation}
    return replace(data, all=[memo[id(p)] for p in data.all], train=[memo[id(p)] for p in data.train],
                   validation=[memo[id(p)] for p in data.validation], noise=data.noise / s)


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

def to_user_units(model, s: np.ndarray, tau: float) -> None:
    """A SparseLagrangian fitted in internal units, rewritten in place in the data's units:
    terms, coefficients, friction, standard errors, the reported alternatives, stage-2 metrics
    and the period, with the normalization rows holding there too (λ per block, see above)."""
    index = {c: i for i, c in enumerate(model.coordinates_)}
    if getattr(model, "force_", False):  # a known force fixed L's scale: λ = 1 (see rescale_prepared)
        lam, block_of = np.ones(1), [0] * len(model.coordinates_)
    else:
        rows = [index[c] for c in model.normalization_coordinates_]
        lam = np.array([(s[i] / tau) ** 2 for i in rows])
        block_of = _blocks(model.terms_, model.coordinates_, rows)  # per coordinate, index into rows

    def convert(terms):
        pairs = terms_to_user_units(terms, model.coordinates_, s, tau)
        blocks = [block_of[index[_coordinates_of(e, model.coordinates_)[0]]]
                  if _coordinates_of(e, model.coordinates_) else 0 for e in terms]
        return [e for _, e in pairs], np.array([f * lam[b] for (f, _), b in zip(pairs, blocks)])

    model.terms_, factor = convert(model.terms_)
    model.coef_ = model.coef_ * factor
    if model.coef_stderr_ is not None:
        model.coef_stderr_ = model.coef_stderr_ * np.abs(factor)
    dfactor = np.array([lam[block_of[i]] * tau / s[i] ** 2 for i in range(len(s))])
    model.damping_ = model.damping_ * dfactor
    if model.damping_stderr_ is not None:
        model.damping_stderr_ = model.damping_stderr_ * np.abs(dfactor)
    if getattr(model, "coulomb_", None) is not None:  # F_c tanh(q̇/ε): F_c like c·q̇, ε like q̇
        cfactor = dfactor * s / tau
        model.coulomb_ = model.coulomb_ * cfactor
        model.coulomb_epsilon_ = model.coulomb_epsilon_ * s / tau
        if getattr(model, "coulomb_stderr_", None) is not None:
            model.coulomb_stderr_ = model.coulomb_stderr_ * np.abs(cfactor)
    for alt in model.alternatives_:
        terms, f = convert([sympy.sympify(t, locals=_symbol_table(model.coordinates_)) for t in alt["terms"]])
        alt["terms"] = [str(e) for e in terms]
        alt["coef"] = [float(c) for c in np.asarray(alt["coef"]) * f]
        alt["lagrangian"] = str(build_lagrangian(terms, alt["coef"], digits=4))
    model.period_ = model.period_ * tau
    fit = model.trajectory_fit_ or {}
    if "position_rms" in fit:
        fit["position_rms"] = [float(r * sc) for r, sc in zip(fit["position_rms"], s)]
    if "segment_seconds" in fit:
        fit["segment_seconds"] = float(fit["segment_seconds"] * tau)
    model._build()
    if "rayleigh_dissipation" in model.metrics_:
        model.metrics_["rayleigh_dissipation"] = str(model.rayleigh())


def _symbol_table(coordinates) -> dict:
    return {n: sympy.Symbol(n) for c in coordinates for n in (c, velocity_name(c))}


def _coordinates_of(expr: sympy.Expr, coordinates) -> list[str]:
    names = {str(x) for x in expr.free_symbols}
    return [c for c in coordinates if c in names or velocity_name(c) in names]


def _blocks(terms, coordinates, rows) -> list[int]:
    """For each coordinate, which normalization row's block it belongs to: coordinates that
    share a term are in one block (connected components); a block without its own row (or a
    single row) maps to row 0."""
    parent = list(range(len(coordinates)))

    def find(i):
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    index = {c: i for i, c in enumerate(coordinates)}
    for e in terms:
        cs = [index[c] for c in _coordinates_of(e, coordinates)]
        for a in cs[1:]:
            parent[find(a)] = find(cs[0])
    root_row = {find(i): r for r, i in enumerate(rows)}
    return [root_row.get(find(i), 0) for i in range(len(coordinates))]
