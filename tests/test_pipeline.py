"""End to end: pipelines/discover.py on small CSVs in a temporary directory."""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

import discover
from physics import trajectories

ROOT = Path(__file__).resolve().parents[1]
PENDULUM = "0.5*theta_dot**2 + 9.81*cos(theta)"


def run(*args):
    return subprocess.run([sys.executable, str(ROOT / "pipelines" / "discover.py"), *map(str, args)],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)


@pytest.fixture(scope="module")
def pendulum_csv(tmp_path_factory):
    t = np.arange(0, 3, 0.01)
    q0 = np.array([[1.0], [2.0], [-2.5]])
    q = trajectories(PENDULUM, ["theta"], q0, np.zeros_like(q0), t)
    df = pd.DataFrame({"t": np.tile(t, 3), "traj": np.repeat([0, 1, 2], len(t)), "theta": q.reshape(-1)})
    path = tmp_path_factory.mktemp("csv") / "pendulum.csv"
    df.to_csv(path, index=False)
    return path


def test_discovers_pendulum_and_writes_the_contract(pendulum_csv, tmp_path):
    out = tmp_path / "run"
    r = run(pendulum_csv, "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr
    d = json.loads((out / "lagrangian.json").read_text())
    assert d["model"] == "sparse" and d["coordinates"] == ["theta"]
    assert {t["term"] for t in d["terms"]} == {"theta_dot**2", "cos(theta)"}
    assert "theta_dot" in d["normalization"]
    report = (out / "report.md").read_text()
    assert "Command: `python pipelines/discover.py" in report and "Equations of motion" in report
    for fig in ("rollout.png", "parity.png", "coefficients.png"):
        assert (out / fig).stat().st_size > 1000
    model = discover.load(out)
    q, v = np.random.default_rng(0).uniform(-2, 2, size=(2, 30, 1))
    truth = -9.81 * np.sin(q)  # θ̈ = −(g/l) sin θ
    np.testing.assert_allclose(model.acceleration(q, v), truth, rtol=1e-5, atol=1e-6)
    # the stored string is SymPy-parsable and gives the same motion
    np.testing.assert_allclose(discover.accelerations(d["lagrangian"], torch.as_tensor(q), torch.as_tensor(v)).numpy(),
                               truth, rtol=1e-5, atol=1e-6)
    # nothing is overwritten without --force
    r2 = run(pendulum_csv, "--out", out, "--quiet")
    assert r2.returncode == 2 and "--force" in r2.stderr and "Traceback" not in r2.stderr


@pytest.mark.parametrize("body, column", [
    ("t,theta\n0,1\n0.01,nan\n0.02,1.1\n", "theta"),
    ("time,theta\n0,1\n0.01,1.2\n", "t"),
    ("t,theta\n0,1\n0.01,abc\n0.02,1\n", "theta"),
])
def test_bad_input_is_one_line_exit_2_and_no_output(tmp_path, body, column):
    f = tmp_path / "bad.csv"
    f.write_text(body)
    out = tmp_path / "out"
    r = run(f, "--out", out)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "bad.csv" in lines[0] and column in lines[0]
    assert "Traceback" not in r.stderr
    assert not out.exists() and not any(p.name.startswith(".out") for p in tmp_path.iterdir())


def test_a_failure_while_writing_leaves_no_folder_and_keeps_the_old_one(tmp_path):
    # the CLI writes through atomic_results_dir; a failure inside it (the report, a figure) must
    # leave neither a half-written results folder nor the temporary one, and an earlier result
    # (--force) must survive; success replaces it whole
    from discover.reports import atomic_results_dir

    out = tmp_path / "run"
    with pytest.raises(RuntimeError):
        with atomic_results_dir(out) as tmp:
            (tmp / "lagrangian.json").write_text("{}")
            assert tmp.parent == tmp_path and tmp.exists()
            raise RuntimeError("report failed")
    assert list(tmp_path.iterdir()) == []
    out.mkdir()
    (out / "old.txt").write_text("earlier")
    with pytest.raises(RuntimeError):
        with atomic_results_dir(out) as tmp:
            (tmp / "new.txt").write_text("partial")
            raise RuntimeError("figure failed")
    assert [p.name for p in tmp_path.iterdir()] == ["run"] and [p.name for p in out.iterdir()] == ["old.txt"]
    with atomic_results_dir(out) as tmp:
        (tmp / "new.txt").write_text("complete")
    assert [p.name for p in tmp_path.iterdir()] == ["run"] and [p.name for p in out.iterdir()] == ["new.txt"]


def test_mlp_fallback_writes_a_loadable_model(pendulum_csv, tmp_path):
    out = tmp_path / "mlp"
    # the MLP path on request (the automatic fallback's decisions are tested in test_selection.py)
    r = run(pendulum_csv, "--out", out, "--quiet", "--model", "mlp", "--mlp-epochs", "3")
    assert r.returncode == 0, r.stderr
    d = json.loads((out / "lagrangian.json").read_text())
    assert d["model"] == "mlp" and d["lagrangian"] is None
    assert "MLP" in (out / "report.md").read_text()
    model = discover.load(out)
    q, v = np.zeros((5, 1)) + 0.3, np.zeros((5, 1))
    assert np.all(np.isfinite(model.acceleration(q, v)))


def test_conserved_quantities_of_a_charge_in_a_magnetic_field(tmp_path):
    """A free charge in a uniform field B ẑ (data/magnetic_2d.csv, q·B = 2): besides the energy,
    the translations (with their gauge terms) and the rotation are symmetries — 3 charges; each
    listed expression, evaluated by the user with SymPy, is constant along a clean trajectory."""
    import sympy

    out = tmp_path / "mag"
    r = run(ROOT / "data" / "magnetic_2d.csv", "--out", out, "--quiet")
    assert r.returncode == 0, r.stderr
    d = json.loads((out / "lagrangian.json").read_text())
    names = [c["name"] for c in d["conserved"]]
    assert names[0] == "energy" and len(names) == 4
    assert any("rotation" in c["symmetry"] for c in d["conserved"])
    data = discover.read_csv(ROOT / "data" / "magnetic_2d.csv").with_derivatives("fd")
    tr = data.trajectories[0]
    syms = sympy.symbols("x y x_dot y_dot")
    for c in d["conserved"]:
        f = sympy.lambdify(syms, sympy.sympify(c["expression"]), "numpy")
        v = np.broadcast_to(f(tr.q[5:-5, 0], tr.q[5:-5, 1], tr.qdot[5:-5, 0], tr.qdot[5:-5, 1]), (len(tr.t) - 10,))
        assert np.ptp(v) < 1e-4 * max(np.abs(v).max(), 1.0), c
    assert "## Symmetries and conserved quantities" in (out / "report.md").read_text()
