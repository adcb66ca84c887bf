"""Figures and markdown report of ``pipelines/energy_study.py`` (numbers and curves from
:mod:`discover.studies.energy`)."""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def double_pendulum_figure(out: Path, curves: dict, args) -> None:
    """double_pendulum_energy.png: median and quartiles over rollouts of each model's energy error."""
    plt = _pyplot()
    t = curves["t"]
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for name, err in curves["energy_error"].items():
        med = np.clip(np.median(err, 1), 1e-7, None)
        lo, hi = (np.clip(np.quantile(err, p, 1), 1e-7, None) for p in (0.25, 0.75))
        (line,) = ax.plot(t, med, label=name)
        ax.fill_between(t, lo, hi, color=line.get_color(), alpha=0.15, lw=0)
    ax.set(yscale="log", ylim=(1e-7, 10), xlabel="t", ylabel="|E(t) − E(0)| / (V_max − V_min)",
           title=f"Double pendulum: median and quartiles of {args.test_states} rollouts, RK4 dt={args.dt}")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "double_pendulum_energy.png", dpi=120)
    plt.close(fig)


def relativistic_figure(out: Path, curves: dict, args) -> None:
    """relativistic.png: one rollout of each model against the closed form, and the median energy error."""
    plt = _pyplot()
    t = curves["t"]
    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    axes[0].plot(t, curves["exact_x"], "k-", lw=2, label="exact")
    for m in curves["models"]:
        axes[0].plot(t, m["x"], f"C{m['color']}--", label=m["name"])
        axes[1].plot(t, np.clip(m["energy_error_median"], 1e-7, None), f"C{m['color']}", label=m["name"])
    axes[0].set(xlabel="t", ylabel="x", title="Relativistic particle: one rollout")
    axes[1].set(yscale="log", xlabel="t", ylabel="|E(t) − E(0)| / (4mg), median", ylim=(1e-7, None),
                title=f"{args.test_states} rollouts")
    axes[0].legend(fontsize=8)
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "relativistic.png", dpi=120)
    plt.close(fig)


def reading(dp: dict, rel: dict, args) -> str:
    """Plain-language summary built from the measured numbers."""
    def rank(res, key):
        ok = {k: v[key] for k, v in res.items() if key in v and k != "true L"}
        return sorted(ok, key=lambda k: (not math.isfinite(ok[k]), ok[k]))

    dp_rank = rank(dp, "energy_error_median")
    rel_rank = rank(rel, "position_error_final_median")
    lines = [
        "Double pendulum, median true-energy error over all times and states: "
        + " < ".join(f"{k} ({dp[k]['energy_error_median']:.2g})" for k in dp_rank)
        + f"; the integration floor (true L) is {dp['true L']['energy_error_median']:.2g}.",
        "A learned Lagrangian conserves its own energy in continuous time, so the true energy of "
        "its rollouts oscillates within the model error instead of drifting; the black-box field "
        "has no conserved quantity (its error curve grows with t).  The HNN on (q, q̇) also "
        "conserves something, but Hamilton's equations with q̇ as momentum cannot represent the "
        "dynamics (p = M(q)q̇ ≠ q̇), which shows in its q̈ error.",
        f"Relativistic particle, median position error at t = {args.rel_t_end}: "
        + " < ".join(f"{k} ({rel[k]['position_error_final_median']:.2g})" for k in rel_rank)
        + ".  Here the non-canonical HNN fails outright; the MLP Lagrangian and the black box both "
        "follow the closed form inside the training box over this short horizon.",
        f"Small runs ({args.epochs} epochs on shared CPU cores, far less training than the paper): "
        "absolute errors are larger than published; compare the models with each other.",
    ]
    return "\n\n".join(lines)


def write_report(out: Path, command: str, metrics: dict, args):
    def table(res, cols):
        head = "| model | " + " | ".join(c for c, _ in cols) + " |\n|---|" + "---|" * len(cols) + "\n"
        rows = ""
        for name, r in res.items():
            cells = [("—" if r.get(k) is None else f"{r[k]:.3g}") if k in r or "rollout" not in r
                     else r["rollout"] for _, k in cols]
            rows += f"| {name} | " + " | ".join(cells) + " |\n"
        return head + rows

    dp, rel = metrics["double_pendulum"], metrics["relativistic"]
    text = f"""# Energy drift of learned models (LNN paper study, small)

Command: `{command}`

Runtime {metrics['runtime_s']:.0f} s on CPU ({torch.get_num_threads()} thread(s)); all models
{tuple(args.hidden)} softplus MLPs in float32, Adam + cosine schedule, {args.epochs} epochs, batch
{args.batch_size}, lr {args.lr}, seed {args.seed}.  The MLP Lagrangian is
`discover.neural.MLPLagrangian` (q̈ from the Euler–Lagrange equations by autograd); the
black-box MLP predicts q̈ directly; the HNN learns H(q, q̇) and uses Hamilton's equations as if
q̇ were the canonical momentum (it is not: p = M(q)q̇), as in the LNN paper's comparison.

## Double pendulum

Training data: {dp['info']['n_train']} states along {args.train_traj} true trajectories
(t ≤ {args.train_t}), accelerations from the true L.  Test: {args.test_states} new initial
states, RK4 with dt = {args.dt} to t = {args.t_end}.  Energy error = |E(t) − E(0)| of the TRUE
energy along each rollout, divided by the potential-energy range
{dp['info']['potential_range']:.4g} (= max V − min V).  "sparse L" is `SparseLagrangian()` with default settings fitted to POSITIONS only: {args.sparse_traj}
trajectories of the same length sampled every {args.sparse_dt} s (clean, and with 1 % Gaussian
noise), derivatives estimated; the networks see exact q̇ and q̈.  "true L" is the exact Lagrangian through the
same integrator (integration error floor).  "inf": at least one rollout became non-finite;
"blown up": rollouts whose energy error exceeded 1 (the whole potential range) or became non-finite.

{table(dp['results'], [("q̈ rel. error (val)", "qddot_rel_error_val"), ("energy err. median", "energy_error_median"), ("energy err. mean", "energy_error_mean"), ("median at t_end", "energy_error_final_median"), ("max", "energy_error_max"), ("blown up", "rollouts_blown_up"), ("train s", "train_s")])}
![double pendulum](double_pendulum_energy.png)

## Relativistic particle

L = −m√(1−ẋ²) − mgx (m = 1, g = 0.5); {args.rel_train} random states x ∈ [−2, 2], ẋ ∈ [−0.9, 0.9].
Rollouts to t = {args.rel_t_end} from {args.test_states} states x₀ ∈ [−0.5, 0.5], ẋ₀ ∈ [−0.3, 0.6]
(they stay inside the training box), against the closed form.
Energy error normalized by 4mg (the potential range over x ∈ [−2, 2]).

{table(rel['results'], [("q̈ rel. error (val)", "qddot_rel_error_val"), ("x error at t_end (median)", "position_error_final_median"), ("energy err. median", "energy_error_median"), ("max", "energy_error_max"), ("max speed", "max_speed"), ("train s", "train_s")])}
![relativistic](relativistic.png)

## Reading

{reading(dp['results'], rel['results'], args)}
"""
    (out / "report.md").write_text(text)
