"""Conserved quantities of a found Lagrangian checked along trajectories: the energy and every
Noether charge of :mod:`discover.symmetry`, their relative variation on data, and the
``"conserved"`` entries of ``lagrangian.json``.

**Relative variation** of a quantity Q = Σₘ Qₘ (its expanded terms) along one trajectory is
(max Q − min Q) / S with S the RMS over the trajectory of Σₘ |Qₘ| (constant terms left out):
the spread of Q against the typical size of the terms it is made of.  Unlike a division by
mean |Q| it stays meaningful when Q ≈ 0 (an angular momentum whose terms cancel) and does not
change when a constant is added to Q.  ``variation_on_data`` is the largest value over the
trajectories.

**Friction.** With a dissipation function R (:mod:`discover.dissipation`: viscous, ½ Σ cᵢ q̇ᵢ²,
``friction = c``, and Coulomb, Σ F_c,i εᵢ log cosh(q̇ᵢ/εᵢ), ``coulomb = F_c`` with
``coulomb_epsilon = ε``) the Euler–Lagrange equations gain −∂R/∂q̇ and the charges are not
conserved: dQ/dt = −Σ ξᵢ ∂R/∂q̇ᵢ, ∂R/∂q̇ᵢ = cᵢ q̇ᵢ + F_c,i tanh(q̇ᵢ/εᵢ) (energy, ξ = q̇:
dE/dt = −Σ cᵢ q̇ᵢ² − Σ F_c,i q̇ᵢ tanh(q̇ᵢ/εᵢ)).  The raw variation (the decay) is reported as
``variation_on_data``; ``variation_after_friction`` is the variation of Q(t) + ∫₀ᵗ Σ ξᵢ ∂R/∂q̇ᵢ dt
(trapezoid rule on the samples), which stays small when the friction model explains the decay.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import sympy

from .dissipation import friction_force
from .symbolic import parse_lagrangian, to_latex, velocity_name
from .symmetry import energy_function, find_symmetries

__all__ = ["conserved_quantities", "charge_values", "relative_variation", "charge_series"]


def _symbols(coordinates):
    return ([sympy.Symbol(c) for c in coordinates],
            [sympy.Symbol(velocity_name(c)) for c in coordinates])


def _unpack(tr):
    """(t or None, q (N, n), qdot (N, n)) from an object with t/q/qdot or a tuple."""
    if hasattr(tr, "q") and hasattr(tr, "qdot"):
        t, q, qd = getattr(tr, "t", None), tr.q, tr.qdot
    elif len(tr) == 3:
        t, q, qd = tr
    elif len(tr) == 2:
        (q, qd), t = tr, None
    else:
        raise ValueError("a trajectory is (t, q, qdot), (q, qdot) or an object with .t, .q, .qdot")
    if qd is None:
        raise ValueError("trajectories need velocities qdot (estimate them first)")
    q, qd = np.asarray(q, float), np.asarray(qd, float)
    q, qd = q.reshape(len(q), -1), qd.reshape(len(qd), -1)
    return (None if t is None else np.asarray(t, float)), q, qd


def _terms_values(expr, coordinates, q, qdot):
    """(values of the non-constant terms of expr, (M, N)); empty (0, N) for a constant."""
    qs, vs = _symbols(coordinates)
    terms = [t for t in sympy.Add.make_args(sympy.expand(expr)) if t.free_symbols]
    if not terms:
        return np.zeros((0, len(q)))
    f = sympy.lambdify(qs + vs, terms, "numpy")
    vals = f(*q.T, *qdot.T)
    return np.stack([np.broadcast_to(np.asarray(v, float), (len(q),)) for v in vals])


def charge_values(expr, coordinates: Sequence[str], q, qdot) -> tuple[np.ndarray, np.ndarray]:
    """``(Q, S)``: the quantity along the states q, qdot ``(N, n)`` (up to its constant part),
    shape ``(N,)``, and S = Σ |terms|, ``(N,)``, the size of what it is made of."""
    vals = _terms_values(parse_lagrangian(expr), coordinates, np.asarray(q, float), np.asarray(qdot, float))
    return vals.sum(0), np.abs(vals).sum(0)


def _friction_rate(xi, coordinates, q, qdot, friction):
    """Σ ξᵢ(q) ∂R/∂q̇ᵢ along the states (N,), ``friction`` = (c, F_c, ε) of
    :func:`discover.dissipation.friction_force`; ξ = q̇ for the energy."""
    F = friction_force(qdot, *friction)
    if xi is None:
        return (qdot * F).sum(1)
    qs, _ = _symbols(coordinates)
    f = sympy.lambdify(qs, list(xi), "numpy")
    X = np.stack([np.broadcast_to(np.asarray(x, float), (len(q),)) for x in f(*q.T)], 1)
    return (X * F).sum(1)


def relative_variation(values: np.ndarray, sizes: np.ndarray) -> float:
    """(max − min) / RMS(sizes) of one trajectory (0 for a quantity made of nothing)."""
    scale = float(np.sqrt(np.mean(np.asarray(sizes) ** 2)))
    return float((values.max() - values.min()) / scale) if scale > 0 else 0.0


def _variations(expr, xi, coordinates, trajectories, friction):
    raw, corrected = [], []
    for tr in trajectories:
        t, q, qd = _unpack(tr)
        Q, S = charge_values(expr, coordinates, q, qd)
        raw.append(relative_variation(Q, S))
        if friction is not None:
            if t is None:
                raise ValueError("with friction, trajectories need their times t")
            rate = _friction_rate(xi, coordinates, q, qd, friction)
            lost = np.concatenate([[0.0], np.cumsum(np.diff(t) * (rate[1:] + rate[:-1]) / 2)])
            corrected.append(relative_variation(Q + lost, S))
    return max(raw, default=float("nan")), max(corrected, default=float("nan"))


def conserved_quantities(lagrangian_expr, coordinates: Sequence[str], trajectories, *, friction=None,
                         coulomb=None, coulomb_epsilon=None, rtol: float = 1e-3) -> list[dict]:
    """The energy and every Noether charge of L, checked along ``trajectories``.

    Args:
        lagrangian_expr: SymPy expression or string (coordinates and ``<name>_dot``).
        coordinates: coordinate names, in order.
        trajectories: held-out trajectories, each an object with ``.t``, ``.q``, ``.qdot``
            (``(N,)``, ``(N, n)``, ``(N, n)``; e.g. :class:`discover.prepare.Prepared`) or a
            tuple ``(t, q, qdot)`` / ``(q, qdot)``.  Their states also anchor the symmetry
            search's test states (:func:`discover.symmetry.find_symmetries`).
        friction: Rayleigh coefficients c ``(n,)`` in L's normalization (a fitted model's
            ``damping_``), or None; nonzero c adds ``variation_after_friction``.
        coulomb, coulomb_epsilon: Coulomb friction F_c ``(n,)`` in L's normalization and its
            smoothing widths ε ``(n,)`` (a fitted model's ``coulomb_`` and ``coulomb_epsilon_``),
            or None; nonzero F_c adds ``variation_after_friction`` too.
        rtol: the symmetry search's tolerance.

    Returns (an empty list for an L with explicit t):
        ``[{"name", "expression", "symmetry", "variation_on_data", "latex", "generator",
        "gauge"[, "variation_after_friction"]}, ...]`` — energy first.  ``expression`` is a SymPy
        string in the coordinate names and ``<name>_dot``; ``generator`` maps each coordinate to
        ξᵢ (empty for the energy); ``gauge`` is F with pr X(L) = dF/dt.
    """
    if lagrangian_expr is None:
        raise ValueError("no closed-form Lagrangian (an MLP model): probe it numerically with "
                         "discover.studies.symmetry_probe instead")
    L = parse_lagrangian(lagrangian_expr)
    if sympy.Symbol("t") in L.free_symbols:
        return []  # an explicitly time-dependent L conserves neither energy nor point-symmetry charges here
    coords = list(coordinates)
    trajectories = [_unpack(tr) for tr in trajectories]
    c = None if friction is None or not np.any(np.asarray(friction, float)) else np.asarray(friction, float)
    fc = None if coulomb is None or not np.any(np.asarray(coulomb, float)) else np.asarray(coulomb, float)
    if fc is not None and coulomb_epsilon is None:
        raise ValueError("Coulomb friction needs its smoothing widths coulomb_epsilon (a fitted model's coulomb_epsilon_)")
    dissipation = None if c is None and fc is None else (c, fc, coulomb_epsilon)
    states = (np.concatenate([q for _, q, _ in trajectories]),
              np.concatenate([qd for _, _, qd in trajectories])) if trajectories else None
    items = [("energy", energy_function(L, coords), "time translation", None, sympy.Integer(0))]
    for s in find_symmetries(L, coords, rtol=rtol, states=states):
        items.append((s.name, s.charge, s.description, s.xi, s.gauge))
    out = []
    for name, expr, sym, xi, F in items:
        raw, corrected = _variations(expr, xi, coords, trajectories, dissipation)
        entry = {"name": name, "expression": str(expr), "symmetry": sym, "variation_on_data": raw,
                 "latex": to_latex(expr, coords),
                 "generator": {} if xi is None else {cn: str(x) for cn, x in zip(coords, xi)},
                 "gauge": str(F)}
        if dissipation is not None:
            entry["variation_after_friction"] = corrected
        out.append(entry)
    return out


def charge_series(entries: list[dict], coordinates: Sequence[str], trajectories, *,
                  max_trajectories: int = 4, max_points: int = 400) -> list[dict]:
    """For plotting: per entry ``{"name", "t": [...], "relative": [...]}`` with one array per
    trajectory (at most ``max_trajectories``, each thinned to ``max_points``): (Q − mean Q) / S
    along it, S the RMS size of Q's terms (as in ``variation_on_data``).  ``t`` is the sample
    index where a trajectory has no times."""
    trs = [_unpack(tr) for tr in list(trajectories)[:max_trajectories]]
    out = []
    for e in entries:
        ts, rel = [], []
        for t, q, qd in trs:
            Q, S = charge_values(e["expression"], coordinates, q, qd)
            step = max(1, len(Q) // max_points)
            scale = float(np.sqrt(np.mean(S ** 2))) or 1.0
            ts.append((np.arange(len(Q)) if t is None else t)[::step])
            rel.append(((Q - Q.mean()) / scale)[::step])
        out.append({"name": e["name"], "t": ts, "relative": rel})
    return out
