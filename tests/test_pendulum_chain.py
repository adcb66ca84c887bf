"""The n-link pendulum of the scaling study: its hand-derived equations against the engine's
Euler–Lagrange accelerations of its SymPy Lagrangian, and the double pendulum it reduces to."""
import numpy as np
import pytest
import sympy
import torch

from discover.mechanics import accelerations
from discover.studies.pendulum_chain import PendulumChain
from discover.systems import get_system


@pytest.mark.parametrize("n", [1, 3, 5])
def test_hand_derived_accelerations_match_the_engine(n):
    system = PendulumChain(n=n)
    rng = np.random.default_rng(n)
    q, v = rng.uniform(-1, 1, (7, n)), rng.uniform(-1, 1, (7, n))
    engine = accelerations(system.torch_lagrangian(), torch.tensor(q), torch.tensor(v)).numpy()
    np.testing.assert_allclose(system.acceleration(q, v), engine, rtol=1e-9, atol=1e-9)


def test_two_links_are_the_double_pendulum():
    two = PendulumChain(n=2).lagrangian()
    double = get_system("double_pendulum").lagrangian()
    assert sympy.simplify(two - double) == 0


def test_truth_has_every_pair_coupled():
    n = 6
    terms = sympy.Add.make_args(sympy.expand(PendulumChain(n=n).lagrangian()))
    assert len(terms) == 2 * n + n * (n - 1) // 2


def test_simulation_conserves_energy():
    system = PendulumChain(n=4)
    q0, v0 = system.sample_initial_states(3, np.random.default_rng(0))
    q, v = system.simulate(q0, v0, np.arange(201) * 0.01)
    E = system.energy(torch.tensor(q), torch.tensor(v)).numpy()
    assert np.abs(E - E[0]).max() < 1e-7 * np.abs(E).max()
