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

# pipelines/discover.py would shadow the installed discover package (Python puts a script's folder
# first on the import path): run again in safe-path mode (-P), with the same interpreter options
if __name__ == "__main__" and not sys.flags.safe_path:
    os.execv(sys.executable, [sys.executable, "-P", *sys.orig_argv[1:]])

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
    """The torch side (``make_lnn``, ``chain_lagrangian_torch``, ...), for tests that load this
    script: from :mod:`discover.studies.speed`, imported on first use (after the threads are set)."""
    if name.startswith("__"):
        raise AttributeError(name)
    from discover.studies import speed

    return getattr(speed, name)


# ----------------------------------------------------------------------------------------
# the JAX side: the LNN formula in JAX, an optional extra kept out of the package (JAX is
# imported inside the functions, after set_threads)
# ----------------------------------------------------------------------------------------
#: how the two JAX forms and the training steps compute, for the report
TEXT = {
    "paper_label": "JAX jit: hessian + jacobian∘jacobian",
    "fwd_label": "JAX jit: jacfwd∘grad",
    "forms": "JAX: jit(vmap(per-state q̈)) with `jnp.linalg.solve`, no check; "
             "*paper form* = `jax.hessian(L, 1)` for M and `jax.jacobian(jax.jacobian(L, 1), 0)` for C "
             "(as in the LNN paper's code), *fwd form* = `jax.jacfwd(jax.grad(L, 1), argnums=(0, 1))` "
             "giving C and M in one forward-over-reverse Jacobian.",
    "training": "torch: `zero_grad`, forward, `backward`, `torch.optim.SGD(lr={lr})` step; JAX: one jitted "
                "function `jax.value_and_grad` + p − lr·g.",
}


def jax_qddot(L, form: str = "paper"):
    """Per-state q̈(q, q̇) of the LNN formula for ``L(q, qdot)`` (JAX, one state).

    ``form="paper"``: M = jax.hessian(L, 1), C = jax.jacobian(jax.jacobian(L, 1), 0), as in the
    LNN paper's code (with ``jnp.linalg.solve`` instead of ``pinv``); ``form="fwd"``: M and C
    from one forward-over-reverse Jacobian of ∂L/∂q̇."""
    import jax
    import jax.numpy as jnp

    def qdd(q, v):
        if form == "paper":
            M = jax.hessian(L, 1)(q, v)
            C = jax.jacobian(jax.jacobian(L, 1), 0)(q, v)
        else:
            C, M = jax.jacfwd(jax.grad(L, 1), argnums=(0, 1))(q, v)
        return jnp.linalg.solve(M, jax.grad(L, 0)(q, v) - C @ v)

    return qdd


def lnn_params_to_jax(net) -> dict:
    """The weights and normalization buffers of a plain ``LagrangianNet`` as JAX arrays."""
    import jax.numpy as jnp
    from torch import nn

    layers = [m for m in net.net if isinstance(m, nn.Linear)]
    arr = lambda t: jnp.asarray(t.detach().cpu().numpy())
    return {"layers": [(arr(m.weight), arr(m.bias)) for m in layers],
            "q_mean": arr(net.q_mean), "q_scale": arr(net.q_scale), "v_scale": arr(net.v_scale)}


def lnn_lagrangian_jax(params, q, v):
    """``LagrangianNet.forward`` in JAX: MLP(q̃, ṽ) + ½‖ṽ‖² for ONE state."""
    import jax
    import jax.numpy as jnp

    x = (q - params["q_mean"]) / params["q_scale"]
    vt = v / params["v_scale"]
    h = jnp.concatenate([x, vt])
    layers = params["layers"]
    for W, b in layers[:-1]:
        h = jax.nn.softplus(W @ h + b)
    W, b = layers[-1]
    return (W @ h + b)[0] + 0.5 * (vt @ vt)


def lnn_qddot_jax(form: str = "paper"):
    """jit(vmap(q̈)) of the LNN: ``f(params, Q, V) -> (B, n)``; the weights are arguments (not
    constants XLA could fold)."""
    import jax

    def per_state(params, q, v):
        return jax_qddot(lambda a, b: lnn_lagrangian_jax(params, a, b), form)(q, v)

    return jax.jit(jax.vmap(per_state, in_axes=(None, 0, 0)))


def chain_lagrangian_jax(q, v, m=1.0, k=1.0, alpha=0.1):
    """The chain of ``discover.studies.speed.chain_lagrangian_torch`` (same defaults) in JAX."""
    import jax.numpy as jnp

    kinetic = 0.5 * m * jnp.sum((1 + alpha * q ** 2) * v ** 2)
    ends = jnp.pad(q, 1)  # fixed walls at x = 0 on both sides
    return kinetic - 0.5 * k * jnp.sum((ends[1:] - ends[:-1]) ** 2)


def pendulum_chain_lagrangian_jax(q, v, g=9.81):
    """n-link pendulum, unit masses and lengths, angles from the downward vertical: M is dense
    (M_ij = Σ_{k ≥ max(i, j)} cos(θ_i − θ_j)) and depends on the state."""
    import jax.numpy as jnp

    xd = jnp.cumsum(jnp.cos(q) * v)  # bob velocities
    yd = jnp.cumsum(jnp.sin(q) * v)
    y = -jnp.cumsum(jnp.cos(q))  # bob heights
    return 0.5 * jnp.sum(xd ** 2 + yd ** 2) - g * jnp.sum(y)


#: the systems of the cost-vs-dof curves: (torch Lagrangian factory in discover.studies.speed,
#: JAX Lagrangian, state range)
SYSTEMS = {"chain": ("chain_lagrangian_torch", chain_lagrangian_jax, 0.5),
           "pendulum_chain": ("pendulum_chain_lagrangian_torch", pendulum_chain_lagrangian_jax, 0.5)}


def bench_lnn(batch, repeats, lr, log):
    """The LNN (n = 2): q̈ through the engine vs both JAX forms with the same weights, and one
    training step (loss and weight gradients checked against each other first)."""
    import jax
    import jax.numpy as jnp
    import torch

    from discover import accelerations
    from discover.studies.speed import make_lnn, one_thread, time_interleaved

    net = make_lnn()
    g = torch.Generator().manual_seed(0)
    Q = torch.randn(batch, 2, generator=g)
    V = torch.randn(batch, 2, generator=g)
    Qj, Vj = jnp.asarray(Q.numpy()), jnp.asarray(V.numpy())
    params = lnn_params_to_jax(net)
    jfn = {form: lnn_qddot_jax(form) for form in ("paper", "fwd")}

    # --- inference: weights frozen (no graph to them) -------------------------------------
    for p in net.parameters():
        p.requires_grad_(False)
    with torch.no_grad():
        qdd_t = accelerations(net, Q, V)
    qdd_j = {f: np.asarray(fn(params, Qj, Vj)) for f, fn in jfn.items()}
    scale = float(qdd_t.abs().max())
    diff = {f: float(np.abs(qdd_t.numpy() - a).max()) for f, a in qdd_j.items()}
    fns = {"torch": lambda: accelerations(net, Q, V),
           "torch_1thread": one_thread(lambda: accelerations(net, Q, V)),
           "jax_paper": lambda: jfn["paper"](params, Qj, Vj).block_until_ready(),
           "jax_fwd": lambda: jfn["fwd"](params, Qj, Vj).block_until_ready()}
    sec = time_interleaved(fns, repeats)
    out = {"batch": batch, "dtype": "float32", "net": "LagrangianNet(2, (128, 128), softplus): "
           "MLP 4→128→128→1 + ½‖q̇‖²", "inference": sec,
           "qddot_per_s": {k: batch / v["median_s"] for k, v in sec.items()},
           "max_abs_dqddot": diff, "max_abs_qddot": scale}
    log("  LNN inference: " + "  ".join(f"{k} {v:.3g}/s" for k, v in out["qddot_per_s"].items())
        + f"  |Δq̈| {max(diff.values()):.2g}")

    # --- one training step ------------------------------------------------------------------
    for p in net.parameters():
        p.requires_grad_(True)
    target = torch.randn(batch, 2, generator=g)
    Tj = jnp.asarray(target.numpy())

    def loss_t():
        return ((accelerations(net, Q, V) - target) ** 2).sum(-1).mean()

    # consistency first: the same loss and weight gradient before any update
    net.zero_grad(set_to_none=True)
    lt = loss_t()
    lt.backward()
    # (the last bias does not enter q̈: its gradient is None in torch, zero in JAX)
    grads_t = [np.zeros(tuple(p.shape), np.float32) if p.grad is None else p.grad.detach().numpy().copy()
               for m in net.net if hasattr(m, "weight") for p in (m.weight, m.bias)]
    net.zero_grad(set_to_none=True)

    def make_loss_j(form):
        qdd = lnn_qddot_jax(form)

        def loss_j(prm, Qb, Vb, Tb):
            return jnp.mean(jnp.sum((qdd(prm, Qb, Vb) - Tb) ** 2, -1))

        return loss_j

    steps, loss0, gdiff = {}, {}, {}
    for form in ("paper", "fwd"):
        loss_j = make_loss_j(form)
        lj, gj = jax.value_and_grad(loss_j)(params, Qj, Vj, Tj)
        flat = [np.asarray(a) for W, b in gj["layers"] for a in (W, b)]
        loss0[form] = float(lj)
        gdiff[form] = max(float(np.abs(a - b).max() / max(np.abs(b).max(), 1e-30)) for a, b in zip(flat, grads_t))

        def step(prm, Qb, Vb, Tb, loss_j=loss_j):
            val, grd = jax.value_and_grad(loss_j)(prm, Qb, Vb, Tb)
            new = jax.tree_util.tree_map(lambda p_, g_: p_ - lr * g_, prm, grd)
            return new, val

        steps[form] = jax.jit(step)

    opt = torch.optim.SGD(net.parameters(), lr=lr)
    state = {"paper": params, "fwd": params}

    def torch_step():
        opt.zero_grad(set_to_none=True)
        loss = loss_t()
        loss.backward()
        opt.step()

    def jax_step(form):
        def run():
            new, val = steps[form](state[form], Qj, Vj, Tj)
            jax.block_until_ready(new)
            state[form] = new
        return run

    sec_tr = time_interleaved({"torch": torch_step, "jax_paper": jax_step("paper"),
                               "jax_fwd": jax_step("fwd")}, repeats)
    out["training_step"] = {"timings": sec_tr, "lr": lr, "optimizer": "SGD (torch.optim.SGD / p - lr·g)",
                            "loss_torch": float(lt.detach()), "loss_jax": loss0,
                            "max_rel_dgrad_weights": gdiff,
                            "steps_per_s": {k: 1.0 / v["median_s"] for k, v in sec_tr.items()}}
    log("  LNN training step: " + "  ".join(f"{k} {v['median_s'] * 1e3:.1f} ms" for k, v in sec_tr.items())
        + f"  max rel |Δgrad| {max(gdiff.values()):.2g}")
    return out


def bench_chain(n, batch, repeats, max_call_s, seed, log, system="chain"):
    """One point of a cost-vs-dof curve.  For the chain (diagonal M) the engine is timed twice:
    with its defaults (the diagonal M is found and divided) and with ``structure=False`` (dense
    Cholesky, the work JAX's ``jnp.linalg.solve`` does)."""
    import jax
    import jax.numpy as jnp
    import torch

    from discover import accelerations
    from discover.studies import speed

    make_t, L_j, span = SYSTEMS[system]
    L_t = getattr(speed, make_t)()
    time_interleaved, one_thread = speed.time_interleaved, speed.one_thread
    jfn = {form: jax.jit(jax.vmap(jax_qddot(L_j, form))) for form in ("paper", "fwd")}
    rng = np.random.default_rng(seed + n)

    def data(b):
        q = rng.uniform(-span, span, (b, n)).astype(np.float32)
        v = rng.uniform(-span, span, (b, n)).astype(np.float32)
        return torch.from_numpy(q), torch.from_numpy(v), jnp.asarray(q), jnp.asarray(v)

    used = batch
    Q, V, Qj, Vj = data(used)
    t0 = time.perf_counter()
    qdd_t = accelerations(L_t, Q, V)
    if time.perf_counter() - t0 > max_call_s and batch > 1000:  # keep the run short: smaller batch
        used = 1000
        Q, V, Qj, Vj = data(used)
        qdd_t = accelerations(L_t, Q, V)
    qdd_j = {f: np.asarray(fn(Qj, Vj)) for f, fn in jfn.items()}
    diff = {f: float(np.abs(qdd_t.numpy() - a).max()) for f, a in qdd_j.items()}
    fns = {"torch": lambda: accelerations(L_t, Q, V),
           "torch_1thread": one_thread(lambda: accelerations(L_t, Q, V)),
           "jax_paper": lambda: jfn["paper"](Qj, Vj).block_until_ready(),
           "jax_fwd": lambda: jfn["fwd"](Qj, Vj).block_until_ready()}
    if system == "chain":
        fns["torch_dense"] = lambda: accelerations(L_t, Q, V, structure=False)
    sec = time_interleaved(fns, repeats)
    row = {"system": system, "n": n, "batch": used, "timings": sec,
           "qddot_per_s": {k: used / v["median_s"] for k, v in sec.items()},
           "max_abs_dqddot": diff, "max_abs_qddot": float(qdd_t.abs().max())}
    log(f"  {system} n={n:3d} B={used}: " + "  ".join(f"{k} {v:.3g}/s" for k, v in row["qddot_per_s"].items())
        + f"  |Δq̈| {max(diff.values()):.2g}")
    return row


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

    from discover.reports.benchmark_jax_report import plot, write_report
    from discover.studies.benchmark import uptime_line
    from discover.studies.speed import ratios

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
        plot(tmp / "jax.png", res, TEXT)
        (tmp / "jax.md").write_text(write_report(command, res, TEXT))
        for name in ("jax.json", "jax.png", "jax.md"):
            os.replace(tmp / name, out / name)
            staged.append(out / name)
    log("wrote", ", ".join(str(p) for p in staged), f"({res['wall_s']:.0f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
