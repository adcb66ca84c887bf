"""SymPy export: the single source for text, LaTeX and torch forms of a Lagrangian."""
from __future__ import annotations

from typing import Sequence

import sympy
import torch

__all__ = ["coordinate_names", "velocity_name", "sympy_to_torch", "parse_lagrangian"]

TIME = "t"
VEL_SUFFIX = "_dot"


def velocity_name(coordinate: str) -> str:
    return coordinate + VEL_SUFFIX


def parse_lagrangian(L) -> sympy.Expr:
    """A SymPy expression from an expression or a SymPy-parsable string."""
    if isinstance(L, str):
        names = {s: sympy.Symbol(s) for s in _identifiers(L)}
        return sympy.sympify(L, locals=names)
    return sympy.sympify(L)


def _identifiers(text: str) -> set[str]:
    import re

    known = set(dir(sympy))
    return {w for w in re.findall(r"[A-Za-z_][A-Za-z_0-9]*", text) if w not in known}


def coordinate_names(expr: sympy.Expr) -> list[str]:
    """Coordinates of an expression: symbols other than ``t`` with ``_dot`` stripped, sorted."""
    names = set()
    for s in expr.free_symbols:
        name = s.name
        if name == TIME:
            continue
        names.add(name[: -len(VEL_SUFFIX)] if name.endswith(VEL_SUFFIX) else name)
    return sorted(names)


def sympy_to_torch(L, *, coordinates: Sequence[str] | None = None):
    """``(f, time_dependent)`` with ``f(q, qdot[, t])`` for one state, built by lambdify."""
    expr = parse_lagrangian(L)
    coords = list(coordinates) if coordinates is not None else coordinate_names(expr)
    qs = [sympy.Symbol(c) for c in coords]
    vs = [sympy.Symbol(velocity_name(c)) for c in coords]
    tsym = sympy.Symbol(TIME)
    known = set(qs) | set(vs) | {tsym}
    unknown = sorted(s.name for s in expr.free_symbols if s not in known)
    if unknown:
        raise ValueError(
            f"Lagrangian uses symbols {unknown} that are neither coordinates {coords}, "
            f"their velocities (<name>{VEL_SUFFIX}) nor time '{TIME}'"
        )
    timed = tsym in expr.free_symbols
    # numeric sub-expressions such as sqrt(2) or cos(1) would reach torch as Python numbers
    expr_num = expr.replace(lambda e: e.is_number and not e.is_Atom, lambda e: sympy.Float(e.evalf(17), 17))
    g = sympy.lambdify(qs + vs + [tsym], expr_num, modules="torch")
    n = len(coords)

    def f(q, qdot, t=None):
        if t is None and timed:
            raise ValueError(f"the Lagrangian {expr} depends on time t: pass t")
        tt = q.new_zeros(()) if t is None else t
        val = g(*[q[i] for i in range(n)], *[qdot[i] for i in range(n)], tt)
        # constant parts come back as Python numbers: anchor them to the input tensors
        return torch.as_tensor(val, dtype=q.dtype, device=q.device) + 0 * q.sum()

    f.coordinates = coords
    f.expr = expr
    return f, timed


def _round_sig(x: float, digits: int) -> float:
    return float(f"{x:.{digits}g}")


def build_lagrangian(terms, coefs, *, digits: int = 6, snap: float | None = None) -> sympy.Expr:
    """Σ c_k φ_k as SymPy, coefficients rounded to ``digits`` significant digits.

    With ``snap`` a coefficient within that relative tolerance of a simple rational (small
    denominator) is written as that rational.
    """
    expr = sympy.Integer(0)
    for term, c in zip(terms, coefs):
        c = float(c)
        if c == 0:
            continue
        coef = sympy.Float(_round_sig(c, digits), digits)
        if snap is not None:
            r = sympy.nsimplify(c, rational=True, tolerance=snap * abs(c))
            if r.q <= 12:
                coef = r
        expr += coef * term
    return expr


def trig_fold(expr: sympy.Expr) -> sympy.Expr:
    """Write cos a cos b + sin a sin b as cos(a − b) and similar, keeping the result only when
    it has no more operations than the input."""
    folded = sympy.trigsimp(expr)
    return folded if sympy.count_ops(folded) <= sympy.count_ops(expr) else expr


def equations_of_motion(L: sympy.Expr, coordinates: Sequence[str]) -> list[sympy.Eq]:
    """d/dt ∂L/∂q̇_i − ∂L/∂q_i = 0 for display, with q̈ written ``<name>_ddot``.

    (Numerical work never uses this: the torch engine in discover.mechanics is the one
    Euler–Lagrange implementation; this is the closed form printed in reports.)
    """
    q = [sympy.Symbol(c) for c in coordinates]
    v = [sympy.Symbol(velocity_name(c)) for c in coordinates]
    a = [sympy.Symbol(c + "_ddot") for c in coordinates]
    eqs = []
    for i in range(len(q)):
        p = sympy.diff(L, v[i])
        dpdt = sum(sympy.diff(p, q[j]) * v[j] + sympy.diff(p, v[j]) * a[j] for j in range(len(q)))
        dpdt += sympy.diff(p, sympy.Symbol(TIME))
        eqs.append(sympy.Eq(sympy.expand(dpdt - sympy.diff(L, q[i])), 0, evaluate=False))
    return eqs


def to_latex(expr: sympy.Expr, coordinates: Sequence[str]) -> str:
    """LaTeX with q̇ and q̈ written as \\dot{q} and \\ddot{q}."""
    names = {}
    for c in coordinates:
        base = sympy.latex(sympy.Symbol(c))
        names[sympy.Symbol(c + "_ddot")] = r"\ddot{%s}" % base
        names[sympy.Symbol(velocity_name(c))] = r"\dot{%s}" % base
    return sympy.latex(expr, symbol_names=names)
