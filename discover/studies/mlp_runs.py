"""What the MLP studies' pipelines share: their training options and running one study per
system into a results folder (metrics.json, report.md, figures; all or nothing)."""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Callable

__all__ = ["add_training_options", "run_study"]


def add_training_options(ap: argparse.ArgumentParser) -> None:
    """--force, --n-train, --epochs, --batch-size, --hidden, --lr, --seed, --threads."""
    ap.add_argument("--force", action="store_true", help="replace an existing --out")
    ap.add_argument("--n-train", type=int, default=2048)
    ap.add_argument("--epochs", type=int, default=120)
    ap.add_argument("--batch-size", type=int, default=1024)
    ap.add_argument("--hidden", type=int, nargs="+", default=[64, 64])
    ap.add_argument("--lr", type=float, default=3e-3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)


def run_study(args, command: str, systems, run_one: Callable, write_report: Callable) -> None:
    """``run_one(name)`` for every system, then metrics.json and ``write_report(folder, command,
    results, args, runtime)`` into ``args.out`` (refused if it exists without ``--force``)."""
    import torch

    from ..reports import atomic_results_dir

    torch.set_num_threads(args.threads)
    out = Path(args.out)
    if out.exists() and not args.force:
        sys.exit(f"{out} exists; pass --force to replace it")
    t0 = time.perf_counter()
    results = [run_one(name) for name in systems]
    runtime = time.perf_counter() - t0
    with atomic_results_dir(out) as tmp:
        (tmp / "metrics.json").write_text(json.dumps({"results": results, "args": vars(args),
                                                      "runtime_s": runtime}, indent=1))
        write_report(tmp, command, results, args, runtime)
    print(f"wrote {out}/report.md")
