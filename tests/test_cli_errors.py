"""Every bad input and bad option that the README lists, at the command line
(pipelines/discover.py): exit status 2, one line on stderr naming what is wrong, no traceback,
and no results folder (nor a temporary one) left behind.

The cases fail fast, but a fresh process spends ~3 s of CPU importing torch: every case runs
through the script's ``main(argv)`` in this process (SystemExit, stderr captured), and the four
the issue names (too few samples, unknown --coordinates, bad --library, bad --terms) and every
bad --bodies also as real subprocesses, concurrently."""
import importlib.util
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "pipelines" / "discover.py"

T = np.arange(0, 1, 0.01)
GOOD = [f"{t:.2f},{np.sin(t):.6f},{np.cos(3 * t):.6f}" for t in T]  # t,x,y: 100 rows


def csv(header, rows):
    return header + "\n" + "".join(r + "\n" for r in rows)


BODIES_CSV = csv("t,ax,ay,bx,by,cz", [f"{t:.2f},{np.sin(t):.6f},{np.cos(t):.6f},{np.sin(2 * t):.6f},"
                                      f"{np.cos(3 * t):.6f},{t * t:.6f}" for t in T])


# id: (file content or None for no file, extra arguments, substrings the error line must contain)
CASES = {
    "missing-time-column": (csv("time,x,y", GOOD), [], ["bad.csv", "column 't'"]),
    "unknown-column": (csv("t,x,z_dot", GOOD), [], ["bad.csv", "column 'z_dot'"]),
    "text-in-a-number": (csv("t,x,y", GOOD[:5] + ["0.05,abc,1.0"] + GOOD[6:]), [],
                         ["bad.csv", "column 'x'", "row 6", "'abc'"]),
    "nan": (csv("t,x,y", GOOD[:5] + ["0.05,1.0,nan"] + GOOD[6:]), [], ["bad.csv", "column 'y'", "row 6"]),
    "ragged-row": (csv("t,x,y", GOOD[:5] + ["0.05,1.0"] + GOOD[6:]), [], ["bad.csv", "line 7"]),
    "time-not-monotonic": (csv("t,x,y", GOOD[:5] + [GOOD[6], GOOD[5]] + GOOD[7:]), [],
                           ["bad.csv", "column 't'", "row 7"]),
    "trajectory-too-short": (csv("t,traj,x,y", [f"{t:.2f},0,{t:.3f},{t * t:.3f}" for t in T]
                                 + [f"{t:.2f},1,{t:.3f},{t * t:.3f}" for t in T[:3]]), [],
                             ["bad.csv", "column 'traj'", "row 101", "trajectory 1", "3 samples"]),
    "constant-coordinate": (csv("t,x,y", [r.rsplit(",", 1)[0] + ",2.0" for r in GOOD]), [],
                            ["bad.csv", "column 'y'", "constant"]),
    "fewer-samples-than-terms": (csv("t,x,y", GOOD[:8]), ["--library", "trig+polynomial"],
                                 ["bad.csv", "samples", "terms"]),
    "empty-file": ("", [], ["bad.csv", "empty"]),
    "header-only": ("t,x,y\n", [], ["bad.csv", "no data rows"]),
    "wrong-delimiter": (csv("t;x;y", [r.replace(",", ";") for r in GOOD]), [], ["bad.csv", "delimiter"]),
    "no-header": (csv(GOOD[0], GOOD[1:]), [], ["bad.csv", "header"]),
    "no-such-file": (None, [], ["bad.csv", "not found"]),
    "unknown-coordinates": (csv("t,x,y", GOOD), ["--coordinates", "x,z"], ["bad.csv", "column 'z'"]),
    "bad-library": (csv("t,x,y", GOOD), ["--library", "cubic"], ["--library", "'cubic'"]),
    "library-none-without-terms": (csv("t,x,y", GOOD), ["--library", "none"], ["--library none", "--terms"]),
    "terms-unknown-symbol": (csv("t,x,y", GOOD), ["--terms", "x_dot**2; z_dot**2"], ["--terms", "z_dot"]),
    "terms-unparsable": (csv("t,x,y", GOOD), ["--terms", "cos((x"], ["--terms", "cos((x"]),
    "bad-method": (csv("t,x,y", GOOD), ["--method", "exact"], ["--method", "'exact'"]),
    "out-exists-without-force": (csv("t,x,y", GOOD), ["EXISTS"], ["--force"]),
    # --bodies: each group checked against the coordinates (t,ax,ay,bx,by,cz)
    "bodies-unknown-name": (BODIES_CSV, ["--bodies", "ax,ay;bx,bz"], ["--bodies", "'bz'"]),
    "bodies-coordinate-twice": (BODIES_CSV, ["--bodies", "ax,ay;ay,bx"], ["--bodies", "'ay'", "two bodies"]),
    "bodies-different-axes": (BODIES_CSV, ["--bodies", "ax,ay;bx,by,cz"], ["--bodies", "'bx,by,cz'"]),
    "bodies-one-coordinate": (BODIES_CSV, ["--bodies", "ax;bx"], ["--bodies", "'ax'", "1 coordinate"]),
    "bodies-four-coordinates": (BODIES_CSV, ["--bodies", "ax,ay,bx,by;cz,ax"], ["--bodies", "'ax,ay,bx,by'"]),
    "bodies-only-one": (BODIES_CSV, ["--bodies", "ax,ay"], ["--bodies", "1 body"]),
}

XFAIL: dict[str, str] = {}  # cases expected to fail, with the reason (none at present)


SUBPROCESS = ["fewer-samples-than-terms", "unknown-coordinates", "bad-library", "terms-unknown-symbol",
              "bodies-unknown-name", "bodies-coordinate-twice", "bodies-different-axes", "bodies-one-coordinate",
              "bodies-four-coordinates", "bodies-only-one"]


def _setup(case_dir: Path, body, extra):
    out = case_dir / "out"
    if body is not None:
        (case_dir / "bad.csv").write_text(body)
    if extra == ["EXISTS"]:
        out.mkdir()
        (out / "keep.txt").write_text("earlier results")
        extra = []
    return [str(case_dir / "bad.csv"), "--out", str(out), "--quiet", *extra]


def _subprocess(case_dir: Path, body, extra):
    argv = _setup(case_dir, body, extra)
    r = subprocess.run([sys.executable, str(SCRIPT), *argv], capture_output=True, text=True, cwd=case_dir, timeout=300)
    return r.returncode, r.stdout, r.stderr


@pytest.fixture(scope="module")
def script():
    spec = importlib.util.spec_from_file_location("discover_cli", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _in_process(script, case_dir, body, extra, capsys, monkeypatch):
    argv = _setup(case_dir, body, extra)
    monkeypatch.chdir(case_dir)
    capsys.readouterr()
    try:
        code = script.main(argv)
    except SystemExit as exc:
        code = exc.code
    cap = capsys.readouterr()
    return code, cap.out, cap.err


@pytest.fixture(scope="module")
def subprocess_results(tmp_path_factory):
    base = tmp_path_factory.mktemp("cli_errors")
    dirs = {name: base / name for name in SUBPROCESS}
    for d in dirs.values():
        d.mkdir()
    with ThreadPoolExecutor(max_workers=len(SUBPROCESS)) as pool:
        futures = {name: pool.submit(_subprocess, dirs[name], *CASES[name][:2]) for name in SUBPROCESS}
        return {name: (f.result(), dirs[name]) for name, f in futures.items()}


def check(name, code, stdout, stderr, case_dir):
    assert code == 2, (code, stderr[-2000:])
    assert "Traceback" not in stderr
    lines = stderr.strip().splitlines()
    if name == "bad-method":  # argparse: its usage, then the one error line
        lines = [ln for ln in lines if "error:" in ln]
    assert len(lines) == 1, stderr
    for needle in CASES[name][2]:
        assert needle in lines[0], (needle, lines[0])
    assert stdout == ""
    out = case_dir / "out"
    if name == "out-exists-without-force":  # the earlier results are untouched
        assert [p.name for p in out.iterdir()] == ["keep.txt"]
    else:
        assert not out.exists()
    assert not [p.name for p in case_dir.iterdir() if p.name.startswith(".out")]  # no temporary folder


def _params(names):
    return [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=XFAIL[n])) if n in XFAIL else n
            for n in names]


@pytest.mark.parametrize("name", _params(CASES))
def test_bad_input_or_option_is_one_line_exit_2_and_no_output(script, name, tmp_path, capsys, monkeypatch):
    code, out, err = _in_process(script, tmp_path, *CASES[name][:2], capsys, monkeypatch)
    check(name, code, out, err, tmp_path)


@pytest.mark.parametrize("name", _params(SUBPROCESS))
def test_as_a_process(subprocess_results, name):
    (code, out, err), case_dir = subprocess_results[name]
    check(name, code, out, err, case_dir)
