"""Known applied generalized forces (a motor torque): the engine's M q̈ = f + Q, and the library
fit recovering L in the force's units (no normalization) — expected values from the closed-form
driven, damped pendulum J θ̈ = −m g c sin θ − c_v θ̇ + τ(t)."""
import math

import numpy as np
import pytest
import torch

from discover import SparseLagrangian, Trajectory, TrajectorySet, accelerations
from discover.integrate import rollout

J, MGC, CV = 0.0626, 0.1022 * 9.81, 0.047


def L(q, v):
    return 0.5 * J * v[..., 0] ** 2 + MGC * torch.cos(q[..., 0])


def R(q, v):
    return 0.5 * CV * v[..., 0] ** 2


def torque(t):
    return 0.3 * torch.sin(2.1 * t) + 0.2 * torch.sin(5.3 * t + 1.0)


def test_engine_adds_the_known_force():
    q = torch.tensor([[0.3], [-1.2], [2.0]], dtype=torch.float64)
    v = torch.tensor([[0.5], [0.0], [-1.0]], dtype=torch.float64)
    tau = torch.tensor([[0.1], [-0.4], [0.0]], dtype=torch.float64)
    a = accelerations(L, q, v, dissipation=R, force=tau)
    expected = (-MGC * torch.sin(q) - CV * v + tau) / J
    assert torch.allclose(a, expected, rtol=1e-12, atol=1e-12)
    # chunked evaluation slices the force with the states
    assert torch.allclose(accelerations(L, q, v, dissipation=R, force=tau, chunk_size=1), expected, rtol=1e-12)


def _driven_data(seed, n_traj=6, duration=8.0, dt=0.01):
    rng = np.random.default_rng(seed)
    q0 = torch.tensor(rng.uniform(-1, 1, (n_traj, 1)))
    v0 = torch.tensor(rng.uniform(-1, 1, (n_traj, 1)))
    t = torch.arange(0, duration, dt, dtype=torch.float64)

    def acc(q, v, tt):
        tt = torch.as_tensor(tt, dtype=torch.float64)
        return accelerations(L, q, v, dissipation=R, force=torque(tt)[..., None].expand_as(q))

    q = rollout(L, q0, v0, t, acceleration=acc).q.numpy()
    trs = []
    for i in range(n_traj):
        tr = Trajectory(t.numpy(), q[:, i, :], None, None, i)
        tr.force = torque(t).numpy()[:, None]
        trs.append(tr)
    return TrajectorySet(["theta"], trs)


@pytest.mark.parametrize("method", ["strong", "weak"])
def test_driven_pendulum_in_the_force_units(method):
    m = SparseLagrangian(method=method).fit(_driven_data(seed=3))
    assert m.force_ and m.normalization_coordinates_ == []
    got = {str(e): c for e, c in zip(m.terms_, m.coef_)}
    assert set(got) == {"theta_dot**2", "cos(theta)"}
    tol = 1e-6 if method == "strong" else 1e-3  # weak: quadrature of the windows
    assert math.isclose(got["theta_dot**2"], J / 2, rel_tol=tol)
    assert math.isclose(got["cos(theta)"], MGC, rel_tol=tol)
    assert math.isclose(m.damping_[0], CV, rel_tol=10 * tol)
    back = SparseLagrangian.from_dict(m.to_dict())  # lagrangian.json of a forced fit reads back
    assert back.force_ and back.normalization_coordinates_ == []
    q, v, f = np.array([[0.3], [-1.1]]), np.array([[0.5], [2.0]]), np.array([[0.7], [-0.2]])
    np.testing.assert_allclose(back.acceleration(q, v, force=f), m.acceleration(q, v, force=f), rtol=1e-6)


def test_csv_force_columns_round_trip_and_fit(tmp_path):
    """``<c>_force`` columns are read as the known force (and written back by to_csv); the fit
    from the CSV gives the closed-form coefficients in the force's units."""
    from discover import read_csv

    path = tmp_path / "driven.csv"
    _driven_data(seed=5, n_traj=4).to_csv(path)
    assert "theta_force" in path.read_text().splitlines()[0].split(",")
    data = read_csv(path)
    assert data.coordinates == ["theta"] and all(tr.force is not None for tr in data.trajectories)
    m = SparseLagrangian(method="strong").fit(data)
    got = {str(e): c for e, c in zip(m.terms_, m.coef_)}
    assert math.isclose(got["theta_dot**2"], J / 2, rel_tol=1e-5)
    assert math.isclose(got["cos(theta)"], MGC, rel_tol=1e-5)


def test_csv_force_of_one_coordinate_leaves_the_others_unforced(tmp_path):
    from discover import read_csv

    t = np.linspace(0, 1, 50)
    path = tmp_path / "two.csv"
    path.write_text("t,x,y,x_force\n" + "".join(f"{a},{np.sin(a)},{np.cos(3 * a)},{2 * a}\n" for a in t))
    tr = read_csv(path).trajectories[0]
    assert np.allclose(tr.force[:, 0], 2 * t) and np.all(tr.force[:, 1] == 0)


def test_csv_force_without_its_coordinate_is_one_line_error(tmp_path):
    from discover import DataError, read_csv

    path = tmp_path / "bad.csv"
    path.write_text("t,x,z_force\n" + "".join(f"{a},{np.sin(a)},1\n" for a in np.linspace(0, 1, 50)))
    with pytest.raises(DataError, match="z_force"):
        read_csv(path)


def _driven_scipy(seed, n_traj=3, duration=6.0, dt=0.01, noise=0.01):
    """Driven, damped pendulum integrated by SciPy from its closed-form equation, positions with
    Gaussian noise of ``noise`` × their std; the torque at the samples."""
    from scipy.integrate import solve_ivp

    tau = lambda t: 0.3 * np.sin(2.1 * t) + 0.2 * np.sin(5.3 * t + 1.0)  # noqa: E731
    rng = np.random.default_rng(seed)
    t = np.arange(0, duration, dt)
    data, forces = [], []
    for a in rng.uniform(-1.5, 1.5, n_traj):
        sol = solve_ivp(lambda tt, y: [y[1], (-MGC * np.sin(y[0]) - CV * y[1] + tau(tt)) / J], (0, t[-1]), [a, 0.0],
                        t_eval=t, method="DOP853", rtol=1e-12, atol=1e-12)
        q = sol.y[0][:, None]
        data.append((t, q + noise * q.std() * rng.normal(size=q.shape)))
        forces.append(tau(t)[:, None])
    return data, forces


def test_trajectory_fit_with_the_known_torque_needs_no_normalization():
    """1 % noise: J/2, m·g·c and the viscous friction within 4 standard errors of the truth, with
    no normalization row (the torque fixes L's scale) and the reduced χ² of a correct model."""
    import sympy

    from discover.trajectory_fit import fit_trajectories

    TH, THD = sympy.symbols("theta theta_dot")
    data, forces = _driven_scipy(seed=2)
    r = fit_trajectories([THD**2, sympy.cos(TH)], ["theta"], [0.04, 0.9], np.zeros((0, 2)), data, forces=forces,
                         damping0=[0.0], fit_damping=True)
    assert r.converged, r.message
    truth = np.array([J / 2, MGC])
    assert np.all(r.coef_stderr > 0) and np.all(r.coef_stderr < 2e-3 * truth)
    assert np.all(np.abs(r.coef - truth) < 4 * r.coef_stderr)
    assert abs(r.damping[0] - CV) < 4 * r.damping_stderr[0]
    assert abs(r.reduced_chi2 - 1) < 0.1  # σ estimated from the residuals
    # without the torque the same positions cannot be explained: χ² grows decisively
    free = fit_trajectories([THD**2, sympy.cos(TH)], ["theta"], [0.5, MGC / J], [[2.0, 0.0]], data,
                            damping0=[0.0], fit_damping=True, sigma=r.sigma)
    assert free.chi2 > 10 * r.chi2


def test_sparse_fit_on_noisy_driven_data_runs_the_trajectory_fit():
    data, forces = _driven_scipy(seed=4, n_traj=4, duration=8.0)
    trs = []
    for i, ((t, q), f) in enumerate(zip(data, forces)):
        tr = Trajectory(t, q, None, None, i)
        tr.force = f
        trs.append(tr)
    m = SparseLagrangian().fit(TrajectorySet(["theta"], trs))
    assert m.trajectory_fit_["accepted"], m.trajectory_fit_
    got = {str(e): (c, s) for e, c, s in zip(m.terms_, m.coef_, m.coef_stderr_)}
    assert set(got) == {"theta_dot**2", "cos(theta)"}
    for name, truth in (("theta_dot**2", J / 2), ("cos(theta)", MGC)):
        c, s = got[name]
        assert 0 < s and abs(c - truth) < 4 * s, (name, c, s)


def test_discover_never_hands_a_known_force_to_the_mlp():
    """A library without cos θ cannot explain the driven pendulum: the MLP, which has no place for
    the torque, is not trained; the library model comes back with the reason, and model='mlp' is
    refused outright."""
    from discover import Discover
    from discover.library import Polynomial

    data = _driven_data(seed=3, n_traj=3, duration=5.0)
    r = Discover(Polynomial(2), mlp_epochs=3).fit(data)
    assert r.mlp_ is None and r.model_ is r.sparse_ and "mlp" not in r.scores_
    assert any("does not take a known applied force" in w for w in r.warnings_)
    with pytest.raises(ValueError, match="known applied force"):
        Discover(model="mlp", mlp_epochs=3).fit(data)
