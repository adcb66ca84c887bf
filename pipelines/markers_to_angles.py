#!/usr/bin/env python
"""Tracked marker positions of a planar pendulum chain → joint-angle CSV for discover.py.

    python pipelines/markers_to_angles.py RUN.csv [RUN2.csv ...] --fps 400 --out angles.csv \
        [--gravity +x] [--start 1] [--stop 6] [--every 2] [--no-header] [--force]

Each input file is one trajectory (a ``traj`` id in the output, in the order given) with
marker columns x0, y0, x1, y1, … (pivot first, then one marker per joint, the tip last), as a
camera tracker writes them (with or without a header row: ``--no-header``).  Output columns:
``t`` (seconds, from the frame index and ``--fps``), ``traj`` and ``theta1``… — the angle of each
segment from the direction of gravity (``--gravity``, an image axis), counter-clockwise in the
image's (x, y) frame, unwrapped so that full turns keep counting.  These absolute segment angles
are the usual coordinates of a double pendulum: L = a θ̇₁² + b θ̇₂² + c θ̇₁θ̇₂cos(θ₁−θ₂)
+ d cos θ₁ + e cos θ₂.  Segment lengths (their mean and spread in the markers' units) are
printed so that tracking glitches show.

Bad input (a missing file, a row with a wrong number of columns, text in a number, an odd
number of marker columns) is one line naming the file, row and column, exit status 2, nothing
written.  The IBM "Double Pendulum Chaotic" runs in ../shared/data (no header, six columns,
400 fps, gravity along +x) are the example: see data/README.md.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

_AXES = {"+x": (1.0, 0.0), "-x": (-1.0, 0.0), "+y": (0.0, 1.0), "-y": (0.0, -1.0)}


class InputError(ValueError):
    pass


def read_markers(path: Path, *, header: bool) -> np.ndarray:
    """(frames, 2·markers) float array; InputError names the file, row and column."""
    if not path.is_file():
        raise InputError(f"{path}: no such file")
    lines = path.read_text().splitlines()
    first = 1 if header else 0
    rows = lines[first:]
    if not rows:
        raise InputError(f"{path}: no data rows")
    width = len(rows[0].split(","))
    if width < 4 or width % 2:
        raise InputError(f"{path}, row {first + 1}: {width} columns; need x, y pairs for a pivot and ≥ 1 marker")
    try:  # the whole file at once; only a file that fails is read row by row, to name the cell
        out = np.loadtxt(rows, delimiter=",", ndmin=2)
        if out.shape[1] == width and np.all(np.isfinite(out)):
            return out
    except ValueError:
        pass
    out = np.empty((len(rows), width))
    for r, ln in enumerate(rows):
        cells = ln.split(",")
        if len(cells) != width:
            raise InputError(f"{path}, row {r + first + 1}: {len(cells)} columns, expected {width}")
        for c, cell in enumerate(cells):
            try:
                out[r, c] = float(cell)
            except ValueError:
                raise InputError(f"{path}, row {r + first + 1}, column {c + 1}: {cell!r} is not a number") from None
        if not np.all(np.isfinite(out[r])):
            raise InputError(f"{path}, row {r + first + 1}: not a finite number")
    return out


def segment_angles(markers: np.ndarray, gravity: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
    """Angles (frames, segments) of each segment from the gravity direction, unwrapped, and the
    segment lengths (frames, segments)."""
    xy = markers.reshape(len(markers), -1, 2)
    seg = np.diff(xy, axis=1)  # (frames, segments, 2)
    gx, gy = gravity
    along = seg[..., 0] * gx + seg[..., 1] * gy
    across = -seg[..., 0] * gy + seg[..., 1] * gx  # gravity rotated by +90°
    return np.unwrap(np.arctan2(across, along), axis=0), np.linalg.norm(seg, axis=-1)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("inputs", nargs="+", help="one CSV of marker positions per trajectory")
    p.add_argument("--fps", type=float, required=True, help="frames per second")
    p.add_argument("--out", required=True)
    p.add_argument("--gravity", choices=sorted(_AXES), default="+x", help="image axis gravity points along (+x)")
    p.add_argument("--start", type=float, default=0.0, help="first time kept [s] (skip the launch)")
    p.add_argument("--stop", type=float, default=None, help="last time kept [s]")
    p.add_argument("--every", type=int, default=1, help="keep every k-th frame")
    p.add_argument("--no-header", action="store_true", help="the inputs have no header row")
    p.add_argument("--force", action="store_true", help="overwrite --out")
    args = p.parse_args(argv)
    out = Path(args.out)
    if out.exists() and not args.force:
        print(f"error: {out} exists; use --force to overwrite it", file=sys.stderr)
        return 2
    rows = []
    try:
        for k, name in enumerate(args.inputs):
            m = read_markers(Path(name), header=not args.no_header)
            theta, length = segment_angles(m, _AXES[args.gravity])
            t = np.arange(len(m)) / args.fps
            keep = (t >= args.start) & (t <= (args.stop if args.stop is not None else np.inf))
            idx = np.flatnonzero(keep)[:: args.every]
            if len(idx) < 2:
                raise InputError(f"{name}: no frames between --start {args.start} and --stop {args.stop}")
            spread = ", ".join(f"segment {j + 1}: {length[idx, j].mean():.1f} ± {length[idx, j].std():.1f}"
                               for j in range(theta.shape[1]))
            print(f"{name}: {len(idx)} frames, lengths {spread}")
            rows.append(np.column_stack([t[idx], np.full(len(idx), k), theta[idx]]))
    except InputError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    data = np.concatenate(rows)
    n = data.shape[1] - 2
    header = ",".join(["t", "traj"] + [f"theta{j + 1}" for j in range(n)])
    tmp = out.with_name(out.name + ".tmp")
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savetxt(tmp, data, delimiter=",", header=header, comments="", fmt=["%.6f", "%d"] + ["%.9f"] * n)
    tmp.replace(out)
    print(f"wrote {out} ({len(data)} rows, {len(rows)} trajectories)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
