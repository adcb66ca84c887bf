"""Outside the sampled region: q̈ error and rollout validity of a sparse and an MLP Lagrangian
fitted on motions with angles within ±1 rad, against the distance from that region.

    python pipelines/extrapolation.py --out results/extrapolation --force

Pendulum and double pendulum (:mod:`discover.studies.extrapolation`).  Writes report.md,
metrics.json and a figure into --out.  Small on purpose (2 shared CPU cores).
"""
from __future__ import annotations

import argparse
import os
import sys

# pipelines/discover.py would shadow the installed discover package (Python puts a script's folder
# first on the import path): run again in safe-path mode (-P), with the same interpreter options
if __name__ == "__main__" and not sys.flags.safe_path:
    os.execv(sys.executable, [sys.executable, "-P", *sys.orig_argv[1:]])

from discover.studies.mlp_runs import add_training_options, run_study  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="results/extrapolation")
    ap.add_argument("--systems", nargs="+", default=["pendulum", "double_pendulum"])
    ap.add_argument("--bound", type=float, default=1.0)
    add_training_options(ap)
    args = ap.parse_args(argv)
    command = "python pipelines/extrapolation.py " + " ".join(argv if argv is not None else sys.argv[1:])
    from discover.reports.extrapolation_report import write_extrapolation_report
    from discover.studies.extrapolation import run_extrapolation

    run_study(args, command, args.systems,
              lambda name: run_extrapolation(name, bound=args.bound, n_train=args.n_train, epochs=args.epochs,
                                             hidden=tuple(args.hidden), lr=args.lr, batch_size=args.batch_size,
                                             seed=args.seed),
              write_extrapolation_report)


if __name__ == "__main__":
    main()
