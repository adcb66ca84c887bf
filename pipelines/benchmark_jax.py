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
(2) cost vs dof: a chain of n masses with a state-dependent mass matrix and fixed walls,
    L = Σ ½ m (1 + α x_i²) ẋ_i² − ½ k Σ (x_{i+1} − x_i)², α = 0.1, n = 2 … 64, the same formula
    as a torch callable for ONE state and as a JAX function (jit(vmap(...))).

Timings are medians of interleaved repeats (torch and JAX alternating) after warm-up.
Writes ``jax.md`` (first line: the command), ``jax.json`` (raw timings) and ``jax.png`` into
--out; each file is written to a temporary name and moved into place at the end.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path as _Path

# pipelines/discover.py must not shadow the discover package: drop this folder from sys.path
_HERE = _Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if _Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

import numpy as np  # noqa: E402

LNN_HIDDEN = (128, 128)
CHAIN = {"m": 1.0, "k": 1.0, "alpha": 0.1}


# ----------------------------------------------------------------------------------------
# threads, load, timing
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


def uptime_line() -> str:
    try:
        return subprocess.run(["uptime"], capture_output=True, text=True, timeout=5).stdout.strip()
    except Exception:  # pragma: no cover
        return "load average: %.2f, %.2f, %.2f" % os.getloadavg()


def time_interleaved(fns: dict, repeats: int, warmup: int = 2) -> dict:
    """Seconds per call of each function: ``warmup`` calls each (JIT compilation), then
    ``repeats`` rounds with the functions alternating, so that load from other processes hits
    all alike.  Each function must return only when its result is ready."""
    for _ in range(warmup):
        for f in fns.values():
            f()
    ts = {k: [] for k in fns}
    for _ in range(repeats):
        for k, f in fns.items():
            t0 = time.perf_counter()
            f()
            ts[k].append(time.perf_counter() - t0)
    return {k: {"median_s": float(np.median(v)), "all_s": v} for k, v in ts.items()}


def one_thread(fn):
    """``fn`` run with ONE torch thread (sensitivity check: OpenMP under a shared CPU)."""
    import torch

    def run():
        before = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return fn()
        finally:
            torch.set_num_threads(before)

    return run


# ----------------------------------------------------------------------------------------
# the JAX side (imported lazily: JAX is an optional extra)
# ----------------------------------------------------------------------------------------
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


def chain_lagrangian_jax(q, v, m=CHAIN["m"], k=CHAIN["k"], alpha=CHAIN["alpha"]):
    import jax.numpy as jnp

    kinetic = 0.5 * m * jnp.sum((1 + alpha * q ** 2) * v ** 2)
    ends = jnp.pad(q, 1)  # fixed walls at x = 0 on both sides
    return kinetic - 0.5 * k * jnp.sum((ends[1:] - ends[:-1]) ** 2)


def chain_lagrangian_torch(m=CHAIN["m"], k=CHAIN["k"], alpha=CHAIN["alpha"]):
    """The same chain Lagrangian as a torch callable for ONE state (q, qdot 1-D)."""
    import torch

    def L(q, v):
        kinetic = 0.5 * m * torch.sum((1 + alpha * q ** 2) * v ** 2)
        wall = q.new_zeros(1)
        ends = torch.cat([wall, q, wall])
        return kinetic - 0.5 * k * torch.sum((ends[1:] - ends[:-1]) ** 2)

    return L


# ----------------------------------------------------------------------------------------
# the measurements
# ----------------------------------------------------------------------------------------
def make_lnn(seed: int = 0):
    import torch

    from discover.neural import LagrangianNet

    torch.manual_seed(seed)
    return LagrangianNet(2, LNN_HIDDEN, activation="softplus").float()


def bench_lnn(batch, repeats, lr, log):
    import jax
    import jax.numpy as jnp
    import torch

    from discover import accelerations

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
    log(f"  LNN inference: " + "  ".join(f"{k} {v:.3g}/s" for k, v in out["qddot_per_s"].items())
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


def bench_chain(n, batch, repeats, max_call_s, seed, log):
    import jax
    import jax.numpy as jnp
    import torch

    from discover import accelerations

    L_t = chain_lagrangian_torch()
    jfn = {form: jax.jit(jax.vmap(jax_qddot(chain_lagrangian_jax, form))) for form in ("paper", "fwd")}
    rng = np.random.default_rng(seed + n)

    def data(b):
        q = rng.uniform(-0.5, 0.5, (b, n)).astype(np.float32)
        v = rng.uniform(-0.5, 0.5, (b, n)).astype(np.float32)
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
    sec = time_interleaved(fns, repeats)
    row = {"n": n, "batch": used, "timings": sec,
           "qddot_per_s": {k: used / v["median_s"] for k, v in sec.items()},
           "max_abs_dqddot": diff, "max_abs_qddot": float(qdd_t.abs().max())}
    log(f"  chain n={n:3d} B={used}: " + "  ".join(f"{k} {v:.3g}/s" for k, v in row["qddot_per_s"].items())
        + f"  |Δq̈| {max(diff.values()):.2g}")
    return row


def ratios(qps: dict) -> dict:
    """torch/JAX throughput ratios: against each JAX form and against the faster one."""
    best = max(qps["jax_paper"], qps["jax_fwd"])
    return {"vs_jax_paper": qps["torch"] / qps["jax_paper"], "vs_jax_fwd": qps["torch"] / qps["jax_fwd"],
            "vs_best_jax": qps["torch"] / best, "torch_1thread_vs_best_jax": qps["torch_1thread"] / best}


# ----------------------------------------------------------------------------------------
# plot and report
# ----------------------------------------------------------------------------------------
def plot(path, res):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = res["chain"]
    ns = [r["n"] for r in rows]
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    for key, lab, mk in (("torch", "torch: discover.accelerations", "o"),
                         ("jax_paper", "JAX jit: hessian + jacobian∘jacobian", "s"),
                         ("jax_fwd", "JAX jit: jacfwd∘grad", "^")):
        ax[0].loglog(ns, [r["qddot_per_s"][key] for r in rows], mk + "-", label=lab)
    ax[0].set_xlabel("degrees of freedom n")
    ax[0].set_ylabel("q̈ per second")
    ax[0].set_title("chain (α = 0.1), float32, 2 threads")
    ax[0].legend(fontsize=8)
    ax[1].semilogx(ns, [r["ratio"]["vs_jax_paper"] for r in rows], "s-", label="torch / JAX (paper form)")
    ax[1].semilogx(ns, [r["ratio"]["vs_best_jax"] for r in rows], "^-", label="torch / faster JAX form")
    ax[1].semilogx(ns, [r["ratio"]["torch_1thread_vs_best_jax"] for r in rows], "x--",
                   label="torch 1 thread / faster JAX (sensitivity)")
    ax[1].axhline(0.75, color="k", ls=":", lw=1)
    ax[1].plot([32], [0.75], "k*", ms=10, label="target at n = 32: ≥ 0.75")
    lnn = res["lnn"]["ratio"]
    ax[1].plot([2], [lnn["vs_best_jax"]], "rD", label=f"LNN MLP n = 2 (target ≥ 1): {lnn['vs_best_jax']:.2f}")
    ax[1].set_yscale("log")
    ax[1].set_xlabel("degrees of freedom n")
    ax[1].set_ylabel("throughput ratio torch / JAX")
    ax[1].set_title("ratio (> 1: torch faster)")
    ax[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _met(x, target):
    return f"**met** ({x:.2f} ≥ {target})" if x >= target else f"**not met** ({x:.2f} < {target})"


def write_report(command, res) -> str:
    lnn, env = res["lnn"], res["env"]
    qps, r = lnn["qddot_per_s"], lnn["ratio"]
    tr = lnn["training_step"]
    ch32 = next((row for row in res["chain"] if row["n"] == 32), None)
    L = [f"`{command}`", "", "# Speed against jit-compiled JAX (CPU, float32)", ""]
    L += ["## Key numbers", ""]
    L.append(f"- **LNN MLP (n = 2), batch {lnn['batch']}: torch/JAX = {r['vs_jax_paper']:.2f}× "
             f"against the paper's JAX form, {r['vs_best_jax']:.2f}× against the faster JAX form** "
             f"(torch {qps['torch']:.3g} q̈/s, JAX {qps['jax_paper']:.3g} / {qps['jax_fwd']:.3g} q̈/s). "
             f"Target torch ≥ 1× JAX: {_met(r['vs_best_jax'], 1)} against the faster JAX form; "
             f"{_met(r['vs_jax_paper'], 1)} against the paper form. "
             f"max |Δq̈| = {max(lnn['max_abs_dqddot'].values()):.2g} (max |q̈| {lnn['max_abs_qddot']:.3g}).")
    sps = tr["steps_per_s"]
    L.append(f"- LNN training step (batch {lnn['batch']}): torch {1e3 / sps['torch']:.0f} ms, "
             f"JAX {1e3 / sps['jax_paper']:.0f} ms (paper form) / {1e3 / sps['jax_fwd']:.0f} ms (fwd form): "
             f"torch/JAX = {sps['torch'] / sps['jax_paper']:.2f}× / {sps['torch'] / sps['jax_fwd']:.2f}× "
             f"(no target set); weight gradients agree to {max(tr['max_rel_dgrad_weights'].values()):.1g} (relative).")
    if ch32:
        c = ch32["ratio"]
        L.append(f"- **Chain n = 32, batch {ch32['batch']}: torch/JAX = {c['vs_jax_paper']:.2f}× (paper form), "
                 f"{c['vs_best_jax']:.2f}× (faster JAX form).** Target torch ≥ 0.75× JAX: "
                 f"{_met(c['vs_best_jax'], 0.75)} against the faster JAX form; {_met(c['vs_jax_paper'], 0.75)} "
                 f"against the paper form. max |Δq̈| = {max(ch32['max_abs_dqddot'].values()):.2g}.")
    L.append("- Chain ratio torch/(faster JAX) per n: " + ", ".join(
        f"n={row['n']}: {row['ratio']['vs_best_jax']:.2f}" for row in res["chain"]) + ".")
    L.append("- Sensitivity (not the target setting): the same torch calls with ONE torch thread, JAX still on "
             f"2 threads, interleaved in the same rounds: LNN {r['torch_1thread_vs_best_jax']:.2f}×; chain " + ", ".join(
                 f"n={row['n']}: {row['ratio']['torch_1thread_vs_best_jax']:.2f}" for row in res["chain"])
             + ". Where this is far above the 2-thread ratio, torch's OpenMP threads were losing to the other "
             "jobs on the shared cores (a parallel region waits for its slowest thread), not computing.")
    L.append(f"- Load: 1-min load average {res['load']['before']['load1']:.2f} before the timings, "
             f"{res['load']['after']['load1']:.2f} after (waited {res['load']['before']['waited_s']:.0f} s for "
             f"it to fall below {res['args']['max_load']:g}; 2 cores shared with other jobs: absolute "
             "numbers are noisy, ratios less so because torch and JAX alternate).")
    L += ["", "## Setup", ""]
    L.append(f"- torch {env['torch']}, jax/jaxlib {env['jax']}, numpy {env['numpy']}, Python {env['python']}; "
             f"{env['cpus']} CPUs visible.")
    th = env["threads"]
    L.append(f"- Threads: {th['threads']} for both. torch: `torch.set_num_threads({th['threads']})` "
             f"(→ {th['torch_threads']}), OMP/MKL/OPENBLAS_NUM_THREADS={th['OMP_NUM_THREADS']}; XLA: "
             f"`XLA_FLAGS=\"{th['XLA_FLAGS']}\"` set before JAX is imported, and XLA:CPU sizes its "
             f"intra-op pool from the CPUs the process may use, which is pinned with `sched_setaffinity` to "
             f"CPUs {th['affinity']} (on this 2-core machine: all of them).")
    L.append(f"- Timing: {res['args']['repeats']} interleaved repeats (torch, JAX paper form, JAX fwd form "
             "alternating), 2 warm-up calls each first (JIT compilation excluded); median per call. "
             "Every JAX call ends in `block_until_ready()`.")
    L.append("- torch: `discover.accelerations(L, Q, V)` with its defaults (mass-matrix check on, chunk 65536), "
             "L written for ONE state. JAX: jit(vmap(per-state q̈)) with `jnp.linalg.solve`, no check; "
             "*paper form* = `jax.hessian(L, 1)` for M and `jax.jacobian(jax.jacobian(L, 1), 0)` for C "
             "(as in the LNN paper's code), *fwd form* = `jax.jacfwd(jax.grad(L, 1), argnums=(0, 1))` "
             "giving C and M in one forward-over-reverse Jacobian.")
    L.append("- LNN: `LagrangianNet(2, (128, 128), softplus)` float32 (torch seed 0): MLP 4→128→128→1 on "
             "(q, q̇) plus ½‖q̇‖² (the project's LNN; the quadratic term keeps M positive definite at random "
             "weights), its weights and buffers copied into JAX arrays and passed to the jitted function as "
             "arguments (not folded as constants). States q, q̇ ~ N(0, 1).")
    L.append(f"- Training step: loss = mean‖q̈ − target‖² (target ~ N(0, 1)), gradient w.r.t. all weights; "
             f"torch: `zero_grad`, forward, `backward`, `torch.optim.SGD(lr={tr['lr']})` step; JAX: one jitted "
             "function `jax.value_and_grad` + p − lr·g. Before timing, the loss and weight gradients of both "
             f"at the same weights: loss torch {tr['loss_torch']:.6g}, JAX {tr['loss_jax']['paper']:.6g}.")
    L.append("- Chain: L = Σ ½ m(1 + α x_i²) ẋ_i² − ½ k Σ (x_{i+1} − x_i)² with walls x_0 = x_{n+1} = 0, "
             "m = k = 1, α = 0.1 (M depends on x, so XLA cannot fold it), the same vectorized formula in torch "
             "(`torch.cat` with wall zeros) and JAX (`jnp.pad`); states uniform in [−0.5, 0.5]. Batch 10⁴, "
             f"reduced to 10³ for an n where one torch call took > {res['args']['max_call_s']:g} s "
             "(the table's batch column says which).")
    L += ["", "## LNN MLP (n = 2)", "",
          "| | torch engine | JAX paper form | JAX fwd form |", "|---|---|---|---|"]
    L.append("| q̈/s (inference) | " + " | ".join(f"{qps[k]:.3g}" for k in ("torch", "jax_paper", "jax_fwd")) + " |")
    L.append("| ms per call | " + " | ".join(f"{lnn['inference'][k]['median_s'] * 1e3:.1f}"
                                            for k in ("torch", "jax_paper", "jax_fwd")) + " |")
    L.append(f"| torch/JAX | 1 | {r['vs_jax_paper']:.2f} | {r['vs_jax_fwd']:.2f} |")
    L.append(f"| torch, 1 thread: q̈/s | {qps['torch_1thread']:.3g} | – | – |")
    L.append("| max abs Δq̈ vs torch | – | " + " | ".join(f"{lnn['max_abs_dqddot'][k]:.2g}" for k in ("paper", "fwd")) + " |")
    L.append("| training step, ms | " + " | ".join(f"{tr['timings'][k]['median_s'] * 1e3:.1f}"
                                                  for k in ("torch", "jax_paper", "jax_fwd")) + " |")
    L.append("| training torch/JAX | 1 | " + " | ".join(f"{sps['torch'] / sps[k]:.2f}" for k in ("jax_paper", "jax_fwd")) + " |")
    L.append("| max rel. Δ weight gradient | – | " + " | ".join(
        f"{tr['max_rel_dgrad_weights'][k]:.2g}" for k in ("paper", "fwd")) + " |")
    L += ["", "## Chain of n masses (cost vs dof)", "",
          "| n | batch | torch q̈/s | JAX paper q̈/s | JAX fwd q̈/s | torch/JAX paper | torch/JAX fwd | torch 1 thread q̈/s | max abs Δq̈ | max abs q̈ |",
          "|---|---|---|---|---|---|---|---|---|---|"]
    for row in res["chain"]:
        q = row["qddot_per_s"]
        L.append(f"| {row['n']} | {row['batch']} | {q['torch']:.3g} | {q['jax_paper']:.3g} | {q['jax_fwd']:.3g} | "
                 f"{row['ratio']['vs_jax_paper']:.2f} | {row['ratio']['vs_jax_fwd']:.2f} | {q['torch_1thread']:.3g} | "
                 f"{max(row['max_abs_dqddot'].values()):.2g} | {row['max_abs_qddot']:.3g} |")
    L += ["", "![throughput and ratio vs n](jax.png)", "",
          "## Load", "",
          f"- before: `{res['load']['before']['uptime']}`",
          f"- after: `{res['load']['after']['uptime']}`",
          f"- total wall time {res['wall_s']:.0f} s.", ""]
    return "\n".join(L)


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
