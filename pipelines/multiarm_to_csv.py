#!/usr/bin/env python
"""MultiArm pendulum encoder recordings (MATLAB .mat) → joint-angle CSV for discover.py.

    python pipelines/multiarm_to_csv.py ../shared/data/multiarm_pendulum/ParameterEstimation/SinglePendulum/SinglePendulumDataForParameterEstimation.mat \
        --out data/multiarm_single_pendulum/angles.csv [--every 10] [--force]

The file holds pieces of free, damped motion (``Y_id`` and ``Y_vad``: per piece a
(2·n, N) array, angles then the authors' processed angular velocities; ``Time_id``/``Time_vad``:
times; ``dt``).  Each piece becomes one trajectory (``traj`` 0, 1, … in file order, the
identification pieces first); only the measured angles are written (columns ``theta1`` …),
every ``--every``-th sample (1 kHz → 100 Hz by default).  The hanging position is θ = π.

Bad input (a missing file, a file without these keys) is one line, exit status 2, nothing
written.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np


def read_pieces(path: Path) -> list[tuple[np.ndarray, np.ndarray]]:
    """[(t (N,), angles (N, n))] for every piece, in file order."""
    from scipy.io import loadmat

    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    try:
        d = loadmat(path)
    except Exception as exc:  # noqa: BLE001 - any unreadable file is the same one-line error
        raise ValueError(f"{path}: not a MATLAB file scipy can read ({' '.join(str(exc).split())})") from None
    return _pieces(path, d)


def _pieces(path, d) -> list[tuple[np.ndarray, np.ndarray]]:
    pieces = []
    for ykey, tkey in (("Y_id", "Time_id"), ("Y_vad", "Time_vad")):
        if ykey not in d or tkey not in d:
            raise ValueError(f"{path}: no '{ykey}'/'{tkey}' arrays (keys: {', '.join(k for k in d if not k.startswith('__'))})")
        for Y, T in zip(d[ykey][:, 0], d[tkey][:, 0]):
            t = np.asarray(T, float).ravel()
            Y = np.asarray(Y, float)
            if Y.ndim != 2 or len(t) < 2 or len(t) not in Y.shape:
                raise ValueError(f"{path}: '{ykey}' holds a piece of shape {Y.shape} that does not match its "
                                 f"{len(t)} times")
            if Y.shape[1] != len(t):
                Y = Y.T
            n = Y.shape[0] // 2
            pieces.append((t - t[0], Y[:n].T))
    return pieces


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mat", type=Path)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--every", type=int, default=10, help="keep every k-th sample (10: 1 kHz → 100 Hz)")
    p.add_argument("--force", action="store_true")
    args = p.parse_args(argv)
    if args.out.exists() and not args.force:
        print(f"error: {args.out} exists; use --force to overwrite it", file=sys.stderr)
        return 2
    if args.every < 1:
        print(f"error: --every must be a positive integer, not {args.every}", file=sys.stderr)
        return 2
    try:
        pieces = read_pieces(args.mat)
        if not pieces:
            raise ValueError(f"{args.mat}: no pieces of motion in the file")
    except (ValueError, IndexError, KeyError, TypeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    n = pieces[0][1].shape[1]
    lines = ["t,traj," + ",".join(f"theta{j + 1}" for j in range(n))]
    for k, (t, q) in enumerate(pieces):
        for ti, qi in zip(t[:: args.every], q[:: args.every]):
            lines.append(f"{ti:.6f},{k}," + ",".join(f"{x:.10g}" for x in qi))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    tmp = args.out.with_suffix(".tmp")
    tmp.write_text("\n".join(lines) + "\n")
    tmp.replace(args.out)
    print(f"{args.out}: {len(pieces)} trajectories, {len(lines) - 1} rows, coordinates theta1..theta{n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
