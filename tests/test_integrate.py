"""Rollouts (discover.integrate) against exact solutions: convergence orders, invariants, API."""
import numpy as np
import pytest
import torch

from discover.integrate import ConvergenceError, rollout
from discover.mechanics import SingularMassMatrixError
from discover.systems import get_system

torch.set_num_threads(1)


def _final_error(system, method, n_steps, q0, v0, T=1.0, **kw):
    t = torch.tensor([0.0, T], dtype=torch.float64)
    out = rollout(system, q0, v0, t, method=method, substeps=n_steps, compute_energy=False, **kw)
    qe, ve = system.exact_solution(q0, v0, t.numpy())
    return np.abs(out.q[-1].numpy() - qe[-1]).max() + np.abs(out.qdot[-1].numpy() - ve[-1]).max()


@pytest.mark.parametrize(
    "method, system, steps, options, order",
    [
        ("euler", "harmonic_2d", (10, 20, 40), None, 1),
        ("rk4", "pendulum", (10, 20, 40), None, 4),
        ("variational", "pendulum", (10, 20, 40), None, 2),  # midpoint rule, SymPy-derived
        ("variational", "pendulum", (10, 20, 40), {"rule": "trapezoid"}, 2),
        ("variational", "kepler", (20, 40, 80), {}, 2),
    ],
)
def test_convergence_order(method, system, steps, options, order):
    s = get_system(system)
    q0, v0 = s.sample_initial_states(3, 0)
    errors = [_final_error(s, method, n, q0, v0, options=options) for n in steps]
    measured = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(np.abs(measured - order) < 0.25), (errors, measured)


def test_variational_energy_stays_bounded_over_ten_thousand_steps():
    # Störmer–Verlet (trapezoid rule) at a coarse step ωh = 0.5: energy oscillates but
    # does not drift; RK4 at the same step loses most of it (|R(iωh)|² = 1 − (ωh)⁶/72 + …)
    s = get_system("harmonic_1d")
    h, n_out, sub = 0.5, 100, 100  # 10 000 steps, 800 periods
    t = torch.arange(n_out + 1, dtype=torch.float64) * (h * sub)
    out = rollout(s, [1.0], [0.0], t, method="variational", substeps=sub, options={"rule": "trapezoid"})
    dE = (out.energy - 0.5).abs().numpy()
    # the modified energy ½(v² + x²(1 − h²/4)) is conserved: |E − E₀| ≤ (h²/8)/(1 − h²/4)·… ≈ 0.034
    assert dE.max() < 0.04
    assert dE[-20:].max() < 1.2 * dE[:20].max() + 1e-12  # no secular growth
    rk4 = rollout(None, [1.0], [0.0], t, acceleration=lambda q, v, t: -q, substeps=sub)
    E_rk4 = 0.5 * (rk4.q**2 + rk4.qdot**2).numpy()
    assert E_rk4[-1, 0] < 0.5 * 0.2  # RK4 dissipates ~90% here


def test_variational_conserves_angular_momentum_exactly():
    # the midpoint L_d is rotation invariant, so its discrete Noether momentum is conserved
    s = get_system("kepler")
    q0, v0 = s.sample_initial_states(3, 1)
    t = torch.linspace(0, 12, 13, dtype=torch.float64)
    out = rollout(s, q0, v0, t, method="variational", substeps=15)
    q, v = out.q.numpy(), out.qdot.numpy()
    np.testing.assert_allclose(s.angular_momentum(q, v), np.broadcast_to(s.angular_momentum(q0, v0), (13, 3)), rtol=1e-11)
    E = out.energy.numpy()
    np.testing.assert_allclose(E, s.orbit_energy(q, v), rtol=1e-12)  # energy() is the orbit energy
    assert np.abs(E - E[0]).max() < 5e-3


def test_rk4_follows_the_larmor_circle():
    s = get_system("magnetic_2d")  # ω = 2
    q0, v0 = s.sample_initial_states(4, 2)
    t = torch.linspace(0, np.pi, 11, dtype=torch.float64)  # one full turn
    out = rollout(s, q0, v0, t, method="rk4", substeps=6)
    qe, ve = s.exact_solution(q0, v0, t.numpy())
    np.testing.assert_allclose(out.q.numpy(), qe, atol=2e-5)
    np.testing.assert_allclose(out.qdot.numpy(), ve, atol=4e-5)
    w = 2.0
    centre = q0 + np.stack([v0[:, 1], -v0[:, 0]], -1) / w
    radius = np.linalg.norm(out.q.numpy() - centre, axis=-1)
    np.testing.assert_allclose(radius, np.broadcast_to(np.linalg.norm(v0, axis=-1) / w, radius.shape), atol=2e-5)
    np.testing.assert_allclose(out.q[-1].numpy(), q0, atol=2e-5)


@pytest.mark.parametrize("method, order", [("rk4", 4), ("variational", 2)])
def test_time_dependent_lagrangian(method, order):
    # a force F cos(Ωt) evaluated at the wrong time inside a step (t not passed on, or the step's
    # start time used for its stages) leaves an O(h) error: the method's own order (halving h
    # divides the error by 2^order) shows the time reaches every stage.  Measured 7e-8 (RK4) and
    # 3e-4 (midpoint) at 10 substeps.
    s = get_system("driven_oscillator")
    q0, v0 = s.sample_initial_states(2, 3)
    t = torch.linspace(1.0, 3.0, 5, dtype=torch.float64)  # starts at t = 1: time must be passed on
    qe, _ = s.exact_solution(q0, v0, t.numpy(), t0=1.0)
    errors = [np.abs(rollout(s, q0, v0, t, method=method, substeps=n).q.numpy() - qe).max() for n in (10, 20, 40)]
    measured = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(np.abs(measured - order) < 0.25), (errors, measured)


def test_shapes_dtypes_and_inputs():
    s = get_system("harmonic_2d")
    L = s.torch_lagrangian()
    q0 = torch.tensor(s.sample_initial_states(6, 4)[0]).reshape(2, 3, 2)
    t = torch.linspace(0, 0.2, 3, dtype=torch.float64)
    out = rollout(L, q0, torch.zeros(2), t, substeps=2)  # qdot0 broadcasts
    assert out.q.shape == out.qdot.shape == (3, 2, 3, 2)
    assert out.energy.shape == (3, 2, 3)
    np.testing.assert_array_equal(out.q[0], q0)
    single = rollout(L, q0[1, 2], torch.zeros(2), t, substeps=2)
    assert single.q.shape == (3, 2)
    np.testing.assert_allclose(single.q, out.q[:, 1, 2], rtol=1e-14)
    out32 = rollout(L, q0.float(), torch.zeros(2), t.float(), method="variational")
    assert out32.q.dtype == out32.qdot.dtype == out32.energy.dtype == torch.float32
    # a SymPy string with numpy inputs; energy of a separable L is T + V
    out = rollout("x_dot**2/2 - 2*x**2", np.array([[1.0]]), np.array([[0.0]]), np.linspace(0, 1, 3), substeps=20)
    np.testing.assert_allclose(out.q[:, 0, 0], np.cos(2 * np.linspace(0, 1, 3)), atol=1e-6)
    np.testing.assert_allclose(out.energy, 2 * np.ones((3, 1)), rtol=1e-6)


def test_backwards_in_time():
    s = get_system("pendulum")
    q0, v0 = s.sample_initial_states(2, 5)
    t = torch.linspace(0, -1, 3, dtype=torch.float64)
    qe, _ = s.exact_solution(q0, v0, t.numpy())
    # RK4 backwards is RK4 with h < 0: global error C·h⁴ (measured 1.6e-5 at 10 substeps of 0.05),
    # so halving h divides it by 16; a sign slip in the step would not converge at all
    errors = [np.abs(rollout(s, q0, v0, t, method="rk4", substeps=n).q.numpy() - qe).max() for n in (10, 20, 40)]
    measured = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(np.abs(measured - 4) < 0.25), (errors, measured)


def test_gradients_flow_through_rk4():
    # x(T) = x₀ cos(√k T):  ∂x(T)/∂k = −x₀ T sin(√k T) / (2√k)
    k = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    T, x0 = 1.0, 0.8
    out = rollout(lambda q, v: v[0] ** 2 / 2 - k * q[0] ** 2 / 2, [x0], [0.0],
                  torch.tensor([0.0, T], dtype=torch.float64), substeps=20, compute_energy=False)
    (g,) = torch.autograd.grad(out.q[-1, 0], k)
    w = np.sqrt(2.0)
    assert float(g) == pytest.approx(-x0 * T * np.sin(w * T) / (2 * w), rel=1e-5)


def test_callable_with_time_argument_is_detected():
    F, W = 0.5, 1.7
    L = lambda q, v, t: v[0] ** 2 / 2 - q[0] ** 2 / 2 + F * q[0] * torch.cos(W * t)  # noqa: E731
    t = torch.linspace(0.5, 1.5, 3, dtype=torch.float64)
    out = rollout(L, [0.2], [0.1], t, substeps=10)
    ref = rollout(get_system("driven_oscillator"), [0.2], [0.1], t, substeps=10)
    np.testing.assert_allclose(out.q, ref.q, rtol=1e-12)
    np.testing.assert_allclose(out.energy, ref.energy, rtol=1e-12)


def test_bad_arguments():
    s = get_system("pendulum")
    t = torch.linspace(0, 1, 3, dtype=torch.float64)
    with pytest.raises(ValueError, match="unknown method"):
        rollout(s, [0.1], [0.0], t, method="leapfrog")
    with pytest.raises(ValueError, match="needs a Lagrangian"):
        rollout(None, [0.1], [0.0], t, method="variational", acceleration=lambda q, v, t: -q)
    with pytest.raises(ValueError, match="acceleration"):
        rollout(None, [0.1], [0.0], t)
    with pytest.raises(ValueError, match="monotonic|increasing"):
        rollout(s, [0.1], [0.0], torch.tensor([0.0, 1.0, 0.5]))
    with pytest.raises(ValueError, match="substeps"):
        rollout(s, [0.1], [0.0], t, substeps=0)
    with pytest.raises(ValueError, match="same n"):
        rollout(s, [0.1], [0.0, 1.0], t)
    with pytest.raises(ValueError, match="rule"):
        rollout(s, [0.1], [0.0], t, method="variational", options={"rule": "simpson"})
    singular = "(x_dot + y_dot)**2/2 - x**2/2 - y**2/2"
    for method in ("rk4", "variational"):
        with pytest.raises(SingularMassMatrixError):
            rollout(singular, [[0.1, 0.2]], [[0.0, 0.0]], t, method=method)
    with pytest.raises(ConvergenceError):
        rollout(s, [0.1], [0.0], t, method="variational", options={"max_iter": 1, "rtol": 1e-300})


@pytest.mark.parametrize("method,order", [("euler", 1), ("rk4", 4)])
def test_first_order_field_converges_to_closed_form(method, order):
    """A field whose q' is not q̇: q' = a q̇, q̇' = −b q, so q'' = −ab q with ω = √(ab) and
    q(t) = q₀ cos ωt + (a v₀/ω) sin ωt; halving the step divides the error by 2^order."""
    a, b = 2.0, 0.5
    w = np.sqrt(a * b)
    q0, v0 = np.array([[0.3], [-1.0]]), np.array([[0.2], [0.5]])
    t = torch.linspace(0, 2, 5, dtype=torch.float64)
    exact = q0 * np.cos(w * t.numpy()[:, None, None]) + a * v0 / w * np.sin(w * t.numpy()[:, None, None])
    errs = [np.abs(rollout(None, q0, v0, t, method=method, substeps=s, field=lambda q, v, tt: (a * v, -b * q)).q.numpy()
                   - exact).max() for s in (20, 40)]
    assert errs[1] < errs[0] and 2 ** order * 0.8 < errs[0] / errs[1] < 2 ** order * 1.25


def test_field_of_a_second_order_system_is_the_acceleration_path():
    """field = (q̇, f(q, q̇)) integrates exactly what acceleration = f does."""
    f = lambda q, v, tt: -torch.sin(q) - 0.1 * v
    t = torch.linspace(0, 1, 6, dtype=torch.float64)
    one = rollout(None, [0.5], [0.1], t, acceleration=f, substeps=3)
    two = rollout(None, [0.5], [0.1], t, field=lambda q, v, tt: (v, f(q, v, tt)), substeps=3)
    assert torch.equal(one.q, two.q) and torch.equal(one.qdot, two.qdot)
    with pytest.raises(ValueError, match="not both"):
        rollout(None, [0.5], [0.1], t, acceleration=f, field=lambda q, v, tt: (v, f(q, v, tt)))
