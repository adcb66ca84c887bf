"""MLP Lagrangian (LNN): expected values come from the physics of the harmonic oscillator."""
import numpy as np
import pytest
import torch

from discover.mechanics import mass_matrix
from discover.neural import (
    LagrangianNet,
    MLPEnsemble,
    MLPLagrangian,
    TrainingDivergedError,
    load_mlp,
)

torch.set_num_threads(1)
OMEGA = 2.0


def oscillator(n_traj=8, n_t=64, seed=0):
    """Samples of x = A cos(ωt + φ): (q, q̇, q̈) with q̈ = −ω² q, each (N, 1)."""
    rng = np.random.default_rng(seed)
    A, phi = rng.uniform(0.5, 1.5, n_traj), rng.uniform(0, 2 * np.pi, n_traj)
    t = np.linspace(0, 2 * np.pi / OMEGA, n_t, endpoint=False)
    x = A[:, None] * np.cos(OMEGA * t + phi[:, None])
    v = -A[:, None] * OMEGA * np.sin(OMEGA * t + phi[:, None])
    return x.reshape(-1, 1), v.reshape(-1, 1), (-OMEGA ** 2 * x).reshape(-1, 1)


@pytest.fixture(scope="module")
def ho_model():
    return MLPLagrangian(hidden=(128, 128), dtype="float64", lr=1e-2, batch_size=128,
                         epochs=100, patience=100, seed=0).fit(oscillator())


# MLP training has no error theory: the bounds below are set on the spread over training seeds
# 0–2 (same data and settings), not on one run, and on what physics fixes, the frequency.
def test_learns_harmonic_oscillator(ho_model):
    # held-out trajectories (other amplitudes and phases): the learned q̈ is −ω² q.  The frequency
    # ω² = −⟨q̈ q⟩/⟨q²⟩ of the learned accelerations was within 0.3 % over seeds 0–2: 2 %
    q, qd, _ = oscillator(seed=1)
    a = ho_model.acceleration(q, qd)
    assert np.sqrt(-(a * q).sum() / (q**2).sum()) == pytest.approx(OMEGA, rel=0.02)
    # relative q̈ error: 0.010, 0.033, 0.025 over seeds 0–2; a zero model scores 1
    assert ho_model.score(oscillator(seed=1)) < 0.1
    assert ho_model.val_error_ < 0.1
    assert ho_model.lagrangian() is None
    q = np.array([[0.3], [-0.8]])  # pointwise: within 5.2 % over seeds 0–2
    np.testing.assert_allclose(ho_model.acceleration(q, np.zeros_like(q)), -OMEGA ** 2 * q, rtol=0.15)


def test_learned_energy_is_conserved_along_true_motion(ho_model):
    # E = q̇·∂L/∂q̇ − L of the learned L must be constant on x = A cos ωt; its variation
    # along each orbit must be small next to the energy differences between orbits
    t = np.linspace(0, np.pi / OMEGA, 200)
    A = np.array([0.6, 1.0, 1.4])
    x, v = A[:, None] * np.cos(OMEGA * t), -A[:, None] * OMEGA * np.sin(OMEGA * t)
    E = ho_model.energy(x[..., None], v[..., None])
    assert E.shape == (3, 200)
    spread_along = E.max(1) - E.min(1)
    between = np.diff(E.mean(1))
    assert np.all(between > 0) or np.all(between < 0)  # energy grows with amplitude
    assert spread_along.max() < 0.2 * np.abs(between).min()  # 0.029–0.058 over seeds 0–2


def test_rollout_follows_closed_form(ho_model):
    t = np.linspace(0, 2 * np.pi / OMEGA, 41)  # one period, RK4 with ωh = 0.16
    q, qd = ho_model.simulate(np.array([1.0]), np.array([0.0]), t)
    assert q.shape == (41, 1) and qd.shape == (41, 1)
    np.testing.assert_allclose(q[:, 0], np.cos(OMEGA * t), atol=0.15)  # 0.004–0.045 over seeds 0–2


def test_numpy_and_torch_in_out(ho_model):
    q, qd = np.array([[0.5]]), np.array([[1.0]])
    a_np = ho_model.acceleration(q, qd)
    a_t = ho_model.acceleration(torch.tensor(q, dtype=torch.float32), torch.tensor(qd, dtype=torch.float32))
    assert isinstance(a_np, np.ndarray) and isinstance(a_t, torch.Tensor)
    assert a_t.dtype == torch.float32
    np.testing.assert_allclose(a_t.numpy(), a_np, rtol=1e-5)


def test_save_load_round_trip(ho_model, tmp_path):
    ho_model.save(tmp_path / "m")
    loaded = MLPLagrangian.load(tmp_path / "m")
    q, qd = np.random.default_rng(3).normal(size=(2, 50, 1))
    np.testing.assert_array_equal(loaded.acceleration(q, qd), ho_model.acceleration(q, qd))
    assert loaded.get_params() == dict(ho_model.get_params(), hidden=[128, 128])
    assert type(load_mlp(tmp_path / "m")) is MLPLagrangian


def test_nan_rows_are_refused():
    q, qd, qdd = oscillator(n_traj=2, n_t=16)
    qd[5, 0] = np.nan
    with pytest.raises(ValueError, match="qdot.*NaN.*row 5"):
        MLPLagrangian(epochs=1).fit((q, qd, qdd))
    qdd[3, 0] = np.inf
    with pytest.raises(ValueError, match="NaN or inf"):
        MLPLagrangian(epochs=1).fit((q, qd * 0, qdd))
    with pytest.raises(ValueError, match="shapes differ"):
        MLPLagrangian(epochs=1).fit((q, q[:-1], q))


def test_divergence_is_reported():
    with pytest.raises(TrainingDivergedError, match="lower lr"):
        MLPLagrangian(hidden=(16, 16), lr=1e4, epochs=20, grad_clip=None, seed=0).fit(oscillator(2, 32))


def test_ensemble_equals_separate_training(tmp_path):
    data = oscillator(n_traj=3, n_t=32)
    # patience=1: the members stop early at different epochs, which must not couple them
    kw = dict(hidden=(16, 16), dtype="float64", epochs=8, batch_size=32, lr=3e-2, patience=1)
    ens = MLPEnsemble(n_models=3, seed=5, **kw).fit(data)
    assert len(set(ens.best_epoch_)) > 1
    q, qd = np.random.default_rng(1).normal(size=(2, 40, 1))
    singles = [MLPLagrangian(seed=5 + i, **kw).fit(data) for i in range(3)]
    for m, single in enumerate(singles):
        np.testing.assert_allclose(ens.val_errors_[m], single.val_error_, rtol=1e-9)
        for p_e, p_s in zip(ens.modules_[m].parameters(), single.module_.parameters()):
            torch.testing.assert_close(p_e, p_s, rtol=1e-9, atol=1e-12)
        assert ens.best_epoch_[m] == single.best_epoch_
    mean, std = ens.acceleration(q, qd, return_std=True)
    each = np.stack([s.acceleration(q, qd) for s in singles])
    np.testing.assert_allclose(mean, each.mean(0), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(std, each.std(0), rtol=1e-7, atol=1e-12)
    assert ens.energy(q, qd).shape == (3, 40)
    ens.save(tmp_path / "e")
    np.testing.assert_array_equal(load_mlp(tmp_path / "e").acceleration(q, qd), mean)


def test_structured_mass_matrix_is_positive_definite():
    rng = np.random.default_rng(0)
    q = rng.uniform(-1, 1, size=(64, 2))
    qd = rng.normal(size=(64, 2))
    qdd = -q @ np.array([[2.0, 0.5], [0.5, 1.0]])  # coupled oscillators, M = I
    model = MLPLagrangian(structured=True, hidden=(32, 32), dtype="float64", epochs=3,
                          batch_size=32, lr=1e-2).fit((q, qd, qdd))
    # far outside the data too: M = LLᵀ + εI by construction
    Q = torch.as_tensor(rng.uniform(-10, 10, size=(500, 2)))
    Qd = torch.as_tensor(rng.normal(scale=10, size=(500, 2)))
    eig = torch.linalg.eigvalsh(mass_matrix(model.module_, Q, Qd))
    assert bool((eig > 0).all())


def test_module_is_a_lagrangian_for_one_state():
    # L(q, q̇) for ONE state, a scalar; the engine sums it over a batch and relies on samples not
    # interacting: the batched accelerations equal those of each state alone
    from discover.mechanics import accelerations

    torch.manual_seed(0)
    net = LagrangianNet(3, hidden=(8,)).double()
    assert net(torch.zeros(3, dtype=torch.float64), torch.ones(3, dtype=torch.float64)).shape == ()
    rng = np.random.default_rng(0)
    q, qd = (torch.as_tensor(rng.normal(size=(5, 3))) for _ in range(2))
    batched = accelerations(net, q, qd, check=False)
    alone = torch.cat([accelerations(net, q[i:i + 1], qd[i:i + 1], check=False) for i in range(5)])
    torch.testing.assert_close(batched, alone, rtol=1e-10, atol=1e-12)
    with pytest.raises(ValueError, match="relu"):  # ReLU: ∂²L/∂q̇² = 0, a singular mass matrix
        LagrangianNet(1, activation="relu")


def test_fits_an_object_with_stack():
    q, qd, qdd = oscillator(n_traj=2, n_t=16)

    class Trajectories:  # the TrajectorySet interface used by fit
        def stack(self):
            return {"q": q, "qdot": qd, "qddot": qdd}

    kw = dict(hidden=(8,), epochs=2, batch_size=16, seed=0)
    model = MLPLagrangian(**kw).fit(Trajectories(), validation=(q, qd, qdd))
    assert model.n_dof_ == 1 and len(model.history_["val_loss"]) == 2
    # the object's arrays are what was fitted: the same model as from the tuple itself
    ref = MLPLagrangian(**kw).fit((q, qd, qdd), validation=(q, qd, qdd))
    for a, b in zip(model.module_.parameters(), ref.module_.parameters()):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    assert model.history_["val_loss"] == ref.history_["val_loss"]
