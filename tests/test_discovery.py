"""Sparse discovery: recovery of known Lagrangians, gauge handling, normalization.

Expected values come from the systems' exact Lagrangians (closed forms), never from the fit.
"""
import numpy as np
import pytest
import sympy
import torch

import discover
from discover.data import TrajectorySet
from discover.library import Custom, Polynomial
from discover.model import SparseLagrangian
from discover.systems import get_system

from physics import trajectories


def simulate_set(name, n_traj=3, duration=4.0, dt=0.01, noise_rel=0.0, seed=0, **params):
    """Positions of a reference system from its SymPy equations of motion, as a TrajectorySet."""
    sys_ = get_system(name, **params)
    rng = np.random.default_rng(seed)
    q0, v0 = sys_.sample_initial_states(n_traj, rng)
    t = np.arange(0, duration, dt)
    q = trajectories(sys_.lagrangian(), list(sys_.coordinates), q0, v0, t)  # (B, T, n)
    if noise_rel:
        q = q + noise_rel * q.reshape(-1, q.shape[-1]).std(0) * rng.normal(size=q.shape)
    B, T_, n = q.shape
    return sys_, TrajectorySet.from_arrays(
        np.tile(t, B), q.reshape(-1, n), coordinates=list(sys_.coordinates), traj=np.repeat(np.arange(B), T_))


def coefficients(expr, coordinates):
    """{term: coefficient} of a SymPy Lagrangian written as a sum of coefficient × term."""
    out = {}
    for arg in sympy.Add.make_args(sympy.expand(expr)):
        c, rest = arg.as_coeff_Mul()
        out[str(rest)] = out.get(str(rest), 0.0) + float(c)
    return out


def test_pendulum_exact_support_and_coefficients():
    sys_, data = simulate_set("pendulum", g=9.81, l=1.0)
    m = SparseLagrangian().fit(data)
    found = coefficients(m.lagrangian(digits=15), ["theta"])
    # L = ½ m l² θ̇² + m g l cos θ: physics fixes the ratio (cos θ)/(θ̇²) = 2g/l (the scale is the
    # fit's convention)
    assert set(found) == {"theta_dot**2", "cos(theta)"}
    assert found["cos(theta)"] / found["theta_dot**2"] == pytest.approx(2 * 9.81 / 1.0, rel=1e-4)
    assert m.metrics_["validation_qddot_error"] < 1e-5


def test_magnetic_field_motion_recovered_up_to_gauge():
    sys_, data = simulate_set("magnetic_2d", duration=3.0)
    m = SparseLagrangian().fit(data)
    # x ẏ and −y ẋ differ by the total derivative d(xy)/dt: one of them stays, 3 terms in all
    assert len(m.terms_) == 3
    rng = np.random.default_rng(1)
    q, v = rng.normal(size=(50, 2)), rng.normal(size=(50, 2))
    # Lorentz force m r̈ = q ṙ × B ẑ: a = ω (ẏ, −ẋ), ω = qB/m = 2 (the default system)
    w = 1.0 * 2.0 / 1.0
    truth = w * np.stack([v[:, 1], -v[:, 0]], -1)
    np.testing.assert_allclose(m.acceleration(q, v), truth, rtol=1e-5, atol=1e-6)


def test_null_and_collinear_terms_are_detected_not_hand_listed():
    _, data = simulate_set("pendulum", n_traj=3, duration=3.0)
    lib = Custom(["theta_dot**2", "cos(theta)", "theta*theta_dot", "sin(theta)*theta_dot",
                  "sin(theta)**2*theta_dot**2", "cos(theta)**2*theta_dot**2"])
    m = SparseLagrangian(lib).fit(data)
    # in 1-D every f(θ)·θ̇ is dF/dt: a null Lagrangian
    assert set(m.gauge_["null"]) == {"theta*theta_dot", "theta_dot*sin(theta)"}
    # sin²θ θ̇² + cos²θ θ̇² = θ̇²: one of the three is dependent on the others
    assert len(m.gauge_["collinear"]) == 1
    assert m.metrics_["validation_qddot_error"] < 1e-5


def test_scale_is_fixed_by_the_stated_normalization():
    _, data = simulate_set("harmonic_1d", n_traj=3, duration=4.0, m_x=3.0, k_x=12.0)
    m = SparseLagrangian(Polynomial(2)).fit(data)
    found = coefficients(m.lagrangian(digits=15), ["x"])
    # ½ m ẋ² − ½ k x²: physics fixes the ratio (x²)/(ẋ²) = −k/m; the stated normalization
    # (data mean of ∂²L/∂ẋ² = 1) then fixes the scale: ∂²L/∂ẋ² = 2·c(ẋ²) is constant here
    assert set(found) == {"x_dot**2", "x**2"}
    assert found["x**2"] / found["x_dot**2"] == pytest.approx(-12.0 / 3.0, rel=1e-5)
    assert 2 * found["x_dot**2"] == pytest.approx(1.0, rel=1e-8)
    assert "x_dot" in m.normalization_


def test_noisy_pendulum_keeps_the_support():
    _, data = simulate_set("pendulum", n_traj=4, duration=6.0, noise_rel=0.01, seed=3)
    m = SparseLagrangian().fit(data)
    found = coefficients(m.lagrangian(digits=15), ["theta"])
    assert set(found) == {"theta_dot**2", "cos(theta)"}
    assert found["cos(theta)"] == pytest.approx(9.81, rel=0.03)
    assert m.method_ == "weak"


def test_save_load_round_trip(tmp_path):
    import json

    _, data = simulate_set("harmonic_1d", n_traj=2, duration=3.0)
    m = SparseLagrangian(Polynomial(2)).fit(data)
    (tmp_path / "lagrangian.json").write_text(json.dumps(m.to_dict()))
    m2 = discover.load(tmp_path)
    q, v = np.random.default_rng(0).normal(size=(2, 20, 1))
    np.testing.assert_allclose(m2.acceleration(q, v), m.acceleration(q, v), rtol=1e-12)
    assert sympy.simplify(m2.lagrangian() - m.lagrangian()) == 0


def test_decoupled_blocks_are_scaled_separately():
    # three independent oscillators: L = Σ ½ m_i ẋ_i² − ½ k_i x_i² moves like Σ c_i L_i for any
    # c_i, so each block is normalized on its own: ½ ẋ_i² − ½ (k_i/m_i) x_i²
    params = dict(m_x=1.0, m_y=1.5, m_z=2.0, k_x=1.0, k_y=2.75, k_z=5.0)
    _, data = simulate_set("harmonic_3d", n_traj=4, duration=6.0, **params)
    m = SparseLagrangian().fit(data)
    found = coefficients(m.lagrangian(digits=15), ["x", "y", "z"])
    assert set(found) == {f"{c}_dot**2" for c in "xyz"} | {f"{c}**2" for c in "xyz"}
    for c in "xyz":  # per block, physics fixes (x²)/(ẋ²) = −k/m
        assert found[f"{c}**2"] / found[f"{c}_dot**2"] == pytest.approx(-params[f"k_{c}"] / params[f"m_{c}"], rel=1e-5)
    # the three blocks are normalized separately: each block's mean ∂²L/∂ẋᵢ² = 2 c(ẋᵢ²) is 1 (a
    # single normalization would leave two blocks free and shrink them towards zero mass)
    assert [2 * found[f"{c}_dot**2"] for c in "xyz"] == pytest.approx([1.0, 1.0, 1.0], rel=1e-6)
    assert sorted(m.normalization_coordinates_) == ["x", "y", "z"]


def test_swap_search_replaces_a_near_substitute_by_the_true_term():
    """A wrong support {0, 1, 3}, with column 3 nearly collinear with the true column 2 (θ² vs
    cos θ), is swapped to the true support, whose residual is zero by construction."""
    from discover.sparse import constrained_fit, swap_refined

    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 8))
    X[:, 3] = X[:, 2] + 0.05 * rng.normal(size=200)
    xi = np.array([1.0, -2.0, 0.5, 0, 0, 0, 0, 0])
    X[:, 7] = X @ xi  # … and a column equal to the model, so that Θ ξ = 0 has ξ on {0, 1, 2, 7}
    a = np.array([1.0, 0, 0, 0, 0, 0, 0, 0])  # normalization: ξ₀ = 1
    wrong = (0, 1, 3, 7)
    assert np.linalg.norm(X @ constrained_fit(X, a, wrong)) > 1e-3
    (found,) = swap_refined(X, a, [wrong], list(range(8)))
    assert found == (0, 1, 2, 7)
    assert np.linalg.norm(X @ constrained_fit(X, a, found)) < 1e-9


def test_swap_search_reaches_a_ten_term_support():
    """The same near-substitute trap in a 10-term model (a three-link arm's support is ~10
    terms): the swap still finds the exact support."""
    from discover.sparse import constrained_fit, swap_refined

    rng = np.random.default_rng(2)
    X = rng.normal(size=(300, 16))
    X[:, 10] = X[:, 2] + 0.05 * rng.normal(size=300)          # near-substitute of column 2
    xi = np.zeros(16)
    xi[:9] = rng.uniform(0.5, 2.0, 9) * rng.choice([-1, 1], 9)
    X[:, 15] = X @ xi                                           # Θ ξ = 0 on {0…8, 15}
    a = np.zeros(16)
    a[0] = 1.0
    true = tuple(range(9)) + (15,)
    wrong = tuple(sorted(set(true) - {2} | {10}))
    assert np.linalg.norm(X @ constrained_fit(X, a, wrong)) > 1e-3
    (found,) = swap_refined(X, a, [wrong], list(range(16)))
    assert found == true


def test_constrained_fit_meets_every_normalization_row():
    from discover.sparse import constrained_fit

    rng = np.random.default_rng(0)
    R = rng.normal(size=(30, 6))
    A = rng.normal(size=(2, 6))
    x = constrained_fit(R, A, [0, 2, 3, 5])
    np.testing.assert_allclose(A @ x, 1.0, atol=1e-12)
    assert np.all(x[[1, 4]] == 0)
    # optimality: R x is orthogonal to every feasible direction (null space of A_S)
    S = [0, 2, 3, 5]
    _, _, vt = np.linalg.svd(A[:, S])
    N = vt[2:].T
    np.testing.assert_allclose(N.T @ (R[:, S].T @ (R @ x)), 0.0, atol=1e-10)


def test_qddot_refinement_returns_to_the_true_coefficients():
    from discover.library import TermSet
    from discover.refine import refine_coefficients

    # exact pendulum states: θ̈ = −(g/l) sin θ; L = ½θ̇² + (g/l) cos θ with ∂²L/∂θ̇² = 1
    rng = np.random.default_rng(0)
    q = rng.uniform(-2, 2, (400, 1))
    v = rng.normal(size=(400, 1))
    a = -9.81 * np.sin(q)
    ts = TermSet([sympy.sympify("theta_dot**2"), sympy.sympify("cos(theta)")], ["theta"])
    A = np.array([[2.0, 0.0]])  # ∂²/∂θ̇² of each term
    r = refine_coefficients(ts, np.array([0.5, 9.0]), q, v, a, A, steps=2000, lr=0.01)
    assert r.loss_after < 1e-3 * r.loss_before
    assert r.coef[0] == pytest.approx(0.5, rel=1e-12)  # the normalization holds exactly
    assert r.coef[1] == pytest.approx(9.81, rel=1e-3)


def test_noisy_fit_skips_large_tiers_once_a_small_one_is_consistent_with_the_noise():
    """Two uncoupled oscillators with 2 % noise: the quadratic tier already fits to the noise, so
    the large tiers beyond it are skipped (recorded), and the support is still the exact one."""
    from discover.model import SMALL_TIER

    _, data = simulate_set("harmonic_2d", n_traj=4, duration=8.0, noise_rel=0.02, seed=11)
    m = SparseLagrangian(trajectory_fit=False).fit(data)
    found = coefficients(m.lagrangian(digits=15), ["x", "y"])
    assert set(found) == {"x**2", "y**2", "x_dot**2", "y_dot**2"}
    skipped = [t for t in m.tiers_ if t.get("skipped")]
    assert skipped and all(t["terms"] > SMALL_TIER for t in skipped)
    assert m.tiers_[0]["tier"] == "quadratic" and not m.tiers_[0].get("skipped")
