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
