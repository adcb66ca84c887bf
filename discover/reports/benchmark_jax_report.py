"""Figure and markdown report of ``pipelines/benchmark_jax.py`` (numbers from the pipeline and
:mod:`discover.studies.speed`).  How the JAX forms and the training steps compute is described by
the pipeline that defines them (``text``: ``paper_label``, ``fwd_label``, ``forms``, ``training``
with a ``{lr}`` field)."""
from __future__ import annotations


# ----------------------------------------------------------------------------------------
# plot and report
# ----------------------------------------------------------------------------------------
def plot(path, res, text):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = res["chain"]
    ns = [r["n"] for r in rows]
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    for key, lab, mk in (("torch", "torch: discover.accelerations", "o"),
                         ("torch_dense", "torch, structure=False (dense solve)", "v"),
                         ("jax_paper", text["paper_label"], "s"),
                         ("jax_fwd", text["fwd_label"], "^")):
        ax[0].loglog(ns, [r["qddot_per_s"][key] for r in rows], mk + "-", label=lab)
    pend = res.get("pendulum_chain") or []
    if pend:
        pn = [r["n"] for r in pend]
        ax[0].loglog(pn, [r["qddot_per_s"]["torch"] for r in pend], "o:", color="C0", label="n-link pendulum: torch")
        ax[0].loglog(pn, [max(r["qddot_per_s"]["jax_paper"], r["qddot_per_s"]["jax_fwd"]) for r in pend], "s:",
                     color="C2", label="n-link pendulum: faster JAX")
    ax[0].set_xlabel("degrees of freedom n")
    ax[0].set_ylabel("q̈ per second")
    ax[0].set_title("chain (α = 0.1) and n-link pendulum, float32, 2 threads")
    ax[0].legend(fontsize=8)
    ax[1].semilogx(ns, [r["ratio"]["vs_jax_paper"] for r in rows], "s-", label="torch / JAX (paper form)")
    ax[1].semilogx(ns, [r["ratio"]["vs_best_jax"] for r in rows], "^-", label="torch / faster JAX form")
    ax[1].semilogx(ns, [r["ratio"]["dense_vs_best_jax"] for r in rows], "v-",
                   label="torch dense solve / faster JAX")
    if pend:
        ax[1].semilogx(pn, [r["ratio"]["vs_best_jax"] for r in pend], "o:", label="n-link pendulum (dense M)")
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


def write_report(command, res, text) -> str:
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
    if ch32:
        L.append(f"- The chain's M is diagonal and the engine finds that and divides; forced to the dense "
                 f"Cholesky (`structure=False`, the work `jnp.linalg.solve` does) the n = 32 ratio is "
                 f"{ch32['ratio']['dense_vs_best_jax']:.2f}×.")
    L.append("- Chain ratio torch/(faster JAX) per n: " + ", ".join(
        f"n={row['n']}: {row['ratio']['vs_best_jax']:.2f}" for row in res["chain"])
        + "; with the dense solve: " + ", ".join(
        f"n={row['n']}: {row['ratio']['dense_vs_best_jax']:.2f}" for row in res["chain"]) + ".")
    pend = res.get("pendulum_chain") or []
    if pend:
        L.append("- **n-link pendulum (dense M(q))**, ratio torch/(faster JAX) per n: " + ", ".join(
            f"n={row['n']}: {row['ratio']['vs_best_jax']:.2f}" for row in pend) + ".")
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
    L.append("- torch: `discover.accelerations(L, Q, V)` with its defaults (mass-matrix check on, chunk 65536, "
             "`structure=True`: a diagonal or narrow-band M, read off the batch, is solved by tensor arithmetic, "
             "a dense one by LAPACK's batched Cholesky), L written for ONE state; the engine raises glibc's "
             "mmap/trim thresholds on its first call (`discover/allocator.py`). " + text["forms"])
    L.append("- LNN: `LagrangianNet(2, (128, 128), softplus)` float32 (torch seed 0): MLP 4→128→128→1 on "
             "(q, q̇) plus ½‖q̇‖² (the project's LNN; the quadratic term keeps M positive definite at random "
             "weights), its weights and buffers copied into JAX arrays and passed to the jitted function as "
             "arguments (not folded as constants). States q, q̇ ~ N(0, 1).")
    L.append("- Training step: loss = mean‖q̈ − target‖² (target ~ N(0, 1)), gradient w.r.t. all weights; "
             + text["training"].format(lr=tr["lr"]) + " Before timing, the loss and weight gradients of both "
             f"at the same weights: loss torch {tr['loss_torch']:.6g}, JAX {tr['loss_jax']['paper']:.6g}.")
    L.append("- Chain: L = Σ ½ m(1 + α x_i²) ẋ_i² − ½ k Σ (x_{i+1} − x_i)² with walls x_0 = x_{n+1} = 0, "
             "m = k = 1, α = 0.1 (M depends on x, so XLA cannot fold it), the same vectorized formula in torch "
             "(`torch.cat` with wall zeros) and JAX (`jnp.pad`); states uniform in [−0.5, 0.5]. Batch 10⁴, "
             f"reduced to 10³ for an n where one torch call took > {res['args']['max_call_s']:g} s "
             "(the table's batch column says which).")
    L.append("- n-link pendulum: unit masses and lengths, g = 9.81, angles θ_i from the vertical; bob velocities "
             "by cumulative sums (`torch.cumsum` / `jnp.cumsum`), so M_ij = Σ_{k ≥ max(i,j)} cos(θ_i − θ_j) is "
             "dense and state-dependent; states uniform in [−0.5, 0.5].")
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
    L += ["", "## Chain of n masses (cost vs dof, diagonal M)", "",
          "| n | batch | torch q̈/s | torch dense-solve q̈/s | JAX paper q̈/s | JAX fwd q̈/s | torch/JAX paper | "
          "torch/JAX fwd | dense-solve/faster JAX | torch 1 thread q̈/s | max abs Δq̈ | max abs q̈ |",
          "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in res["chain"]:
        q = row["qddot_per_s"]
        L.append(f"| {row['n']} | {row['batch']} | {q['torch']:.3g} | {q['torch_dense']:.3g} | {q['jax_paper']:.3g} | "
                 f"{q['jax_fwd']:.3g} | {row['ratio']['vs_jax_paper']:.2f} | {row['ratio']['vs_jax_fwd']:.2f} | "
                 f"{row['ratio']['dense_vs_best_jax']:.2f} | {q['torch_1thread']:.3g} | "
                 f"{max(row['max_abs_dqddot'].values()):.2g} | {row['max_abs_qddot']:.3g} |")
    if pend:
        L += ["", "## n-link pendulum (cost vs dof, dense M)", "",
              "| n | batch | torch q̈/s | JAX paper q̈/s | JAX fwd q̈/s | torch/JAX paper | torch/JAX fwd | "
              "torch 1 thread q̈/s | max abs Δq̈ | max abs q̈ |", "|---|---|---|---|---|---|---|---|---|---|"]
        for row in pend:
            q = row["qddot_per_s"]
            L.append(f"| {row['n']} | {row['batch']} | {q['torch']:.3g} | {q['jax_paper']:.3g} | {q['jax_fwd']:.3g} | "
                     f"{row['ratio']['vs_jax_paper']:.2f} | {row['ratio']['vs_jax_fwd']:.2f} | "
                     f"{q['torch_1thread']:.3g} | {max(row['max_abs_dqddot'].values()):.2g} | "
                     f"{row['max_abs_qddot']:.3g} |")
    L += ["", "![throughput and ratio vs n](jax.png)", "",
          "## Load", "",
          f"- before: `{res['load']['before']['uptime']}`",
          f"- after: `{res['load']['after']['uptime']}`",
          f"- total wall time {res['wall_s']:.0f} s.", ""]
    return "\n".join(L)
