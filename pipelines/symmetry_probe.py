"""Which symmetries did an MLP Lagrangian learn, and which did it break?

    python pipelines/symmetry_probe.py --out results/symmetry_probe --force

Trains small MLP Lagrangians on the magnetic trap (rotation symmetry), a cart-pole with a free
cart (cyclic cart position) and a double pendulum (no symmetry besides time), and probes
translations, joint shifts and rotations of coordinate pairs
(:mod:`discover.studies.symmetry_probe`).  Writes report.md, metrics.json and a figure.
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
    ap.add_argument("--out", default="results/symmetry_probe")
    ap.add_argument("--systems", nargs="+", default=["magnetic trap", "cart-pole", "double pendulum"])
    ap.add_argument("--n-test", type=int, default=1000)
    ap.add_argument("--shift", type=float, default=0.3)
    ap.add_argument("--angle", type=float, default=0.3)
    add_training_options(ap)
    args = ap.parse_args(argv)
    command = "python pipelines/symmetry_probe.py " + " ".join(argv if argv is not None else sys.argv[1:])
    from discover.reports.symmetry_probe_report import write_probe_report
    from discover.studies.symmetry_probe import run_probe

    run_study(args, command, args.systems,
              lambda name: run_probe(name, n_train=args.n_train, n_test=args.n_test, epochs=args.epochs,
                                     hidden=tuple(args.hidden), lr=args.lr, batch_size=args.batch_size,
                                     shift=args.shift, angle=args.angle, seed=args.seed),
              write_probe_report)


if __name__ == "__main__":
    main()
