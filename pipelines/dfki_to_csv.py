#!/usr/bin/env python
"""DFKI torque-limited simple pendulum recording → a discover CSV with the motor torque as a known
generalized force.

    python pipelines/dfki_to_csv.py ../shared/data/dfki_simple_pendulum/data_measured.csv \
        --out data/dfki_simple_pendulum/torque.csv [--force]

    python pipelines/dfki_to_csv.py --compare results/dfki_simple_pendulum \
        data/dfki_simple_pendulum/torque.csv

The second form compares models on the converted data by their likelihood, the position RMS of
0.25 s multiple-shooting rollouts driven by the measured torque (coefficients pinned, each
segment's start state fitted): the lab's identified model, the pendulum of the lab's hardware
description, and the model found in the results directory.

Input columns: ``time`` (s), ``position`` (rad, hanging = 0), ``velocity`` (rad/s, from the
motor), ``torque`` (N m, applied by the motor).  Output: ``t``, ``theta`` and ``theta_force``
(the torque: a known generalized force on θ, in N m); the motor's velocity is left out (its
spikes are larger than the error of differentiating the encoder angle).  Bad input is one
line, exit status 2, nothing written.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# pipelines/discover.py would shadow the installed discover package (Python puts a script's folder
# first on the import path): run again in safe-path mode (-P), with the same interpreter options
if __name__ == "__main__" and not sys.flags.safe_path:
    os.execv(sys.executable, [sys.executable, "-P", *sys.orig_argv[1:]])

import numpy as np


def convert(src: Path) -> np.ndarray:
    """(N, 3) array t, θ, τ from the lab's CSV (ValueError naming what is wrong)."""
    if not src.is_file():
        raise ValueError(f"{src}: no such file")
    header = src.read_text().splitlines()[0].split(",")
    need = ["time", "position", "torque"]
    missing = [c for c in need if c not in header]
    if missing:
        raise ValueError(f"{src}: no column {missing[0]!r} (columns: {', '.join(header)})")
    try:
        data = np.loadtxt(src, delimiter=",", skiprows=1, ndmin=2)
    except ValueError as exc:
        raise ValueError(f"{src}: {' '.join(str(exc).split())}") from None
    return data[:, [header.index(c) for c in need]]


#: the lab's identification (system_identification.txt): τ = J q̈ + m c_x g sin q + F_v q̇ +
#: F_c atan(100 q̇) + offset; atan saturates at π/2, so its dry friction is F_c·π/2
LAB = {"J": 0.06259, "m_cx": 0.1022, "F_v": 0.04707, "F_c": 0.1839 * np.pi / 2, "offset": -0.07586}
#: the hardware description (testbench_description.md): a 0.546 kg point mass at 0.5 m, a 0.13 kg
#: rod (uniform, 0.5 m), the rotor's 6.07e-5 kg m² through the 6:1 gear; friction from the lab
HARDWARE = {"J": 0.546 * 0.5**2 + 0.13 * 0.5**2 / 3 + 36 * 6.0719e-5, "m_cx": 0.546 * 0.5 + 0.13 * 0.25,
            "F_v": 0.04707, "F_c": 0.0, "offset": 0.0}
G = 9.81


def compare(results: Path, csv: Path, seconds: float = 0.25) -> list[str]:
    """Lines comparing the lab's model, the hardware's and the found one on the data in ``csv``."""
    import json

    import sympy

    from discover import read_csv
    from discover.trajectory_fit import fit_trajectories

    d = json.loads((results / "lagrangian.json").read_text())
    coef = {t["term"]: t["coefficient"] for t in d["terms"]}
    diss = d.get("dissipation") or {}
    found = {"J": 2 * coef.get("theta_dot**2", np.nan), "m_cx": coef.get("cos(theta)", np.nan) / G,
             "F_v": diss.get("coefficients", {}).get("theta", 0.0), "F_c": diss.get("coulomb", {}).get("theta", 0.0),
             "offset": -coef.get("theta", 0.0)}
    tr = read_csv(csv).trajectories[0]
    th, thd = sympy.symbols("theta theta_dot")
    out = [f"position RMS of {seconds:g} s rollouts driven by the measured torque (coefficients pinned):",
           "| model | J | m·c_x | F_v | F_c (saturated) | offset | position RMS (rad) |", "|---|---|---|---|---|---|---|"]
    for name, p in (("lab identification", LAB), ("hardware description", HARDWARE), ("found", found)):
        terms = [thd**2, sympy.cos(th)] + ([th] if p["offset"] else [])
        xi = np.array([p["J"] / 2, p["m_cx"] * G] + ([-p["offset"]] if p["offset"] else []))
        r = fit_trajectories(terms, ["theta"], xi, np.diag(1 / xi), [(tr.t, tr.q)], forces=[tr.force],
                             damping0=[p["F_v"]], coulomb0=[p["F_c"]], segment_seconds=(seconds,))
        out.append(f"| {name} | {p['J']:.4g} | {p['m_cx']:.4g} | {p['F_v']:.3g} | {p['F_c']:.3g} | {p['offset']:.3g} "
                   f"| {r.rms[0]:.4f} |")
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("src", type=Path)
    p.add_argument("--out", type=Path)
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.add_argument("--compare", type=Path, metavar="RESULTS",
                   help="compare the lab's model, the hardware's and RESULTS' on the converted CSV SRC")
    args = p.parse_args(argv)
    if args.compare is not None:
        print("\n".join(compare(args.compare, args.src)))
        return 0
    if args.out is None:
        p.error("--out is required (or --compare RESULTS)")
    if args.out.exists() and not args.force:
        print(f"error: {args.out} exists; use --force to overwrite it", file=sys.stderr)
        return 2
    try:
        rows = convert(args.src)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(args.out, rows, delimiter=",", header="t,theta,theta_force", comments="", fmt="%.12g")
    print(f"{args.out}: {len(rows)} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
