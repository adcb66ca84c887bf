"""How slow is autograd compared with integrating hand-derived equations of motion?

    python pipelines/benchmark.py --out results/benchmark --force

(a) q̈ throughput (samples/s) of three ways to evaluate the Euler–Lagrange equations of the
same Lagrangian, on the double pendulum (several batch sizes) and the chain of n masses with a
state-dependent mass matrix (``chain`` with alpha > 0), float64 and float32:
  * engine   — ``discover.accelerations`` (reverse-mode autograd, definite solve);
  * replayed — the same operations recorded once and replayed (``discover.replay.Replayed``),
               and, for one case, compiled by ``torch.compile`` (``--compiled-batch``);
  * naive    — BASELINE: the engine's ``rows="loop"`` mode, one ``torch.autograd.grad`` call per
               component i for row i of M and C (n backward passes), ``torch.linalg.solve``;
  * lambdified — M, C, ∂L/∂q derived once by SymPy from the system's SymPy Lagrangian,
               lambdified to NumPy (structural zeros skipped), batched ``np.linalg.solve``:
               the "hand-derived equations of motion" reference.
plus max |Δq̈| between them, and the LNN MLP (4→128→128→1 softplus, float32) through the engine.
(b) error against exact solutions for euler / rk4 / variational over several dt, with the
log-log convergence order; (c) energy drift over long runs.  Writes report.md, timings.csv,
results.json and PNGs into --out (built in a temporary directory, moved into place at the end).
"""
from __future__ import annotations

import argparse
import csv
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


def build_parser():
    ap = argparse.ArgumentParser(prog="benchmark.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default="results/benchmark", help="output directory (results/benchmark)")
    ap.add_argument("--force", action="store_true", help="replace an existing --out")
    ap.add_argument("--dp-batches", type=int, nargs="+", default=[100, 1000, 10_000, 100_000])
    ap.add_argument("--chain-n", type=int, nargs="+", default=[2, 4, 8, 16, 32, 64])
    ap.add_argument("--chain-batch", type=int, default=10_000)
    ap.add_argument("--chain-alpha", type=float, default=0.1)
    ap.add_argument("--dtypes", nargs="+", default=["float64", "float32"], choices=["float64", "float32"])
    ap.add_argument("--lnn-batch", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--compiled-batch", type=int, default=10_000,
                    help="double-pendulum batch for the torch.compile (inductor) step; 0 skips it (10000)")
    ap.add_argument("--budget", type=float, default=1.0,
                    help="max seconds for one call of the slowest method; larger batches are cut by 10× (1.0)")
    ap.add_argument("--dts", type=float, nargs="+", default=[0.2, 0.1, 0.05, 0.025, 0.0125])
    ap.add_argument("--horizon", type=float, default=2.0)
    ap.add_argument("--conv-states", type=int, default=4)
    ap.add_argument("--energy-steps", type=int, default=4000)
    ap.add_argument("--energy-dt", type=float, default=0.025)
    ap.add_argument("--energy-states", type=int, default=8)
    ap.add_argument("--rollout-steps", type=int, default=50)
    ap.add_argument("--rollout-batches", type=int, nargs="*", default=[1, 10_000])
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--one-thread-batches", type=int, nargs="*", default=[100, 10_000],
                    help="double-pendulum batches also timed with ONE torch thread, float64 (100 10000)")
    ap.add_argument("--max-load", type=float, default=2.0, help="wait while the 1-min load is above this (2)")
    ap.add_argument("--load-retries", type=int, default=3, help="1-minute waits allowed per section (3)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-plots", action="store_true", help="skip the PNG figures")
    ap.add_argument("--quick", action="store_true",
                    help="tiny configuration for tests (seconds); overrides sizes, no load waiting")
    return ap


QUICK = dict(dp_batches=[100], chain_n=[2], chain_batch=100, lnn_batch=100, repeats=1, dts=[0.1, 0.05],
             horizon=0.1, conv_states=1, energy_steps=10, energy_dt=0.05, energy_states=2, rollout_steps=2,
             rollout_batches=[4], load_retries=0, one_thread_batches=[], compiled_batch=0)


def main(argv=None) -> int:
    ap = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    args = ap.parse_args(argv)
    if args.quick:
        for k, v in QUICK.items():
            setattr(args, k, v)
    out = _Path(args.out)
    if out.exists() and not args.force:
        ap.exit(2, f"{ap.prog}: error: {out} exists; pass --force to replace it\n")
    if not out.resolve().parent.is_dir():
        ap.exit(2, f"{ap.prog}: error: directory {out.resolve().parent} does not exist\n")
    command = "python pipelines/benchmark.py " + " ".join(argv)

    import torch

    torch.set_num_threads(args.threads)
    if os.environ.get("BENCHMARK_VERBOSE"):
        def log(*a):
            print(f"[{time.strftime('%H:%M:%S')}]", *a, flush=True)
    else:
        log = print if not args.quick else (lambda *a: None)
    rng = np.random.default_rng(args.seed)
    dtypes = {"float64": torch.float64, "float32": torch.float32}
    res = {"env": {"torch": torch.__version__, "threads": torch.get_num_threads(), "cpus": os.cpu_count()},
           "load": {}, "args": vars(args), "command": command}
    from discover.reports import atomic_results_dir
    from discover.studies.benchmark import (
        bench_case, bench_compiled, bench_lnn, convergence_study, energy_study, rollout_timing, uptime_line, wait_for_load)
    from discover.reports.benchmark_report import plots, write_report

    with atomic_results_dir(out) as tmp:
        t_start = time.perf_counter()
        from discover.systems import get_system

        log("(a) q̈ throughput")
        res["load"]["before throughput"] = wait_for_load(args.max_load, args.load_retries, 60, log)
        rows = []
        dp = get_system("double_pendulum")
        for B in args.dp_batches:
            for d in args.dtypes:
                rows.append(bench_case(dp, B, dtypes[d], args.repeats, max(args.budget, 10.0), rng, log))
        # sensitivity to thread count: one torch thread (no OpenMP wake-ups under shared load)
        if args.threads != 1 and args.one_thread_batches:
            torch.set_num_threads(1)
            for B in args.one_thread_batches:
                rows.append(bench_case(dp, B, torch.float64, args.repeats, max(args.budget, 10.0), rng, log))
            torch.set_num_threads(args.threads)
        res["load"]["before chain"] = wait_for_load(args.max_load, args.load_retries, 60, log)
        for n in args.chain_n:
            chain = get_system("chain", n=n, alpha=args.chain_alpha)
            for d in args.dtypes:
                rows.append(bench_case(chain, args.chain_batch, dtypes[d], max(1, min(args.repeats, 3)),
                                       args.budget, rng, log))
        res["throughput"] = rows
        res["compiled"] = bench_compiled(args.compiled_batch, args.repeats, rng, log) if args.compiled_batch else None
        res["lnn"] = bench_lnn(args.lnn_batch, args.repeats, log)
        res["rollout"] = rollout_timing(args.rollout_steps, args.rollout_batches, rng, log)
        res["load"]["after timings"] = {"uptime": uptime_line(), "load1": os.getloadavg()[0], "waited_s": 0}
        torch.set_num_threads(1)  # accuracy studies below: not timings; one thread avoids OpenMP stalls

        log("(b) convergence")
        res["convergence"], res["small_angle_gap"] = convergence_study(args.dts, args.horizon, args.conv_states, rng, log)
        log("(c) energy drift")
        res["energy"] = energy_study(args.energy_dt, args.energy_steps, args.energy_states, rng, log)
        res["runtime_s"] = time.perf_counter() - t_start

        with open(tmp / "timings.csv", "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
        (tmp / "results.json").write_text(json.dumps(res, indent=1, default=float))
        if not args.no_plots:
            plots(tmp, res)
        write_report(tmp, command, res, args)
    log(f"wrote {out}/report.md ({res['runtime_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
