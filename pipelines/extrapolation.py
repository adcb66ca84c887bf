"""Outside the sampled region: q̈ error and rollout validity of a sparse and an MLP Lagrangian
fitted on motions with angles within ±1 rad, against the distance from that region.

    python pipelines/extrapolation.py --out results/extrapolation --force

Pendulum and double pendulum (:mod:`discover.studies.extrapolation`).  Writes report.md,
metrics.json and a figure into --out.  Small on purpose (2 shared CPU cores).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path as _Path

# pipelines/discover.py would shadow the installed discover package (Python puts a script's folder
# first on the import path): run again in safe-path mode (-P), with the same interpreter options
if __name__ == "__main__" and not sys.flags.safe_path:
    os.execv(sys.executable, [sys.executable, "-P", *sys.orig_argv[1:]])


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="results/extrapolation")
    ap.add_argument("--force", action="store_true", help="replace an existing --out")
    ap.add_argument("--systems", nargs="+", default=["pendulum", "double_pendulum"])
    ap.add_argument("--bound", type=float, default=1.0)
    ap.add_argument("--n-train", type=int, default=2048)
    ap.add_argument("--epochs", type=int, default=120)
    ap.add_argument("--batch-size", type=int, default=1024)
    ap.add_argument("--hidden", type=int, nargs="+", default=[64, 64])
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    out = _Path(args.out)
    if out.exists() and not args.force:
        sys.exit(f"{out} exists; pass --force to replace it")
    command = "python pipelines/extrapolation.py " + " ".join(argv if argv is not None else sys.argv[1:])
    from discover.reports import atomic_results_dir
    from discover.reports.extrapolation_report import write_extrapolation_report
    from discover.studies.extrapolation import run_extrapolation

    t0 = time.perf_counter()
    results = [run_extrapolation(name, bound=args.bound, n_train=args.n_train, epochs=args.epochs,
                                 hidden=tuple(args.hidden), lr=args.lr, batch_size=args.batch_size,
                                 seed=args.seed) for name in args.systems]
    runtime = time.perf_counter() - t0
    with atomic_results_dir(out) as tmp:
        (tmp / "metrics.json").write_text(json.dumps({"results": results, "args": vars(args),
                                                      "runtime_s": runtime}, indent=1))
        write_extrapolation_report(tmp, command, results, args, runtime)
    print(f"wrote {out}/report.md")


if __name__ == "__main__":
    main()
