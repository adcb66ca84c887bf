"""Huge and tiny magnitudes: fitted in rescaled units and reported in the user's, or refused
with the one-line error contract (file, column, reason; exit 2; no output)."""
import sys
from pathlib import Path

import numpy as np
import pytest

from discover import DataError, SparseLagrangian, read_csv

SCRIPT = Path(__file__).resolve().parents[1] / "pipelines" / "discover.py"
W = (2.0, 3.0)  # angular frequencies of two independent oscillators


def _write(path, sx=1.0, sy=1.0, st=1.0):
    """Two independent harmonic oscillators x'' = -4x, y'' = -9y (in the units before scaling),
    four trajectories of different amplitudes, then x, y, t multiplied by sx, sy, st."""
    t = np.arange(0, 6, 0.01)
    lines = ["traj,t,x,y"]
    for k in range(4):
        x = sx * (0.5 + 0.4 * k) * np.cos(W[0] * t + k)
        y = sy * (1.5 - 0.3 * k) * np.sin(W[1] * t + 2 * k)
        lines += [f"{k},{a!r},{b!r},{c!r}" for a, b, c in zip((t * st).tolist(), x.tolist(), y.tolist())]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.mark.parametrize("sx,sy,st", [(1e-8, 1e8, 1.0), (1e30, 1.0, 1.0), (1e-30, 1e-30, 1.0),
                                      (1.0, 1.0, 1e9), (1.0, 1.0, 1e-9)])
def test_extreme_units_give_the_physics_in_the_users_units(tmp_path, sx, sy, st):
    """x'' = -ω² x does not depend on the unit of x; in a time unit st times smaller, ω → ω/st.
    With each block normalized to ∂²L/∂q̇² = 1, L = ½ẋ² − ½ω_x² x² + ½ẏ² − ½ω_y² y²."""
    model = SparseLagrangian().fit(read_csv(_write(tmp_path / "d.csv", sx, sy, st)))
    terms = {str(e): c for e, c in zip(model.terms_, model.coef_)}
    assert set(terms) == {"x**2", "x_dot**2", "y**2", "y_dot**2"}
    for c, w in zip("xy", W):
        assert terms[f"{c}_dot**2"] == pytest.approx(0.5, rel=1e-6)
        assert terms[f"{c}**2"] == pytest.approx(-0.5 * (w / st) ** 2, rel=1e-6)
    assert np.all(np.isfinite(model.coef_))


@pytest.mark.parametrize("sx,st,column", [(1e200, 1.0, "x"), (1e-200, 1.0, "x"), (1.0, 1e200, "t")])
def test_unrepresentable_magnitudes_are_refused_with_one_line(tmp_path, sx, st, column):
    path = _write(tmp_path / "d.csv", sx, 1.0, st)
    with pytest.raises(DataError) as info:
        read_csv(path)
    message = str(info.value)
    assert "\n" not in message and str(path) in message and f"column '{column}'" in message


def test_cli_refuses_huge_values_exit_2_no_traceback(tmp_path):
    import subprocess

    path = _write(tmp_path / "d.csv", 1e200)
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, str(SCRIPT), str(path), "--out", str(out), "--quiet"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert "column 'x'" in r.stderr and not out.exists()
