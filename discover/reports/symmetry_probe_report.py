"""Report of ``pipelines/symmetry_probe.py`` (numbers from :mod:`discover.studies.symmetry_probe`)."""
from __future__ import annotations

from pathlib import Path

__all__ = ["plot_probe", "write_probe_report"]


def plot_probe(results: list[dict], path) -> Path:
    """Per system: q̈ equivariance violation of the MLP and of the true system, in units of the
    MLP's held-out q̈ error, per candidate symmetry (log scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, len(results), figsize=(4.6 * len(results), 3.8), squeeze=False)
    for ax, res in zip(axes[0], results):
        rows = res["rows"]
        x = np.arange(len(rows))
        floor = 1e-3
        ax.bar(x - 0.2, [max(r["model_violation"], floor) for r in rows], 0.4, label="MLP Lagrangian")
        ax.bar(x + 0.2, [max(r["true_violation"], floor) for r in rows], 0.4, label="true system")
        ax.axhline(2.0, color="k", ls="--", lw=0.8, label="verdict threshold (2)")
        ax.set_yscale("log")
        ax.set_xticks(x, [r["candidate"].replace(" of ", "\n").replace(" in ", "\n") for r in rows], fontsize=7)
        ax.set_title(res["system"], fontsize=10)
        ax.set_ylabel("rms(q̈(g·s) − R q̈(s)) / MLP q̈ error", fontsize=8)
    axes[0, 0].legend(fontsize=7)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def _table(rows) -> str:
    head = ("| candidate g | system has it | MLP violation | true violation | L change | MLP charge variation | verdict |\n"
            "|---|---|---|---|---|---|---|\n")
    body = "".join(
        f"| {r['candidate']} | {'yes' if r['system_symmetric'] else 'no'} | {r['model_violation']:.3g} | "
        f"{r['true_violation']:.3g} | {r['L_change']:.3g} | {r.get('charge_variation', float('nan')):.3g} | "
        f"{r['verdict']} |\n" for r in rows)
    return head + body


def write_probe_report(out: Path, command: str, results: list[dict], args, runtime_s: float) -> None:
    plot_probe(results, out / "symmetry_probe.png")
    sections = []
    for res in results:
        rows = res["rows"]
        learned = [r["candidate"] for r in rows if r["verdict"] == "learned"]
        broken = [r["candidate"] for r in rows if r["verdict"] == "broken by the model"]
        spurious = [r["candidate"] for r in rows if r["verdict"].startswith("spurious")]
        summary = (f"Learned: {', '.join(learned) or 'none'}; broken: {', '.join(broken) or 'none'}; "
                   f"spurious: {', '.join(spurious) or 'none'}.")
        sections.append(
            f"### {res['system']}\n\n`L = {res['lagrangian']}`; MLP held-out q̈ error "
            f"{rows[0]['model_qddot_error']:.3g} (absolute RMS), validation relative error "
            f"{res['val_error']:.3g}, {res['epochs_run']} epochs at lr {res['lr_used']:.3g} in {res['fit_time_s']:.0f} s.\n\n"
            + _table(rows) + "\n" + summary + "\n")
    text = f"""# Which symmetries did an MLP Lagrangian learn?

Command: `{command}`

Runtime {runtime_s:.0f} s on CPU.  Each system: an MLP Lagrangian
(`discover.neural.MLPLagrangian`, hidden {tuple(args.hidden)}, {args.epochs} epochs max, batch
{args.batch_size}, lr {args.lr}, seed {args.seed}) trained on {args.n_train} random states of the
sampled region with their true q̈, probed on {args.n_test} new states of the same region (a run
whose validation loss diverges is retried at lr/3, then lr/10; the lr used is given per system).

Candidates g: translation of each coordinate by {args.shift}, of all together, rotation of each
coordinate pair by {args.angle} rad; only states s with g·s inside the sampled region count
("n_states" in metrics.json), so nothing here is extrapolation.

- **MLP / true violation**: rms(q̈(g·s) − R q̈(s)) in units of the MLP's own held-out q̈ error
  (R: the linear part of g).  The true system's value is 0 exactly when g is its symmetry.  A
  model that respects g as well as its accuracy allows scores about 1 or less (its errors at s
  and g·s are partly correlated); verdict threshold 2.
- **L change**: rms(L(g·s) − L(s)) / std of L — gauge-dependent (L + dF/dt moves the same way),
  shown, not used for the verdict.
- **MLP charge variation**: the MLP's Noether charge ξ·∂L/∂q̇ (F = 0 assumed) along 8 true
  trajectories (3 s): (max − min) over the RMS size of its terms, worst trajectory.

![equivariance violations](symmetry_probe.png)

{chr(10).join(sections)}
## Reading

{reading(results)}
"""
    (out / "report.md").write_text(text)


def reading(results) -> str:
    lines = []
    for res in results:
        for r in res["rows"]:
            if r["system_symmetric"]:
                lines.append(
                    f"- {res['system']}, {r['candidate']} (a true symmetry): the MLP's q̈ violates it by "
                    f"{r['model_violation']:.2g}× its own q̈ error — {r['verdict']}; its Noether charge "
                    f"varies by {r.get('charge_variation', float('nan')):.2g} of its size along true motions.")
        broken = [r for r in res["rows"] if not r["system_symmetric"] and r["true_violation"] >= 2.0]
        vague = [r for r in res["rows"] if not r["system_symmetric"] and r["true_violation"] < 2.0]
        if vague:
            lines.append(
                f"- {res['system']}: {len(vague)} candidate(s) the system breaks by only "
                f"{min(r['true_violation'] for r in vague):.2g}–{max(r['true_violation'] for r in vague):.2g}× "
                "the MLP's q̈ error: at this accuracy the probe cannot tell whether the MLP learned the "
                "breaking (a better-trained MLP is needed).")
        if broken:
            ratio = [r["model_violation"] / r["true_violation"] for r in broken if r["true_violation"] > 0]
            lines.append(
                f"- {res['system']}: for the {len(broken)} candidates the system breaks, the MLP's violation is "
                f"{min(ratio):.2f}–{max(ratio):.2f} × the true one: it reproduces the breaking rather than "
                "inventing a symmetry" if ratio and min(ratio) > 0.5 else
                f"- {res['system']}: some broken candidates look nearly invariant in the MLP (spurious).")
    return "\n".join(lines)
