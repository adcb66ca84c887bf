"""Scaling study report: the table, the figure and the time exponent, rendered from the rows of
:func:`discover.studies.scaling.run_study` (no computing here beyond formatting)."""
from __future__ import annotations

import math
import os

from ..studies.scaling import ScalingConfig, time_exponent

__all__ = ["plot_scaling", "write_report"]


def _num(x, fmt: str) -> str:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return "–"
    return "–" if math.isnan(x) else format(x, fmt)


def plot_scaling(rows: list[dict], out_dir: str) -> str:
    """Fit time and library size against n (log-log), one line per system and noise level →
    scaling.png."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_t, ax_k) = plt.subplots(1, 2, figsize=(11, 4.2))
    for system in sorted({r["system"] for r in rows}):
        for level in sorted({r["noise"] for r in rows}):
            ok = [r for r in rows if r["system"] == system and r["noise"] == level and r["status"] == "ok"]
            ax_t.plot([r["n"] for r in ok], [r["fit_seconds"] for r in ok], "o-" if system == "chain" else "s--",
                      label=f"{system}, noise {level:g}")
            bad = [r for r in ok if not r["success"]]
            ax_t.plot([r["n"] for r in bad], [r["fit_seconds"] for r in bad], "x", color="red", ms=10)
        size = {r["n"]: r for r in rows if r["system"] == system and r.get("tier_terms") not in (None, "")}
        ns = sorted(size)
        ax_k.plot(ns, [size[n]["tier_terms"] for n in ns], "o-", label=f"{system}: tier chosen")
    ns = sorted({r["n"] for r in rows})
    quad = {r["n"]: r["quadratic_terms"] for r in rows if r.get("quadratic_terms") not in (None, "")}
    ax_k.plot(ns, [quad.get(n, math.nan) for n in ns], "k:", label="full quadratic tier (2n² + 3n)")
    ax_k.axhline(400, color="grey", lw=0.8, ls="-.", label="max_terms = 400")
    for ax in (ax_t, ax_k):
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xlabel("n (degrees of freedom)")
        ax.legend(fontsize=7)
    ax_t.set_ylabel("fit time [s]  (red x: support not exact)")
    ax_k.set_ylabel("library terms")
    ax_t.set_title("SparseLagrangian().fit, default tiers")
    ax_k.set_title("library size")
    fig.tight_layout()
    name = "scaling.png"
    fig.savefig(os.path.join(out_dir, name), dpi=110)
    plt.close(fig)
    return name


def _cell(r: dict) -> str:
    head = f"| {r['system']} | {r['n']} | {r['noise']:g} | {r.get('tiers', '–')} | {r.get('truth_in', '–')} |"
    if r["status"] != "ok":
        return head + f" {r['status']} | | {r.get('truth_terms', '–')} | {_num(r.get('fit_seconds'), '.1f')} | | | no | | |"
    return head + (
        f" {r['library']} ({r['tier_terms']}) | {r['model_terms']} | {r['truth_terms']} | "
        f"{_num(r['fit_seconds'], '.1f')} | {_num(r['peak_rss_mb'], '.0f')} | {_num(r['fit_rss_growth_mb'], '.0f')} | "
        f"{'yes' if r['success'] else 'no'} | {_num(r['coef_rel_error'], '.2g')} | {_num(r['qddot_error'], '.2g')} |")


def _why(rows: list[dict]) -> list[str]:
    """Known causes, each stated only when a row shows it."""
    out = []
    equivalent = [r for r in rows if r["status"] == "ok" and not r["success"] and r.get("truth_in") != "none"
                  and float(r.get("qddot_error") or 1) < 1e-3]
    if any(r["system"] == "chain" and r["n"] == 2 for r in equivalent):
        out.append("- chain n = 2: an equivalent Lagrangian, not the textbook one. Every L = ½ẋᵀAẋ − ½xᵀBx with "
                   "A⁻¹B = M⁻¹K moves the same; A = aM + bK, B = aK + bKM⁻¹K is such a family, and at n = 2 "
                   "KM⁻¹K has no entry outside the quadratic tier, so the exact supports with ẋ₁ẋ₂ hold a line of "
                   "exact models and the fit returns one point on it (held-out q̈ error as small as the truth's). "
                   "From n = 3 the local tier excludes the pentadiagonal KM⁻¹K and only b = 0 remains.")
    missing = sorted({(r["system"], r["n"]) for r in rows if r.get("truth_in") == "none"})
    if missing:
        out.append("- no default tier within max_terms = 400 contains the true L for: "
                   + ", ".join(f"{s} n = {n}" for s, n in missing)
                   + ". The n-link pendulum couples every pair of links (θ̇ᵢθ̇ⱼ cos(θᵢ − θⱼ), n(n − 1)/2 "
                   "terms); the smallest tier that holds these, links (θ̇ᵢ², θ̇ᵢθ̇ⱼ cos(θᵢ − θⱼ), cos θᵢ, sin θᵢ: "
                   "n(n + 5)/2 terms), is over the limit from n = 26; the generic ones (trig, mechanics) grow as "
                   "n⁴ and n², over it from n = 5 and n = 8.")
    failed = [r for r in rows if r["status"] != "ok"]
    if failed:
        out.append("- cells stopped: " + "; ".join(f"{r['system']} n = {r['n']}, noise {r['noise']:g}: "
                                                   f"{r['status']} ({r.get('error', '')})" for r in failed))
    return ["", "### Why", "", *out] if out else []


def write_report(path: str, command: str, rows: list[dict], figure: str, cfg: ScalingConfig,
                 seconds: float) -> None:
    """results/scaling/report.md: command, setup, table, exponents, figure, the cells not exact."""
    lines = [
        "# Scaling study: discovery with many degrees of freedom",
        "",
        "```",
        command,
        "```",
        "",
        "Systems: `chain` — n masses between walls, L = Σ ½ẋᵢ² − ½Σ(xᵢ₊₁ − xᵢ)² (x₀ = xₙ₊₁ = 0), 3n − 1 terms, "
        "closed-form data; `pendulum_chain` — an n-link pendulum of unit masses and rods "
        "(`discover/studies/pendulum_chain.py`), L = ½Σᵢⱼ cᵢⱼ θ̇ᵢθ̇ⱼ cos(θᵢ − θⱼ) + gΣ cᵢᵢ cos θᵢ with "
        "cᵢⱼ = n − max(i, j) + 1: every pair of links coupled, 2n + n(n − 1)/2 terms, RK4 data. "
        f"Data: {cfg.n_traj} trajectories × {cfg.duration:g} s at dt {cfg.dt:g}, seed {cfg.seed}; noise "
        "σ = level × std(q) on the positions only. Fit: the default path, `SparseLagrangian().fit(data)` with "
        "no options and coordinates named as in a CSV (x1 … xn, theta1 … thetan), one torch thread, each "
        f"cell in a fresh process stopped after {cfg.timeout:g} s and limited to {cfg.memory_gb:g} GB of address "
        "space, one cell at a time on a shared 2-core "
        "machine (timings are indicative).",
        "",
        "Columns: *default tiers* what `default_tiers` offers for these names (name:terms; tiers over "
        "`max_terms` = 400 are left out); *truth in* those of them that contain every term of the true L; *chosen* the tier of the selected model (its size); *model*/*truth* "
        "terms; *fit* wall time of `fit`; *RSS* the process's peak resident memory and its growth during the "
        "fit; *exact* the support equals the truth's (modulo gauge); *coef err* the largest relative coefficient "
        "error against the truth normalized as the fit normalizes; *q̈ err* the held-out relative q̈ error of "
        "the model (small with a wrong support means an equivalent Lagrangian: same motion, other terms).",
        "",
        "| system | n | noise | default tiers | truth in | chosen | model | truth | fit [s] | RSS [MB] "
        "| RSS growth [MB] | exact | coef err | q̈ err |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [_cell(r) for r in sorted(rows, key=lambda r: (r["system"], r["noise"], r["n"]))]
    lines += ["", "## Fit time against n", ""]
    for system in sorted({r["system"] for r in rows}):
        for level in sorted({r["noise"] for r in rows}):
            p = time_exponent(rows, system, level)
            lines.append(f"- {system}, noise {level:g}: fit time ∝ n^{_num(p, '.2f')} (least squares on "
                         "log–log over the cells that finished, n ≥ 4)")
    lines += ["", f"![scaling]({figure})", ""]
    bad = [r for r in rows if not r["success"]]
    lines += ["## Cells without the exact support", ""]
    lines += [f"- {r['system']} n = {r['n']}, noise {r['noise']:g}: " + (
        f"{r['status']} ({r.get('error', '')})" if r["status"] != "ok" else
        f"tier {r['library']}, {r['model_terms']} terms (the truth has {r['truth_terms']}), "
        f"coefficient error {_num(r['coef_rel_error'], '.2g')}, q̈ error {_num(r['qddot_error'], '.2g')}")
        + ("; no default tier within max_terms contains the true L" if r.get("truth_in") == "none" else "")
        for r in bad] or ["- none"]
    lines += _why(rows)
    lines += ["", f"Whole run: {seconds:.0f} s.", ""]
    with open(path, "w") as fh:
        fh.write("\n".join(lines))
