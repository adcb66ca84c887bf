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
