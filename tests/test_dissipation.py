"""Linear friction (Rayleigh dissipation R = ½ Σ cᵢ q̇ᵢ²): the engine's friction force against
closed forms, and the library fit recovering L and c from positions of damped motion integrated by
SciPy from the textbook equations (never from the code under test)."""
import json

import numpy as np
import pytest
import sympy
import torch
from scipy.integrate import solve_ivp

import discover
from discover.data import TrajectorySet
from discover.model import SparseLagrangian

G, GAMMA = 9.81, 0.3  # θ̈ = −g sin θ − γ θ̇ (unit length)


def damped_pendulum_set(n_traj=4, duration=6.0, dt=0.01, gamma=GAMMA, noise_rel=0.0, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(0, duration, dt)
    qs = []
    for _ in range(n_traj):
        y0 = [rng.uniform(1.0, 2.5) * rng.choice([-1, 1]), rng.uniform(-1, 1)]
        sol = solve_ivp(lambda _, y: [y[1], -G * np.sin(y[0]) - gamma * y[1]], (t[0], t[-1]), y0,
                        t_eval=t, method="DOP853", rtol=1e-12, atol=1e-12)
        qs.append(sol.y[0])
    q = np.stack(qs)[..., None]  # (B, T, 1)
    if noise_rel:
        q = q + noise_rel * q.std() * rng.normal(size=q.shape)
    B, T_, n = q.shape
    return TrajectorySet.from_arrays(np.tile(t, B), q.reshape(-1, n), coordinates=["theta"],
                                     traj=np.repeat(np.arange(B), T_))


def test_engine_friction_force_damped_oscillator_closed_form():
    m, k, c = 2.0, 3.0, 0.7
    L = lambda q, v: 0.5 * m * (v ** 2).sum() - 0.5 * k * (q ** 2).sum()
    R = lambda q, v: 0.5 * c * (v ** 2).sum()
    g = torch.Generator().manual_seed(0)
    q, v = torch.randn(2, 50, 1, dtype=torch.float64, generator=g)
    got = discover.accelerations(L, q, v, dissipation=R)
    torch.testing.assert_close(got, -(k * q + c * v) / m, rtol=1e-12, atol=1e-12)
    # without R the conservative motion
    torch.testing.assert_close(discover.accelerations(L, q, v), -k * q / m, rtol=1e-12, atol=1e-12)
    # and the residual m q̈ + k q + c q̇ vanishes on the damped motion only with R
    a = -(k * q + c * v) / m
    assert discover.euler_lagrange_residual(L, q, v, a, dissipation=R).abs().max() < 1e-12
    torch.testing.assert_close(discover.euler_lagrange_residual(L, q, v, a), -c * v, rtol=1e-12, atol=1e-12)


def test_damped_pendulum_l_and_friction_recovered_from_positions():
    m = SparseLagrangian(dissipation=True).fit(damped_pendulum_set())
    names = {str(t) for t in m.terms_}
    assert names == {"theta_dot**2", "cos(theta)"}
    coef = dict(zip([str(t) for t in m.terms_], m.coef_))
    # normalized so that ∂²L/∂θ̇² = 1: L = ½θ̇² + g cos θ, R = ½ γ θ̇²
    assert coef["cos(theta)"] == pytest.approx(G, rel=1e-4)
    assert m.damping_[0] == pytest.approx(GAMMA, rel=1e-4)
    assert sympy.simplify(m.rayleigh(digits=3) - sympy.Float(GAMMA, 3) / 2 * sympy.Symbol("theta_dot") ** 2) == 0
    # the fitted model's motion is damped: its rollout matches the ODE
    q, qd = m.simulate(np.array([1.5]), np.array([0.0]), np.linspace(0, 3, 301))
    ref = solve_ivp(lambda _, y: [y[1], -G * np.sin(y[0]) - GAMMA * y[1]], (0, 3), [1.5, 0.0],
                    t_eval=np.linspace(0, 3, 301), rtol=1e-12, atol=1e-12).y[0]
    np.testing.assert_allclose(q[:, 0], ref, atol=1e-4)


def test_conservative_data_get_no_friction():
    """By default friction is tried and kept only when it earns its place: not here."""
    m = SparseLagrangian().fit(damped_pendulum_set(gamma=0.0))
    assert {str(t) for t in m.terms_} == {"theta_dot**2", "cos(theta)"}
    assert np.all(m.damping_ == 0)


def test_forced_friction_on_conservative_data_is_zero():
    """dissipation=True puts c into the model; on undamped data its value is 0 (to round-off,
    relative to the 2√(g) ≈ 6.3 of critical damping)."""
    m = SparseLagrangian(dissipation=True).fit(damped_pendulum_set(gamma=0.0))
    assert {str(t) for t in m.terms_} == {"theta_dot**2", "cos(theta)"}
    assert abs(m.damping_[0]) < 1e-8 * 2 * np.sqrt(G)


def test_damped_pendulum_with_noise_weak_form():
    """Noisy positions: weak form, then the maximum-likelihood trajectory fit (default), whose
    standard errors cover the truth: g and γ within 4 stderr (a 4σ miss has probability 6e-5
    for a calibrated estimate), and the stderr are informative (< 2 % of the value)."""
    m = SparseLagrangian().fit(damped_pendulum_set(n_traj=6, duration=8.0, noise_rel=0.01))
    assert m.method_ == "weak"
    assert {str(t) for t in m.terms_} == {"theta_dot**2", "cos(theta)"}
    assert m.trajectory_fit_["accepted"]
    coef = dict(zip(map(str, m.terms_), m.coef_))
    se = dict(zip(map(str, m.terms_), m.coef_stderr_))
    assert se["theta_dot**2"] == 0  # carries the normalization: fixed, not estimated
    g = coef["cos(theta)"] / (2 * coef["theta_dot**2"])
    assert abs(g - G) < 4 * se["cos(theta)"] / (2 * coef["theta_dot**2"]) and se["cos(theta)"] < 0.02 * coef["cos(theta)"]
    gamma = m.damping_[0] / (2 * coef["theta_dot**2"])
    gamma_se = m.damping_stderr_[0] / (2 * coef["theta_dot**2"])
    assert abs(gamma - GAMMA) < 4 * gamma_se and gamma_se < 0.02 * GAMMA
    d = m.to_dict()
    assert [t["stderr"] for t in d["terms"]] == list(m.coef_stderr_)


def test_friction_survives_save_and_load(tmp_path):
    m = SparseLagrangian(dissipation=True).fit(damped_pendulum_set(n_traj=3, duration=4.0))
    (tmp_path / "lagrangian.json").write_text(json.dumps(m.to_dict()))
    back = discover.load(tmp_path)
    np.testing.assert_allclose(back.damping_, m.damping_, rtol=1e-12)
    q, v = np.array([[0.3], [1.0]]), np.array([[0.5], [-0.2]])
    np.testing.assert_allclose(back.acceleration(q, v), m.acceleration(q, v), rtol=1e-10)


def test_cli_dissipation_writes_the_rayleigh_function(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    data = damped_pendulum_set(n_traj=3, duration=4.0)
    rows = ["t,traj,theta"] + [f"{t:.6f},{tr.id},{q:.12g}" for tr in data.trajectories
                                for t, q in zip(tr.t, tr.q[:, 0])]
    csv = tmp_path / "damped.csv"
    csv.write_text("\n".join(rows) + "\n")
    script = Path(__file__).resolve().parents[1] / "pipelines" / "discover.py"
    out = tmp_path / "res"
    r = subprocess.run([sys.executable, str(script), str(csv), "--out", str(out), "--dissipation", "--quiet"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    d = json.loads((out / "lagrangian.json").read_text())
    assert d["dissipation"]["coefficients"]["theta"] == pytest.approx(GAMMA, rel=1e-3)
    assert "Dissipation (Rayleigh function)" in (out / "report.md").read_text()
