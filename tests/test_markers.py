"""Marker positions → segment angles: geometry, unwrapping, bad input."""
import os
import subprocess
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(ROOT, "pipelines", "markers_to_angles.py")


def run(*args):
    return subprocess.run([sys.executable, SCRIPT, *args], capture_output=True, text=True, cwd=ROOT)


def write_markers(path, th1, th2, l1=3.0, l2=2.0, pivot=(5.0, -1.0)):
    # gravity along +x: a segment at angle θ points along (cos θ, sin θ) in image (x, y)
    p = np.tile(pivot, (len(th1), 1))
    e = p + l1 * np.column_stack([np.cos(th1), np.sin(th1)])
    tip = e + l2 * np.column_stack([np.cos(th2), np.sin(th2)])
    np.savetxt(path, np.hstack([p, e, tip]), delimiter=",", fmt="%.12f")


def test_angles_are_recovered_and_unwrapped(tmp_path):
    t = np.arange(400) / 100.0
    th1 = 0.7 * np.sin(2 * t)
    th2 = 3.0 * t  # spins through several full turns: must keep counting
    write_markers(tmp_path / "run.csv", th1, th2)
    r = run(str(tmp_path / "run.csv"), "--fps", "100", "--no-header", "--out", str(tmp_path / "a.csv"))
    assert r.returncode == 0, r.stderr
    d = np.genfromtxt(tmp_path / "a.csv", delimiter=",", names=True)
    np.testing.assert_allclose(d["t"], t, atol=1e-9)
    np.testing.assert_allclose(d["theta1"], th1, atol=1e-8)
    np.testing.assert_allclose(d["theta2"], th2, atol=1e-8)
    assert "segment 1: 3.0" in r.stdout and "segment 2: 2.0" in r.stdout


def test_gravity_axis_rotates_the_angles(tmp_path):
    t = np.arange(50) / 50.0
    write_markers(tmp_path / "run.csv", 0.3 + 0 * t, -0.2 + 0 * t)
    r = run(str(tmp_path / "run.csv"), "--fps", "50", "--no-header", "--gravity", "+y", "--out", str(tmp_path / "a.csv"))
    assert r.returncode == 0, r.stderr
    d = np.genfromtxt(tmp_path / "a.csv", delimiter=",", names=True)
    # measured from +y instead of +x: θ − π/2
    np.testing.assert_allclose(d["theta1"], 0.3 - np.pi / 2, atol=1e-9)
    np.testing.assert_allclose(d["theta2"], -0.2 - np.pi / 2, atol=1e-9)


def test_bad_input_is_one_line_exit_2_and_no_output(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("1,2,3,4,5,6\n1,2,3,x,5,6\n")
    out = tmp_path / "a.csv"
    r = run(str(bad), "--fps", "10", "--no-header", "--out", str(out))
    assert r.returncode == 2
    assert r.stderr.strip().count("\n") == 0 and "row 2, column 4" in r.stderr and "Traceback" not in r.stderr
    assert not out.exists()
