"""Per-segment observation offsets of the trajectory fit: a slow tracking drift of the measured
positions is absorbed instead of biasing the coefficients.

Data from SciPy integrations of the closed-form pendulum (tests/physics.py); the drift is added
here, so the offsets the fit returns can be checked against it.  Bounds are statistical: an
estimate within a few standard errors of the truth; a segment's offset estimated from its ~100
samples of σ = 0.01 rad noise to a few σ/√100.
"""
import numpy as np
import pytest
import sympy

from discover.trajectory_fit import fit_trajectories

from physics import trajectories

G = 9.81
SIGMA = 0.01
TH, THD = sympy.symbols("theta theta_dot")
A_NORM = [[2.0, 0.0]]  # 2 ξ(θ̇²) = 1


def _data(offset_fn, seed):
    """3 pendulum trajectories × 10 s at dt 0.02 (amplitudes 1–2 rad), observed as θ + d(t) + noise."""
    rng = np.random.default_rng(seed)
    q0 = (rng.uniform(1.0, 2.0, 3) * rng.choice([-1.0, 1.0], 3))[:, None]
    t = np.arange(0, 10, 0.02)
    q = trajectories(THD**2 / 2 + G * sympy.cos(TH), ["theta"], q0, np.zeros_like(q0), t)
    return t, [(t, qi + offset_fn(t, k)[:, None] + SIGMA * rng.normal(size=qi.shape)) for k, qi in enumerate(q)]


@pytest.fixture(scope="module")
def drifted():
    """A linear drift of 0.04–0.08 rad over 10 s per trajectory (2–4 % of the ±2 rad motion,
    ≫ the 2 s period), 4–8 σ."""
    slopes = [0.004, -0.006, 0.008]
    return slopes, _data(lambda t, k: slopes[k] * t, seed=3)


def test_a_known_drift_is_recovered_and_the_coefficient_is_unbiased(drifted):
    slopes, (t, data) = drifted
    res = fit_trajectories([THD**2, sympy.cos(TH)], ["theta"], [0.5, 1.05 * G], A_NORM, data, sigma=SIGMA,
                           offsets=True)
    assert res.converged, res.message
    assert abs(res.coef[1] - G) < 4 * res.coef_stderr[1]
    assert abs(res.reduced_chi2 - 1) < 4 * np.sqrt(2 / res.dof)  # the drift leaves no misfit
    # each segment's offset is the drift's mean over the segment (linear: its value at the middle)
    true_b = np.array([slopes[i] * t[a:a + L].mean() for i, a, L in res.offset_segments])
    assert res.offsets.shape == (res.n_segments, 1)
    # (to a few mrad: ~100 samples of σ = 10 mrad, correlated with the segment's state, and the
    # drift moves by up to 16 mrad within a 2 s segment)
    err = res.offsets[:, 0] - true_b
    assert np.sqrt(np.mean(err**2)) < 0.15 * np.sqrt(np.mean(true_b**2))
    assert np.max(np.abs(err)) < 0.01 and np.corrcoef(res.offsets[:, 0], true_b)[0, 1] > 0.95


def test_without_offsets_the_same_drift_biases_the_fit(drifted):
    _, (_, data) = drifted
    res = fit_trajectories([THD**2, sympy.cos(TH)], ["theta"], [0.5, 1.05 * G], A_NORM, data, sigma=SIGMA,
                           offsets=False)
    assert res.offsets is not None and np.all(res.offsets == 0)
    assert res.reduced_chi2 > 1 + 6 * np.sqrt(2 / res.dof)  # drift of 4–8 σ: a misfit χ² sees


def test_an_angle_offset_goes_to_sin_theta_when_the_support_can_carry_it():
    # constant offset θ₀ = 0.1 rad (a tracker's zero off the vertical): with cos θ AND sin θ in the
    # support a common shift is absorbed by the coefficients, so the first segment's offset is
    # pinned at 0 and L = a cos θ + b sin θ = R cos(θ − θ₀) carries it: atan2(b, a) = θ₀
    t, data = _data(lambda t, k: np.full_like(t, 0.1), seed=4)
    res = fit_trajectories([THD**2, sympy.cos(TH), sympy.sin(TH)], ["theta"], [0.5, G, 0.0], [[2.0, 0.0, 0.0]], data,
                           sigma=SIGMA, offsets=True)
    assert res.converged, res.message
    assert res.offsets[0, 0] == 0.0                           # pinned: the frame of the angle's zero
    b = res.offsets[1:, 0]                                    # the others see no drift: noise only
    assert np.sqrt(np.mean(b**2)) < 5e-3                      # (a few mrad, ≪ the 0.1 rad offset)
    assert abs(b.mean()) < 4 * b.std() / np.sqrt(len(b))
    assert np.all(np.isfinite(res.coef_stderr)) and res.coef_stderr[2] > 0
    theta0 = np.arctan2(res.coef[2], res.coef[1])
    se = res.coef_stderr[2] / res.coef[1]
    assert abs(theta0 - 0.1) < 4 * se + 4e-3
    assert np.hypot(res.coef[1], res.coef[2]) == pytest.approx(G, rel=5e-3)
