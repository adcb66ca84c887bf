"""Point symmetries and Noether charges of a Lagrangian L(q, q̇) written in SymPy.

A point symmetry is a vector field X = Σ ξᵢ(q) ∂/∂qᵢ whose prolongation
pr X = Σ ξᵢ ∂/∂qᵢ + Σ (dξᵢ/dt) ∂/∂q̇ᵢ leaves L invariant up to a total time derivative,

    pr X(L) = dF/dt = Σ ∂F/∂qⱼ q̇ⱼ,   F = F(q)   (gauge terms: magnetic and similar),

and Noether's theorem makes Q = Σ ∂L/∂q̇ᵢ ξᵢ − F constant along every motion.  The search runs
over ξ = a + B q (translations and angle shifts; rotations of coordinate pairs and every other
linear field), n + n² basis generators.  G = pr X(L) is linear in (a, B), and "G is dF(q)/dt"
is the set of linear conditions

    ∂²G/∂q̇ᵢ∂q̇ⱼ = 0,   G − q̇·∂G/∂q̇ = 0   (G linear in q̇, no q̇-free part),
    ∂/∂qₖ ∂G/∂q̇ⱼ − ∂/∂qⱼ ∂G/∂q̇ₖ = 0   (its coefficient is a gradient).

Each condition is derived by SymPy for each basis generator and each term of L, evaluated at
sample states, and the coefficient vectors (a, B) that satisfy them all span the null space of
that linear system, found by an SVD and cleaned to a sparse (reduced row-echelon) basis whose
entries are snapped to simple rationals where they are within the tolerance of one.
Evaluating at generic states instead of collecting monomials handles every function SymPy can
evaluate (trig, roots, 1/r) and needs no trig identities; for an L with exact (rational)
coefficients the result is then verified symbolically (``Symmetry.exact``).

**Tolerance** (``rtol``): a fitted L has float coefficients (0.4999999 for ½).  A combination
of generators counts as a symmetry when its violation of the conditions is at most ``rtol``
times what changing every term of L by the typical size of L's largest term would produce —
that is, when the symmetry could be made exact by changing each term of L by at most ``rtol``
of the size (RMS over the sample states) of L's largest term.  Terms of a charge smaller than
``rtol`` times its largest term (on the same states) are dropped.  The default 1e-3 suits
coefficients from a fit; ~1e-12 demands exact invariance (exact input reaches ~1e-16).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import numpy as np
import sympy

from .symbolic import parse_lagrangian, to_latex, trig_fold, velocity_name

__all__ = ["Symmetry", "find_symmetries", "noether_charge", "energy_function", "sample_states"]

#: largest denominator of a rational a generator's entries are snapped to
_DENOMINATOR = 12


@dataclass
class Symmetry:
    """A point symmetry of L and its Noether charge.

    Attributes:
        xi: generator components ξᵢ(q), one SymPy expression per coordinate.
        gauge: F(q) with pr X(L) = dF/dt (0 when L itself is invariant).
        charge: the conserved Q = Σ ∂L/∂q̇ᵢ ξᵢ − F (SymPy, coordinates and ``<name>_dot``).
        kind: "translation", "rotation" or "point".
        description: the generator in words, e.g. ``"rotation in (x, y)"``.
        name: the charge in words, e.g. ``"angular momentum in (x, y)"``.
        violation: relative size of the invariance conditions' violation (see ``rtol``).
        exact: verified symbolically (rational L only); None when L has float coefficients.
    """

    xi: tuple
    gauge: sympy.Expr
    charge: sympy.Expr
    kind: str
    description: str
    name: str
    violation: float
    exact: bool | None = None

    def latex(self, coordinates: Sequence[str]) -> str:
        return to_latex(self.charge, coordinates)


# ----------------------------------------------------------------------------------------
# symbols, states, evaluation
# ----------------------------------------------------------------------------------------
def _symbols(coordinates):
    return ([sympy.Symbol(c) for c in coordinates],
            [sympy.Symbol(velocity_name(c)) for c in coordinates])


def sample_states(coordinates: Sequence[str], *, states=None, n_points: int = 48, seed: int = 0):
    """Generic states ``(q, qdot)``, each ``(n_points, n)``, for testing identities numerically.

    Without ``states``: q uniform in [−1.5, 1.5], q̇ in [−0.7, 0.7].  With ``states = (q, qdot)``
    (data, ``(N, n)`` each): random data rows moved by up to half the data's spread per
    coordinate, so that states off the data's own submanifold (a motion confined to a plane,
    say) are tested too.
    """
    rng = np.random.default_rng(seed)
    n = len(coordinates)
    if states is None:
        return rng.uniform(-1.5, 1.5, (n_points, n)), rng.uniform(-0.7, 0.7, (n_points, n))
    q, qd = (np.asarray(a, float).reshape(-1, n) for a in states)
    rows = rng.integers(0, len(q), n_points)
    jitter = lambda a: a[rows] + rng.uniform(-0.5, 0.5, (n_points, n)) * np.where(a.std(0) > 0, a.std(0), 1.0)
    return jitter(q), jitter(qd)


def _evaluator(exprs, q, v):
    """f(Q, V) → array (len(exprs), P) for states Q, V (P, n); constants broadcast."""
    f = sympy.lambdify(q + v, list(exprs), "numpy", cse=True)

    def call(Q, V):
        with np.errstate(all="ignore"):
            vals = f(*Q.T, *V.T)
        return np.stack([np.broadcast_to(np.asarray(x, dtype=complex if np.iscomplexobj(x) else float),
                                         (len(Q),)) for x in vals])

    return call


def _real(a):
    a = np.asarray(a)
    if np.iscomplexobj(a):
        return np.where(np.abs(a.imag) > 0, np.nan, a.real)
    return a


def _has_floats(expr) -> bool:
    return any(isinstance(a, sympy.Float) for a in sympy.preorder_traversal(expr))


# ----------------------------------------------------------------------------------------
# the linear conditions
# ----------------------------------------------------------------------------------------
def _basis(q):
    """Basis generators: n constant fields eᵢ, then n² linear ones qⱼ eᵢ (index n + i·n + j)."""
    n = len(q)
    out = []
    for i in range(n):
        out.append(tuple(sympy.Integer(1) if k == i else sympy.Integer(0) for k in range(n)))
    for i in range(n):
        for j in range(n):
            out.append(tuple(q[j] if k == i else sympy.Integer(0) for k in range(n)))
    return out


def prolong(phi: sympy.Expr, xi, q, v) -> sympy.Expr:
    """pr X(φ) = Σ ξᵢ ∂φ/∂qᵢ + Σ (Σⱼ ∂ξᵢ/∂qⱼ q̇ⱼ) ∂φ/∂q̇ᵢ."""
    n = len(q)
    out = sympy.Integer(0)
    for i in range(n):
        if xi[i] != 0:
            out += xi[i] * sympy.diff(phi, q[i])
            out += sum(sympy.diff(xi[i], q[j]) * v[j] for j in range(n)) * sympy.diff(phi, v[i])
    return out


def _conditions(G, q, v):
    """The n² + 1 expressions that vanish exactly when G = dF(q)/dt (module docstring)."""
    n = len(q)
    dG = [sympy.diff(G, vi) for vi in v]
    out = [G - sum(vi * d for vi, d in zip(v, dG))]
    out += [sympy.diff(dG[i], v[j]) for i in range(n) for j in range(i, n)]
    out += [sympy.diff(dG[j], q[k]) - sympy.diff(dG[k], q[j]) for j in range(n) for k in range(j + 1, n)]
    return out


def _system(L, q, v, Q, V):
    """Condition matrix A (rows: conditions × states, columns: basis generators), each column's
    scale w (see ``rtol``), and the mask of usable states."""
    basis = _basis(q)
    terms = [t for t in sympy.Add.make_args(sympy.expand(L)) if t.free_symbols]
    if not terms:
        raise ValueError("the Lagrangian is a constant: every field is a symmetry")
    per_term, sizes = [], []
    for term in terms:
        exprs = [c for xi in basis for c in _conditions(prolong(term, xi, q, v), q, v)]
        vals = _real(_evaluator(exprs + [term], q, v)(Q, V))
        per_term.append(vals[:-1].reshape(len(basis), -1, len(Q)))  # (K, conditions, P)
        sizes.append(vals[-1])
    per_term, sizes = np.stack(per_term), np.stack(sizes)  # (M, K, C, P), (M, P)
    ok = np.isfinite(per_term).all(axis=(0, 1, 2)) & np.isfinite(sizes).all(0)
    if ok.sum() < 4:
        raise ValueError("the Lagrangian is not finite at the sample states: pass states= inside its domain")
    per_term, sizes = per_term[..., ok], sizes[:, ok]
    s = np.sqrt((sizes ** 2).mean(1))  # typical size of each term
    s = np.where(s > 0, s, s.max() if s.max() > 0 else 1.0)
    A = per_term.sum(0)  # (K, C, P)
    bound = (np.abs(per_term) * (s.max() / s)[:, None, None, None]).sum(0)
    w = np.sqrt((bound ** 2).mean(axis=(1, 2)))
    w = np.where(w > 0, w, 1.0)
    K = len(basis)
    return basis, A.reshape(K, -1).T / np.sqrt(A.shape[1] * A.shape[2]), w, ok


def _null_space(A, w, rtol):
    """Orthonormal basis (K, d) of the c with ‖A c‖ ≤ rtol ‖diag(w) c‖, in the original
    coordinates, and each basis vector's relative violation."""
    Aw = A / w
    _, sv, vt = np.linalg.svd(Aw, full_matrices=True)
    sv = np.concatenate([sv, np.zeros(vt.shape[0] - len(sv))])
    keep = sv <= rtol
    return vt[keep].T / w[:, None], sv[keep]


def _rref(N, tol):
    """Reduced row-echelon form of the rows of N (d, K), pivots in basis order."""
    R = N.copy()
    rows, K = R.shape
    r = 0
    for col in range(K):
        if r == rows:
            break
        piv = r + int(np.argmax(np.abs(R[r:, col])))
        if abs(R[piv, col]) <= tol * np.abs(R[r:]).max():
            continue
        R[[r, piv]] = R[[piv, r]]
        R[r] /= R[r, col]
        for k in range(rows):
            if k != r:
                R[k] -= R[k, col] * R[r]
        r += 1
    R[np.abs(R) < tol] = 0.0
    return R[:r]


def _snap(x: float, tol: float):
    """x as a simple rational when within tol of one, else a Float."""
    if x == 0:
        return sympy.Integer(0)
    r = sympy.nsimplify(x, rational=True, tolerance=tol)
    if r.q <= _DENOMINATOR and abs(float(r) - x) <= tol:
        return r
    return sympy.Float(float(f"{x:.6g}"))


# ----------------------------------------------------------------------------------------
# naming
# ----------------------------------------------------------------------------------------
def _angles(L, q) -> set:
    """Coordinates that appear inside trig functions of L (shifts of them are 'angle shifts')."""
    out = set()
    for f in L.atoms(sympy.sin, sympy.cos, sympy.tan):
        out |= {s for s in f.free_symbols if s in q}
    return out


def _describe(a, B, coords, angles, cyclic):
    """(kind, description of the generator, name of its charge)."""
    n = len(coords)
    a, B = [float(x) for x in a], [[float(x) for x in row] for row in B]
    same = lambda u, w: abs(u - w) <= 1e-6 * max(abs(u), abs(w), 1e-300)
    lin = [(i, j) for i in range(n) for j in range(n) if B[i][j] != 0]
    if not lin:
        idx = [i for i in range(n) if a[i] != 0]
        direction = " + ".join(c for c in (coords[i] for i in idx)) if all(same(a[i], 1) for i in idx) else \
            ", ".join(f"{coords[i]}: {a[i]:.4g}" for i in idx)
        what = "shift of" if all(sympy.Symbol(coords[i]) in angles for i in idx) else "translation of"
        if len(idx) == 1:
            c = coords[idx[0]]
            desc = f"shift of {c} (cyclic coordinate)" if cyclic[idx[0]] else f"{what} {c}"
            return "translation", desc, f"momentum conjugate to {c}"
        return "translation", f"{what} ({direction}) together", f"total momentum along ({direction})"
    pairs = sorted({(min(i, j), max(i, j)) for i, j in lin})
    rotation = (all(same(B[i][j], -B[j][i]) for i, j in pairs) and all(B[i][i] == 0 for i in range(n))
                and all(same(B[j][i], B[pairs[0][1]][pairs[0][0]]) for i, j in pairs))  # one angular speed
    if rotation:
        names = " and ".join(f"({coords[i]}, {coords[j]})" for i, j in pairs)
        about = ""
        if any(x != 0 for x in a):
            c = -np.linalg.lstsq(np.array(B), np.array(a), rcond=None)[0]
            about = " about (" + ", ".join(f"{x + 0.0:.4g}" for x in c) + ")"
        total = "total " if len(pairs) > 1 else ""
        return "rotation", f"rotation in {names}{about}", f"{total}angular momentum in {names}{about}"
    return "point", None, None


# ----------------------------------------------------------------------------------------
# charges
# ----------------------------------------------------------------------------------------
def _drop_small(expr, q, v, Q, V, rel):
    """expr without the terms whose RMS at the states is below rel × the largest term's."""
    terms = sympy.Add.make_args(sympy.expand(expr))
    if rel <= 0 or len(terms) < 2:
        return expr
    vals = _real(_evaluator(terms, q, v)(Q, V))
    size = np.sqrt(np.nanmean(vals ** 2, axis=1))
    keep = size >= rel * np.nanmax(size)
    return sympy.Add(*[t for t, k in zip(terms, keep) if k])


def _round(expr, digits=6):
    """Floats to ``digits`` significant digits; those that become whole numbers to Integers."""
    def short(f):
        x = float(f"{float(f):.{digits}g}")
        return sympy.Integer(int(x)) if x == int(x) else sympy.Float(x)

    return expr.xreplace({f: short(f) for f in expr.atoms(sympy.Float)})


def _potential(g, q):
    """F with ∂F/∂qᵢ = gᵢ (g curl-free), by integrating one coordinate at a time."""
    F = sympy.Integer(0)
    for i, qi in enumerate(q):
        rest = sympy.expand(g[i] - sympy.diff(F, qi))
        if rest != 0:
            F += sympy.integrate(rest, qi)
    return F


def energy_function(L, coordinates: Sequence[str]) -> sympy.Expr:
    """E = Σ q̇ᵢ ∂L/∂q̇ᵢ − L (conserved when L has no explicit t)."""
    L = parse_lagrangian(L)
    _, v = _symbols(coordinates)
    return _simplify(sum(vi * sympy.diff(L, vi) for vi in v) - L)


def noether_charge(L, coordinates: Sequence[str], xi, gauge=0) -> sympy.Expr:
    """Q = Σ ∂L/∂q̇ᵢ ξᵢ − F for the generator ``xi`` (expressions or strings, one per coordinate)."""
    L = parse_lagrangian(L)
    _, v = _symbols(coordinates)
    xi = [parse_lagrangian(x) if isinstance(x, str) else sympy.sympify(x) for x in xi]
    return _simplify(sum(sympy.diff(L, vi) * x for vi, x in zip(v, xi)) - sympy.sympify(gauge))


def _simplify(expr):
    return trig_fold(sympy.expand(expr))


def find_symmetries(L, coordinates: Sequence[str], *, rtol: float = 1e-3, states=None,
                    n_points: int = 48, seed: int = 0) -> list[Symmetry]:
    """A basis of the point symmetries ξ = a + B q of L (up to gauge), with their charges.

    Args:
        L: SymPy expression or string in the coordinates and ``<name>_dot``; no explicit t.
        coordinates: coordinate names, in order.
        rtol: tolerance relative to the size of L's terms (module docstring).
        states: optional data ``(q, qdot)``, each ``(N, n)``, to sample the test states near
            (needed when L is not finite everywhere, e.g. a relativistic √(1 − q̇²)).
        n_points: number of sample states; seed: their random draw.

    Returns:
        One :class:`Symmetry` per independent generator (translations first, then linear
        fields), each normalized so that its first nonzero entry is 1 (rotations:
        counter-clockwise in the first pair, ξ = (−y, x)).
    """
    L = parse_lagrangian(L)
    coords = list(coordinates)
    q, v = _symbols(coords)
    if sympy.Symbol("t") in L.free_symbols:
        raise ValueError("L depends on time t explicitly: point symmetries here assume an autonomous L")
    unknown = L.free_symbols - set(q) - set(v)
    if unknown:
        raise ValueError(f"L uses symbols {sorted(map(str, unknown))} that are not coordinates {coords} "
                         "or their velocities <name>_dot")
    Q, V = sample_states(coords, states=states, n_points=n_points, seed=seed)
    basis, A, w, ok = _system(L, q, v, Q, V)
    Q, V = Q[ok], V[ok]
    N, _ = _null_space(A, w, rtol)
    if N.shape[1] == 0:
        return []
    R = _rref(N.T, 1e-9 + rtol * 1e-3)
    floats = _has_floats(L)
    angles = _angles(L, q)
    n = len(q)
    out = []
    for row in R:
        row = _orient(row, n)
        coef = [_snap(float(x), max(rtol, 1e-6)) for x in row]
        a = coef[:n]
        B = [coef[n + i * n: n + (i + 1) * n] for i in range(n)]
        xi = tuple(sympy.expand(a[i] + sum(B[i][j] * q[j] for j in range(n))) for i in range(n))
        G = prolong(L, xi, q, v)
        g = [sympy.diff(G, vi).subs({vj: 0 for vj in v}) for vi in v]
        if floats:
            g = [_drop_small(gi, q, v, Q, V, rtol) if gi != 0 else gi for gi in g]
        F = _potential(g, q)
        charge = noether_charge(L, coords, xi, F)
        if floats:
            charge = _round(_drop_small(charge, q, v, Q, V, rtol))
            F = _round(F)
        violation = float(np.linalg.norm(A @ row) / max(np.linalg.norm(w * row), 1e-300))
        exact = None if floats else sympy.simplify(sympy.expand(G - sum(sympy.diff(F, qi) * vi for qi, vi in zip(q, v)))) == 0
        kind, desc, name = _describe(a, B, coords, angles, [qi not in L.free_symbols for qi in q])
        if kind == "point":
            desc = "point symmetry ξ = (" + ", ".join(map(str, xi)) + ")"
            name = f"Noether charge of ξ = ({', '.join(map(str, xi))})"
        out.append(Symmetry(xi, F, charge, kind, desc, name, violation, exact))
    return out


def _orient(row, n):
    """Scale convention: a rotation is scaled to unit speed, counter-clockwise in its first pair
    (B[j, i] = 1 for the first i < j with B[i, j] = −B[j, i] ≠ 0: ξ = (−y, x)); any other
    generator has its first nonzero entry equal to 1."""
    B = row[n:].reshape(n, n)
    scale = np.abs(row).max()
    for i in range(n):
        for j in range(i + 1, n):
            if abs(B[j, i]) > 1e-6 * scale and np.isclose(B[i, j], -B[j, i], rtol=1e-6, atol=0):
                return row / B[j, i]
    nz = np.flatnonzero(row)
    return row / row[nz[0]]
