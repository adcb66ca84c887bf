"""Multiple-shooting trajectory fit: recovery of known pendulum parameters from noisy positions.

Data come from SciPy integrations of the closed-form equations of motion (tests/physics.py or the
damped pendulum written out below), never from the code under test.  Bounds come from statistics:
the estimate should lie within a few standard errors of the truth, and the reduced χ² of a correct
model with the true σ has mean 1 and standard deviation sqrt(2/dof).
"""
import numpy as np
import pytest
import sympy
from scipy.integrate import solve_ivp

from discover.trajectory_fit import fit_trajectories, likelihood_ratio

from physics import trajectories

G = 9.81            # g/l of the pendulum, L = ½ θ̇² + (g/l) cos θ (normalized: ∂²L/∂θ̇² = 1)
SIGMA = 0.02        # rad
TH, THD = sympy.symbols("theta theta_dot")
A_NORM = [[2.0, 0.0]]  # ∂²(θ̇²)/∂θ̇² = 2, ∂²(cos θ)/∂θ̇² = 0  →  2 ξ₀ = 1


def _amplitudes(rng, k=4):
    return rng.uniform(1.0, 2.5, k) * rng.choice([-1.0, 1.0], k)  # large: cos θ ≠ 1 − θ²/2


@pytest.fixture(scope="module")
def pendulum_data():
    """4 trajectories × 10 s at dt 0.02 (2000 samples), Gaussian noise σ = 0.02 rad."""
    rng = np.random.default_rng(0)
    q0 = _amplitudes(rng)[:, None]
    t = np.arange(0, 10, 0.02)
    q = trajectories(THD**2 / 2 + G * sympy.cos(TH), ["theta"], q0, np.zeros_like(q0), t)
    q = q + SIGMA * rng.normal(size=q.shape)
    return [(t, qi) for qi in q]


@pytest.fixture(scope="module")
def pendulum_fit(pendulum_data):
    return fit_trajectories([THD**2, sympy.cos(TH)], ["theta"], [0.5, 1.05 * G], A_NORM, pendulum_data,
                            sigma=SIGMA)


def test_pendulum_recovers_g_over_l_within_its_standard_error(pendulum_fit):
    res = pendulum_fit
    assert res.converged, res.message
    assert res.segment_seconds == 2.0 and [s["segment_seconds"] for s in res.stages] == [1.0, 2.0]
    # the normalization pins the kinetic coefficient exactly: no error on it
    assert res.coef[0] == pytest.approx(0.5, abs=1e-14) and res.coef_stderr[0] == 0
    se = res.coef_stderr[1]
    assert 0 < se < 2e-3 * G                     # informative: 0.2 % of the value
    assert abs(res.coef[1] - G) < 4 * se         # 4 σ: fails by chance with probability 6e-5
    # reduced χ² with the true σ: mean 1, std sqrt(2/dof)
    assert res.dof == 2000 - 1 - 2 * res.n_segments
    assert abs(res.reduced_chi2 - 1) < 4 * np.sqrt(2 / res.dof)
    assert np.allclose(res.rms, SIGMA, rtol=0.1)


def test_estimated_sigma_matches_the_noise(pendulum_data, pendulum_fit):
    res = fit_trajectories([THD**2, sympy.cos(TH)], ["theta"], [0.5, 1.05 * G], A_NORM, pendulum_data,
                           segment_seconds=(2.0,))
    assert res.converged and res.sigma_estimated
    # σ̂²·dof/σ² ~ χ²(dof): relative std of σ̂ ≈ 1/sqrt(2 dof) ≈ 1.6 %
    assert res.sigma[0] == pytest.approx(SIGMA, rel=4 / np.sqrt(2 * res.dof))
    assert res.reduced_chi2 == pytest.approx(1.0, rel=1e-9)  # by construction with σ̂
    assert abs(res.coef[1] - G) < 4 * res.coef_stderr[1]
    assert res.coef[1] == pytest.approx(pendulum_fit.coef[1], abs=pendulum_fit.coef_stderr[1])


def test_wrong_support_is_rejected_by_chi2(pendulum_data, pendulum_fit):
    # harmonic potential θ² in place of cos θ (same small-angle limit: −g/2 θ²); large amplitudes
    wrong = fit_trajectories([THD**2, TH**2], ["theta"], [0.5, -G / 2], A_NORM, pendulum_data, sigma=SIGMA)
    assert np.all(np.isfinite(wrong.coef))
    assert wrong.reduced_chi2 > 10 * pendulum_fit.reduced_chi2
    assert likelihood_ratio(wrong, pendulum_fit)["delta_chi2"] > 1000


def test_superfluous_term_costs_no_more_than_chance(pendulum_data, pendulum_fit):
    # θ̇² cos θ is absent from the true L: adding it lowers χ² by a χ²(1) amount (< 15.1 with p 1e-4)
    q_all = np.concatenate([q for _, q in pendulum_data])[:, 0]
    A = [[2.0, 0.0, 2.0 * np.cos(q_all).mean()]]
    big = fit_trajectories([THD**2, sympy.cos(TH), THD**2 * sympy.cos(TH)], ["theta"], [0.5, 1.05 * G, 0.0],
                           A, pendulum_data, sigma=SIGMA)
    assert big.converged and big.n_params == pendulum_fit.n_params + 1
    assert abs(big.coef[2]) < 4 * big.coef_stderr[2]
    lr = likelihood_ratio(pendulum_fit, big)
    assert -0.05 < lr["delta_chi2"] < 15.1 and lr["delta_params"] == 1  # nested (−: stopping tolerance)


def test_friction_is_recovered_on_a_damped_pendulum():
    c_true = 0.3  # θ̈ = −(g/l) sin θ − c θ̇
    rng = np.random.default_rng(1)
    t = np.arange(0, 8, 0.02)
    data = []
    for a in _amplitudes(rng):
        sol = solve_ivp(lambda _, y: [y[1], -G * np.sin(y[0]) - c_true * y[1]], (t[0], t[-1]), [a, 0.0],
                        t_eval=t, method="DOP853", rtol=1e-12, atol=1e-12)
        data.append((t, sol.y[0][:, None] + SIGMA * rng.normal(size=(len(t), 1))))
    res = fit_trajectories([THD**2, sympy.cos(TH)], ["theta"], [0.5, 1.05 * G], A_NORM, data,
                           damping0=[0.0], fit_damping=True, sigma=SIGMA)
    assert res.converged, res.message
    assert 0 < res.damping_stderr[0] < 0.02
    assert abs(res.damping[0] - c_true) < 4 * res.damping_stderr[0]
    assert abs(res.coef[1] - G) < 4 * res.coef_stderr[1]
    assert abs(res.reduced_chi2 - 1) < 4 * np.sqrt(2 / res.dof)


def test_a_ridiculous_start_never_gives_nan(pendulum_data):
    # ω = 1000 rad/s with dt = 0.02: RK4 is unstable, the rollout overflows
    res = fit_trajectories([THD**2, sympy.cos(TH)], ["theta"], [0.5, 1e6], A_NORM, pendulum_data[:1],
                           sigma=SIGMA, max_iter=5)
    assert np.all(np.isfinite(res.coef)) and np.all(np.isfinite(res.damping))
    assert not res.converged and res.message
    # an inverted start (negative mass, rescaled by the normalization to g/l < 0) stays finite too
    res = fit_trajectories([THD**2, sympy.cos(TH)], ["theta"], [-0.5, G], A_NORM, pendulum_data[:1],
                           sigma=SIGMA, max_iter=5)
    assert np.all(np.isfinite(res.coef))
    assert res.converged or res.message
