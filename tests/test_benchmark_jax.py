"""pipelines/benchmark_jax.py: the JAX LNN formula q̈ = M⁻¹(∇_q L − C q̇) with the same weights
agrees with ``discover.accelerations`` (a consistency check, never a timing).  Skipped where the
optional ``bench`` extra (jax) is not installed."""
import importlib.util
from pathlib import Path

import numpy as np
import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402
import torch  # noqa: E402

from discover import accelerations  # noqa: E402

SCRIPT = Path(__file__).resolve().parents[1] / "pipelines" / "benchmark_jax.py"


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("benchmark_jax_cli", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def states():
    g = torch.Generator().manual_seed(1)
    return torch.randn(20, 2, generator=g), torch.randn(20, 2, generator=g)


@pytest.mark.parametrize("form", ["paper", "fwd"])
def test_jax_lnn_formula_matches_engine(bench, states, form):
    net = bench.make_lnn(seed=0)
    with torch.no_grad():  # a non-trivial MLP part, so that q̈ is not ≈ 0
        net.net[-1].weight.mul_(10.0)
    Q, V = states
    expected = accelerations(net, Q, V).detach().numpy()
    got = np.asarray(bench.lnn_qddot_jax(form)(bench.lnn_params_to_jax(net),
                                               jnp.asarray(Q.numpy()), jnp.asarray(V.numpy())))
    assert got.dtype == np.float32 and expected.dtype == np.float32
    assert np.abs(expected).max() > 1e-2
    np.testing.assert_allclose(got, expected, atol=1e-4, rtol=0)


def test_jax_chain_matches_engine(bench):
    rng = np.random.default_rng(0)
    q, v = (rng.uniform(-0.5, 0.5, (20, 4)).astype(np.float32) for _ in range(2))
    expected = accelerations(bench.chain_lagrangian_torch(), torch.from_numpy(q), torch.from_numpy(v)).numpy()
    qdd = jax.jit(jax.vmap(bench.jax_qddot(bench.chain_lagrangian_jax)))
    np.testing.assert_allclose(np.asarray(qdd(jnp.asarray(q), jnp.asarray(v))), expected, atol=1e-4, rtol=0)


def test_jax_pendulum_chain_matches_engine(bench):
    rng = np.random.default_rng(1)
    q, v = (rng.uniform(-0.5, 0.5, (20, 5)).astype(np.float32) for _ in range(2))
    expected = accelerations(bench.pendulum_chain_lagrangian_torch(), torch.from_numpy(q), torch.from_numpy(v)).numpy()
    qdd = jax.jit(jax.vmap(bench.jax_qddot(bench.pendulum_chain_lagrangian_jax)))
    np.testing.assert_allclose(np.asarray(qdd(jnp.asarray(q), jnp.asarray(v))), expected, atol=2e-3, rtol=1e-4)
