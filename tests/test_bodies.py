"""Bodies the user names (``--bodies "ax,ay;bx,by"``, ``SparseLagrangian(bodies=...)``): the
pairwise-distance terms for coordinates whose names do not say which body they belong to.

Physics: two bodies joined by a spring in the plane (``spring_pair``, L = ½m₁|ṙ₁|² + ½m₂|ṙ₂|²
− ½k(|r₁ − r₂| − ℓ)²), simulated by SciPy from its SymPy equations of motion, with the columns
x1, y1, x2, y2 renamed ax, ay, bx, by.  Bad groups at the command line are in test_cli_errors.py.
"""
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import sympy

from discover.bodies import check_bodies, find_bodies, parse_bodies
from discover.data import TrajectorySet
from discover.library import Particles, default_tiers
from discover.model import SparseLagrangian
from discover.systems import get_system

from physics import trajectories

ROOT = Path(__file__).resolve().parents[1]
ORIGINAL, RENAMED = ["x1", "y1", "x2", "y2"], ["ax", "ay", "bx", "by"]
RENAME = dict(zip(ORIGINAL + [c + "_dot" for c in ORIGINAL], RENAMED + [c + "_dot" for c in RENAMED]))
BODIES = "ax,ay;bx,by"


def test_parse_and_check():
    assert parse_bodies(" sun_x, sun_y ; earth_x,earth_y;") == [("sun_x", "sun_y"), ("earth_x", "earth_y")]
    assert find_bodies(RENAMED) == []  # nothing in these names says which body a column is
    assert find_bodies(RENAMED, BODIES) == [("ax", "ay"), ("bx", "by")]
    assert find_bodies(RENAMED + ["theta"], [["ay", "ax"], ["by", "bx"]]) == [("ay", "ax"), ("by", "bx")]


@pytest.mark.parametrize("bodies, needle", [
    ("ax,ay;bx,bz", "'bz'"),            # not a coordinate
    ("ax,ay;ay,bx", "'ay'"),            # in two bodies
    ("ax,ay;bx,by,cz", "'bx,by,cz'"),   # different numbers of axes
    ("ax;bx", "'ax'"),                  # a body of one coordinate
    ("ax,ay,bx,by;cz,dz", "'ax,ay,bx,by'"),  # four
    ("ax,ay", "two"),                   # one body: no pairs
    ("ax,,ay;bx,by", "empty"),
])
def test_bad_bodies_are_named(bodies, needle):
    with pytest.raises(ValueError, match=needle.replace("(", r"\(")):
        check_bodies(bodies, RENAMED + ["cz", "dz"])


def test_given_bodies_replace_the_detection_by_name():
    assert "particles" not in dict(default_tiers(RENAMED))
    tiers = default_tiers(RENAMED, bodies=BODIES)
    assert [k for k, _ in tiers] == ["particles", "quadratic", "polynomial", "central"]  # as for x1, y1, x2, y2
    renamed = {str(t) for t in dict(tiers)["particles"].terms(RENAMED)}
    original = {str(t.xreplace({sympy.Symbol(a): sympy.Symbol(b) for a, b in RENAME.items()}))
                for t in Particles().terms(ORIGINAL)}
    assert renamed == original and len(renamed) == 33
    # given bodies also replace names that would have been detected
    assert find_bodies(ORIGINAL, "x1,x2;y1,y2") == [("x1", "x2"), ("y1", "y2")]


def spring_pair_data(coordinates, *, n_traj=4, duration=4.0, dt=0.01, seed=1):
    system = get_system("spring_pair")
    q0, v0 = system.sample_initial_states(n_traj, np.random.default_rng(seed))
    t = np.arange(0, duration, dt)
    q = trajectories(system.lagrangian(), ORIGINAL, q0, v0, t)  # (B, T, 4), in the registry's names
    B, T, n = q.shape
    return system, t, q, TrajectorySet.from_arrays(np.tile(t, B), q.reshape(-1, n), coordinates=list(coordinates),
                                                   traj=np.repeat(np.arange(B), T))


def expected_terms(system, names):
    """{term: coefficient} of the true L, normalized like the fit (mean ∂²L/∂ȧx² = m₁ → 1)."""
    p = system.params
    x1, y1, x2, y2 = names
    d2 = f"({x1} - {x2})**2 + ({y1} - {y2})**2"
    m1 = p["m1"]
    return {f"{x1}_dot**2": 0.5, f"{y1}_dot**2": 0.5, f"{x2}_dot**2": p["m2"] / (2 * m1),
            f"{y2}_dot**2": p["m2"] / (2 * m1), d2: -p["k"] / (2 * m1), f"sqrt({d2})": p["k"] * p["l"] / m1}


def assert_exact(model, expected):
    assert len(model.terms_) == len(expected), model.lagrangian()
    for text, c in expected.items():
        match = [k for k, t in enumerate(model.terms_) if sympy.expand(t - sympy.sympify(text)) == 0]
        assert match, (text, model.lagrangian())
        assert model.coef_[match[0]] == pytest.approx(c, rel=1e-6), text


@pytest.mark.slow
def test_spring_pair_with_renamed_columns_found_exactly_with_bodies():
    system, _, _, renamed = spring_pair_data(RENAMED)
    m = SparseLagrangian(bodies=BODIES).fit(renamed)
    assert m.library_name_ == "particles" and m.normalization_coordinates_ == ["ax"]
    assert m.bodies_ == [("ax", "ay"), ("bx", "by")]
    assert_exact(m, expected_terms(system, RENAMED))
    assert m.to_dict()["bodies"] == [["ax", "ay"], ["bx", "by"]]
    # the same fit as with the registry's own names, up to the renaming
    _, _, _, original = spring_pair_data(ORIGINAL)
    o = SparseLagrangian().fit(original)
    assert o.library_name_ == "particles" and o.bodies_ == [("x1", "y1"), ("x2", "y2")]
    ren = {sympy.Symbol(a): sympy.Symbol(b) for a, b in RENAME.items()}
    got = {str(t): c for t, c in zip(m.terms_, m.coef_)}
    want = {str(t.xreplace(ren)): c for t, c in zip(o.terms_, o.coef_)}
    assert got.keys() == want.keys()
    np.testing.assert_allclose([got[k] for k in want], list(want.values()), rtol=1e-9)


@pytest.mark.slow
def test_cli_bodies_end_to_end(tmp_path):
    system, t, q, _ = spring_pair_data(RENAMED, n_traj=4)
    B, T, n = q.shape
    df = pd.DataFrame(q.reshape(-1, n), columns=RENAMED)
    df.insert(0, "traj", np.repeat(np.arange(B), T))
    df.insert(0, "t", np.tile(t, B))
    csv = tmp_path / "springs.csv"
    df.to_csv(csv, index=False, float_format="%.12g")
    out = tmp_path / "run"
    r = subprocess.run([sys.executable, str(ROOT / "pipelines" / "discover.py"), str(csv), "--out", str(out),
                        "--quiet", "--bodies", "ax, ay; bx, by"], capture_output=True, text=True, cwd=ROOT,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    d = json.loads((out / "lagrangian.json").read_text())
    assert d["bodies"] == [["ax", "ay"], ["bx", "by"]] and d["metrics"]["library"] == "particles"
    terms = {t["term"]: t["coefficient"] for t in d["terms"]}
    for text, c in expected_terms(system, RENAMED).items():
        match = [k for k in terms if sympy.expand(sympy.sympify(k) - sympy.sympify(text)) == 0]
        assert match and terms[match[0]] == pytest.approx(c, rel=1e-6), (text, d["lagrangian"])
    assert len(terms) == 6
    assert "bodies (pairwise-distance terms): (ax, ay); (bx, by) — given by --bodies" in (out / "report.md").read_text()
