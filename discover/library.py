"""Candidate terms for L = Σ ξ_k φ_k(q, q̇).

A library is a recipe that, given the coordinate names, yields SymPy terms; the torch value of
every term is lambdified from that same expression, so the printed model and the fitted one can
never disagree (:class:`discover.termset.TermSet`, re-exported here, evaluates them).
Libraries compose: ``a + b`` is the union of their terms, ``a * b`` every product of a term of
``a`` with a term of ``b``.

>>> lib = Polynomial(2, of="qdot") * (Constant() + Trig())      # q̇-quadratic × {1, cos, sin}
>>> terms = lib.terms(["a", "b"])
"""
from __future__ import annotations

import itertools
import numbers
from typing import Iterator, Sequence

import sympy

from .bodies import find_bodies, find_chain
from .symbolic import parse_lagrangian, velocity_name
from .termset import TermSet, _symbols

__all__ = [
    "Library", "Constant", "Polynomial", "Trig", "Radial", "Custom", "Kinetic", "Potential",
    "Pairwise", "Particles", "Local", "Links", "TermSet", "default_tiers", "complexity",
]


def _iter_unique(exprs) -> Iterator[sympy.Expr]:
    seen = set()
    for e in exprs:
        # the top level only: products and powers of sums are multiplied out, while function
        # arguments keep their form (|r₁ − r₂| stays sqrt((x1 - x2)**2 + (y1 - y2)**2))
        e = sympy.expand(e, deep=False)
        if e.is_number:  # constants are null Lagrangians
            continue
        key = sympy.srepr(e)
        if key not in seen:
            seen.add(key)
            yield e


def _unique(exprs) -> list[sympy.Expr]:
    return list(_iter_unique(exprs))


class Library:
    """Base class: subclasses implement :meth:`_raw_terms` (a list) or :meth:`_iter_terms` (the
    same terms lazily, so that :meth:`size` can stop early on a large library)."""

    def _raw_terms(self, coordinates: Sequence[str]) -> list[sympy.Expr]:
        return list(self._iter_terms(coordinates))

    def _iter_terms(self, coordinates: Sequence[str]) -> Iterator[sympy.Expr]:
        yield from self._raw_terms(coordinates)

    def terms(self, coordinates: Sequence[str]) -> list[sympy.Expr]:
        """The (expanded, deduplicated, non-constant) SymPy terms for these coordinates."""
        return _unique(self._iter_terms(coordinates))

    def size(self, coordinates: Sequence[str], limit: int | None = None) -> int:
        """``len(self.terms(coordinates))``, or ``limit + 1`` as soon as the count exceeds ``limit``:
        terms are built lazily and counting stops there, so sizing a degree-4 polynomial in 64
        variables (~10⁶ terms) against a limit of 400 builds ~400 of them."""
        count = 0
        for _ in _iter_unique(self._iter_terms(coordinates)):
            count += 1
            if limit is not None and count > limit:
                break
        return count

    def max_support(self, coordinates: Sequence[str]) -> int | None:
        """The largest support the search proposes from this library (None: the default,
        :func:`discover.sparse.size_cap`)."""
        return None

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

    def _iter_terms(self, coordinates):
        yield from self.a._iter_terms(coordinates)
        yield from self.b._iter_terms(coordinates)

    def __repr__(self):
        return f"({self.a!r} + {self.b!r})"


class _Product(Library):
    def __init__(self, a, b):
        self.a, self.b = a, b

    def _iter_terms(self, coordinates):
        right = None
        for x in self.a._iter_terms(coordinates):
            right = list(self.b._iter_terms(coordinates)) if right is None else right
            for y in right:
                yield x * y

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

    def _iter_terms(self, coordinates):
        q, v = _symbols(coordinates)
        vars_ = {"q": q, "qdot": v, "both": q + v}[self.of]
        velocity = set(v)
        for d in range(self.min_degree, self.degree + 1):
            for combo in itertools.combinations_with_replacement(vars_, d):
                if self.max_velocity_degree is not None and sum(s in velocity for s in combo) > self.max_velocity_degree:
                    continue
                yield sympy.Mul(*combo)

    def __repr__(self):
        return f"Polynomial({self.degree}, of={self.of!r})"


class Trig(Library):
    """cos/sin of each coordinate (× harmonics) and, with ``differences``, of q_i − q_j; with
    ``squares``, sin² q_i as well (cos² q_i = 1 − sin² q_i is the same term up to a constant)."""

    def __init__(self, *, harmonics: int = 1, differences: bool = True, squares: bool = False):
        self.harmonics, self.differences, self.squares = harmonics, differences, squares

    def _iter_terms(self, coordinates):
        q, _ = _symbols(coordinates)
        args = itertools.chain(q, (a - b for a, b in itertools.combinations(q, 2)) if self.differences else ())
        for a in args:
            for h in range(1, self.harmonics + 1):
                yield sympy.cos(h * a)
                yield sympy.sin(h * a)
        if self.squares:
            yield from (sympy.sin(a) ** 2 for a in q)

    def __repr__(self):
        return f"Trig(harmonics={self.harmonics}, differences={self.differences}, squares={self.squares})"


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


class Kinetic(Library):
    """Kinetic terms f(q) q̇_i q̇_j with the position-dependent factors mechanics gives them.

    ``coupled=True`` (default): on a squared velocity q̇_i², the factors 1, q_k² and sin² q_k of
    the other coordinates k ≠ i (a radius or a polar angle: r² φ̇², sin²θ φ̇²); on a product
    q̇_i q̇_j, the factors 1, cos and sin of q_i and of q_j, and cos(q_i − q_j) (a rod on a cart,
    two rods: ẋ θ̇ cos θ, θ̇₁ θ̇₂ cos(θ₁ − θ₂)).  ``coupled=False``: every factor of
    {1, q_k, q_k², cos q_k, sin q_k, sin² q_k, cos(q_k − q_l)} on every product.  cos² q_k needs
    no entry of its own: cos² q_k q̇_i q̇_j = q̇_i q̇_j − sin² q_k q̇_i q̇_j.
    Terms: n(2n − 1) + 3n(n − 1) coupled; (1 + 5n + n(n − 1)/2) · n(n + 1)/2 otherwise.
    """

    def __init__(self, *, coupled: bool = True):
        self.coupled = coupled

    def _iter_terms(self, coordinates):
        q, v = _symbols(coordinates)
        n = len(q)
        every = [sympy.Integer(1)] + [f for k in range(n) for f in (
            q[k], q[k] ** 2, sympy.cos(q[k]), sympy.sin(q[k]), sympy.sin(q[k]) ** 2)] if not self.coupled else []
        every += [sympy.cos(a - b) for a, b in itertools.combinations(q, 2)] if not self.coupled else []
        for i, j in itertools.combinations_with_replacement(range(n), 2):
            if not self.coupled:
                factors = every
            elif i == j:
                factors = [sympy.Integer(1)] + [f for k in range(n) if k != i
                                                for f in (q[k] ** 2, sympy.sin(q[k]) ** 2)]
            else:
                factors = [sympy.Integer(1), sympy.cos(q[i]), sympy.sin(q[i]), sympy.cos(q[j]),
                           sympy.sin(q[j]), sympy.cos(q[i] - q[j])]
            yield from (f * v[i] * v[j] for f in factors)

    def __repr__(self):
        return f"Kinetic(coupled={self.coupled})"


class Potential(Library):
    """Potential terms of mechanics beyond polynomials: cos q_k (gravity on a rod), sin² q_k (a
    centrifugal potential, cos² q_k being the same up to a constant) and q_j cos q_k for j ≠ k
    (gravity on a mass at distance r along the angle φ: r cos φ).  2n + n(n − 1) terms.

    Kept this small on purpose: every further function of a coordinate that is not an angle
    (cos r, r cos r, sin r, …) is one more near-substitute for the polynomial part on noisy data,
    and the support search then misses the sparse model (measured on the elastic pendulum at
    1 % noise); sin and differences live in the ``trig`` tiers.
    """

    def _raw_terms(self, coordinates):
        q, _ = _symbols(coordinates)
        out = [sympy.cos(a) for a in q] + [sympy.sin(a) ** 2 for a in q]
        return out + [a * sympy.cos(b) for a, b in itertools.permutations(q, 2)]

    def __repr__(self):
        return "Potential()"


def _distance(a: Sequence[sympy.Symbol], b: Sequence[sympy.Symbol] | None = None) -> sympy.Expr:
    """|a − b| (|a| without b) of two position vectors given as symbols."""
    b = [0] * len(a) if b is None else b
    return sympy.sqrt(sum((x - y) ** 2 for x, y in zip(a, b)))


class Pairwise(Library):
    """|r_i − r_j|^p for every pair of bodies named by the coordinates (``x1, y1, x2, y2``, see
    :func:`discover.bodies.find_bodies`) and every power p in ``powers``: p = 2 is the polynomial
    (x1 − x2)² + (y1 − y2)², so springs ½k(|r₁ − r₂| − ℓ)² = ½k(d² − 2ℓd + ℓ²) need p = 2 and 1,
    gravity between bodies p = −1.  Empty when the coordinates name no bodies.  ``bodies``: the
    bodies as coordinate-name groups (``[("ax", "ay"), ("bx", "by")]`` or ``"ax,ay;bx,by"``),
    for names that do not say them (None: found from the names)."""

    def __init__(self, powers: Sequence[int] = (2, 1, -1), *, bodies=None):
        self.powers, self.bodies = tuple(powers), bodies

    def _raw_terms(self, coordinates):
        bodies = [[sympy.Symbol(c) for c in b] for b in find_bodies(coordinates, self.bodies)]
        return [_distance(a, b) ** p for a, b in itertools.combinations(bodies, 2) for p in self.powers]

    def __repr__(self):
        return f"Pairwise({self.powers}{'' if self.bodies is None else f', bodies={self.bodies!r}'})"


class Particles(Library):
    """Bodies that interact in pairs (coordinates naming bodies, :func:`discover.bodies.find_bodies`).

    Point bodies in Cartesian coordinates: the kinetic energy Σ ½ m_b |ṙ_b|² has only squared
    velocities, the potential depends on the bodies through their distances.  Terms: the
    quadratic monomials of (q, q̇) that involve one body at most and no two of its velocity
    components (x1 ẏ1 and x1 y1 stay; x1 x2, ẋ1 ẋ2, x1 ẋ2, ẋ1 ẏ1 do not; coordinates outside
    the bodies keep all theirs), the pairwise terms |r_i − r_j|², |r_i − r_j|, 1/|r_i − r_j|
    (:class:`Pairwise`) and |r_i|, 1/|r_i| of each body (a centre at the origin).  Leaving the
    velocity products out matters: a free centre of mass makes the squared total momentum a
    term whose Euler–Lagrange column vanishes on all data, which would leave the mixture of
    Lagrangians undetermined.  Two bodies in the plane: 8 linear, 18 quadratic (x², y², x y,
    x ẋ, x ẏ, y ẋ, y ẏ, ẋ², ẏ² per body), 3 pairwise and 4 central terms: 33.
    ``bodies``: as in :class:`Pairwise` (None: found from the names).
    """

    def __init__(self, *, bodies=None):
        self.bodies = bodies

    def _raw_terms(self, coordinates):
        bodies = find_bodies(coordinates, self.bodies)
        owner = {c: k for k, b in enumerate(bodies) for c in b}
        owner.update({velocity_name(c): k for c, k in list(owner.items())})
        velocity = {velocity_name(c) for c in owner}
        out = []
        for t in Polynomial(2)._raw_terms(coordinates):
            parts = [str(x) for x in t.free_symbols]
            mine = {owner[x] for x in parts if x in owner}
            if len(mine) > 1 or (len(parts) == 2 and set(parts) <= velocity):
                continue  # two bodies, or two velocity components of one body
            out.append(t)
        out += Pairwise(bodies=self.bodies)._raw_terms(coordinates)
        for b in bodies:
            r = _distance([sympy.Symbol(c) for c in b])
            out += [r, 1 / r]
        return out

    def __repr__(self):
        return "Particles()" if self.bodies is None else f"Particles(bodies={self.bodies!r})"


class Local(Library):
    """The quadratic tier restricted to neighbours along a chain (coordinates ``x1 … xn``, see
    :func:`discover.bodies.find_chain`): O(n) terms instead of the O(n²) of :class:`Polynomial`.

    Per coordinate: x_i, ẋ_i, x_i², x_i ẋ_i, ẋ_i²; per neighbour pair (i, i+1): x_i x_{i+1}
    (springs between masses), ẋ_i ẋ_{i+1} (a tridiagonal mass matrix), x_i ẋ_{i+1} and
    x_{i+1} ẋ_i (a magnetic-like coupling; their sum is d(x_i x_{i+1})/dt, so one of them is gauge,
    kept as in :class:`Polynomial` so that both tiers agree on the terms they share).
    5n + 4(n − 1) terms.  Empty when the coordinates form no chain.

    On a linear chain this also makes the answer unique up to scale: every L = ½ẋᵀAẋ − ½xᵀBx
    with A⁻¹B = M⁻¹K gives the same motion, but with K tridiagonal and A, B confined to
    tridiagonal forms only A ∝ M remains (A = aM + bK would need the pentadiagonal B = aK + bKM⁻¹K).
    """

    def _raw_terms(self, coordinates):
        chain = find_chain(coordinates)
        if chain is None:
            return []
        q, v = _symbols(chain)
        out = []
        for x, xd in zip(q, v):
            out += [x, xd, x ** 2, x * xd, xd ** 2]
        for (a, ad), (b, bd) in zip(zip(q, v), zip(q[1:], v[1:])):
            out += [a * b, ad * bd, a * bd, b * ad]
        return out

    def __repr__(self):
        return "Local()"


class Links(Library):
    """A chain of planar rigid links (coordinates ``theta1 … thetan``, one stem and integer
    suffixes, :func:`discover.bodies.find_chain`): the terms of L = ½ Σᵢⱼ Mᵢⱼ θ̇ᵢθ̇ⱼ cos(θᵢ − θⱼ) −
    V(θ) with gravity on every link, whatever the masses, lengths and centres of mass along the
    links: θ̇ᵢ², θ̇ᵢθ̇ⱼ cos(θᵢ − θⱼ) for every pair (each link moves every link below it), and
    cos θᵢ, sin θᵢ.  n + n(n − 1)/2 + 2n terms (O(n²), where the trig tier holding them is O(n⁴)).
    Empty when the coordinates form no chain."""

    def _iter_terms(self, coordinates):
        chain = find_chain(coordinates)
        if chain is None:
            return
        q, v = _symbols(chain)
        yield from (w ** 2 for w in v)
        for i, j in itertools.combinations(range(len(q)), 2):
            yield v[i] * v[j] * sympy.cos(q[i] - q[j])
        for a in q:
            yield sympy.cos(a)
            yield sympy.sin(a)

    def max_support(self, coordinates):
        """Every term: an n-link pendulum has n(n + 3)/2 of them (44 at n = 8), past the default
        cap of 40 (or 4n)."""
        from .sparse import size_cap

        return max(size_cap(len(coordinates)), self.size(coordinates))

    def __repr__(self):
        return "Links()"


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
# the default search
# ----------------------------------------------------------------------------------------
def default_tiers(coordinates: int | Sequence[str], *, max_terms: int = 400,
                  bodies=None) -> list[tuple[str, Library]]:
    """Increasingly rich libraries for a user with no prior knowledge.

    ``coordinates``: the coordinate names, or just their number n (names are then unknown and
    no bodies are detected).  ``bodies``: the bodies as coordinate-name groups
    (:func:`discover.bodies.find_bodies`), replacing their detection by name.  The tiers,
    searched in this order until one fits exactly:

    * ``particles`` — only when the names (or ``bodies``) give at least two bodies (``x1, y1, x2, y2``):
      :class:`Particles`, translation- and rotation-invariant pair potentials;
    * ``local`` — only when names are given and form a chain of n ≥ 3 (``x1 … xn``,
      :func:`discover.bodies.find_chain`): :class:`Local`, the quadratic monomials of single
      coordinates and of neighbours, 9n − 4 terms (a chain of springs at any n);
    * ``links`` — likewise for a chain of n ≥ 3: :class:`Links`, the terms of planar rigid links
      (θ̇ᵢ², θ̇ᵢθ̇ⱼ cos(θᵢ − θⱼ), cos θᵢ, sin θᵢ), n(n + 5)/2 terms (an n-link pendulum);
    * ``quadratic`` — all monomials of (q, q̇) of degree ≤ 2;
    * ``trig`` — quadratic + {1, q̇_i q̇_j} × {cos, sin of q_i and q_i − q_j} (pendulums);
    * ``mechanics`` — L = Σ f(q) q̇_i q̇_j + Σ g(q) q̇_i + V(q): quadratic (g = q_k, magnetic
      terms) + :class:`Kinetic` factors (r² φ̇², sin²θ φ̇², ẋ θ̇ cos θ, θ̇₁ θ̇₂ cos(θ₁ − θ₂)) +
      :class:`Potential` (cos q_k, sin² q_k, r cos φ) + :class:`Pairwise` distances when the
      coordinates name bodies;
    * ``polynomial`` — monomials of degree ≤ 4, at most quadratic in q̇;
    * ``central`` (n ≥ 2) — quadratic + functions of |q| (Kepler);
    * ``trig+polynomial`` — polynomial ∪ trig.

    When the names give bodies and every coordinate belongs to one, the tiers of trigonometric
    functions (trig, mechanics, trig+polynomial) are left out: Cartesian positions are not angles.

    An exact tier comes before those that can only approximate its system (the search keeps
    the first tier with a held-out error below :data:`discover.selection.EXACT`).  Sizes for
    n = 1, 2, 3, 4 generic coordinates: quadratic 5, 14, 27, 44; trig 11, 50, 147, 344;
    mechanics 7, 29, 66, 118; polynomial 11, 52, 154, 359; central –, 19, 32, 49;
    trig+polynomial 17, 88, 274, 659; particles for two bodies in the plane 33.  Tiers larger
    than ``max_terms`` for these coordinates are left out.
    """
    named = not isinstance(coordinates, numbers.Integral)
    if not named:
        names = [f"c{i}" for i in range(int(coordinates))]
    else:
        names = list(coordinates)
    n = len(names)
    found = find_bodies(names, bodies)
    cartesian = bool(found) and sum(map(len, found)) == n
    quad = Polynomial(2)
    vel = Constant() + Polynomial(2, of="qdot")
    tiers = [("particles", Particles(bodies=bodies))] if found else []
    # names known (not just a count), n >= 3 (at n = 2 every pair are neighbours: local = quadratic)
    if named and n >= 3 and find_chain(names) is not None:
        tiers += [("local", Local()), ("links", Links())]
    tiers += [
        ("quadratic", quad),
        ("trig", quad + vel * Trig()),
        ("mechanics", quad + Kinetic() + Potential() + Pairwise(bodies=bodies)),
        ("polynomial", Polynomial(4, max_velocity_degree=2)),
    ]
    if n >= 2:
        tiers.append(("central", quad + Radial()))
    tiers.append(("trig+polynomial", Polynomial(4, max_velocity_degree=2) + vel * Trig()))
    if cartesian:
        tiers = [(name, lib) for name, lib in tiers if name not in ("trig", "mechanics", "trig+polynomial")]
    return [(name, lib) for name, lib in tiers if lib.size(names, limit=max_terms) <= max_terms]
