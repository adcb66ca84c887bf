"""Noise sweep: tiny grid on the harmonic oscillator, and the gauge-aware truth comparison."""
import csv
import os

import numpy as np
import sympy

from discover.reports.noise import compare_to_truth, tolerance

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
