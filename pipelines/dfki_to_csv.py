#!/usr/bin/env python
"""DFKI torque-limited simple pendulum recording → a discover CSV with the motor torque as a known
generalized force.

    python pipelines/dfki_to_csv.py ../shared/data/dfki_simple_pendulum/data_measured.csv \
        --out data/dfki_simple_pendulum/torque.csv [--force]

Input columns: ``time`` (s), ``position`` (rad, hanging = 0), ``velocity`` (rad/s, from the
motor), ``torque`` (N m, applied by the motor).  Output: ``t``, ``theta`` and ``theta_force``
(the torque: a known generalized force on θ, in N m); the motor's velocity is left out (its
spikes are larger than the error of differentiating the encoder angle).  Bad input is one
line, exit status 2, nothing written.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

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


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("src", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    args = p.parse_args(argv)
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
