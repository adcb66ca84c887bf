#!/usr/bin/env python
"""The main job's whole-process wall time beside pysindy's whole job on the same CSVs, measured
in the same run (issue: "the job in seconds").

    python pipelines/job_speed.py --out results/job_speed [--repeats 3] [--force]

For each CSV: ``python pipelines/discover.py CSV --out TMP --quiet`` (import, fit, symmetries,
evaluation, report with figures) and a pysindy job in a fresh interpreter — import, smoothed
finite-difference velocities, first-order SINDy on (q, q̇) with a degree-3 polynomial + Fourier
library, fit on all trajectories, print the model — the way a pysindy user gets equations of
motion from positions.  Wall times are medians over ``--repeats`` runs, alternating the two.
pysindy is not a dependency of discover: ``pip install pysindy`` (it is in the ``[bench]`` extra).
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CSVS = ["data/pendulum.csv", "data/magnetic_2d.csv", "data/double_pendulum.csv"]

PYSINDY_JOB = r"""
import sys
import numpy as np, pandas as pd
import pysindy as ps
df = pd.read_csv(sys.argv[1])
coords = [c for c in df.columns if c not in ("t", "traj")]
groups = [g for _, g in df.groupby("traj")] if "traj" in df else [df]
X, T = [], []
for g in groups:
    t = g["t"].to_numpy(); q = g[coords].to_numpy()
    qd = ps.SmoothedFiniteDifference()._differentiate(q, t)
    X.append(np.hstack([q, qd])); T.append(t)
lib = ps.PolynomialLibrary(degree=3) + ps.FourierLibrary()
model = ps.SINDy(feature_library=lib, optimizer=ps.STLSQ(threshold=0.05))
model.fit(X, t=T, feature_names=coords + [c + "_dot" for c in coords])
model.print()
"""


def wall(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {r.stderr.strip().splitlines()[-1:]}")
    return time.perf_counter() - t0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--out", type=Path, default=Path("results/job_speed"))
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--force", action="store_true")
    args = p.parse_args(argv)
    command = "python pipelines/job_speed.py " + " ".join(shlex.quote(a) for a in (sys.argv[1:] if argv is None else argv))
    if args.out.exists() and not args.force:
        print(f"error: {args.out} exists; use --force to overwrite it", file=sys.stderr)
        return 2
    if importlib.util.find_spec("pysindy") is None:
        print("error: pysindy is not installed: pip install pysindy", file=sys.stderr)
        return 2
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        job = Path(tmp) / "pysindy_job.py"
        job.write_text(PYSINDY_JOB)
        for csv in CSVS:
            ours, theirs = [], []
            for k in range(args.repeats):
                ours.append(wall([sys.executable, "pipelines/discover.py", csv, "--out", f"{tmp}/run{k}",
                                  "--quiet", "--force"]))
                theirs.append(wall([sys.executable, str(job), csv]))
            rows.append((csv, statistics.median(ours), statistics.median(theirs)))
            print(f"{csv}: discover {rows[-1][1]:.1f} s, pysindy {rows[-1][2]:.1f} s", file=sys.stderr)
        imports = {}
        for what in ("torch", "discover"):
            walls = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                subprocess.run([sys.executable, "-P", "-c", f"import {what}"], cwd=ROOT, check=True)
                walls.append(time.perf_counter() - t0)
            imports[what] = statistics.median(walls)
        load = os.getloadavg()
    args.out.mkdir(parents=True, exist_ok=True)
    lines = ["# The main job beside pysindy", "", f"Command: `{command}`", "",
             f"Whole-process wall time, median of {args.repeats} alternating runs, {os.cpu_count()} CPUs. "
             "discover: `pipelines/discover.py CSV --out DIR --quiet` (fit, symmetries, held-out rollouts, report "
             "and figures). pysindy: import, smoothed finite-difference q̇, first-order SINDy on (q, q̇) with a "
             "degree-3 polynomial + Fourier library, print. pysindy gives first-order equations, not a Lagrangian; "
             "this compares the jobs a user runs, not the answers.", "",
             "| CSV | discover [s] | pysindy [s] | ratio |", "|---|---|---|---|"]
    lines += [f"| `{c}` | {a:.1f} | {b:.1f} | {a / b:.1f}× |" for c, a, b in rows]
    lines += ["", f"`python -c \"import discover\"` alone: {imports['discover']:.1f} s, of which `import torch` "
              f"{imports['torch']:.1f} s (medians of {args.repeats}).  The double-pendulum row is `make demo` less "
              "its progress messages.", "",
              f"1-min load average at the end of the runs: {load[0]:.2f} (other processes share these CPUs; "
              "discover's and pysindy's runs alternate, so load hits both alike).", ""]
    (args.out / "report.md").write_text("\n".join(lines))
    print(f"{args.out / 'report.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
