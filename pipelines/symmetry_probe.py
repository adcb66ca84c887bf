"""Which symmetries did an MLP Lagrangian learn, and which did it break?

    python pipelines/symmetry_probe.py --out results/symmetry_probe --force

Trains small MLP Lagrangians on the magnetic trap (rotation symmetry), a cart-pole with a free
cart (cyclic cart position) and a double pendulum (no symmetry besides time), and probes
translations, joint shifts and rotations of coordinate pairs
(:mod:`discover.studies.symmetry_probe`).  Writes report.md, metrics.json and a figure.
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
    ap.add_argument("--out", default="results/symmetry_probe")
    ap.add_argument("--force", action="store_true", help="replace an existing --out")
    ap.add_argument("--systems", nargs="+", default=["magnetic trap", "cart-pole", "double pendulum"])
    ap.add_argument("--n-train", type=int, default=2048)
    ap.add_argument("--n-test", type=int, default=1000)
    ap.add_argument("--epochs", type=int, default=120)
    ap.add_argument("--batch-size", type=int, default=1024)
    ap.add_argument("--hidden", type=int, nargs="+", default=[64, 64])
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--shift", type=float, default=0.3)
    ap.add_argument("--angle", type=float, default=0.3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    out = _Path(args.out)
    if out.exists() and not args.force:
        sys.exit(f"{out} exists; pass --force to replace it")
    command = "python pipelines/symmetry_probe.py " + " ".join(argv if argv is not None else sys.argv[1:])
    from discover.reports import atomic_results_dir
    from discover.reports.symmetry_probe_report import write_probe_report
    from discover.studies.symmetry_probe import run_probe

    t0 = time.perf_counter()
    results = [run_probe(name, n_train=args.n_train, n_test=args.n_test, epochs=args.epochs,
                         hidden=tuple(args.hidden), lr=args.lr, batch_size=args.batch_size,
                         shift=args.shift, angle=args.angle, seed=args.seed) for name in args.systems]
    runtime = time.perf_counter() - t0
    with atomic_results_dir(out) as tmp:
        (tmp / "metrics.json").write_text(json.dumps({"results": results, "args": vars(args),
                                                      "runtime_s": runtime}, indent=1))
        write_probe_report(tmp, command, results, args, runtime)
    print(f"wrote {out}/report.md")


if __name__ == "__main__":
    main()
