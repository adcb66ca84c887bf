"""Mechanics-shaped library tiers and interacting particles (discover/library.py, discover/bodies.py).

What a textbook Lagrangian needs must be in the default search: position-dependent kinetic
factors (r² φ̇², sin²θ φ̇², ẋ θ̇ cos θ), potentials such as r cos φ and sin²θ, and distances
between bodies.  Expected terms and coefficients come from the systems' closed forms.
"""
from math import comb

import numpy as np
import pytest
import sympy

from discover.bodies import find_bodies
from discover.data import TrajectorySet
from discover.library import Kinetic, Pairwise, Particles, Polynomial, default_tiers
from discover.model import SparseLagrangian
from discover.systems import get_system

from physics import trajectories


def S(text):
    return sympy.sympify(text)


def contains(terms, expr):
    """Whether ``expr`` is one of ``terms`` (equal as SymPy expressions, whatever the form)."""
    return any(sympy.expand(t - expr) == 0 for t in terms)


# ----------------------------------------------------------------------------------------
# bodies from coordinate names
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("coords, bodies", [
    (["x1", "y1", "x2", "y2"], [("x1", "y1"), ("x2", "y2")]),
    (["y1", "x1", "y2", "x2"], [("x1", "y1"), ("x2", "y2")]),  # components pair by axis name
    (["x_1", "y_1", "z_1", "x_2", "y_2", "z_2", "theta"], [("x_1", "y_1", "z_1"), ("x_2", "y_2", "z_2")]),
    (["x1", "x2", "x3", "x4"], []),          # a chain: one coordinate per mass, no positions to compare
    (["theta1", "theta2"], []),
    (["x1", "y1", "x2"], []),                # one planar body only
    (["x", "y"], []),
])
def test_bodies_are_found_from_indexed_names(coords, bodies):
    assert find_bodies(coords) == bodies


def test_pairwise_distances_for_every_pair_of_bodies():
    x1, y1, x2, y2, x3, y3 = sympy.symbols("x1 y1 x2 y2 x3 y3")
    d12 = sympy.sqrt((x1 - x2) ** 2 + (y1 - y2) ** 2)
    terms = Pairwise().terms(["x1", "y1", "x2", "y2"])
    assert len(terms) == 3
    for expected in (d12**2, d12, 1 / d12):  # springs ½k(d − ℓ)² = ½k(d² − 2ℓd + ℓ²), gravity −G m₁m₂/d
        assert contains(terms, expected)
    assert len(Pairwise().terms(["x1", "y1", "x2", "y2", "x3", "y3"])) == 3 * comb(3, 2)
    assert Pairwise().terms(["x1", "x2", "x3"]) == [] and Pairwise().terms(["r", "phi"]) == []


def test_particle_tier_is_translation_friendly_and_first():
    coords = ["x1", "y1", "x2", "y2"]
    terms = Particles().terms(coords)
    # no products of two bodies' coordinates, no velocity products (a free centre of mass would
    # make the squared total momentum a term invisible on the data)
    for absent in ("x1*x2", "y1*y2", "x1_dot*x2_dot", "x1_dot*y1_dot", "x1*x2_dot"):
        assert not contains(terms, S(absent)), absent
    for present in ("x1_dot**2", "y2_dot**2", "x1*y1_dot", "x2", "y1**2"):
        assert contains(terms, S(present)), present
    r1 = sympy.sqrt(S("x1**2 + y1**2"))
    assert contains(terms, r1) and contains(terms, 1 / r1)
    assert len(terms) == 33  # as documented in Particles
    # particles first; no trigonometric tiers for Cartesian positions
    assert [k for k, _ in default_tiers(coords)] == ["particles", "quadratic", "polynomial", "central"]
    assert "particles" not in dict(default_tiers(4)) and "particles" not in dict(default_tiers(["x1", "x2", "x3", "x4"]))


# ----------------------------------------------------------------------------------------
# the mechanics tier: factors, sizes, order
# ----------------------------------------------------------------------------------------
def test_kinetic_factors_are_present():
    coords = ["a", "b", "c"]
    a, b, c, ad, bd, cd = sympy.symbols("a b c a_dot b_dot c_dot")
    every = Kinetic(coupled=False).terms(coords)
    factors = [S(1), b, b**2, sympy.cos(b), sympy.sin(b), sympy.sin(b) ** 2, sympy.cos(a - c)]
    for f in factors:
        for v in (ad**2, ad * cd, bd**2):
            assert contains(every, f * v), f * v
    n = 3
    assert len(every) == (1 + 5 * n + comb(n, 2)) * comb(n + 1, 2)
    coupled = Kinetic().terms(coords)
    # squared velocities take factors of the other coordinates, products those of their own
    for t in (a**2 * bd**2, sympy.sin(a) ** 2 * bd**2, ad * bd * sympy.cos(a), ad * bd * sympy.sin(b),
              ad * bd * sympy.cos(a - b), cd**2):
        assert contains(coupled, t), t
    assert not contains(coupled, a**2 * ad**2)
    assert len(coupled) == n * (2 * n - 1) + 3 * n * (n - 1)
    # cos² needs no entry: cos² b ȧ² = ȧ² − sin² b ȧ², both present
    assert contains(coupled, ad**2) and contains(coupled, sympy.sin(b) ** 2 * ad**2)


def mechanics_size(n):
    quad = sum(comb(n + a - 1, a) * comb(n + bb - 1, bb) for a in range(3) for bb in range(3 - a) if a + bb)
    kinetic = n * (2 * n - 1) + 3 * n * (n - 1) - comb(n + 1, 2)  # less the q̇_i q̇_j already in quad
    potential = 2 * n + n * (n - 1)  # cos q_k, sin² q_k, q_j cos q_k (j ≠ k)
    return quad + kinetic + potential


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_mechanics_tier_size_and_place(n):
    coords = [f"c{i}" for i in range(n)]
    tiers = default_tiers(n, max_terms=10**6)
    names = [k for k, _ in tiers]
    assert names.index("trig") + 1 == names.index("mechanics") < names.index("polynomial")
    mech = dict(tiers)["mechanics"].terms(coords)
    assert len(mech) == mechanics_size(n)
    assert {1: 7, 2: 29, 3: 66, 4: 118}[n] == len(mech)  # the sizes the docstring states
    assert {str(t) for t in Polynomial(2).terms(coords)} <= {str(t) for t in mech}
    # bounded like every tier: left out above max_terms (the default 400 keeps it up to
    # n = 7, mechanics_size(7) = 364 < 400 < mechanics_size(8) = 476)
    assert "mechanics" in dict(default_tiers(n, max_terms=len(mech)))
    assert "mechanics" not in dict(default_tiers(n, max_terms=len(mech) - 1))
    assert mechanics_size(7) <= 400 < mechanics_size(8)
    r, phi = sympy.symbols("c0 c1")
    if n == 2:  # the potential part: r cos φ, not cos r · r or sin φ
        assert contains(mech, r * sympy.cos(phi)) and contains(mech, sympy.sin(phi) ** 2)
        assert not contains(mech, r * sympy.cos(r)) and not contains(mech, sympy.sin(phi))


# every term of each closed form, as the mechanics tier (or particles tier) must hold it
REFERENCE_TERMS = {
    "elastic_pendulum": ("mechanics", ["r_dot**2", "r**2*phi_dot**2", "r*cos(phi)", "r**2", "r"]),
    "spherical_pendulum": ("mechanics", ["theta_dot**2", "sin(theta)**2*phi_dot**2", "cos(theta)"]),
    "bead_on_hoop": ("mechanics", ["theta_dot**2", "sin(theta)**2", "cos(theta)"]),
    "cart_pole": ("mechanics", ["x_dot**2", "x_dot*theta_dot*cos(theta)", "theta_dot**2", "cos(theta)"]),
    "double_pendulum": ("mechanics", ["theta1_dot**2", "theta2_dot**2", "theta1_dot*theta2_dot*cos(theta1 - theta2)",
                                      "cos(theta1)", "cos(theta2)"]),
    "spring_pair": ("particles", ["x1_dot**2", "y1_dot**2", "x2_dot**2", "y2_dot**2",
                                  "(x1 - x2)**2 + (y1 - y2)**2", "sqrt((x1 - x2)**2 + (y1 - y2)**2)"]),
}


@pytest.mark.parametrize("name", sorted(REFERENCE_TERMS))
def test_reference_lagrangians_lie_in_their_tier(name):
    tier, expected = REFERENCE_TERMS[name]
    system = get_system(name)
    coords = list(system.coordinates)
    terms = dict(default_tiers(coords))[tier].terms(coords)
    phi = [S(e) for e in expected]
    for e in phi:
        assert contains(terms, e), e
    # the closed form is exactly a combination of these terms plus a constant
    q, v, _ = system.symbols()
    L = system.lagrangian()
    rng = np.random.default_rng(0)
    pts = rng.uniform(0.3, 1.2, (60, 2 * len(coords)))
    cols = np.array([[float(f.subs(dict(zip(q + v, p)))) for f in phi + [S(1)]] for p in pts])
    target = np.array([float(L.subs(dict(zip(q + v, p)))) for p in pts])
    coef, *_ = np.linalg.lstsq(cols, target, rcond=None)
    assert np.allclose(cols @ coef, target, rtol=0, atol=1e-10 * np.abs(target).max())
    assert np.all(np.abs(coef[:-1]) > 1e-8)  # every listed term is needed


# ----------------------------------------------------------------------------------------
# end to end: exact recovery from clean positions
# ----------------------------------------------------------------------------------------
def simulate_set(name, *, n_traj, duration, seed=1, dt=0.01):
    system = get_system(name)
    q0, v0 = system.sample_initial_states(n_traj, np.random.default_rng(seed))
    t = np.arange(0, duration, dt)
    q = trajectories(system.lagrangian(), list(system.coordinates), q0, v0, t)  # (B, T, n)
    B, T, n = q.shape
    data = TrajectorySet.from_arrays(np.tile(t, B), q.reshape(-1, n), coordinates=list(system.coordinates),
                                     traj=np.repeat(np.arange(B), T))
    return system, data


def assert_coefficients(model, expected):
    """``expected``: {term (SymPy text): coefficient} in the fit's normalization."""
    assert len(model.terms_) == len(expected), model.lagrangian()
    for text, c in expected.items():
        match = [k for k, t in enumerate(model.terms_) if sympy.expand(t - S(text)) == 0]
        assert match, (text, model.lagrangian())
        assert model.coef_[match[0]] == pytest.approx(c, rel=1e-6), text


def test_bead_on_hoop_found_exactly_by_the_default_search():
    system, data = simulate_set("bead_on_hoop", n_traj=4, duration=5.0)
    m = SparseLagrangian().fit(data)
    p = system.params  # L = ½ m R² (θ̇² + ω² sin²θ) + m g R cos θ; mean ∂²L/∂θ̇² = m R² → 1
    assert m.library_name_ == "mechanics"
    assert_coefficients(m, {"theta_dot**2": 0.5, "sin(theta)**2": p["omega"] ** 2 / 2,
                            "cos(theta)": p["g"] / p["R"]})


@pytest.mark.slow
def test_spring_pair_found_exactly_by_the_particle_library():
    system, data = simulate_set("spring_pair", n_traj=4, duration=4.0)
    m = SparseLagrangian(library=Particles()).fit(data)
    p = system.params  # −½k(d − ℓ)² = −½k d² + kℓ d + const; mean ∂²L/∂ẋ1² = m1 → 1
    m1 = p["m1"]
    assert m.normalization_coordinates_ == ["x1"]
    d2 = "(x1 - x2)**2 + (y1 - y2)**2"
    assert_coefficients(m, {"x1_dot**2": 0.5, "y1_dot**2": 0.5, "x2_dot**2": p["m2"] / (2 * m1),
                            "y2_dot**2": p["m2"] / (2 * m1), d2: -p["k"] / (2 * m1),
                            f"sqrt({d2})": p["k"] * p["l"] / m1})


@pytest.mark.slow
def test_elastic_pendulum_found_exactly_by_the_default_search():
    system, data = simulate_set("elastic_pendulum", n_traj=4, duration=5.0)
    m = SparseLagrangian().fit(data)
    p = system.params  # ½m(ṙ² + r²φ̇²) + m g r cos φ − ½k(r − l)²; mean ∂²L/∂ṙ² = m → 1
    k = p["k"] / p["m"]
    assert m.normalization_coordinates_ == ["r"]
    assert_coefficients(m, {"r_dot**2": 0.5, "r**2*phi_dot**2": 0.5, "r*cos(phi)": p["g"],
                            "r**2": -k / 2, "r": k * p["l"]})
