"""The local tier (discover.library.Local): quadratic terms of single coordinates and of chain
neighbours, O(n) in the number of coordinates, and exact discovery of a spring chain with it."""
import numpy as np
import pytest
import sympy

from discover import SparseLagrangian
from discover.bodies import find_chain
from discover.library import Local, Polynomial, Trig, default_tiers
from discover.studies.noise import noisy_set
from discover.systems import get_system


def chain_names(n):
    return [f"x{i}" for i in range(1, n + 1)]


def test_find_chain_orders_by_index_and_rejects_other_names():
    assert find_chain(["x3", "x1", "x10", "x2"]) == ["x1", "x2", "x3", "x10"]
    assert find_chain(["q_1", "q_2"]) == ["q_1", "q_2"]
    assert find_chain(["x1", "y1", "x2", "y2"]) is None  # two stems: bodies, not a chain
    assert find_chain(["x", "y", "z"]) is None
    assert find_chain(["x1", "x1"]) is None
    assert find_chain(["x1"]) is None


@pytest.mark.parametrize("n", [3, 5, 8, 16, 33])
def test_local_tier_grows_linearly(n):
    # per coordinate x, ẋ, x², x ẋ, ẋ²; per neighbour pair x_i x_j, ẋ_i ẋ_j, x_i ẋ_j, x_j ẋ_i
    names = chain_names(n)
    assert len(Local().terms(names)) == 5 * n + 4 * (n - 1)
    assert len(Polynomial(2).terms(names)) == 2 * n + 2 * n * (2 * n + 1) // 2  # the product it avoids


def test_local_tier_is_the_neighbour_part_of_the_quadratic_tier():
    names = chain_names(5)
    local = set(map(str, Local().terms(names)))
    index = {sympy.Symbol(c): i for i, c in enumerate(names)} | {sympy.Symbol(f"{c}_dot"): i for i, c in enumerate(names)}
    neighbours = {str(t) for t in Polynomial(2).terms(names)
                  if max(index[s] for s in t.free_symbols) - min(index[s] for s in t.free_symbols) <= 1}
    assert local == neighbours
    assert Local().terms(["x1", "y1", "x2", "y2"]) == [] and Local().terms(["theta"]) == []


@pytest.mark.parametrize("n", [3, 6, 32])
def test_chain_lagrangian_lies_in_the_local_tier(n):
    # ½Σẋ² − ½Σ(x_{i+1} − x_i)² with walls: ẋ_i², x_i², x_i x_{i+1}, and nothing else
    names = chain_names(n)
    L = sympy.expand(get_system("chain", n=n).lagrangian())
    terms = {str(t.as_coeff_Mul()[1]) for t in L.as_ordered_terms()}
    assert len(terms) == 3 * n - 1
    assert terms <= set(map(str, Local().terms(names)))


def test_local_tier_comes_first_only_for_chains_of_three_or_more():
    assert [t for t, _ in default_tiers(chain_names(6))][0] == "local"
    assert "local" not in dict(default_tiers(chain_names(2)))  # at n = 2 it equals the quadratic tier
    assert "local" not in dict(default_tiers(["x1", "y1", "x2", "y2"]))
    assert "local" not in dict(default_tiers(["theta", "phi"]))
    assert "local" not in dict(default_tiers(3))  # a count names no chain (SparseLagrangian passes one)
    # at n = 32 the full product tiers exceed max_terms; the local one (284 terms) remains
    assert [t for t, _ in default_tiers(chain_names(32))] == ["local"]
    assert len(default_tiers(32)) == 0


def test_chain_of_six_is_found_exactly_from_clean_data():
    n, m, k = 6, 1.0, 1.0
    system = get_system("chain", n=n, m=m, k=k)
    t = np.arange(301) * 0.01
    q0, v0 = system.sample_initial_states(3, np.random.default_rng(1))
    q, _ = system.exact_solution(q0, v0, t)
    data = noisy_set(t, np.asarray(q).reshape(len(t), 3, n), system.coordinates, 0.0, 0)
    model = SparseLagrangian(library=Local()).fit(data)
    coef = dict(zip(map(str, model.terms_), model.coef_))
    # −½k Σ (x_{i+1} − x_i)² with walls = −k Σ x_i² + k Σ x_i x_{i+1}; per ½m ẋ_i²: ẋ_i² 1,
    # x_i² −2k/m, x_i x_{i+1} +2k/m — and no other term
    names = chain_names(n)
    expected = {f"{c}_dot**2": 1.0 for c in names}
    expected |= {f"{c}**2": -2 * k / m for c in names}
    expected |= {f"{a}*{b}": 2 * k / m for a, b in zip(names[:-1], names[1:])}
    assert set(coef) == set(expected)
    scale = coef["x1_dot**2"]
    for term, ratio in expected.items():
        assert coef[term] / scale == pytest.approx(ratio, rel=1e-6), term


@pytest.mark.parametrize("lib", [Polynomial(2), Polynomial(4, max_velocity_degree=2), Local(),
                                 Polynomial(2) + Polynomial(2, of="qdot") * Trig()])
def test_size_counts_the_terms_and_stops_past_the_limit(lib):
    names = chain_names(3)
    k = len(lib.terms(names))
    assert lib.size(names) == k
    assert lib.size(names, limit=k) == k
    assert lib.size(names, limit=k - 1) == k  # one past the limit: stopped there


def test_size_of_a_degree_four_polynomial_in_64_variables_stops_at_the_limit():
    # C(64 + 4, 4) − 1 ≈ 8·10⁵ monomials (velocity degree ≤ 2: still ~6·10⁵): counting to 401 builds ~401
    assert Polynomial(4, max_velocity_degree=2).size(chain_names(32), limit=400) == 401


def test_default_tiers_at_32_coordinates_keeps_only_tiers_within_max_terms():
    tiers = dict(default_tiers(chain_names(32), max_terms=400))
    assert list(tiers) == ["local"]
    assert len(tiers["local"].terms(chain_names(32))) == 9 * 32 - 4
    # every tier over the limit: a generous limit brings the quadratic tier back (2n² + 3n = 2144)
    assert "quadratic" in dict(default_tiers(chain_names(32), max_terms=2144))
