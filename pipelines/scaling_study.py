"""Scaling study: discovery of a chain of n masses and of an n-link pendulum for growing n
(clean and noisy), through the default path (SparseLagrangian() with no options).

Writes results/scaling/{scaling.csv, scaling.png, report.md}: library size, fit time, peak
memory, exact support and coefficient error per (system, n, noise), and the exponent of fit
time vs n.

Example:
    python pipelines/scaling_study.py                       # both systems, n = 2 4 8 16 32, noise 0 and 1 %
    python pipelines/scaling_study.py --systems chain --sizes 4 8 --levels 0
"""
from __future__ import annotations

import argparse
import csv
import os
import shlex
import sys
import time

# pipelines/discover.py would shadow the installed discover package (Python puts a script's folder
# first on the import path): run again in safe-path mode (-P), with the same interpreter options
if __name__ == "__main__" and not sys.flags.safe_path:
    os.execv(sys.executable, [sys.executable, "-P", *sys.orig_argv[1:]])


def build_parser():
    p = argparse.ArgumentParser(prog="scaling_study.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--systems", nargs="+", default=["chain", "pendulum_chain"], choices=["chain", "pendulum_chain"])
    p.add_argument("--sizes", type=int, nargs="+", default=[2, 4, 8, 16, 32], help="degrees of freedom n")
    p.add_argument("--levels", type=float, nargs="+", default=[0.0, 0.01], help="noise σ / std(q)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n-traj", type=int, default=4)
    p.add_argument("--duration", type=float, default=5.0)
    p.add_argument("--dt", type=float, default=0.01)
    p.add_argument("--timeout", type=float, default=300.0, help="seconds per cell")
    p.add_argument("--out", default="results/scaling")
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if any(n < 2 for n in args.sizes) or any(lv < 0 for lv in args.levels):
        parser.error("--sizes must be >= 2 and --levels >= 0")
    from discover.reports import scaling_report as R
    from discover.studies import scaling as S

    command = "python " + " ".join(shlex.quote(a) for a in [os.path.relpath(__file__)]
                                   + (argv if argv is not None else sys.argv[1:]))
    cfg = S.ScalingConfig(systems=tuple(args.systems), sizes=tuple(args.sizes), levels=tuple(sorted(set(args.levels))),
                          seed=args.seed, n_traj=args.n_traj, duration=args.duration, dt=args.dt, timeout=args.timeout)
    os.makedirs(args.out, exist_ok=True)
    t0 = time.time()

    def show(r):
        print(f"{r['system']} n={r['n']:3d} noise={r['noise']:g}: {r['status']} {r.get('library', '')} "
              f"fit {r.get('fit_seconds', float('nan')):.1f} s exact={r['success']}", flush=True)

    rows = S.run_study(cfg, progress=show)
    with open(os.path.join(args.out, "scaling.csv"), "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=S.FIELDS)
        w.writeheader()
        w.writerows({k: r.get(k, "") for k in S.FIELDS} for r in rows)
    fig = R.plot_scaling(rows, args.out)
    R.write_report(os.path.join(args.out, "report.md"), command, rows, fig, cfg, time.time() - t0)
    print(f"{len(rows)} cells, {time.time() - t0:.0f} s → {args.out}/report.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
