"""Energy drift of learned models' rollouts: a small reproduction of the LNN paper's study.

    python pipelines/energy_study.py --out results/energy --force

Double pendulum: an MLP Lagrangian (discover.neural.MLPLagrangian, q̈ through the
Euler–Lagrange engine), a black-box MLP q̈ = f(q, q̇) and an HNN whose "momenta" are the
velocities (non-canonical coordinates: H(q, q̇) with q' = ∂H/∂q̇, q̇' = −∂H/∂q) are trained on
the same states and true accelerations; each is rolled out from new initial states to t = 100
and the TRUE energy along its rollout is compared with the initial one, normalized by the
range of the potential energy (max V − min V = 2g((m1+m2)l1 + m2 l2)).  The true L rolled out
by the same integrator shows the integration error floor.
Relativistic particle (L = −m√(1−ẋ²) − mgx): MLP Lagrangian vs HNN (and black box), against
the closed-form motion.
Writes report.md, metrics.json and PNG figures into --out.  Small on purpose (2 CPU cores).
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

import numpy as np  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="results/energy")
    ap.add_argument("--force", action="store_true", help="replace an existing --out")
    ap.add_argument("--hidden", type=int, nargs="+", default=[128, 128])
    ap.add_argument("--epochs", type=int, default=80)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--train-traj", type=int, default=40)
    ap.add_argument("--train-t", type=float, default=10.0)
    ap.add_argument("--train-dt", type=float, default=0.1)
    ap.add_argument("--sparse-traj", type=int, default=10, help="trajectories of positions for the sparse fit")
    ap.add_argument("--sparse-dt", type=float, default=0.01, help="their sampling step (a camera's)")
    ap.add_argument("--test-states", type=int, default=32)
    ap.add_argument("--t-end", type=float, default=100.0)
    ap.add_argument("--dt", type=float, default=0.05)
    ap.add_argument("--rel-train", type=int, default=2000)
    ap.add_argument("--rel-t-end", type=float, default=2.0)
    ap.add_argument("--threads", type=int, default=1)
    args = ap.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    out = _Path(args.out)
    if out.exists() and not args.force:
        sys.exit(f"{out} exists; pass --force to replace it")
    command = "python pipelines/energy_study.py " + " ".join(argv if argv is not None else sys.argv[1:])
    from discover.reports import atomic_results_dir
    from discover.reports.energy_report import double_pendulum_figure, relativistic_figure, write_report
    from discover.studies.energy import double_pendulum_study, relativistic_study

    with atomic_results_dir(out) as tmp:
        t0 = time.perf_counter()
        rng = np.random.default_rng(args.seed)
        dp, dp_info, dp_curves = double_pendulum_study(args, rng)
        double_pendulum_figure(tmp, dp_curves, args)
        rel, rel_info, rel_curves = relativistic_study(args, rng)
        relativistic_figure(tmp, rel_curves, args)
        metrics = {"double_pendulum": {"results": dp, "info": dp_info},
                   "relativistic": {"results": rel, "info": rel_info},
                   "args": vars(args), "runtime_s": time.perf_counter() - t0}
        (tmp / "metrics.json").write_text(json.dumps(metrics, indent=1))
        write_report(tmp, command, metrics, args)
    print(f"wrote {out}/report.md")


if __name__ == "__main__":
    main()
