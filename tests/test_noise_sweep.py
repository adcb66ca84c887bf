"""Noise sweep: tiny grid on the harmonic oscillator, and the gauge-aware truth comparison."""
import csv
import os

import numpy as np
import sympy

from discover.evaluation import compare_to_truth
from discover.reports.noise_report import tolerance

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_compare_to_truth_modulo_gauge():
    """(B/2)(x ẏ − y ẋ) and B x ẏ differ by the null Lagrangian (B/2) d(xy)/dt."""
    x, y, xd, yd = sympy.symbols("x y x_dot y_dot")
    truth = (xd**2 + yd**2) / 2 + (x * yd - y * xd)
    q = np.random.default_rng(0).uniform(-1, 1, (50, 2))
    r = compare_to_truth([xd**2, yd**2, x * yd], [0.5, 0.5, 2.0], truth, ["x", "y"], q, q)
    assert r["success"] and r["precision"] == 1 and r["recall"] == 1 and r["coef_rel_error"] < 1e-9
    r = compare_to_truth([xd**2, yd**2, x * yd, x**2], [0.5, 0.5, 2.2, 0.1], truth, ["x", "y"], q, q)
    assert not r["success"] and r["precision"] == 0.75 and r["recall"] == 1
    assert abs(r["coef_rel_error"] - 0.1) < 1e-9  # largest of (0, 0, 0.1): x ẏ is 2.2, not 2
    assert tolerance([{"noise": 0, "success": 1}, {"noise": 0.1, "success": 0.5}]) == "0 (drops at 0.1)"


def _pipeline():
    import importlib.util

    spec = importlib.util.spec_from_file_location("noise_sweep_cli", os.path.join(ROOT, "pipelines", "noise_sweep.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_tiny_sweep_harmonic(tmp_path):
    import pytest

    cli = _pipeline()
    out = tmp_path / "noise"
    argv = ["harmonic_1d", "--levels", "0", "1e-3", "--seeds", "1", "--methods", "strong-savgol",
            "--n-traj", "3", "--duration", "6", "--horizon", "1", "--out", str(out), "--no-progress"]
    assert cli.main(argv) == 0
    d = out / "harmonic_1d"
    rows = list(csv.DictReader(open(d / "sweep.csv")))
    assert len(rows) == 2
    zero = [r for r in rows if float(r["noise"]) == 0][0]
    assert zero["success"] == "True" and float(zero["coef_rel_error"]) < 1e-6   # L = ½ẋ² − ½x² exactly
    report = (d / "report.md").read_text()
    assert "noise_sweep.py harmonic_1d" in report and "| harmonic_1d | strong-savgol |" in report
    assert (d / "success_vs_noise.png").exists()
    assert "| harmonic_1d | strong-savgol | 1 | 1.00 |" in (out / "summary.md").read_text()
    # refuses to overwrite without --force/--resume; --resume reuses the cached cells
    with pytest.raises(SystemExit):
        cli.main(argv)
    assert cli.main(argv + ["--resume"]) == 0
    assert len(list(csv.DictReader(open(d / "sweep.csv")))) == 2


def test_csv_mode_lists_fits_without_truth(tmp_path):
    cli = _pipeline()
    src = os.path.join(ROOT, "data", "harmonic_1d.csv")
    assert cli.main(["--csv", src, "--levels", "0.01", "--seeds", "1", "--methods", "strong-savgol",
                     "--out", str(tmp_path), "--no-progress"]) == 0
    report = (tmp_path / "harmonic_1d" / "report.md").read_text()
    assert "no ground truth" in report and "x_dot**2" in report


def test_damped_pendulum_cell_recovers_friction():
    """Pendulum with θ̈ = −g sin θ − 0.3 θ̇ (m = l = 1, so the normalized L is ½θ̇² + g cos θ and
    the friction coefficient is 0.3 itself): one noise-free cell finds L and c, and the held-out
    truth loses energy as friction demands: E(0) − E(t) = 0.3 ∫ θ̇² dt."""
    from scipy.integrate import simpson

    from discover.studies import noise as N

    cfg = N.SweepConfig(n_traj=2, duration=4.0, horizon=2.0)
    d = N.prepare_system("damped_pendulum", cfg, 0)
    row = N.run_cell(N.Cell("damped_pendulum", "auto", 0.0, 0), cfg, d)
    assert row["status"] == "ok" and row["success"] is True
    assert row["coef_rel_error"] < 1e-3 and row["damping_rel_error"] < 1e-3
    assert row["qddot_error"] < 1e-3 and row["valid_time"] == cfg.horizon
    th, v, t = d["qt"][..., 0], d["vt"][..., 0], d["tt"]
    E = 0.5 * v**2 - 9.81 * np.cos(th)  # energy of the true L
    assert np.all(np.diff(E, axis=0) < 0)
    lost = 0.3 * simpson(v**2, x=t, axis=0)
    assert np.allclose(E[0] - E[-1], lost, rtol=1e-3) and np.all(lost > 0.1 * np.abs(E[0]))
    # and the training data is the damped motion too (its energy falls over the 4 s)
    Etr = 0.5 * d["qd"][..., 0] ** 2 - 9.81 * np.cos(d["q"][..., 0])
    assert np.all(Etr[-1] < Etr[0] - 1.0)


def test_old_sweep_csv_without_friction_column_resumes(tmp_path):
    """A sweep.csv written before damping_rel_error existed loads (the column reads as NaN) and
    gets the new header when a sweep appends to it."""
    from discover.studies import noise as N

    path = tmp_path / "sweep.csv"
    old = [f for f in N.CSV_FIELDS if f != "damping_rel_error"]
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=old)
        w.writeheader()
        w.writerow({"system": "harmonic_1d", "method": "strong-savgol", "noise": 0.0, "seed": 0,
                    "status": "ok", "success": True, "coef_rel_error": 1e-9})
    from discover.reports.noise_report import summarize

    lst = summarize(N.read_rows(path))[("harmonic_1d", "strong-savgol")]
    assert lst[0]["success"] == 1 and np.isnan(lst[0]["damping_rel_error"])
    cfg = N.SweepConfig(n_traj=2, duration=3.0, horizon=0.5)
    rows = N.run_sweep([N.Cell("harmonic_1d", "strong-savgol", lv, 0) for lv in (0.0, 1e-3)], cfg, str(path),
                       progress=False)
    assert len(rows) == 2 and list(rows[0]) == N.CSV_FIELDS


def test_cli_cell_scores_what_the_cli_returns():
    """The "cli" method runs the default path's policy (discover.Discover): on the damped
    pendulum it returns the library model, with friction found by default (no flag), and the
    cell records which kind of model came back."""
    from discover.studies import noise as N

    cfg = N.SweepConfig(n_traj=2, duration=4.0, horizon=2.0)
    d = N.prepare_system("damped_pendulum", cfg, 0)
    row = N.run_cell(N.Cell("damped_pendulum", "cli", 0.0, 0), cfg, d)
    assert row["status"] == "ok" and row["returned"] == "library"
    assert row["success"] is True and row["damping_rel_error"] < 1e-3 and row["qddot_error"] < 1e-3
