"""Weak form (discover/weak.py): the test functions and the integration-by-parts identities it
rests on, ∫ψ q̈ = ∫ψ'' q and ∫ψ' q = −∫ψ q̇, with q from closed forms and SymPy-derived motion."""
import numpy as np
import pytest
import sympy
import torch

from discover.data import TrajectorySet
from discover.library import TermSet
from discover.weak import test_functions as make_test_functions
from discover.weak import weak_acceleration_error, weak_columns

from physics import trajectories

G = 9.81


def signal(t):
    """q, q̇, q̈ of a two-frequency signal, by hand."""
    q = np.sin(1.3 * t) + 0.2 * np.cos(3.1 * t)
    qd = 1.3 * np.cos(1.3 * t) - 0.62 * np.sin(3.1 * t)
    qdd = -1.69 * np.sin(1.3 * t) - 1.922 * np.cos(3.1 * t)
    return q, qd, qdd


def test_bumps_vanish_with_their_derivative_at_the_window_ends():
    t = np.linspace(0, 4, 401)
    tf = make_test_functions(t, width=80)
    assert tf.psi.shape == tf.dpsi.shape == tf.ddpsi.shape and tf.psi.shape[1] == t.size
    # `width` samples per window, windows overlapping by half: window j spans samples 40j … 40j + 79
    assert tf.psi.shape[0] == (t.size - 80) // 40 + 1
    for j, (row, drow) in enumerate(zip(tf.psi, tf.dpsi)):
        lo, hi = 40 * j, 40 * j + 79
        top = np.abs(row).max()
        # ψ ∝ (1 − s²)⁶ and ψ' vanish at both end samples (to rounding of s = ±1: (1e-16)⁵)
        for end in (lo, hi):
            assert abs(row[end]) < 1e-60 * top and abs(drow[end]) < 1e-60 * np.abs(drow).max()
        assert np.all(row[lo + 1:hi] > 0) and not row[:lo].any() and not row[hi + 1:].any()
        assert np.argmax(row) in (lo + 39, lo + 40)          # peak in the middle of the window


@pytest.mark.parametrize("uneven", [False, True])
def test_integration_by_parts_identities(uneven):
    rng = np.random.default_rng(0)
    t = np.arange(0, 10.0001, 0.01)
    if uneven:
        t = np.cumsum(np.r_[0, 0.01 * (1 + 0.4 * (rng.random(t.size - 1) - 0.5))])
    q, qd, qdd = signal(t)
    tf = make_test_functions(t, width=100)
    # ∫ψ q̈ = ∫ψ'' q and ∫ψ' q = −∫ψ q̇ (ψ and ψ' vanish at the window ends).  Even grid: the
    # trapezoid rule's error is O(h⁶) (next test), ~1e-8 relative here.  Uneven grid: the local
    # errors Δtᵢ³ f''/12 no longer telescope; their jitter adds like a random walk, ≈ √100 ·
    # (0.01)³ · 24² / 12 ≈ 5e-4 relative for a 100-sample window of ψ'' ~ (2p/0.5 s)²
    tol = 5e-3 if uneven else 1e-6
    ref = np.abs(tf.psi @ qdd).max()
    assert np.abs(tf.psi @ qdd - tf.ddpsi @ q).max() < tol * ref
    assert np.abs(tf.dpsi @ q + tf.psi @ qd).max() < tol * np.abs(tf.psi @ qd).max()


def test_quadrature_error_is_sixth_order():
    # ψ = (1 − s²)⁶: ψ'' q vanishes with its first three derivatives at the window ends, so the
    # Euler–Maclaurin error of the trapezoid rule starts at h⁶: halving h divides it by 64
    errs = []
    for dt in (0.02, 0.01):
        t = np.arange(0, 10 + dt / 2, dt)
        q, _, qdd = signal(t)
        tf = make_test_functions(t, width=int(round(1.0 / dt)))  # the same windows of 1 s
        errs.append(np.abs(tf.psi @ qdd - tf.ddpsi @ q).max())
    assert np.log2(errs[0] / errs[1]) == pytest.approx(6, abs=0.5)


def test_weak_columns_are_the_integrated_euler_lagrange_expressions():
    # pendulum L = ½θ̇² + g cos θ: the weak column of θ̇² is −∫ψ'·2θ̇ = 2∫ψθ̈ and that of cos θ
    # is −∫ψ·(−sin θ) = ∫ψ sin θ; with θ̈ = −g sin θ, ½·col₁ + g·col₂ = ∫ψ(θ̈ + g sin θ) = 0
    t = np.arange(0, 6, 0.01)
    q = trajectories(f"theta_dot**2/2 + {G}*cos(theta)", ["theta"], [[1.2]], [[0.4]], t)[0]  # (T, 1)
    qd = np.gradient(q, t, axis=0, edge_order=2)  # only for the sign of θ̇ (its size: below)
    ts = TermSet([sympy.sympify("theta_dot**2"), sympy.sympify("cos(theta)")], ["theta"])
    # exact q̇ from energy conservation, sign from the finite difference: ½θ̇² − g cos θ = E
    E = 0.5 * 0.4**2 - G * np.cos(1.2)
    qd = np.sign(qd) * np.sqrt(np.maximum(2 * (E + G * np.cos(q)), 0))
    tf = make_test_functions(t, width=100)
    gq, gv = ts.gradient_columns(torch.as_tensor(q), torch.as_tensor(qd))
    cols = weak_columns(gq, gv, tf).numpy()[:, 0, :]      # (J, K)
    theta_ddot = -G * np.sin(q[:, 0])
    np.testing.assert_allclose(cols[:, 0], 2 * tf.psi @ theta_ddot, rtol=0, atol=1e-6 * np.abs(cols[:, 0]).max())
    np.testing.assert_allclose(cols[:, 1], tf.psi @ np.sin(q[:, 0]), rtol=0, atol=1e-9)
    resid = cols @ np.array([0.5, G])
    assert np.abs(resid).max() < 1e-6 * np.abs(cols[:, 0]).max()
    # a wrong g leaves a residual of the size of the error
    assert np.abs(cols @ np.array([0.5, 1.1 * G])).max() > 0.05 * np.abs(cols[:, 0]).max()


def test_weak_acceleration_error_measures_the_relative_error():
    t = np.arange(0, 10, 0.01)
    q, _, qdd = signal(t)
    tf = make_test_functions(t)
    num, den = weak_acceleration_error(qdd[:, None], q[:, None], tf)
    assert np.sqrt(num / den) < 1e-7                        # exact q̈: only quadrature error
    # q̈ off by a factor 1 + ε: the relative weak error is ε (∫ψ q̈ = ∫ψ'' q up to quadrature)
    for eps in (0.01, 0.1):
        num, den = weak_acceleration_error((1 + eps) * qdd[:, None], q[:, None], tf)
        assert np.sqrt(num / den) == pytest.approx(eps, rel=1e-5)


def test_weak_noise_floor_matches_the_true_models_error_on_white_noise():
    """The true model's held-out weak error on noisy positions is the noise's share −∫ψ''ε
    (plus the smaller error of evaluating it at smoothed states): the floor sits just below."""
    from discover.prepare import prepare
    from discover.weak import test_functions, typical_period, weak_acceleration_error, weak_noise_floor

    rng = np.random.default_rng(5)
    t = np.arange(0, 12, 0.01)
    omega, sigma = 2.0, 0.01
    pieces = []
    for a, ph in zip(rng.uniform(0.5, 1.5, 4), rng.uniform(0, 2 * np.pi, 4)):
        pieces.append(a * np.cos(omega * t + ph) + sigma * rng.normal(size=t.shape))
    data = TrajectorySet.from_arrays(np.tile(t, 4), np.concatenate(pieces)[:, None], coordinates=["x"],
                                     traj=np.repeat(np.arange(4), len(t)))
    prep = prepare(data)
    period = typical_period(prep.all)
    num = den = 0.0
    for p in prep.all:
        p.tf = test_functions(p.t, overlap=0.75, period=period)
        a, b = weak_acceleration_error(-omega**2 * p.q, p.q_obs, p.tf)  # the true q̈ at the data states
        num, den = num + a, den + b
    floor = weak_noise_floor(prep.all)
    assert 0.6 < floor / np.sqrt(num / den) <= 1.05
