"""Candidate libraries (discover/library.py): term counts from combinatorics, composition with
``+`` and ``*``, deduplication, the default tiers, and the Euler–Lagrange columns of single terms
against hand-derived calculus."""
from math import comb

import numpy as np
import pytest
import sympy
import torch

from discover.library import (
    Constant,
    Custom,
    Polynomial,
    Radial,
    TermSet,
    Trig,
    complexity,
    default_tiers,
)


def names(lib, coords):
    return {str(t) for t in lib.terms(coords)}


def monomials(n_vars, degrees):
    """Number of monomials of the given total degrees in n_vars variables (stars and bars)."""
    return sum(comb(n_vars + d - 1, d) for d in degrees)


def poly_count(n, degree, max_v=None):
    """Monomials of total degree 1..degree in n positions and n velocities, velocity degree ≤ max_v."""
    total = 0
    for a in range(degree + 1):  # degree in q
        for b in range(degree + 1 - a):  # degree in q̇
            if a + b == 0 or (max_v is not None and b > max_v):
                continue
            total += comb(n + a - 1, a) * comb(n + b - 1, b)
    return total


COORDS = {1: ["x"], 2: ["a", "b"], 3: ["x", "y", "z"]}


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("degree", [1, 2, 3])
def test_polynomial_term_counts(n, degree):
    c = COORDS[n]
    assert len(Polynomial(degree).terms(c)) == monomials(2 * n, range(1, degree + 1))
    assert len(Polynomial(degree, of="q").terms(c)) == monomials(n, range(1, degree + 1))
    assert len(Polynomial(degree, of="qdot").terms(c)) == monomials(n, range(1, degree + 1))
    assert len(Polynomial(degree, min_degree=degree).terms(c)) == monomials(2 * n, [degree])
    assert len(Polynomial(degree + 1, max_velocity_degree=1).terms(c)) == poly_count(n, degree + 1, 1)


def test_polynomial_terms_by_hand():
    assert names(Polynomial(2), ["x"]) == {"x", "x_dot", "x**2", "x*x_dot", "x_dot**2"}
    assert names(Polynomial(2, of="qdot"), ["a", "b"]) == {"a_dot", "b_dot", "a_dot**2", "a_dot*b_dot", "b_dot**2"}
    assert names(Polynomial(3, max_velocity_degree=1), ["x"]) == {"x", "x_dot", "x**2", "x*x_dot", "x**3", "x**2*x_dot"}


@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("harmonics", [1, 2])
def test_trig_term_counts(n, harmonics):
    c = COORDS[n]
    # cos and sin of each coordinate and of each difference q_i − q_j, per harmonic
    assert len(Trig(harmonics=harmonics).terms(c)) == 2 * harmonics * (n + comb(n, 2))
    assert len(Trig(harmonics=harmonics, differences=False).terms(c)) == 2 * harmonics * n


def test_trig_and_radial_terms_by_hand():
    a, b = sympy.symbols("a b")
    got = set(Trig().terms(["a", "b"]))
    assert got == {sympy.cos(a), sympy.sin(a), sympy.cos(b), sympy.sin(b), sympy.cos(a - b), sympy.sin(a - b)}
    x, y = sympy.symbols("x y")
    r = sympy.sqrt(x**2 + y**2)
    rad = Radial().terms(["x", "y"])
    assert len(rad) == 5
    for expected in (1 / r, 1 / r**2, r, r**2, sympy.log(r)):
        assert any(sympy.simplify(t - sympy.expand(expected)) == 0 for t in rad), expected


def test_sum_is_the_union_without_duplicates():
    c = ["a", "b"]
    p, t = Polynomial(2), Trig()
    assert names(p + t, c) == names(p, c) | names(t, c)
    assert len((p + t).terms(c)) == len(p.terms(c)) + len(t.terms(c))  # disjoint
    # overlapping libraries: the shared terms count once
    assert len((p + p).terms(c)) == len(p.terms(c))
    assert names(Polynomial(1) + Polynomial(2), c) == names(Polynomial(2), c)
    # user terms equal to library terms are dropped; (a + b)² expands to one new term (a sum)
    user = Custom(["a*b", "b_dot**2", "(a + b)**2", "b*a"])
    assert len((Polynomial(2) + user).terms(c)) == len(p.terms(c)) + 1


def test_product_is_every_pairwise_product_deduplicated():
    c = ["a", "b"]
    v = Polynomial(1, of="qdot")  # a_dot, b_dot
    # a_dot·b_dot and b_dot·a_dot are the same term: 2·2 products, 3 distinct
    assert names(v * v, c) == {"a_dot**2", "a_dot*b_dot", "b_dot**2"}
    # distinct factors give |A|·|B| terms
    vel = Constant() + Polynomial(2, of="qdot")
    n_vel = 1 + monomials(2, [1, 2])
    assert len((vel * Trig()).terms(c)) == n_vel * 6
    # the constant is a null Lagrangian: dropped alone, the identity as a factor
    assert Constant().terms(c) == []
    assert names(Constant() * Trig(), c) == names(Trig(), c)
    assert names(Constant() + Trig(), c) == names(Trig(), c)


def test_terms_are_expanded_and_constants_dropped():
    terms = Custom(["(x + x_dot)**2", "3", "x - x"]).terms(["x"])
    # (x + ẋ)² expands to one sum (a single term); numbers, zero included, are dropped
    assert len(terms) == 1 and terms[0] == sympy.expand(sympy.sympify("(x + x_dot)**2"))


def test_custom_terms_must_use_the_coordinates():
    assert names(Custom(["cos(a - b)*a_dot*b_dot"]), ["a", "b"]) == {"a_dot*b_dot*cos(a - b)"}
    with pytest.raises(ValueError, match="not coordinates"):
        Custom(["c_dot**2"]).terms(["a", "b"])
    with pytest.raises(ValueError, match="not coordinates"):
        Custom(["x*t"]).terms(["x"])


@pytest.mark.parametrize("n", [1, 2, 3])
def test_default_tiers_counts_and_nesting(n):
    coords = [f"c{i}" for i in range(n)]
    tiers = dict(default_tiers(n, max_terms=10**6))
    # "mechanics" (tests/test_library_mechanics.py) comes after "trig": the systems trig finds
    # exactly stop there, as before the tier was added
    expected = ["quadratic", "trig", "mechanics", "polynomial"] + (["central"] if n >= 2 else []) + ["trig+polynomial"]
    assert list(tiers) == expected
    quad = poly_count(n, 2)
    vel = 1 + monomials(n, [1, 2])          # 1, q̇_i, q̇_i q̇_j
    trig = 2 * (n + comb(n, 2))             # cos, sin of q_i and q_i − q_j
    poly4 = poly_count(n, 4, max_v=2)
    counts = {k: len(lib.terms(coords)) for k, lib in tiers.items()}
    assert counts["quadratic"] == quad
    assert counts["trig"] == quad + vel * trig
    assert counts["polynomial"] == poly4
    assert counts["trig+polynomial"] == poly4 + vel * trig
    if n >= 2:
        assert counts["central"] == quad + 5
    sets = {k: {str(t) for t in lib.terms(coords)} for k, lib in tiers.items()}
    for k in tiers:  # every tier contains all quadratic monomials of (q, q̇)
        assert sets["quadratic"] <= sets[k]
    assert sets["polynomial"] <= sets["trig+polynomial"] and sets["trig"] <= sets["trig+polynomial"]


def test_default_tiers_leave_out_tiers_above_max_terms():
    n = 3
    full = {k: len(lib.terms([f"c{i}" for i in range(n)])) for k, lib in default_tiers(n, max_terms=10**6)}
    limit = sorted(full.values())[2]
    kept = [k for k, _ in default_tiers(n, max_terms=limit)]
    assert kept == [k for k, v in full.items() if v <= limit]
    assert len(kept) == 3


def test_complexity_orders_simpler_terms_first():
    terms = [sympy.sympify(s) for s in ["x_dot**2*cos(x)", "x**2", "x", "cos(x - y)*x_dot*y_dot"]]
    assert [str(t) for t in sorted(terms, key=complexity)][:2] == ["x", "x**2"]
    assert str(sorted(terms, key=complexity)[-1]) == "x_dot*y_dot*cos(x - y)"


# ----------------------------------------------------------------------------------------
# TermSet: torch values and Euler–Lagrange columns, against calculus by hand
# ----------------------------------------------------------------------------------------
def test_termset_values_match_the_sympy_terms():
    coords = ["a", "b"]
    lib = Polynomial(2) + Constant() * Trig()
    ts = lib.bind(coords)
    assert len(ts) == len(lib.terms(coords)) and ts.names == [str(t) for t in lib.terms(coords)]
    rng = np.random.default_rng(0)
    q, v = rng.normal(size=2), rng.normal(size=2)
    got = ts.values(torch.as_tensor(q), torch.as_tensor(v)).numpy()
    subs = {"a": q[0], "b": q[1], "a_dot": v[0], "b_dot": v[1]}
    expected = [float(t.subs(subs)) for t in lib.terms(coords)]
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-14)
    xi = torch.as_tensor(rng.normal(size=len(ts)))
    assert float(ts.lagrangian(xi)(torch.as_tensor(q), torch.as_tensor(v))) == pytest.approx(
        float(np.dot(xi.numpy(), expected)), rel=1e-12)
    sub = ts.subset([3, 0])
    assert sub.names == [ts.names[3], ts.names[0]]


def test_el_columns_of_single_terms_by_hand():
    # Euler–Lagrange expression d/dt ∂φ/∂ẋ − ∂φ/∂x, written out for each term:
    #   ẋ²       → 2ẍ
    #   cos x    → sin x
    #   x ẋ      → ẋ − ẋ = 0            (a total derivative, d(x²/2)/dt)
    #   x² ẋ²    → 2x²ẍ + 4xẋ² − 2xẋ² = 2x²ẍ + 2xẋ²
    #   ẋ² cos x → 2 cos x ẍ − 2 sin x ẋ² + sin x ẋ² = 2 cos x ẍ − sin x ẋ²
    ts = TermSet([sympy.sympify(s) for s in ["x_dot**2", "cos(x)", "x*x_dot", "x**2*x_dot**2",
                                              "x_dot**2*cos(x)"]], ["x"])
    rng = np.random.default_rng(1)
    x, v, a = rng.normal(size=(3, 40))
    cols = ts.el_columns(*(torch.as_tensor(z[:, None]) for z in (x, v, a))).numpy()  # (B, 1, K)
    assert cols.shape == (40, 1, 5)
    expected = np.stack([2 * a, np.sin(x), 0 * x, 2 * x**2 * a + 2 * x * v**2,
                         2 * np.cos(x) * a - np.sin(x) * v**2], -1)
    np.testing.assert_allclose(cols[:, 0], expected, rtol=1e-12, atol=1e-12)
    # the mass columns M_k = ∂²φ_k/∂ẋ² and their data mean (the normalization functional)
    M, f = ts.mass_force_columns(torch.as_tensor(x[:, None]), torch.as_tensor(v[:, None]))
    np.testing.assert_allclose(M[:, 0, 0].numpy(), np.stack([2 + 0 * x, 0 * x, 0 * x, 2 * x**2, 2 * np.cos(x)], -1),
                               rtol=1e-12, atol=1e-12)
    mean = ts.velocity_hessian_mean(torch.as_tensor(x[:, None]), torch.as_tensor(v[:, None])).numpy()
    np.testing.assert_allclose(mean[0], [2, 0, 0, np.mean(2 * x**2), np.mean(2 * np.cos(x))], rtol=1e-12, atol=1e-14)


def test_gradient_columns_two_coordinates_by_hand():
    # φ = cos(a − b) ȧ ḃ: ∂φ/∂a = −sin(a − b) ȧḃ, ∂φ/∂b = sin(a − b) ȧḃ, ∂φ/∂ȧ = cos(a − b) ḃ, ∂φ/∂ḃ = cos(a − b) ȧ
    ts = Custom(["cos(a - b)*a_dot*b_dot", "a*b"]).bind(["a", "b"])
    rng = np.random.default_rng(2)
    q, v = rng.normal(size=(2, 30, 2))
    gq, gv = (g.numpy() for g in ts.gradient_columns(torch.as_tensor(q), torch.as_tensor(v)))
    s, c = np.sin(q[:, 0] - q[:, 1]), np.cos(q[:, 0] - q[:, 1])
    p = v[:, 0] * v[:, 1]
    np.testing.assert_allclose(gq[:, :, 0], np.stack([-s * p, s * p], -1), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(gv[:, :, 0], np.stack([c * v[:, 1], c * v[:, 0]], -1), rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(gq[:, :, 1], q[:, ::-1], rtol=1e-12)  # ∂(ab)/∂a = b, ∂(ab)/∂b = a
    np.testing.assert_allclose(gv[:, :, 1], 0.0, atol=0)
