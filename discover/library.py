"""Candidate terms for L = Σ ξ_k φ_k(q, q̇).

A library is a recipe that, given the coordinate names, yields SymPy terms; the torch value of
every term is lambdified from that same expression, so the printed model and the fitted one can
never disagree.  Libraries compose: ``a + b`` is the union of their terms, ``a * b`` every product
of a term of ``a`` with a term of ``b``.

>>> lib = Polynomial(2, of="qdot") * (Constant() + Trig())      # q̇-quadratic × {1, cos, sin}
>>> terms = lib.terms(["a", "b"])
"""
from __future__ import annotations

import itertools
from typing import Callable, Sequence

import sympy
import torch

from .mechanics import lagrangian_gradients, mass_and_force
from .symbolic import parse_lagrangian, velocity_name

__all__ = [
    "Library", "Constant", "Polynomial", "Trig", "Radial", "Custom", "TermSet",
    "default_tiers", "complexity",
]


def _symbols(coordinates: Sequence[str]):
    q = [sympy.Symbol(c) for c in coordinates]
    v = [sympy.Symbol(velocity_name(c)) for c in coordinates]
    return q, v


def _unique(exprs) -> list[sympy.Expr]:
    seen, out = set(), []
    for e in exprs:
        e = sympy.expand(e)
        if e.is_number:  # constants are null Lagrangians
            continue
        key = sympy.srepr(e)
        if key not in seen:
            seen.add(key)
            out.append(e)
    return out


class Library:
    """Base class: subclasses implement :meth:`_raw_terms`."""

    def _raw_terms(self, coordinates: Sequence[str]) -> list[sympy.Expr]:
        raise NotImplementedError

    def terms(self, coordinates: Sequence[str]) -> list[sympy.Expr]:
        """The (expanded, deduplicated, non-constant) SymPy terms for these coordinates."""
        return _unique(self._raw_terms(coordinates))

    def _terms_with_one(self, coordinates):
        return self._raw_terms(coordinates)

    def __add__(self, other: "Library") -> "Library":
        return _Sum(self, other)

    def __mul__(self, other: "Library") -> "Library":
        return _Product(self, other)

    def bind(self, coordinates: Sequence[str]) -> "TermSet":
        return TermSet(self.terms(coordinates), coordinates)


class _Sum(Library):
    def __init__(self, a, b):
        self.a, self.b = a, b

    def _raw_terms(self, coordinates):
        return self.a._raw_terms(coordinates) + self.b._raw_terms(coordinates)

    def __repr__(self):
        return f"({self.a!r} + {self.b!r})"


class _Product(Library):
    def __init__(self, a, b):
        self.a, self.b = a, b

    def _raw_terms(self, coordinates):
        return [x * y for x in self.a._raw_terms(coordinates) for y in self.b._raw_terms(coordinates)]

    def __repr__(self):
        return f"{self.a!r} * {self.b!r}"


class Constant(Library):
    """The constant 1 (useful as a factor: ``Polynomial(2, of="qdot") * (Constant() + Trig())``)."""

    def _raw_terms(self, coordinates):
        return [sympy.Integer(1)]

    def __repr__(self):
        return "Constant()"


class Polynomial(Library):
    """Monomials of total degree 1..``degree`` in q, q̇ or both (``of``), with cross products.

    ``max_velocity_degree`` caps the q̇ part (kinetic energies are rarely above quadratic).
    """

    def __init__(self, degree: int = 2, *, of: str = "both", max_velocity_degree: int | None = None,
                 min_degree: int = 1):
        self.degree, self.of, self.max_velocity_degree, self.min_degree = degree, of, max_velocity_degree, min_degree

    def _raw_terms(self, coordinates):
        q, v = _symbols(coordinates)
        vars_ = {"q": q, "qdot": v, "both": q + v}[self.of]
        out = []
        for d in range(self.min_degree, self.degree + 1):
            for combo in itertools.combinations_with_replacement(vars_, d):
                if self.max_velocity_degree is not None and sum(s in v for s in combo) > self.max_velocity_degree:
                    continue
                out.append(sympy.Mul(*combo))
        return out

    def __repr__(self):
        return f"Polynomial({self.degree}, of={self.of!r})"


class Trig(Library):
    """cos/sin of each coordinate (× harmonics) and, with ``differences``, of q_i − q_j."""

    def __init__(self, *, harmonics: int = 1, differences: bool = True):
        self.harmonics, self.differences = harmonics, differences

    def _raw_terms(self, coordinates):
        q, _ = _symbols(coordinates)
        args = list(q)
        if self.differences:
            args += [a - b for a, b in itertools.combinations(q, 2)]
        out = []
        for a in args:
            for h in range(1, self.harmonics + 1):
                out += [sympy.cos(h * a), sympy.sin(h * a)]
        return out

    def __repr__(self):
        return f"Trig(harmonics={self.harmonics}, differences={self.differences})"


class Radial(Library):
    """Functions of the distance r = |q| from the origin (central forces): r^p for ``powers``."""

    def __init__(self, powers: Sequence[int] = (-1, -2, 1, 2), *, log: bool = True):
        self.powers, self.log = tuple(powers), log

    def _raw_terms(self, coordinates):
        q, _ = _symbols(coordinates)
        r = sympy.sqrt(sum(s ** 2 for s in q))
        out = [r ** p for p in self.powers]
        if self.log:
            out.append(sympy.log(r))
        return out

    def __repr__(self):
        return f"Radial({self.powers})"


class Custom(Library):
    """User terms as SymPy strings using coordinate names and ``<name>_dot``."""

    def __init__(self, terms: Sequence[str]):
        self.strings = list(terms)

    def _raw_terms(self, coordinates):
        out = []
        allowed = set(coordinates) | {velocity_name(c) for c in coordinates}
        for s in self.strings:
            e = parse_lagrangian(s)
            bad = sorted(x.name for x in e.free_symbols if x.name not in allowed)
            if bad:
                raise ValueError(
                    f"term {s!r} uses {bad}, which are not coordinates {list(coordinates)} or their velocities"
                )
            out.append(e)
        return out

    def __repr__(self):
        return f"Custom({self.strings!r})"


def complexity(expr: sympy.Expr) -> tuple:
    """Sort key: simpler terms first (fewer operations, lower degree), then by name."""
    return (sympy.count_ops(expr), len(str(expr)), str(expr))


# ----------------------------------------------------------------------------------------
# a library bound to coordinates: torch values and Euler–Lagrange columns
# ----------------------------------------------------------------------------------------
class TermSet:
    """A fixed list of SymPy terms over given coordinates, evaluated with torch."""

    def __init__(self, terms: Sequence[sympy.Expr], coordinates: Sequence[str]):
        self.exprs = list(terms)
        self.coordinates = list(coordinates)
        self.names = [str(e) for e in self.exprs]
        q, v = _symbols(self.coordinates)
        self._fn = sympy.lambdify(q + v, self.exprs, modules="torch")
        self._term_fns: dict[int, Callable] = {}

    def __len__(self):
        return len(self.exprs)

    def subset(self, idx: Sequence[int]) -> "TermSet":
        return TermSet([self.exprs[i] for i in idx], self.coordinates)

    def values(self, q: torch.Tensor, qdot: torch.Tensor) -> torch.Tensor:
        """φ(q, q̇) for ONE state (1-D q, qdot) → (K,)."""
        n = len(self.coordinates)
        vals = self._fn(*[q[i] for i in range(n)], *[qdot[i] for i in range(n)])
        return torch.stack([v if isinstance(v, torch.Tensor) else q.new_tensor(float(v)) + 0 * q[0] for v in vals])

    def lagrangian(self, xi: torch.Tensor) -> Callable:
        """L(q, q̇) = ξ·φ(q, q̇) for one state."""
        return lambda q, qdot: (xi * self.values(q, qdot)).sum()

    def term(self, k: int) -> Callable:
        """φ_k(q, q̇) for one state, lambdified from its SymPy form (cached)."""
        if k not in self._term_fns:
            q, v = _symbols(self.coordinates)
            g = sympy.lambdify(q + v, self.exprs[k], modules="torch")

            def phi(qq, vv, g=g):
                val = g(*qq.unbind(-1), *vv.unbind(-1))
                zero = 0 * qq.sum(-1)  # anchors constants to the input's shape, dtype and device
                return val + zero if isinstance(val, torch.Tensor) else qq.new_tensor(float(val)) + zero

            phi.batched = True  # one state (n,) or a batch (B, n)
            self._term_fns[k] = phi
        return self._term_fns[k]

    def mass_force_columns(self, q, qdot, indices=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-term M_k = ∂²φ_k/∂q̇² (B, n, n, K) and f_k = ∂φ_k/∂q − C_k q̇ (B, n, K), for the
        terms k in ``indices`` (all by default).

        The Euler–Lagrange equations are linear in L, so for L = ξ·φ: M = Σ ξ_k M_k and
        f = Σ ξ_k f_k.  Each term goes through the one engine on the whole batch (a loop over
        terms, linear in their number; differentiating ξ·φ at once would cost K² here).
        q, qdot: (B, n).
        """
        ks = range(len(self)) if indices is None else indices
        parts = [mass_and_force(self.term(k), q, qdot) for k in ks]
        return torch.stack([p[0] for p in parts], -1), torch.stack([p[1] for p in parts], -1)

    def el_columns(self, q, qdot, qddot) -> torch.Tensor:
        """Θ[b, i, k] = Euler–Lagrange residual (M_k q̈ − f_k)_i of term k at sample b: (B, n, K)."""
        M, f = self.mass_force_columns(q, qdot)
        return torch.einsum("bijk,bj->bik", M, qddot) - f

    def gradient_columns(self, q, qdot) -> tuple[torch.Tensor, torch.Tensor]:
        """(∂φ_k/∂q_i, ∂φ_k/∂q̇_i) as two (B, n, K) tensors (what the weak form needs)."""
        parts = [lagrangian_gradients(self.term(k), q, qdot) for k in range(len(self))]
        return torch.stack([p[0] for p in parts], -1), torch.stack([p[1] for p in parts], -1)

    def velocity_hessian_mean(self, q, qdot, *, max_samples: int = 1000) -> torch.Tensor:
        """(n, K): data mean of ∂²φ_k/∂q̇_i² (the normalization functionals)."""
        step = max(1, q.shape[0] // max_samples)
        M, _ = self.mass_force_columns(q[::step], qdot[::step])
        return M.diagonal(dim1=1, dim2=2).mean(0).T

# ----------------------------------------------------------------------------------------
# the default search
# ----------------------------------------------------------------------------------------
def default_tiers(n_dof: int, *, max_terms: int = 400) -> list[tuple[str, Library]]:
    """Increasingly rich libraries for a user with no prior knowledge.

    Every tier contains all quadratic monomials of (q, q̇); richer tiers add trig functions
    (times q̇ products, as pendulums need), central-force terms, or higher polynomials.
    Tiers larger than ``max_terms`` for this number of coordinates are left out.
    """
    quad = Polynomial(2)
    vel = Constant() + Polynomial(2, of="qdot")
    tiers = [
        ("quadratic", quad),
        ("trig", quad + vel * Trig()),
        ("polynomial", Polynomial(4, max_velocity_degree=2)),
    ]
    if n_dof >= 2:
        tiers.append(("central", quad + Radial()))
    tiers.append(("trig+polynomial", Polynomial(4, max_velocity_degree=2) + vel * Trig()))
    coords = [f"c{i}" for i in range(n_dof)]
    return [(name, lib) for name, lib in tiers if len(lib.terms(coords)) <= max_terms]
