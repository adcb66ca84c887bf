"""Noise sweep: exact-support success, coefficient and q̈ errors, rollout valid time vs. noise.

Writes results/noise/<system>/{sweep.csv, report.md, *.png} for every system and
results/noise/summary.md (all systems' tolerance tables) (or a CSV via --csv,
noise added to its positions; no ground truth then). Finished cells are cached in sweep.csv:
--resume continues an interrupted sweep, --force starts over.

Example:
    python pipelines/noise_sweep.py harmonic_1d pendulum --levels 0 1e-3 1e-2 --seeds 3 --jobs 2
    python pipelines/noise_sweep.py damped_pendulum --jobs 2 --seeds 3   # pendulum with friction −0.3 θ̇
    python pipelines/noise_sweep.py --jobs 2 --resume --redo cli   # rerun the cli cells only
"""
from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
import time
from pathlib import Path as _Path

# pipelines/discover.py would shadow the installed discover package (Python puts a script's folder
# first on the import path): run again in safe-path mode (-P), with the same interpreter options
if __name__ == "__main__" and not sys.flags.safe_path:
    os.execv(sys.executable, [sys.executable, "-P", *sys.orig_argv[1:]])

DEFAULT_SYSTEMS = ["harmonic_1d", "pendulum", "magnetic_2d", "double_pendulum", "damped_pendulum"]
DEFAULT_LEVELS = [0.0, 1e-3, 1e-2, 3e-2, 1e-1]
DEFAULT_SEEDS = 3
DEFAULT_METHODS = ["cli", "auto", "strong-savgol", "weak-savgol", "strong-savgol+refine"]


def build_parser():
    p = argparse.ArgumentParser(prog="noise_sweep.py", description=__doc__.split("\n\n")[0])
    from discover.studies.noise_friction import DAMPED

    p.add_argument("systems", nargs="*", default=None,
                   help=f"reference systems ({' '.join(DEFAULT_SYSTEMS)}); with friction: {' '.join(DAMPED)}")
    p.add_argument("--csv", help="sweep a user CSV instead (noise added to its positions)")
    p.add_argument("--levels", type=float, nargs="+", default=DEFAULT_LEVELS, help="noise σ / std(q)")
    p.add_argument("--seeds", type=int, default=DEFAULT_SEEDS, help=f"seeds per level ({DEFAULT_SEEDS})")
    p.add_argument("--methods", nargs="+", default=DEFAULT_METHODS,
                   help="strong-savgol strong-spline strong-auto weak-savgol weak-spline weak-auto")
    p.add_argument("--n-traj", type=int, default=4)
    p.add_argument("--duration", type=float, default=10.0)
    p.add_argument("--dt", type=float, default=0.02)
    p.add_argument("--horizon", type=float, default=5.0, help="rollout horizon for the valid time (5 s)")
    p.add_argument("--jobs", type=int, default=1, help="parallel workers (joblib; local dask workers)")
    p.add_argument("--backend", choices=["loky", "dask"], default="loky",
                   help="loky: local processes; dask: a dask.distributed cluster (pip install -e \".[cluster]\")")
    p.add_argument("--scheduler", default=None,
                   help="with --backend dask: the address of your cluster's scheduler (tcp://host:8786); "
                        "without it a local cluster of --jobs workers is started for the run")
    p.add_argument("--out", default="results/noise", help="parent folder (results/noise)")
    p.add_argument("--resume", action="store_true", help="continue from the cached sweep.csv")
    p.add_argument("--force", action="store_true", help="delete existing outputs and start over")
    p.add_argument("--redo", nargs="+", default=[], metavar="METHOD",
                   help="with --resume: run these methods' cells again (their cached rows are dropped; "
                        "the other methods' stay cached)")
    p.add_argument("--no-progress", action="store_true")
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    from discover.reports import noise_report as R
    from discover.studies import noise as N

    for m in args.methods:
        if m not in N.METHODS:
            parser.error(f"unknown method {m!r}; choose from {sorted(N.METHODS)}")
    if args.redo and not args.resume:
        parser.error("--redo needs --resume")
    if any(lv < 0 for lv in args.levels):
        parser.error("--levels must be >= 0")
    command = "python " + " ".join(shlex.quote(a) for a in [os.path.relpath(__file__)] + (argv if argv is not None else sys.argv[1:]))
    if args.csv:
        systems = [_Path(args.csv).stem]
    else:
        systems = args.systems or DEFAULT_SYSTEMS
        for s in systems:
            try:
                N.reference(s)
            except ValueError as exc:
                parser.error(str(exc))
    cfg = N.SweepConfig(n_traj=args.n_traj, duration=args.duration, dt=args.dt, horizon=args.horizon)
    levels = sorted(set(args.levels))
    for s in systems:
        out = os.path.join(args.out, s)
        if os.path.exists(out):
            if args.force:
                shutil.rmtree(out)
            elif not args.resume:
                parser.error(f"{out} exists; pass --resume to continue it or --force to overwrite it")
        os.makedirs(out, exist_ok=True)
        cells = [N.Cell(s, m, lv, seed) for m in args.methods for lv in levels for seed in range(args.seeds)]
        t0 = time.time()
        csv_out = os.path.join(out, "sweep.csv")
        if args.redo:
            N.drop_rows(csv_out, args.redo)
        rows = N.run_sweep(cells, cfg, csv_out, jobs=args.jobs, csv_path=args.csv, progress=not args.no_progress,
                           backend=args.backend, scheduler=args.scheduler)
        summary = R.summarize(rows)
        figs = [] if args.csv else R.plot_sweep(summary, out)  # no ground truth: nothing to plot
        seconds = time.time() - t0  # wall time of this call (cached cells cost nothing)
        cell_seconds = sum(float(r.get("fit_seconds") or 0) for r in rows)
        R.write_report(os.path.join(out, "report.md"), command, summary, figs, cfg, seconds, "sweep.csv",
                       cell_seconds=cell_seconds, rows=rows)
        print(f"{s}: {len(rows)} cells, {time.time() - t0:.0f} s → {out}/report.md")
        for (sy, m), lst in sorted(summary.items()) if not args.csv else []:
            print(f"  {m:15s} tolerance {R.tolerance(lst)}; σ > 0 only: {R.tolerance(lst, noisy_only=True)}")
    if not args.csv:
        print(f"summary: {R.write_summary(args.out, command)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
