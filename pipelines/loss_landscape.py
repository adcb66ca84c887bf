"""Loss landscape of the q̈-loss: harmonic-oscillator (m, k) grid, pendulum multi-start fits (with and
without the stage-1 initialization, MLP seeds), slices through a fitted double-pendulum model.

Writes results/landscape/{report.md, ho_heatmap.png, ho_profile.png, multistart_hist.png,
dp_slices.png, dp_profiles.png, mlp_hist.png, landscape.json}.

Example:
    python pipelines/loss_landscape.py --out results/landscape --force
"""
from __future__ import annotations

import argparse
import os
import shlex
import shutil
import sys
import tempfile
import time

# pipelines/discover.py would shadow the installed discover package (Python puts a script's folder
# first on the import path): run again in safe-path mode (-P), with the same interpreter options
if __name__ == "__main__" and not sys.flags.safe_path:
    os.execv(sys.executable, [sys.executable, "-P", *sys.orig_argv[1:]])


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
    p.add_argument("--stage1-starts", type=int, default=100, help="starts around the stage-1 solution (100)")
    p.add_argument("--stage1-noise", type=float, default=0.05, help="σ of their perturbation (0.05)")
    p.add_argument("--slice-grid", type=int, default=41, help="points per axis of the double-pendulum slices (41)")
    p.add_argument("--slice-span", type=float, default=1.0, help="slice range ±span along each direction (1)")
    p.add_argument("--mlp-seeds", type=int, default=8, help="MLP Lagrangian seeds; 0 skips them (8)")
    p.add_argument("--mlp-epochs", type=int, default=300, help="MLP training epochs (300)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", default="results/landscape")
    p.add_argument("--force", action="store_true", help="overwrite an existing --out")
    return p


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if os.path.exists(args.out) and not args.force:
        parser.error(f"{args.out} exists; pass --force to overwrite it")
    if args.grid < 3 or args.starts < 1 or args.steps < 1 or args.slice_grid < 3 or args.stage1_starts < 1:
        parser.error("--grid and --slice-grid must be >= 3, --starts, --stage1-starts and --steps >= 1")
    import torch

    from discover.reports import landscape_report as LR
    from discover.studies import landscape as LS
    from discover.studies import landscape_library as LL

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
        import numpy as np

        data = LS.pendulum_data(seed=args.seed)
        s1 = LL.stage1_coefficients(*data, LS.PENDULUM_TERMS)
        inits = np.concatenate([np.random.default_rng(args.seed).normal(size=(args.starts, len(LS.PENDULUM_TERMS))),
                                LL.stage1_starts(s1, args.stage1_starts, noise=args.stage1_noise, seed=args.seed)])
        both = LS.multistart(steps=args.steps, lr=args.lr, seed=args.seed, data=data, init=inits)
        ms = LL.split_multistart(both, np.arange(args.starts))
        ms1 = LL.split_multistart(both, np.arange(args.starts, len(inits)))
        t_ms = time.time() - t1
        t2 = time.time()
        sl = LL.library_slices(n_grid=args.slice_grid, span=args.slice_span, seed=args.seed)
        t_sl = time.time() - t2
        t3 = time.time()
        mlp = (LL.mlp_multistart(data, n_seeds=args.mlp_seeds, epochs=args.mlp_epochs, seed=args.seed)
               if args.mlp_seeds > 0 else None)
        t_mlp = time.time() - t3
        timing = {"ho_seconds": t_ho, "multistart_seconds": t_ms, "double_pendulum_slices_seconds": t_sl,
                  "mlp_seconds": t_mlp}
        stage1 = {"coef": s1, "threshold": 1e-3, "noise": args.stage1_noise, "starts": args.stage1_starts}
        lines, js = LR.library_report(tmp, sl, ms, ms1, stage1, mlp, timing)
        LR.write_outputs(tmp, command, ho, ms, timing, extra_lines=lines, extra_json=js)
        if os.path.exists(args.out):
            shutil.rmtree(args.out)
        os.replace(tmp, args.out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    print(f"wrote {args.out}/report.md (HO {t_ho:.0f} s, multi-start {t_ms:.0f} s, "
          f"double-pendulum slices {t_sl:.0f} s, MLP {t_mlp:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
