"""Report of ``pipelines/extrapolation.py`` (numbers from :mod:`discover.studies.extrapolation`)."""
from __future__ import annotations

import math
from pathlib import Path

__all__ = ["plot_extrapolation", "write_extrapolation_report"]


def plot_extrapolation(results: list[dict], path) -> Path:
    """Left: relative q̈ error per distance bin; right: median valid rollout time per start level."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
    styles = {"sparse L": "o-", "MLP L": "s--"}
    for res in results:
        bins = res["qddot"]["bins"]
        mid = [0.0] + [(a + b) / 2 for a, b in bins[1:]]
        for model, errs in res["qddot"]["errors"].items():
            axes[0].plot(mid, [max(e, 1e-16) for e in errs], styles.get(model, "x-"),
                         label=f"{res['system']}, {model}")
        levels = [lv - res["bound"] for lv in res["rollouts"]["levels"]]
        for model, vt in res["rollouts"]["median_valid_time"].items():
            axes[1].plot(levels, vt, styles.get(model, "x-"), label=f"{res['system']}, {model}")
    axes[0].set_yscale("log")
    axes[0].set_xlabel("distance from the training region d (rad)")
    axes[0].set_ylabel("relative q̈ error")
    axes[0].axvline(0, color="0.6", lw=0.6)
    axes[1].set_xlabel("start: max |θ| − bound (rad; < 0 inside)")
    axes[1].set_ylabel("median valid time (s)")
    axes[1].axvline(0, color="0.6", lw=0.6)
    axes[0].legend(fontsize=7)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _g(x) -> str:
    return "inf" if not math.isfinite(x) else f"{x:.2g}"


def _section(res) -> str:
    tr, st = res["training"], res["settings"]
    q = res["qddot"]
    labels = ["inside"] + [f"({a:.2g}, {b:.2g}]" for a, b in q["bins"][1:]]
    models = list(q["errors"])
    t1 = ("| d (rad) | test states | " + " | ".join(f"{m} q̈ error" for m in models) + " |\n|---|---|"
          + "---|" * len(models) + "\n")
    t1 += "".join(f"| {lab} | {n} | " + " | ".join(_g(q["errors"][m][i]) for m in models) + " |\n"
                  for i, (lab, n) in enumerate(zip(labels, q["counts"])))
    r = res["rollouts"]
    t2 = ("| start max abs θ (rad) | " + " | ".join(f"{m} median valid s (full)" for m in models)
          + " |\n|---|" + "---|" * len(models) + "\n")
    t2 += "".join(f"| {lv:.2g} | " + " | ".join(
        f"{r['median_valid_time'][m][i]:.2g} ({r['fraction_full'][m][i]:.0%})" for m in models) + " |\n"
        for i, lv in enumerate(r["levels"]))
    return f"""## {res['system']}

Training: {tr['trajectories']} true trajectories ({tr['samples']} samples) with all angles within
±{res['bound']} rad, speeds up to {', '.join(f'{v:.2g}' for v in tr['max_speed'])} rad/s.  Sparse fit
{tr['sparse_fit_s']:.0f} s: `{res['sparse_lagrangian']}` (true: `{res['true_lagrangian']}`).  MLP:
{tr['mlp_states']} of those states, {tr['mlp_epochs']} epochs in {tr['mlp_fit_s']:.0f} s, validation
relative q̈ error {tr['mlp_val_error']:.3g}.

q̈ error on {st['n_test']} states with angles uniform in ±π and speeds in the training band, by
distance d from the region:

{t1}
Rollouts from rest ({st['n_rollouts']} starts per level, RK4 dt = {st['dt']}, to t = {st['t_end']} s):
median time until an angle is off the true rollout by more than {st['tolerance']} rad (in brackets: the
fraction valid to the end):

{t2}"""


def reading(results) -> str:
    lines = []
    for res in results:
        e = res["qddot"]["errors"]
        r = res["rollouts"]
        lines.append(
            f"- {res['system']}: inside the region the MLP's q̈ error is {_g(e['MLP L'][0])} and the sparse "
            f"L's {_g(e['sparse L'][0])}; in the farthest bin (d up to {res['qddot']['bins'][-1][1]:.2g} rad) "
            f"the MLP's is {_g(e['MLP L'][-1])} ({_g(e['MLP L'][-1] / max(e['MLP L'][0], 1e-300))}× its inside "
            f"error), the sparse L's {_g(e['sparse L'][-1])}.  Median valid rollout time from the farthest "
            f"start ({r['levels'][-1]:.2g} rad): MLP {r['median_valid_time']['MLP L'][-1]:.2g} s, sparse "
            f"{r['median_valid_time']['sparse L'][-1]:.2g} s (of {res['settings']['t_end']} s).")
    lines.append(
        "- The sparse fit extrapolates exactly when its library contains the true terms (cos θ, "
        "cos(θ1 − θ2)·θ̇1θ̇2): the missing region costs it nothing.  The MLP knows only where it was "
        "trained: its error grows with the distance from the region, which is the information that is "
        "missing, and its rollouts from outside leave the truth within fractions of a period.")
    return "\n".join(lines)


def write_extrapolation_report(out: Path, command: str, results: list[dict], args, runtime_s: float) -> None:
    plot_extrapolation(results, out / "extrapolation.png")
    text = f"""# Outside the sampled region: sparse L vs MLP L

Command: `{command}`

Runtime {runtime_s:.0f} s on CPU.  Both models are fitted on motions confined to |θᵢ| ≤
{args.bound} rad and tested on states and rollouts farther out.  Sparse: `SparseLagrangian()` with
default settings on the trajectories (exact q̇, q̈).  MLP: `MLPLagrangian(hidden={tuple(args.hidden)},
epochs={args.epochs}, batch_size={args.batch_size}, lr={args.lr}, seed={args.seed})` on states of
the same trajectories with their true q̈.  Distance of a state: d = max(maxᵢ |θᵢ| − bound, 0).
Test states draw angles and speeds independently, so even "inside" (d = 0) holds combinations
(large angle with large speed) that no training motion reached: the MLP's "inside" error is
already above its validation error on states of the training motions.

![q̈ error and valid rollout time against distance](extrapolation.png)

{chr(10).join(_section(r) for r in results)}
## Conclusions

{reading(results)}
"""
    (out / "report.md").write_text(text)
