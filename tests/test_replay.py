"""discover.replay: the engine's operations recorded once and replayed.  Expected values from closed
forms (harmonic oscillator, double pendulum via SymPy's own derivation) and from the engine itself
(the replay must give its numbers bit for bit)."""
import numpy as np
import pytest
import sympy
import torch

import discover.integrate as integrate
from discover.mechanics import SingularMassMatrixError, accelerations
from discover.replay import NotReplayable, Replayed, record
from discover.systems import get_system


def states(B, n, seed=0, scale=1.0):
    g = torch.Generator().manual_seed(seed)
    return (scale * torch.randn(B, n, generator=g, dtype=torch.float64),
            torch.randn(B, n, generator=g, dtype=torch.float64))


def test_replay_gives_the_closed_form_on_new_inputs():
    # L = ½ m q̇² − ½ k q²: q̈ = −(k/m) q, whatever the states after the recording
    m, k = 2.0, 3.0
    rep = Replayed(lambda q, v: 0.5 * m * (v ** 2).sum() - 0.5 * k * (q ** 2).sum())
    for seed in range(3):
        q, v = states(5, 1, seed)
        torch.testing.assert_close(rep(q, v), -(k / m) * q, rtol=1e-14, atol=1e-14)
    assert any(fn is not None for fn in rep._cache._fns.values())  # it did record


def test_replay_matches_the_engine_bitwise_and_sympy_double_pendulum():
    s = get_system("double_pendulum")
    L = s.torch_lagrangian()
    rep = Replayed(L)
    q, v = (torch.tensor(a) for a in s.sample_initial_states(64, np.random.default_rng(1)))
    rep(q, v)  # records
    q2, v2 = (torch.tensor(a) for a in s.sample_initial_states(64, np.random.default_rng(2)))
    got = rep(q2, v2)
    assert torch.equal(got, accelerations(L, q2, v2))
    # SymPy's own Euler–Lagrange equations of the closed form (a second derivation)
    Ls = s.lagrangian()
    qs, vs, _ = s.symbols()
    p = [sympy.diff(Ls, x) for x in vs]
    M = sympy.Matrix([[sympy.diff(pi, x) for x in vs] for pi in p])
    f = sympy.Matrix([sympy.diff(Ls, qi) - sum(sympy.diff(pi, qj) * vj for qj, vj in zip(qs, vs)) for qi, pi in zip(qs, p)])
    fn = sympy.lambdify(qs + vs, M.LUsolve(f), "numpy")
    for b in range(0, 64, 9):
        ref = np.asarray(fn(*q2[b].tolist(), *v2[b].tolist()), float).ravel()
        np.testing.assert_allclose(got[b].numpy(), ref, rtol=1e-10, atol=1e-10)


def test_singular_mass_matrix_is_still_raised():
    # L = ½ (q̇₁ + q̇₂)²: M = [[1, 1], [1, 1]] is singular
    rep = Replayed(lambda q, v: 0.5 * v.sum() ** 2 - 0.5 * (q ** 2).sum())
    q, v = states(4, 2)
    with pytest.raises(SingularMassMatrixError):
        rep(q, v)
    with pytest.raises(SingularMassMatrixError):  # and on the replayed path
        rep(q, v)


def test_parameters_that_require_grad_run_through_the_engine():
    # q̈ = −k q: ∂q̈/∂k = −q
    k = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    rep = Replayed(lambda q, v: 0.5 * (v ** 2).sum() - 0.5 * k * (q ** 2).sum())
    q, v = states(3, 1)
    for _ in range(2):
        a = rep(q, v)
        (g,) = torch.autograd.grad(a.sum(), k)
        assert float(g) == pytest.approx(-float(q.sum()), rel=1e-12)


def test_value_dependent_functions_are_not_recorded():
    x = torch.ones(3, dtype=torch.float64)
    with pytest.raises(NotReplayable):
        record(lambda a: a * 2 if bool(a.sum() > 0) else a, x)
    result, replay = record(lambda a: torch.sin(a) * 2, x)
    y = torch.linspace(0, 1, 3, dtype=torch.float64)
    assert torch.equal(replay(y), torch.sin(y) * 2)


def test_rollout_with_replay_is_the_engine_rollout(monkeypatch):
    s = get_system("double_pendulum")
    q0, v0 = s.sample_initial_states(3, np.random.default_rng(0))
    t = torch.arange(40, dtype=torch.float64) * 0.01
    L = s.torch_lagrangian()
    replayed = integrate.rollout(L, q0, v0, t)
    monkeypatch.setattr(integrate, "REPLAY_CALLS", 10 ** 9)
    engine = integrate.rollout(L, q0, v0, t)
    assert torch.equal(replayed.q, engine.q) and torch.equal(replayed.qdot, engine.qdot)


def test_whole_step_replay_follows_a_mass_matrix_whose_band_grows(monkeypatch):
    # M = [[1, ε sin q₁], [ε sin q₁, 1]] is diagonal at the first state (q₁ = 0) only: the step
    # recorded with that band must notice the coupling and give the engine's rollout all the same
    eps = 0.3
    L = lambda q, v: 0.5 * (v ** 2).sum() + eps * torch.sin(q[0]) * v[0] * v[1] - 0.5 * (q ** 2).sum()
    q0 = torch.tensor([[0.0, 0.4]], dtype=torch.float64)
    v0 = torch.tensor([[1.0, -0.2]], dtype=torch.float64)
    t = torch.arange(30, dtype=torch.float64) * 0.02
    replayed = integrate.rollout(L, q0, v0, t, compute_energy=False)
    monkeypatch.setattr(integrate, "REPLAY_CALLS", 10 ** 9)
    engine = integrate.rollout(L, q0, v0, t, compute_energy=False)
    assert torch.equal(replayed.q, engine.q) and torch.equal(replayed.qdot, engine.qdot)


def test_whole_step_replay_still_raises_on_a_singular_mass_matrix():
    # L = ½ cos(q) q̇²: M = cos q vanishes at q = π/2, which a start at q = 1.4 moving up reaches
    L = lambda q, v: 0.5 * torch.cos(q[0]) * v[0] ** 2
    t = torch.arange(200, dtype=torch.float64) * 0.01
    with pytest.raises(SingularMassMatrixError):
        integrate.rollout(L, [[1.4]], [[1.0]], t, compute_energy=False)


def test_rollout_with_friction_follows_the_damped_oscillator():
    # L = ½ẋ² − ½ω²x², R = ½cẋ²: x = e^{−ct/2} cos(ω_d t) with ω_d² = ω² − c²/4 (from x(0) = 1,
    # ẋ(0) = −c/2); the replayed rollout must give the engine's numbers bit for bit as well
    w, c = 2.0, 0.3
    wd = (w ** 2 - c ** 2 / 4) ** 0.5
    L = lambda q, v: 0.5 * (v ** 2).sum() - 0.5 * w ** 2 * (q ** 2).sum()
    R = lambda q, v: 0.5 * c * (v ** 2).sum()
    t = torch.arange(400, dtype=torch.float64) * 0.01
    out = integrate.rollout(L, [[1.0]], [[-c / 2]], t, dissipation=R, compute_energy=False)
    exact = torch.exp(-c * t / 2) * torch.cos(wd * t)
    torch.testing.assert_close(out.q[:, 0, 0], exact, rtol=0, atol=1e-8)
    engine = integrate.rollout(L, [[1.0]], [[-c / 2]], t, compute_energy=False,
                               acceleration=lambda q, v, tt: accelerations(L, q, v, dissipation=R))
    assert torch.equal(out.q, engine.q) and torch.equal(out.qdot, engine.qdot)
    with pytest.raises(ValueError, match="dissipation"):
        integrate.rollout(L, [[1.0]], [[0.0]], t, dissipation=R, method="variational")
