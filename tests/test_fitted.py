"""The fitted-model base (discover.io.FittedModel) and the saved-model files: scikit-learn's
clone/get_params, the not-fitted error, and save → load round trips whose q̈ is checked against
the closed form of the system the model was fitted on."""
import json

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError

import discover
from discover.data import TrajectorySet
from discover.io import FittedModel, load, save
from discover.library import Polynomial, Trig
from discover.model import SparseLagrangian
from discover.neural import MLPEnsemble, MLPLagrangian

from physics import trajectories

G = 9.81
PENDULUM = f"0.5*theta_dot**2 + {G}*cos(theta)"  # l = 1: θ̈ = −g sin θ


@pytest.fixture(scope="module")
def pendulum():
    """A SparseLagrangian fitted on clean pendulum trajectories (SymPy + SciPy, no discover code)."""
    t = np.arange(0, 3, 0.01)
    q0 = np.array([[1.0], [2.0], [-2.5]])
    q = trajectories(PENDULUM, ["theta"], q0, np.zeros_like(q0), t)
    data = TrajectorySet.from_arrays(np.tile(t, 3), q.reshape(-1, 1), coordinates=["theta"],
                                     traj=np.repeat([0, 1, 2], len(t)))
    return SparseLagrangian(Trig() + Polynomial(2)).fit(data)


@pytest.fixture(scope="module")
def mlp():
    """A small MLP Lagrangian trained briefly on harmonic-oscillator samples (x, ẋ, ẍ = −4x)."""
    rng = np.random.default_rng(0)
    x, v = rng.uniform(-1, 1, (2, 200, 1))
    data = TrajectorySet.from_arrays(np.arange(200) * 0.01, x, qdot=v, qddot=-4 * x, coordinates=["x"])
    return MLPLagrangian(hidden=(16,), epochs=3, dtype="float64", seed=0).fit(data)


def states(n=40, seed=0):
    return np.random.default_rng(seed).uniform(-2.5, 2.5, size=(2, n, 1))


# -- scikit-learn conventions ------------------------------------------------------------------
@pytest.mark.parametrize("make", [
    lambda: SparseLagrangian(Polynomial(3), method="weak", parsimony=0.5, validation=0.3, max_samples=100,
                             refine=True, l1=0.1, dissipation=False, trajectory_fit=True, seed=7),
    lambda: MLPLagrangian(hidden=(8, 4), activation="tanh", structured=True, lr=0.5, epochs=2, seed=3),
    lambda: MLPEnsemble(n_models=2, hidden=(8,), dtype="float64", seed=1),
])
def test_clone_and_get_params_round_trip(make):
    model = make()
    assert isinstance(model, FittedModel)
    params = model.get_params()
    # clone rebuilds from get_params and fails if __init__ did not store every argument as given
    copy = clone(model)
    assert type(copy) is type(model) and copy is not model
    assert copy.get_params().keys() == params.keys()
    for k, v in params.items():
        if k == "library":
            assert type(copy.library) is type(v) and copy.library is not v  # a deep copy
        else:
            assert copy.get_params()[k] == v, k
    assert type(model)(**params).get_params() == params


def test_clone_of_a_fitted_model_is_unfitted(pendulum):
    copy = clone(pendulum)
    assert copy.get_params()["seed"] == pendulum.seed
    with pytest.raises(NotFittedError):
        copy.acceleration(*states())


# -- not fitted ---------------------------------------------------------------------------------
@pytest.mark.parametrize("cls", [SparseLagrangian, MLPLagrangian, MLPEnsemble])
@pytest.mark.parametrize("call", [
    lambda m: m.acceleration(np.zeros((3, 1)), np.zeros((3, 1))),
    lambda m: m.lagrangian(),
    lambda m: m.to_dict(),
    lambda m: m.energy(np.zeros((3, 1)), np.zeros((3, 1))),
    lambda m: m.simulate(np.zeros(1), np.ones(1), np.linspace(0, 1, 5)),
])
def test_an_unfitted_model_says_to_call_fit(cls, call, tmp_path):
    with pytest.raises(NotFittedError, match=r"not fitted yet: call fit\(data\) first"):
        call(cls())
    with pytest.raises(NotFittedError):
        cls().save(tmp_path / "never")
    assert not (tmp_path / "never").exists()


# -- save → load ------------------------------------------------------------------------------
def test_sparse_save_load_gives_the_closed_form_acceleration(pendulum, tmp_path):
    folder = pendulum.save(tmp_path / "run")
    assert sorted(p.name for p in folder.iterdir()) == ["lagrangian.json"]
    fields = json.loads((folder / "lagrangian.json").read_text())
    assert fields == json.loads(json.dumps(pendulum.to_dict()))
    loaded = discover.load(folder)
    assert type(loaded) is SparseLagrangian and loaded.coordinates_ == ["theta"]
    q, v = states()
    truth = -G * np.sin(q)  # θ̈ = −(g/l) sin θ, whatever the normalization of L
    np.testing.assert_allclose(loaded.acceleration(q, v), truth, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(loaded.acceleration(q, v), pendulum.acceleration(q, v), rtol=1e-12)
    # torch in → torch out, same dtype
    a = loaded.acceleration(torch.tensor(q), torch.tensor(v))
    assert isinstance(a, torch.Tensor) and a.dtype == torch.float64
    np.testing.assert_allclose(a.numpy(), truth, rtol=1e-5, atol=1e-6)
    # the file itself loads too, and extra fields (a pipeline's) keep the model's places
    assert type(load(folder / "lagrangian.json")) is SparseLagrangian
    save(pendulum, tmp_path / "cli", metrics={"x": 1}, command="cmd")
    keys = list(json.loads((tmp_path / "cli" / "lagrangian.json").read_text()))
    assert keys == list(pendulum.to_dict()) + ["command"]


def test_mlp_save_load_round_trip(mlp, tmp_path):
    folder = mlp.save(tmp_path / "m")
    assert sorted(p.name for p in folder.iterdir()) == ["config.json", "lagrangian.json", "weights.pt"]
    fields = json.loads((folder / "lagrangian.json").read_text())
    assert fields["model"] == "mlp" and fields["lagrangian"] is None and fields["coordinates"] == ["x"]
    loaded = discover.load(folder)
    assert type(loaded) is MLPLagrangian and loaded.lagrangian() is None
    q, v = states(seed=1)
    np.testing.assert_array_equal(loaded.acceleration(q, v), mlp.acceleration(q, v))
    assert loaded.get_params() == dict(mlp.get_params(), hidden=[16])


def test_a_folder_without_a_model_is_refused(tmp_path):
    with pytest.raises(FileNotFoundError, match="not a saved model"):
        load(tmp_path)
    (tmp_path / "lagrangian.json").write_text(json.dumps({"model": "mlp", "coordinates": ["x"]}))
    with pytest.raises(FileNotFoundError, match="config.json and weights.pt"):
        load(tmp_path)
