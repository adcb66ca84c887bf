"""pipelines/simulate.py: the CSV it writes follows the contract and holds the true motion."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from discover.integrate import rollout
from discover.systems import get_system

torch.set_num_threads(1)
ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "pipelines" / "simulate.py"


@pytest.fixture(scope="module")
def simulate():
    spec = importlib.util.spec_from_file_location("simulate_cli", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _run(simulate, *args):
    return simulate.main([str(a) for a in args])


def test_csv_round_trips(simulate, tmp_path):
    out = tmp_path / "pend.csv"
    args = ["pendulum", "--param", "l=0.5", "--n-traj", 2, "--dt", 0.05, "--duration", 0.5,
            "--substeps", 2, "--seed", 7, "--velocities", "--out", out]
    assert _run(simulate, *args) == 0
    df = pd.read_csv(out)
    assert list(df.columns) == ["t", "traj", "theta", "theta_dot"]
    assert sorted(df["traj"].unique()) == [0, 1]
    for _, g in df.groupby("traj"):
        assert len(g) == 11
        assert np.all(np.diff(g["t"].to_numpy()) > 0)
        np.testing.assert_allclose(g["t"], np.arange(11) * 0.05, atol=1e-12)
    # the positions are those of a direct rollout from the same seeded initial states…
    s = get_system("pendulum", l=0.5)
    q0, v0 = s.sample_initial_states(2, np.random.default_rng(7))
    t = np.arange(11) * 0.05
    direct = rollout(s, q0, v0, t, method="rk4", substeps=2, compute_energy=False)
    theta = df.pivot(index="t", columns="traj", values="theta").to_numpy()
    np.testing.assert_allclose(theta, direct.q[:, :, 0].numpy(), atol=1e-11)
    # …and of the exact (elliptic) motion
    exact_q, exact_v = s.exact_solution(q0, v0, t)
    np.testing.assert_allclose(theta, exact_q[:, :, 0], atol=2e-5)
    theta_dot = df.pivot(index="t", columns="traj", values="theta_dot").to_numpy()
    np.testing.assert_allclose(theta_dot, exact_v[:, :, 0], atol=1e-4)
    assert not list(tmp_path.glob(".simulate-*"))  # no temporary file left behind
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # an ordinary file, not a private temp file


def test_noise_levels(simulate, tmp_path):
    common = ["harmonic_2d", "--n-traj", 6, "--dt", 0.05, "--duration", 2, "--substeps", 1,
              "--method", "euler", "--seed", 1]
    _run(simulate, *common, "--out", tmp_path / "clean.csv")
    _run(simulate, *common, "--noise", 0.01, "--out", tmp_path / "abs.csv")
    _run(simulate, *common, "--noise-rel", 0.05, "--out", tmp_path / "rel.csv")
    clean, noisy_abs, noisy_rel = (pd.read_csv(tmp_path / f) for f in ("clean.csv", "abs.csv", "rel.csv"))
    np.testing.assert_array_equal(clean["t"], noisy_abs["t"])
    for c in ("x", "y"):
        d_abs = (noisy_abs[c] - clean[c]).std()
        assert 0.008 < d_abs < 0.012
        d_rel = (noisy_rel[c] - clean[c]).std() / clean[c].std()
        assert 0.04 < d_rel < 0.06


def test_refuses_to_overwrite_without_force(simulate, tmp_path, capsys):
    out = tmp_path / "x.csv"
    out.write_text("keep me\n")
    args = ["harmonic_1d", "--n-traj", 1, "--dt", 0.1, "--duration", 0.2, "--substeps", 1, "--out", out]
    with pytest.raises(SystemExit) as info:
        _run(simulate, *args)
    assert info.value.code == 2
    assert "--force" in capsys.readouterr().err
    assert out.read_text() == "keep me\n"
    assert _run(simulate, *args, "--force") == 0
    assert list(pd.read_csv(out).columns) == ["t", "traj", "x"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["nosuch"], "unknown system"),
        (["pendulum", "--param", "length=2"], "unknown parameter"),
        (["pendulum", "--param", "l"], "KEY=VALUE"),
        (["pendulum", "--param", "l=abc"], "not a number"),
        (["pendulum", "--dt", "0"], "must be > 0"),
        (["pendulum", "--noise", "-1"], "must be >= 0"),
        (["pendulum", "--method", "leapfrog"], "--method"),
        (["pendulum", "--param", "l=-1"], "must be > 0"),
        (["pendulum", "--friction", "0.1", "--method", "variational"], "explicit method"),
    ],
)
def test_bad_arguments_give_one_line_and_exit_2(simulate, tmp_path, capsys, args, message):
    with pytest.raises(SystemExit) as info:
        _run(simulate, *args, "--out", tmp_path / "o.csv")
    assert info.value.code == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err and "Traceback" not in err
    assert not (tmp_path / "o.csv").exists()


def test_system_names_in_help_match_the_registry(simulate):
    from discover.systems import SYSTEMS

    assert set(simulate.SYSTEM_NAMES.split(", ")) == set(SYSTEMS)


def test_command_line_exit_status(tmp_path):
    proc = subprocess.run([sys.executable, str(SCRIPT), "kepler", "--dt", "-1", "--out", str(tmp_path / "k.csv")],
                          capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "Traceback" not in proc.stderr


SHIPPED = {  # data file -> (system, params, n_traj): see data/README.md
    "harmonic_1d.csv": ("harmonic_1d", {}, 3),
    "harmonic_3d.csv": ("harmonic_3d", {}, 4),
    "pendulum.csv": ("pendulum", {}, 4),
    "magnetic_2d.csv": ("magnetic_2d", {}, 4),
    "kepler.csv": ("kepler", {}, 4),
    "chain_4.csv": ("chain", {"n": 4}, 4),
}


@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_shipped_noise_free_data_is_exact(name):
    path = ROOT / "data" / name
    if not path.exists():
        pytest.skip(f"{path} not generated")
    system, params, n_traj = SHIPPED[name]
    s = get_system(system, **params)
    df = pd.read_csv(path)
    assert list(df.columns) == ["t", "traj", *s.coordinates]
    assert path.stat().st_size < 400_000
    q0, v0 = s.sample_initial_states(n_traj, np.random.default_rng(0))
    t = np.sort(df["t"].unique())
    q, _ = s.exact_solution(q0, v0, t)
    for i, c in enumerate(s.coordinates):
        got = df.pivot(index="t", columns="traj", values=c).to_numpy()
        np.testing.assert_allclose(got, q[:, :, i], atol=2e-9)


def test_friction_matches_the_damped_equation_of_motion(simulate, tmp_path):
    """--friction c adds −c θ̇: compare with SciPy on θ̈ = −(g/l) sin θ − c θ̇ (m = l = 1)."""
    from scipy.integrate import solve_ivp

    _run(simulate, "pendulum", "--n-traj", 2, "--dt", 0.01, "--duration", 3, "--substeps", 5,
         "--friction", 0.4, "--seed", 3, "--out", tmp_path / "damped.csv")
    df = pd.read_csv(tmp_path / "damped.csv")
    q0, v0 = get_system("pendulum").sample_initial_states(2, np.random.default_rng(3))
    for k in range(2):
        part = df[df["traj"] == k]
        sol = solve_ivp(lambda _, y: [y[1], -9.81 * np.sin(y[0]) - 0.4 * y[1]], (0, 3), [q0[k, 0], v0[k, 0]],
                        t_eval=part["t"].to_numpy(), rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(part["theta"].to_numpy(), sol.y[0], atol=1e-8)


def test_drive_writes_the_force_and_the_driven_motion(simulate, tmp_path):
    """--drive: the theta_force column is τ(t), and the motion obeys θ̈ = −g sin θ − c θ̇ + τ(t)
    (m = l = 1), checked with the exact velocities and central differences of them."""
    out = tmp_path / "driven.csv"
    assert _run(simulate, "pendulum", "--n-traj", 2, "--dt", 0.005, "--duration", 2, "--substeps", 4,
                "--friction", 0.2, "--drive", "theta=0.7*sin(3*t)", "--velocities", "--out", out) == 0
    df = pd.read_csv(out)
    assert list(df.columns) == ["t", "traj", "theta", "theta_dot", "theta_force"]
    assert np.allclose(df["theta_force"], 0.7 * np.sin(3 * df["t"]), atol=1e-11)
    for _, g in df.groupby("traj"):
        t, th, v = g["t"].to_numpy(), g["theta"].to_numpy(), g["theta_dot"].to_numpy()
        a = (v[2:] - v[:-2]) / (t[2:] - t[:-2])
        expected = -9.81 * np.sin(th[1:-1]) - 0.2 * v[1:-1] + 0.7 * np.sin(3 * t[1:-1])
        assert np.max(np.abs(a - expected)) < 1e-3 * np.max(np.abs(expected))


def test_drive_of_an_unknown_coordinate_is_one_line_error(simulate, tmp_path, capsys):
    with pytest.raises(SystemExit) as e:
        _run(simulate, "pendulum", "--drive", "x=sin(t)", "--out", tmp_path / "x.csv")
    assert e.value.code == 2 and "--drive x" in capsys.readouterr().err
