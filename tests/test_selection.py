"""The decisions of the default path (discover.Discover), tested from physics: an exact library
model is accepted without an MLP, a worse MLP is never returned, a system outside the library
triggers the fallback, both no-fallback branches, and look-alike terms reported at small
amplitude."""
import numpy as np
import pytest

import discover.estimator as estimator
from discover import FitFailedError, TrajectorySet
from discover.estimator import Discover
from discover.library import Custom, Polynomial
from discover.model import SparseLagrangian

from physics import trajectories

G = 9.81


def _set(L, coords, q0s, v0s, t, noise=0.0, seed=0):
    q = trajectories(L, coords, q0s, v0s, t)
    if noise:
        q = q + noise * q.std(axis=(0, 1)) * np.random.default_rng(seed).normal(size=q.shape)
    B, T, n = q.shape
    return TrajectorySet.from_arrays(np.tile(t, B), q.reshape(-1, n), coordinates=coords,
                                     traj=np.repeat(np.arange(B), T))


def _pendulum(amplitudes, noise=0.0, seed=0, duration=6.0):
    t = np.arange(0, duration, 0.01)
    return _set(f"theta_dot**2/2 + {G}*cos(theta)", ["theta"], [[a] for a in amplitudes],
                [[0.0]] * len(amplitudes), t, noise, seed)


def _relativistic():
    """L = −√(1 − ẋ²) − g x (c = m = 1): no finite polynomial in ẋ is its kinetic part."""
    rng = np.random.default_rng(4)
    t = np.arange(0, 4, 0.01)
    return _set("-sqrt(1 - x_dot**2) - 0.5*x", ["x"], rng.uniform(-1, 1, (6, 1)), rng.uniform(-0.93, 0.93, (6, 1)), t)


def test_exact_library_model_is_accepted_without_training_an_mlp():
    r = Discover().fit(_pendulum([0.5, 1.0, 1.5, 2.0, 2.5]))
    assert r.is_library_model and r.mlp_ is None
    coef = dict(zip(map(str, r.model_.terms_), r.model_.coef_))
    assert coef["cos(theta)"] / coef["theta_dot**2"] == pytest.approx(2 * G, rel=1e-6)


def test_a_worse_mlp_is_never_returned(monkeypatch):
    """Force the fallback to run (no acceptance band) with an MLP trained for 3 epochs: the
    exact library model must be kept, with a warning that says so."""
    monkeypatch.setattr(estimator, "FLOOR_FACTOR", 0.0)
    monkeypatch.setattr(estimator, "FOLLOWS", 0.0)  # nor the stage-2 positions criterion
    r = Discover(fallback_threshold=0.0, mlp_epochs=3).fit(_pendulum([0.5, 1.0, 1.5, 2.0, 2.5], noise=0.01))
    assert r.mlp_ is not None
    assert r.is_library_model
    assert r.scores_["mlp"] >= estimator.MLP_MARGIN * r.scores_["library"]
    assert any("kept" in w for w in r.warnings_)


@pytest.mark.slow
def test_a_system_outside_the_library_trains_the_mlp_and_returns_the_better():
    r = Discover(Polynomial(2), mlp_epochs=40).fit(_relativistic())
    assert r.scores_["library"] > r.accept_below_  # ½ẋ² cannot carry √(1 − ẋ²) at ẋ up to 0.93
    assert r.mlp_ is not None
    better = r.scores_["mlp"] < estimator.MLP_MARGIN * r.scores_["library"]
    assert (r.model_ is r.mlp_) == better
    assert r.warnings_


def test_no_fallback_keeps_a_poor_library_model_with_a_warning():
    r = Discover(Polynomial(2), fallback=False).fit(_relativistic())
    assert r.is_library_model and r.mlp_ is None
    assert any("fallback is off" in w for w in r.warnings_)


def test_no_fallback_and_no_library_model_raises():
    """x alone cannot carry the normalization (no ẋ² term): no library model exists."""
    with pytest.raises(FitFailedError):
        Discover(Custom(["x"]), fallback=False).fit(_relativistic())


def test_look_alikes_at_small_amplitude_are_reported():
    """At ±0.15 rad, θ² and cos θ = 1 − θ²/2 + … differ by θ⁴/24 ≈ 2e-5: within 1 % noise the
    data cannot separate them.  Whichever is returned has ω² = g, and the other is listed."""
    m = SparseLagrangian().fit(_pendulum([0.06, 0.09, 0.12, 0.15, 0.1, 0.13], noise=0.01, seed=3))
    names = {str(t) for t in m.terms_}
    coef = dict(zip(map(str, m.terms_), m.coef_))
    if "cos(theta)" in names:
        omega2 = coef["cos(theta)"] / (2 * coef["theta_dot**2"])
    else:
        omega2 = -coef["theta**2"] / coef["theta_dot**2"]
    assert omega2 == pytest.approx(G, rel=0.02)
    other = "theta**2" if "cos(theta)" in names else "cos(theta)"
    assert any(other in a["lagrangian"] for a in m.alternatives_)


def test_a_useless_model_is_not_accepted_however_large_the_noise_floor(monkeypatch):
    """A free particle ½ẋ² cannot move like x'' = −0.5/γ³: its held-out q̈ error is ≈ 1.  Even
    with an acceptance band blown up (as a large noise-floor estimate does at high noise), the
    ceiling refuses it: with the fallback off, the result carries the "poor" warning."""
    monkeypatch.setattr(estimator, "FLOOR_FACTOR", 1e6)
    r = Discover(Custom(["x_dot**2"]), fallback=False).fit(_relativistic())
    assert r.scores_["library"] > estimator.CEILING
    assert any("fallback is off" in w for w in r.warnings_)


def _pendulum_model(g):
    return SparseLagrangian.from_dict({"coordinates": ["theta"], "terms": [
        {"term": "theta_dot**2", "coefficient": 0.5}, {"term": "cos(theta)", "coefficient": g}]})


def test_typical_qddot_error_ignores_a_few_wild_estimates():
    """Exact pendulum states with θ̈ = −g sin θ, except 1 % of the samples whose q̈ estimate is
    wild (a noisy estimate near a singular point): the true L's RMS error is ruled by them, its
    typical error stays ≈ 0; a pendulum with g 20 % off is typically ≈ 20 % off."""
    from discover.prepare import qddot_errors as _qddot_errors
    from discover.prepare import Prepared

    t = np.linspace(0, 6, 601)
    theta = 1.2 * np.cos(np.sqrt(G) * t)[:, None]          # the states need not solve the motion
    qd = np.gradient(theta, t, axis=0)
    qdd = -G * np.sin(theta)
    wild = qdd.copy()
    wild[::100] += 50 * np.abs(qdd).max()
    p = Prepared(t, theta, theta, qd, wild)
    rms, typical = _qddot_errors(_pendulum_model(G), [p])
    assert rms > 0.5 and typical < 1e-9
    rms_off, typical_off = _qddot_errors(_pendulum_model(1.2 * G), [p])
    assert typical_off == pytest.approx(0.2, rel=0.05)


def test_an_mlp_that_only_wins_on_wild_samples_is_not_returned(monkeypatch):
    """Fallback forced (no acceptance band): when the MLP's RMS error beats the library model's
    but its typical error does not, the library model is kept and the decision says why."""
    monkeypatch.setattr(estimator, "FLOOR_FACTOR", 0.0)
    monkeypatch.setattr(estimator, "FOLLOWS", 0.0)
    real = estimator._qddot_errors

    def scored(m, prepared):
        rms, typical = real(m, prepared)
        return (rms, typical) if isinstance(m, SparseLagrangian) else (0.0, 10 * typical + 1.0)

    monkeypatch.setattr(estimator, "_qddot_errors", scored)
    r = Discover(fallback_threshold=0.0, mlp_epochs=3).fit(_pendulum([0.5, 1.0, 1.5, 2.0], noise=0.01))
    assert r.mlp_ is not None and r.is_library_model
    assert r.scores_["mlp"] < estimator.MLP_MARGIN * r.scores_["library"]
    assert "typical error" in r.decision_


def test_a_model_that_follows_the_positions_is_accepted_without_an_mlp(monkeypatch):
    """q̈-based acceptance switched off (as when noisy q̈ estimates are wild): the right L still
    follows the measured positions to within the noise in stage 2, and is accepted on that,
    without training an MLP; a harmonic L on the same ±2.5 rad swings does not, and goes on to
    the MLP comparison."""
    monkeypatch.setattr(estimator, "FLOOR_FACTOR", 0.0)
    monkeypatch.setattr(estimator, "CEILING", 0.0)
    data = _pendulum([2.0, 2.2, 2.4, -2.5], noise=0.01, seed=4)
    r = Discover(fallback_threshold=0.0, mlp_epochs=3).fit(data)
    assert r.is_library_model and r.mlp_ is None
    assert "follows the measured positions" in r.decision_
    wrong = Discover(Custom(["theta_dot**2", "theta**2"]), fallback_threshold=0.0, mlp_epochs=3).fit(data)
    assert wrong.mlp_ is not None and "follows the measured positions" not in wrong.decision_
