"""Loss landscape of the q̈-loss: harmonic-oscillator (m, k) grid and pendulum multi-start fits.

Writes results/landscape/{report.md, ho_heatmap.png, ho_profile.png, multistart_hist.png,
landscape.json}.

Example:
    python pipelines/loss_landscape.py --grid 121 --starts 100 --steps 5000 --out results/landscape
"""
from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path as _Path

# pipelines/discover.py must not shadow the discover package: drop this folder from sys.path
_HERE = _Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if _Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))


def build_parser():
    p = argparse.ArgumentParser(prog="loss_landscape.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--m0", type=float, default=1.0)
    p.add_argument("--k0", type=float, default=4.0)
    p.add_argument("--grid", type=int, default=121, help="grid points per axis (121)")
    p.add_argument("--noises", type=float, nargs="+", default=[0.0, 1e-2, 3e-2, 1e-1],
                   help="noise σ/std(q) for the 1-D profiles")
    p.add_argument("--starts", type=int, default=100, help="multi-start initializations (100)")
    p.add_argument("--steps", type=int, default=5000, help="Adam steps (5000)")
    p.add_argument("--lr", type=float, default=0.05)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="results/landscape")
    p.add_argument("--force", action="store_true", help="overwrite an existing --out")
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if os.path.exists(args.out) and not args.force:
        parser.error(f"{args.out} exists; pass --force to overwrite it")
    if args.grid < 3 or args.starts < 1 or args.steps < 1:
        parser.error("--grid must be >= 3, --starts and --steps >= 1")
    import torch

    from discover.reports import landscape as LS

    torch.set_num_threads(min(2, torch.get_num_threads()))
    command = "python " + " ".join(shlex.quote(a) for a in [os.path.relpath(__file__)] + (argv if argv is not None else sys.argv[1:]))
    parent = os.path.dirname(os.path.abspath(args.out)) or "."
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=".landscape-", dir=parent)
    try:
        t0 = time.time()
        ho = LS.ho_landscape(args.m0, args.k0, noises=args.noises, n_grid=args.grid, seed=args.seed)
        t_ho = time.time() - t0
        t1 = time.time()
        ms = LS.multistart(n_starts=args.starts, steps=args.steps, lr=args.lr, seed=args.seed)
        t_ms = time.time() - t1
        LS.write_outputs(tmp, command, ho, ms, {"ho_seconds": t_ho, "multistart_seconds": t_ms})
        if os.path.exists(args.out):
            shutil.rmtree(args.out)
        os.replace(tmp, args.out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    print(f"wrote {args.out}/report.md (HO {t_ho:.0f} s, multi-start {t_ms:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
