"""Warnings a user needs to trust (or not) a fit: stage 2 says when the fitted motion does not
follow the positions to within the noise — a harmonic L cannot follow a pendulum swinging to
±2.5 rad (its period is amplitude-independent, the pendulum's 1.5× longer there), the pendulum's
own L can; and negative fitted friction (energy fed in) is said, not silently kept."""
import warnings

import numpy as np
import pytest
import sympy
import torch

from discover import Trajectory, TrajectorySet, accelerations
from discover.formulations.trajectory import MISFIT
from discover.library import Custom
from discover.integrate import rollout
from discover.model import SparseLagrangian

from physics import trajectories

G = 9.81


@pytest.fixture(scope="module")
def swings():
    th, thd = sympy.symbols("theta theta_dot")
    rng = np.random.default_rng(11)
    q0 = rng.uniform(2.0, 2.5, (3, 1)) * rng.choice([-1.0, 1.0], (3, 1))
    t = np.arange(0, 6, 0.01)
    q = trajectories(thd**2 / 2 + G * sympy.cos(th), ["theta"], q0, np.zeros_like(q0), t)
    q = q + 0.01 * q.std() * rng.normal(size=q.shape)
    return TrajectorySet.from_arrays(np.tile(t, 3), q.reshape(-1, 1), coordinates=["theta"],
                                     traj=np.repeat(np.arange(3), len(t)))


def _fit(data, terms):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = SparseLagrangian(Custom(terms), trajectory_fit=True, dissipation=False).fit(data)
    return m, [str(w.message) for w in caught if "stage 2" in str(w.message)]


def test_a_model_that_cannot_follow_the_positions_is_flagged(swings):
    m, said = _fit(swings, ["theta_dot**2", "theta**2"])
    assert m.trajectory_fit_["accepted"]
    assert m.trajectory_fit_["position_rms_over_noise"][0] > MISFIT and said and "theta" in said[0]


def test_the_right_model_follows_them_to_within_the_noise(swings):
    m, said = _fit(swings, ["theta_dot**2", "cos(theta)"])
    assert m.trajectory_fit_["accepted"]
    assert m.trajectory_fit_["position_rms_over_noise"][0] < 1.5 and not said


def _pendulum_with_friction(c):
    """Clean pendulum swings under the force −c θ̇ (c < 0: energy fed in, a self-excited swing)."""
    L = lambda q, v: 0.5 * v[..., 0] ** 2 + G * torch.cos(q[..., 0])  # noqa: E731
    R = lambda q, v: 0.5 * c * v[..., 0] ** 2  # noqa: E731
    q0, v0 = torch.tensor([[0.4], [0.6], [0.8]], dtype=torch.float64), torch.zeros(3, 1, dtype=torch.float64)
    t = torch.arange(0, 6, 0.01, dtype=torch.float64)
    q = rollout(L, q0, v0, t, acceleration=lambda q, v, tt: accelerations(L, q, v, dissipation=R)).q.numpy()
    return TrajectorySet(["theta"], [Trajectory(t.numpy(), q[:, i, :], None, None, i) for i in range(3)])


@pytest.mark.parametrize("c", [-0.04, 0.04])
def test_negative_friction_is_said(c):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = SparseLagrangian().fit(_pendulum_with_friction(c))
    said = [str(w.message) for w in caught if "negative friction" in str(w.message)]
    assert m.damping_[0] == pytest.approx(c, rel=1e-4)
    assert bool(said) == (c < 0)
    assert not said or "theta" in said[0]


def test_round_off_of_forced_friction_on_conservative_data_is_not_negative_friction():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        m = SparseLagrangian(dissipation=True).fit(_pendulum_with_friction(0.0))
    assert abs(m.damping_[0]) < 1e-8
    assert not [w for w in caught if "negative friction" in str(w.message)]
