"""Loss landscape: physics of the q̈-loss (expected values from q̈ = −(k/m) q)."""
import numpy as np
import pytest
import torch

from discover.reports.landscape import batched_qddot, cluster_minima, grid_loss, harmonic_data, multistart

M0, K0 = 1.0, 4.0


@pytest.fixture(scope="module")
def clean():
    return harmonic_data(M0, K0, n_traj=2, duration=4.0, dt=0.02)


def test_ho_grid_minimum_lies_on_valley(clean):
    m = np.linspace(0.3, 2.7, 25)
    k = np.linspace(0.0, 11.0, 23)          # k/m = 4 hits grid points, e.g. (0.5, 2), (1.5, 6)
    loss = grid_loss(*clean, m, k)
    i, j = np.unravel_index(np.argmin(loss), loss.shape)
    assert abs(k[i] / m[j] - K0 / M0) < 1e-9
    assert loss[i, j] < 1e-20
    # on the analytic valley the loss vanishes for every m (projective degeneracy) ...
    for mm in (0.3, 1.0, 2.2):
        assert grid_loss(*clean, [mm], [K0 / M0 * mm])[0, 0] < 1e-20
    # ... and off it the loss is the analytic (k/m − k0/m0)² mean(q²)
    q = clean[0]
    expected = (6.0 / 1.0 - K0 / M0) ** 2 * np.mean(q**2)
    assert grid_loss(*clean, [1.0], [6.0])[0, 0] == pytest.approx(expected, rel=1e-9)


def test_ho_profile_m_fixed_has_unique_minimum_at_k0(clean):
    k = np.linspace(0.0, 8.0, 161)
    prof = grid_loss(*clean, [M0], k)[:, 0]
    assert k[np.argmin(prof)] == pytest.approx(K0)
    d = np.diff(prof)
    assert np.all(d[k[1:] <= K0] < 0) and np.all(d[k[:-1] >= K0] > 0)   # one minimum, convex


def test_batched_qddot_scale_invariant(clean):
    import sympy

    from discover.library import TermSet

    x, xd = sympy.symbols("x x_dot")
    ts = TermSet([xd**2 / 2, -x**2 / 2], ["x"])
    M, f = ts.mass_force_columns(torch.as_tensor(clean[0]), torch.as_tensor(clean[1]))
    xi = torch.tensor([[1.0, 4.0], [3.0, 12.0]], dtype=torch.float64)
    a = batched_qddot(M, f, xi)
    assert torch.allclose(a[0], a[1]) and torch.allclose(a[0], -4.0 * torch.as_tensor(clean[0]))


def test_multistart_small_runs_and_clusters():
    q = np.linspace(-1.5, 1.5, 60)[:, None]
    qd = np.cos(3 * q)
    qdd = -9.81 * np.sin(q)                       # pendulum: L = ½ θ̇² + 9.81 cos θ
    ms = multistart(n_starts=6, steps=30, data=(q, qd, qdd), seed=1)
    assert ms.final.shape == (6, 4) and ms.loss.shape == (6,)
    assert ms.engine_check < 1e-8
    assert ms.truth[0] == pytest.approx(0.5) and ms.truth[1] == pytest.approx(9.81)
    groups = cluster_minima(np.array([[1.0, 2.0], [1.0001, 2.0], [3.0, 1.0]]), np.array([0.1, 0.2, 0.3]))
    assert [g[2] for g in groups] == [2, 1]
