"""The links tier (discover.library.Links): the terms of a chain of planar rigid links, O(n²),
offered for chains of angles before the O(n⁴) trig tier."""
import numpy as np
import sympy

from discover.library import Links, default_tiers
from discover.sparse import size_cap
from discover.studies.pendulum_chain import PendulumChain


def n_link_lagrangian(n):
    """L of an n-link planar pendulum (masses m_i at the rod ends, lengths l_i, gravity g), from
    the Cartesian positions of the masses: T = ½ Σ m_k |ṙ_k|², V = −g Σ m_k y_k (y down)."""
    th = sympy.symbols(f"theta1:{n + 1}")
    w = [sympy.Symbol(f"theta{i}_dot") for i in range(1, n + 1)]
    m, l, g = sympy.symbols(f"m1:{n + 1}", positive=True), sympy.symbols(f"l1:{n + 1}", positive=True), sympy.Symbol("g")
    x = y = 0
    T = V = 0
    for k in range(n):
        x, y = x + l[k] * sympy.sin(th[k]), y + l[k] * sympy.cos(th[k])
        xd = sum(l[j] * sympy.cos(th[j]) * w[j] for j in range(k + 1))
        yd = sum(-l[j] * sympy.sin(th[j]) * w[j] for j in range(k + 1))
        T += m[k] * (xd**2 + yd**2) / 2
        V += -g * m[k] * y
    return sympy.expand(sympy.trigsimp(sympy.expand(T - V)))


def span_residual(L, terms) -> float:
    """min over constant coefficients c of |L − Σ c_k φ_k|, matched coefficient by coefficient
    as a polynomial in the angles' cos, sin and the velocities (masses, lengths and g set to
    generic numbers): zero iff L is in the terms' span."""
    L = L.subs({s: 1 + 0.37 * k for k, s in enumerate(sorted(L.free_symbols - set(_coordinates(L)), key=str))})
    coeffs = sympy.symbols(f"c0:{len(terms)}")
    diff = sympy.expand(sympy.expand_trig(L - sum(c * t for c, t in zip(coeffs, terms))))
    th = [s for s in _coordinates(diff) if not s.name.endswith("_dot")]
    vel = [s for s in _coordinates(diff) if s.name.endswith("_dot")]
    poly = sympy.Poly(diff, *vel, *[sympy.cos(s) for s in th], *[sympy.sin(s) for s in th])
    A, b = sympy.linear_eq_to_matrix(poly.coeffs(), coeffs)
    A, b = np.array(A, float), np.array(b, float).ravel()
    x = np.linalg.lstsq(A, b, rcond=None)[0]
    return float(np.abs(A @ x - b).max())


def _coordinates(expr):
    return sorted((s for s in expr.free_symbols if s.name.startswith("theta")), key=str)


def test_links_terms_for_three_links():
    names = ["theta1", "theta2", "theta3"]
    t1, t2, t3 = sympy.symbols("theta1:4")
    v1, v2, v3 = sympy.symbols("theta1_dot theta2_dot theta3_dot")
    expected = {v1**2, v2**2, v3**2, v1 * v2 * sympy.cos(t1 - t2), v1 * v3 * sympy.cos(t1 - t3),
                v2 * v3 * sympy.cos(t2 - t3), sympy.cos(t1), sympy.sin(t1), sympy.cos(t2), sympy.sin(t2),
                sympy.cos(t3), sympy.sin(t3)}
    terms = Links().terms(names)
    assert set(terms) == expected and len(terms) == 12 == Links().size(names)


def test_three_link_pendulum_from_sympy_is_in_the_span():
    L = n_link_lagrangian(3)
    terms = Links().terms(["theta1", "theta2", "theta3"])
    assert span_residual(L, terms) < 1e-12
    assert span_residual(L, [t for t in terms if t != terms[5]]) > 0.1  # without θ̇₂θ̇₃ cos(θ₂ − θ₃)


def test_links_sizes_and_tier_order():
    for n in (3, 8, 16):
        names = [f"theta{i}" for i in range(1, n + 1)]
        assert Links().size(names) == n * (n + 5) // 2
        tiers = [name for name, _ in default_tiers(names)]
        assert tiers.index("links") < (tiers.index("trig") if "trig" in tiers else len(tiers))
        truth = {str(t.as_coeff_Mul()[1]) for t in sympy.Add.make_args(sympy.expand(PendulumChain(n=n).lagrangian()))}
        assert truth <= set(map(str, Links().terms(names)))
        assert Links().max_support(names) >= len(truth) > size_cap(n) or n < 8
    assert "links" not in [name for name, _ in default_tiers(["theta1", "theta2"])]  # n = 2: trig holds it
    assert Links().terms(["x", "theta"]) == []
