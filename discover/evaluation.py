"""Scoring a found Lagrangian against a known truth, as the studies do: monomials up to scale
and gauge, coefficient errors, standard-error z-scores, and a pendulum's small-angle ω²."""
from __future__ import annotations

import math

import numpy as np
import sympy

__all__ = ["monomials", "kinetic_reference", "compare", "stderr_z", "format_monomials", "small_angle"]


def _symbols(coords):
    return [sympy.Symbol(c) for c in coords], [sympy.Symbol(c + "_dot") for c in coords]

# ----------------------------------------------------------------------------------------
def monomials(expr: sympy.Expr, coords) -> dict:
    """{monomial: coefficient} of expr, trig expanded, constants and total derivatives dropped,
    q_j q̇_i (i < j) written −q_i q̇_j."""
    qs, vs = _symbols(coords)
    e = sympy.expand(sympy.expand_trig(sympy.expand(expr)))
    out: dict = {}
    for term, c in e.as_coefficients_dict().items():
        c = float(c)
        if term == 1 or c == 0:
            continue
        vel = [v for v in vs if term.has(v)]
        if len(vel) == 1 and sympy.degree(term, vel[0]) == 1:
            i = vs.index(vel[0])
            rest = sympy.simplify(term / vel[0])
            if not (rest.free_symbols - {qs[i]}):      # g(q_i) q̇_i = d G(q_i)/dt
                continue
            if rest in qs and qs.index(rest) < i:       # q_j q̇_i with j < i: canonical already
                pass
            elif rest in qs:                            # q_j q̇_i with j > i → −q_i q̇_j
                j = qs.index(rest)
                term, c = qs[i] * vs[j], -c
        out[term] = out.get(term, 0.0) + c
    scale = max((abs(c) for c in out.values()), default=0.0)
    return {k: c for k, c in out.items() if abs(c) > 1e-9 * scale}


def kinetic_reference(truth_m: dict, coords):
    """The first kinetic term: the first coordinate's q̇² monomial."""
    _, vs = _symbols(coords)
    key = vs[0] ** 2
    assert key in truth_m, (key, truth_m)
    return key


def compare(found_expr, truth, coords):
    tm = monomials(truth, coords)
    fm = monomials(found_expr, coords)
    ref = kinetic_reference(tm, coords)
    if ref not in fm:
        return False, math.nan, None, fm, tm
    tn = {k: c / tm[ref] for k, c in tm.items()}
    fn = {k: c / fm[ref] for k, c in fm.items()}
    exact = set(tn) == set(fn)
    err = max(abs(fn[k] - tn[k]) / abs(tn[k]) for k in tn) if exact else math.nan
    return exact, err, fm[ref] / tm[ref], fn, tn


def stderr_z(terms: list[dict], truth, coords) -> list[float]:
    """z = (found − true) / stderr for every monomial of the truth that exactly one found term
    carries (coefficients and stderrs normalized like :func:`compare`; the pinned normalization
    term, stderr 0, is skipped).  Empty when the tool gave no standard errors."""
    if not terms or any("stderr" not in t for t in terms):
        return []
    qs, vs = _symbols(coords)
    loc = {x.name: x for x in qs + vs}
    per_term = [monomials(sympy.sympify(t["term"], locals=loc), coords) for t in terms]
    found: dict = {}
    carriers: dict = {}
    for t, mono in zip(terms, per_term):
        for m, a in mono.items():
            found[m] = found.get(m, 0.0) + float(t["coefficient"]) * a
            carriers.setdefault(m, []).append(float(t["stderr"]) * abs(a))
    tm = monomials(truth, coords)
    ref = kinetic_reference(tm, coords)
    if ref not in found or len(carriers.get(ref, [])) != 1:
        return []
    z = []
    for m, tv in tm.items():
        if m == ref or m not in found or len(carriers[m]) != 1 or carriers[m][0] == 0:
            continue
        fn, tn = found[m] / found[ref], tv / tm[ref]
        se = carriers[m][0] / abs(found[ref])
        z.append((fn - tn) / se)
    return z


def format_monomials(m: dict, limit=8) -> str:
    items = sorted(m.items(), key=lambda kv: -abs(kv[1]))
    s = " + ".join(f"{c:.4g}·{k}" for k, c in items[:limit])
    return s + (f" + … ({len(items) - limit} more)" if len(items) > limit else "")


def small_angle(model) -> dict:
    """Equilibrium θ_eq (root of q̈(θ, 0) near 0) and ω² = −∂q̈/∂θ there."""
    from scipy.optimize import brentq

    a = lambda th: float(np.asarray(model.acceleration(np.array([[th]]), np.zeros((1, 1))))[0, 0])
    grid = np.linspace(-0.25, 0.25, 51)
    vals = np.array([a(g) for g in grid])
    idx = [i for i in range(len(grid) - 1) if np.sign(vals[i]) != np.sign(vals[i + 1]) and vals[i] > vals[i + 1]]
    if not idx:
        return {"theta_eq": math.nan, "omega2": math.nan}
    i = min(idx, key=lambda i: abs(grid[i]))
    th = brentq(a, grid[i], grid[i + 1], xtol=1e-10)
    h = 0.01
    return {"theta_eq": th, "omega2": -(a(th + h) - a(th - h)) / (2 * h)}
