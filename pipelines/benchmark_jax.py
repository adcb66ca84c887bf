"""How fast is the autograd Euler–Lagrange engine compared with jit-compiled JAX?

    python pipelines/benchmark_jax.py --out results/benchmark_jax

Needs the optional ``bench`` extra (``pip install -e '.[bench]'``, i.e. ``jax[cpu]``); without
JAX it prints one line and exits 0, writing nothing.  Two measurements, float32, on CPU with a
fixed thread count (default 2, set for torch and XLA alike before either runs):

(1) LNN: the MLP Lagrangian of the LNN paper, 4→128→128→1 softplus (``LagrangianNet(2)``, whose
    forward adds ½‖q̇‖² to the MLP), batch 10⁴, the SAME weights in torch and JAX.  q̈ through
    ``discover.accelerations`` vs the LNN formula in JAX,
        q̈ = (∇_q̇∇_q̇ᵀL)⁻¹ [∇_q L − (∇_q̇∇_qᵀL) q̇],
    jit(vmap(...)) with ``jnp.linalg.solve``, in two forms: the paper's (``jax.hessian`` for M,
    ``jax.jacobian(jax.jacobian(L, 1), 0)`` for C) and forward-over-reverse
    (``jax.jacfwd(jax.grad(L, 1), (0, 1))``: M and C from one Jacobian).  Plus one training step
    (loss = mean‖q̈ − target‖², gradient w.r.t. the weights, torch.optim.SGD step vs jax.grad and a
    plain SGD update, the whole step jitted).
(2) cost vs dof: a chain of n masses with a state-dependent (diagonal) mass matrix and fixed
    walls, L = Σ ½ m (1 + α x_i²) ẋ_i² − ½ k Σ (x_{i+1} − x_i)², α = 0.1, n = 2 … 64, the same
    formula as a torch callable for ONE state and as a JAX function (jit(vmap(...))); the engine
    with its defaults (diagonal M found and divided) and with ``structure=False`` (dense solve).
(3) the same curve for an n-link pendulum (unit masses and lengths): a dense M(q).

Timings are medians of interleaved repeats (torch and JAX alternating) after warm-up.
Writes ``jax.md`` (first line: the command), ``jax.json`` (raw timings) and ``jax.png`` into
--out; each file is written to a temporary name and moved into place at the end.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path as _Path

# pipelines/discover.py must not shadow the discover package: drop this folder from sys.path
_HERE = _Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if _Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import numpy as np  # noqa: E402


# ----------------------------------------------------------------------------------------
# threads (before torch or JAX is imported: so the measurements are imported only in main)
# ----------------------------------------------------------------------------------------
def set_threads(threads: int) -> dict:
    """Fix the thread count for torch and XLA; must run before JAX is imported."""
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[var] = str(threads)
    # XLA:CPU sizes its intra-op (Eigen) pool from the CPUs the process may run on
    flags = os.environ.get("XLA_FLAGS", "")
    if "xla_cpu_multi_thread_eigen" not in flags:
        flags = (flags + " --xla_cpu_multi_thread_eigen=true").strip()
    os.environ["XLA_FLAGS"] = flags
    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if cpus and len(cpus) > threads:
        os.sched_setaffinity(0, cpus[:threads])
        cpus = cpus[:threads]
    import torch

    torch.set_num_threads(threads)
    return {"threads": threads, "affinity": cpus, "XLA_FLAGS": flags,
            "OMP_NUM_THREADS": os.environ["OMP_NUM_THREADS"], "torch_threads": torch.get_num_threads()}


def __getattr__(name):
    """The JAX-side functions (``lnn_qddot_jax``, ``make_lnn``, ...), for tests that load this
    script: from :mod:`discover.reports.benchmark_jax`, imported on first use."""
    if name.startswith("__"):
        raise AttributeError(name)
    from discover.reports import benchmark_jax

    return getattr(benchmark_jax, name)


# ----------------------------------------------------------------------------------------
# CLI
# ----------------------------------------------------------------------------------------
def build_parser():
    ap = argparse.ArgumentParser(prog="benchmark_jax.py", description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="results/benchmark_jax", help="folder for jax.md, jax.json, jax.png")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--chain-n", type=int, nargs="+", default=[2, 4, 8, 16, 32, 64])
    ap.add_argument("--pendulum-n", type=int, nargs="*", default=[2, 4, 8, 16, 32, 64],
                    help="sizes of the n-link pendulum (dense mass matrix); none to skip it")
    ap.add_argument("--max-call-s", type=float, default=2.0,
                    help="a chain size whose first torch call takes longer runs at batch 1000")
    ap.add_argument("--lr", type=float, default=1e-4)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-load", type=float, default=2.5,
                    help="wait (up to --load-wait-s) until the 1-min load average is at most this")
    ap.add_argument("--load-wait-s", type=float, default=180)
    return ap


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    import importlib.util

    missing = "benchmark_jax: jax is not installed (pip install -e '.[bench]'); nothing measured, nothing written"
    try:
        found = importlib.util.find_spec("jax") is not None
    except (ImportError, ValueError):
        found = False
    if not found:
        print(missing)
        return 0
    threads = set_threads(args.threads)  # before JAX is imported
    try:
        import jax
    except ImportError:
        print(missing)
        return 0
    import torch

    from discover.reports.benchmark import uptime_line
    from discover.reports.benchmark_jax import bench_chain, bench_lnn, ratios
    from discover.reports.benchmark_jax_report import plot, write_report

    out = _Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    command = "python pipelines/benchmark_jax.py " + " ".join(argv)

    def log(*a):
        print(f"[{time.strftime('%H:%M:%S')}]", *a, flush=True)

    res = {"command": command, "args": vars(args), "load": {},
           "env": {"torch": torch.__version__, "jax": jax.__version__, "numpy": np.__version__,
                   "python": sys.version.split()[0], "cpus": os.cpu_count(), "threads": threads,
                   "jax_devices": [str(d) for d in jax.devices()]}}
    t_start = time.perf_counter()
    waited = 0.0
    while os.getloadavg()[0] > args.max_load and waited < args.load_wait_s:
        log(f"1-min load {os.getloadavg()[0]:.2f} > {args.max_load:g}: waiting 20 s")
        time.sleep(20)
        waited += 20
    res["load"]["before"] = {"uptime": uptime_line(), "load1": os.getloadavg()[0], "waited_s": waited}
    log("LNN MLP", res["load"]["before"]["uptime"])
    res["lnn"] = bench_lnn(args.batch, args.repeats, args.lr, log)
    res["lnn"]["ratio"] = ratios(res["lnn"]["qddot_per_s"])
    log("chain")
    res["chain"] = []
    for n in args.chain_n:
        row = bench_chain(n, args.batch, args.repeats, args.max_call_s, args.seed, log)
        row["ratio"] = ratios(row["qddot_per_s"])
        res["chain"].append(row)
    log("n-link pendulum")
    res["pendulum_chain"] = []
    for n in args.pendulum_n:
        row = bench_chain(n, args.batch, args.repeats, args.max_call_s, args.seed, log, system="pendulum_chain")
        row["ratio"] = ratios(row["qddot_per_s"])
        res["pendulum_chain"].append(row)
    res["load"]["after"] = {"uptime": uptime_line(), "load1": os.getloadavg()[0]}
    res["wall_s"] = time.perf_counter() - t_start

    # write each file under a temporary name, then move all three into place
    staged = []
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        tmp = _Path(tmp)
        (tmp / "jax.json").write_text(json.dumps(res, indent=1))
        plot(tmp / "jax.png", res)
        (tmp / "jax.md").write_text(write_report(command, res))
        for name in ("jax.json", "jax.png", "jax.md"):
            os.replace(tmp / name, out / name)
            staged.append(out / name)
    log("wrote", ", ".join(str(p) for p in staged), f"({res['wall_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
