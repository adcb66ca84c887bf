"""Choosing among the candidate models of the library search: the rule, its ties, and the
look-alike supports the held-out data cannot separate (reported, not hidden)."""
from __future__ import annotations

import sympy

from .candidate import Candidate
from .symbolic import build_lagrangian, velocity_name

__all__ = ["EXACT", "TIE", "band", "select", "alternatives", "mixed_velocity"]

#: validation error below which a library tier counts as exact and the search stops
EXACT = 1e-5
#: validation errors closer than this (relative) are ties, broken by a fixed rule (see select)
TIE = 1e-2


def band(results: list[Candidate], parsimony: float) -> float:
    """The largest validation error still within (1 + parsimony) of the best (plus an absolute
    floor for essentially exact fits)."""
    best = min(c.val_error for c in results)
    return best * (1 + parsimony) + 10 * EXACT * (best < EXACT)


def mixed_velocity(expr: sympy.Expr, coordinates) -> int:
    vs = {sympy.Symbol(velocity_name(c)) for c in coordinates}
    return int(len(expr.free_symbols & vs) >= 2)


def select(results: list[Candidate], parsimony: float) -> Candidate:
    """The sparsest size whose best validation error is within (1 + parsimony) of the best
    overall (plus an absolute floor for essentially exact fits); among the candidates of that
    size in the band, the lowest validation error (a look-alike term that fits measurably worse,
    cos x in place of x⁴, loses even when its library is searched first).

    Errors within ``TIE`` (relative) of the lowest, or all below ``EXACT``, are ties: such
    differences are below what a held-out error can resolve (its relative standard error is
    ≈ √(2/N) for N validation samples, > 1 % for the data sizes used here), and on exact data
    they are round-off that differs between machines.  Ties go to fewer mixed-velocity terms,
    the simpler library (the same terms found in a richer tier add nothing), the normalization
    on the earliest coordinates (the CSV's order), then the support earliest in the library's
    term order: the same data give the same model everywhere.
    """
    limit = band(results, parsimony)
    ok = [c for c in results if c.val_error <= limit]
    size = min(c.n_terms for c in ok)
    group = [c for c in ok if c.n_terms == size]
    e = min(c.val_error for c in group)
    tied = [c for c in group if c.val_error <= e * (1 + TIE) or c.val_error < EXACT]
    return min(tied, key=lambda c: (c.mixed, c.tier_rank, list(c.norm), c.support))


def alternatives(results: list[Candidate], chosen: Candidate, parsimony: float, keep: int = 3) -> list[dict]:
    """Other supports the held-out data cannot tell from the chosen one: no more terms, and a
    validation error within the same (1 + parsimony) band (θ² beside cos θ at small amplitude,
    x⁴ beside cos x).  The simplest was returned; these are reported."""
    limit = band(results, parsimony)
    seen = {chosen.key}
    out = []
    for c in sorted(results, key=lambda c: (c.val_error, c.n_terms)):
        if c.val_error > limit or c.n_terms > chosen.n_terms or c.key in seen or not c.terms:
            continue
        seen.add(c.key)
        out.append({"lagrangian": str(build_lagrangian(c.terms, c.coef, digits=4)),
                    "terms": [str(e) for e in c.terms], "coef": [float(x) for x in c.coef],
                    "validation_error": float(c.val_error), "n_terms": int(c.n_terms)})
    return out[:keep]
