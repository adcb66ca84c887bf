"""Coulomb (dry) friction, the force −F_c tanh(q̇/ε): the engine against the closed form, and the
library fit recovering F_c from positions of pendulums integrated by SciPy from the textbook
equation θ̈ = −ω² sin θ − F_c sign θ̇ (smoothed over 1e-3 rad/s, far below the fit's ε), or
keeping none where the data have none."""
import json

import numpy as np
import pytest
import sympy
import torch
from scipy.integrate import solve_ivp

import discover
from discover import SparseLagrangian, Trajectory, TrajectorySet, accelerations
from discover.dissipation import COULOMB_WIDTH, dissipation_function

W2, FC, SHARP = 9.81, 0.6, 1e-3  # ω² (unit length, unit mass), F_c, the simulation's smoothing


def _pendulums(fc, *, viscous=0.0, noise=0.0, seed=0, n_traj=5, duration=8.0, dt=0.01, eps=SHARP):
    rng = np.random.default_rng(seed)
    t = np.arange(0, duration, dt)
    trs = []
    for i, a in enumerate(rng.uniform(1.5, 2.5, n_traj) * rng.choice([-1, 1], n_traj)):
        sol = solve_ivp(lambda _, y: [y[1], -W2 * np.sin(y[0]) - fc * np.tanh(y[1] / eps) - viscous * y[1]],
                        (0, t[-1]), [a, 0.0], t_eval=t, method="Radau", rtol=1e-10, atol=1e-10)
        q = sol.y[0][:, None]
        trs.append(Trajectory(t, q + noise * q.std() * rng.normal(size=q.shape), None, None, i))
    return TrajectorySet(["theta"], trs)


def test_engine_coulomb_force_is_minus_fc_tanh():
    L = lambda q, v: 0.5 * v[..., 0] ** 2 + W2 * torch.cos(q[..., 0])  # noqa: E731
    q = torch.tensor([[0.3], [-1.0], [2.0]], dtype=torch.float64)
    v = torch.tensor([[0.5], [-0.01], [0.0]], dtype=torch.float64)
    R = dissipation_function(None, [FC], [0.02])
    expected = -W2 * torch.sin(q) - FC * torch.tanh(v / 0.02)
    assert torch.allclose(accelerations(L, q, v, dissipation=R), expected, rtol=1e-12, atol=1e-14)


def test_coulomb_friction_recovered_and_viscous_not_kept():
    m = SparseLagrangian().fit(_pendulums(FC))
    assert {str(e) for e in m.terms_} == {"theta_dot**2", "cos(theta)"}
    # ε = 1 % of the RMS speed: the smoothing changes the force only near turning points
    assert m.coulomb_epsilon_[0] == pytest.approx(COULOMB_WIDTH * 2.5, rel=0.3)
    assert m.coulomb_[0] == pytest.approx(FC, rel=0.01)
    assert m.damping_[0] == 0


def test_coulomb_beside_viscous_friction():
    m = SparseLagrangian().fit(_pendulums(FC, viscous=0.2))
    assert m.coulomb_[0] == pytest.approx(FC, rel=0.02)
    assert m.damping_[0] == pytest.approx(0.2, rel=0.05)


def test_no_coulomb_friction_where_the_data_have_none():
    for viscous in (0.0, 0.3):
        m = SparseLagrangian().fit(_pendulums(0.0, viscous=viscous))
        assert m.coulomb_[0] == 0
        assert "coulomb" not in (m.to_dict().get("dissipation") or {})


def test_noisy_coulomb_pendulum_trajectory_fit_within_its_stderr():
    """1 % noise, simulated with the fit's own smoothing (ε given), so that the model is exact:
    F_c within 4 standard errors, and F_c kept by the default search."""
    from discover.trajectory_fit import fit_trajectories

    data = _pendulums(FC, noise=0.01, seed=3, n_traj=4, eps=0.03)
    TH, THD = sympy.symbols("theta theta_dot")
    r = fit_trajectories([THD**2, sympy.cos(TH)], ["theta"], [0.5, W2], [[2.0, 0.0]],
                         [(tr.t, tr.q) for tr in data.trajectories], coulomb0=[0.3], fit_coulomb=True,
                         coulomb_epsilon=[0.03])
    assert r.converged, r.message
    assert 0 < r.coulomb_stderr[0] < 0.02
    assert abs(r.coulomb[0] - FC) < 4 * r.coulomb_stderr[0]
    assert abs(r.coef[1] - W2) < 4 * r.coef_stderr[1]


def test_coulomb_friction_survives_save_and_load(tmp_path):
    m = SparseLagrangian().fit(_pendulums(FC, n_traj=3, duration=5.0))
    d = m.to_dict()
    assert d["dissipation"]["coulomb"]["theta"] == pytest.approx(FC, rel=0.01)
    assert "log(cosh(" in d["dissipation"]["rayleigh"]
    (tmp_path / "lagrangian.json").write_text(json.dumps(d))
    back = discover.load(tmp_path)
    q, v = np.array([[0.3], [1.0]]), np.array([[0.5], [-0.2]])
    np.testing.assert_allclose(back.acceleration(q, v), m.acceleration(q, v), rtol=1e-10)


def _energy_and_loss(fc, eps, *, viscous=0.0, a=2.0, duration=6.0, dt=0.01):
    """A pendulum θ̈ = −ω² sin θ − F_c tanh(θ̇/ε) − c θ̇ integrated by SciPy together with the energy it
    dissipates, W(t) = ∫₀ᵗ (F_c θ̇ tanh(θ̇/ε) + c θ̇²) dt, so that E(t) + W(t) = E(0) to solver accuracy."""
    t = np.arange(0, duration, dt)

    def f(_, y):
        th, w = y[0], y[1]
        drag = fc * np.tanh(w / eps) + viscous * w
        return [w, -W2 * np.sin(th) - drag, w * drag]

    sol = solve_ivp(f, (0, t[-1]), [a, 0.0, 0.0], t_eval=t, method="DOP853", rtol=1e-12, atol=1e-12)
    return t, sol.y[0][:, None], sol.y[1][:, None], sol.y[2]


PENDULUM = "0.5*theta_dot**2 + 9.81*cos(theta)"


@pytest.mark.parametrize("viscous", [0.0, 0.2])
def test_energy_lost_to_coulomb_friction_is_accounted_for(viscous):
    """dE/dt = −F_c θ̇ tanh(θ̇/ε) (− c θ̇²): the energy of L plus the loss that conserved.py adds back
    (trapezoid rule on the samples) stays at E(0), to integration accuracy; without the Coulomb term
    it would not (only viscous, or nothing, added back)."""
    from discover.conserved import conserved_quantities

    eps = 0.05
    t, q, qd, lost = _energy_and_loss(FC, eps, viscous=viscous)
    E = 0.5 * qd[:, 0] ** 2 - W2 * np.cos(q[:, 0])
    assert np.ptp(E + lost) < 1e-9 * np.ptp(E)  # the simulation's own bookkeeping: physics, not the code under test
    c = [viscous] if viscous else None
    entries = conserved_quantities(PENDULUM, ["theta"], [(t, q, qd)], friction=c, coulomb=[FC], coulomb_epsilon=[eps])
    energy = entries[0]
    assert energy["name"] == "energy" and energy["variation_on_data"] > 0.3  # it decays
    assert energy["variation_after_friction"] < 1e-4 * energy["variation_on_data"]
    # the same series by hand: E(t) + the trapezoid sum of the loss rate is the simulated E + W within 1e-6 of the decay
    rate = FC * qd[:, 0] * np.tanh(qd[:, 0] / eps) + viscous * qd[:, 0] ** 2
    trap = np.concatenate([[0.0], np.cumsum(np.diff(t) * (rate[1:] + rate[:-1]) / 2)])
    assert np.max(np.abs(trap - lost)) < 1e-4 * np.ptp(E)
    # viscous friction alone does not explain a Coulomb decay
    if viscous:
        alone = conserved_quantities(PENDULUM, ["theta"], [(t, q, qd)], friction=c)[0]
        assert alone["variation_after_friction"] > 0.1
    with pytest.raises(ValueError, match="coulomb_epsilon"):
        conserved_quantities(PENDULUM, ["theta"], [(t, q, qd)], coulomb=[FC])


def test_cli_report_accounts_for_coulomb_friction(tmp_path):
    """pipelines/discover.py on a pendulum with Coulomb friction only: the energy decays on the
    held-out data, adding back the fitted Coulomb loss ∫ F_c θ̇ tanh(θ̇/ε) dt explains the decay
    (lagrangian.json's variation_after_friction), and report.md says so."""
    import subprocess
    import sys
    from pathlib import Path

    import pandas as pd

    root = Path(__file__).resolve().parents[1]
    data = _pendulums(FC, n_traj=4, duration=6.0)
    csv = tmp_path / "coulomb.csv"
    pd.concat([pd.DataFrame({"t": tr.t, "traj": i, "theta": tr.q[:, 0]}) for i, tr in enumerate(data.trajectories)]
              ).to_csv(csv, index=False, float_format="%.12g")
    out = tmp_path / "run"
    r = subprocess.run([sys.executable, str(root / "pipelines" / "discover.py"), str(csv), "--out", str(out), "--quiet"],
                       capture_output=True, text=True, cwd=root, timeout=600)
    assert r.returncode == 0, r.stderr
    d = json.loads((out / "lagrangian.json").read_text())
    assert d["dissipation"]["coulomb"]["theta"] == pytest.approx(FC, rel=0.01) and d["dissipation"]["coefficients"]["theta"] == 0
    energy = d["conserved"][0]
    assert energy["name"] == "energy" and energy["variation_on_data"] > 0.3
    # the fitted ε (1 % of the RMS speed) is wider than the simulation's: the remainder is that mismatch
    assert energy["variation_after_friction"] < 3e-3 * energy["variation_on_data"]
    report = (out / "report.md").read_text()
    assert "| variation on data | after friction |" in report
    assert "F_c,i tanh(q̇ᵢ/εᵢ) for Coulomb friction" in report and "Linear friction" not in report
