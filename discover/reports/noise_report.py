"""Noise sweep summaries: success rates and tolerance per method, figures, markdown reports.

Reads the raw rows that :func:`discover.studies.noise.run_sweep` writes (one per system, method,
noise level and seed).
"""
from __future__ import annotations

import math
import os

import numpy as np

from ..evaluation import VALID_THRESHOLD
from ..studies.noise import SweepConfig, read_rows
from ..studies.noise_friction import DAMPED

__all__ = ["SUCCESS_LEVEL", "COVERAGE_LEVEL", "coverage", "coverage_lines", "summarize", "tolerance", "plot_sweep", "write_report", "write_summary", "describe"]

#: a method tolerates a noise level when its exact-support success rate is at least this
SUCCESS_LEVEL = 0.9
#: the coverage of ±2 stderr that counts as calibrated (issue 10: ≥ 90 %)
COVERAGE_LEVEL = 0.9


def _f(x) -> float:
    try:
        return float(x)
    except (TypeError, ValueError):
        return math.nan


def _g(x) -> str:
    """A median for a table: 2 significant digits, '–' where there is none (NaN)."""
    return "–" if math.isnan(x) else f"{x:.2g}"


def _has_friction(summary: dict) -> bool:
    return any(np.isfinite(d["damping_rel_error"]) for lst in summary.values() for d in lst)


def _b(x) -> float:
    return 1.0 if str(x) == "True" else 0.0 if str(x) in ("False", "") else math.nan


def summarize(rows: list[dict]) -> dict:
    """(system, method) → sorted list of per-level dicts (medians/rates over seeds)."""
    out: dict = {}
    for r in rows:
        out.setdefault((r["system"], r["method"]), {}).setdefault(_f(r["noise"]), []).append(r)
    summary = {}
    for key, by_level in out.items():
        lst = []
        for lev in sorted(by_level):
            rs = by_level[lev]
            med = lambda k: float(np.nanmedian([_f(r.get(k)) for r in rs])) if any(
                np.isfinite(_f(r.get(k))) or _f(r.get(k)) == math.inf for r in rs) else math.nan
            lst.append({"noise": lev, "n": len(rs), "success": float(np.mean([_b(r.get("success")) for r in rs])),
                        "precision": med("precision"), "recall": med("recall"),
                        "coef_rel_error": med("coef_rel_error"), "qddot_error": med("qddot_error"),
                        "valid_time": med("valid_time"), "damping_rel_error": med("damping_rel_error"),
                        "failed": sum(r["status"] != "ok" for r in rs),
                        "fit_seconds": med("fit_seconds")})
        summary[key] = lst
    return summary


def coverage(rows: list[dict]) -> dict:
    """Pooled coverage of the rows' standard errors: fits with stderr, coefficients, how many
    truths lie within ±2 stderr, their fraction, the RMS and largest |z| (NaN without any)."""
    z = np.array([float(x) for r in rows if r.get("stderr_z") for x in str(r["stderr_z"]).split(";")])
    fits = sum(1 for r in rows if r.get("stderr_z"))
    if not len(z):
        return {"fits": 0, "n": 0, "within": 0, "fraction": math.nan, "rms_z": math.nan, "max_z": math.nan}
    w = int(np.sum(np.abs(z) <= 2.0))
    return {"fits": fits, "n": len(z), "within": w, "fraction": w / len(z),
            "rms_z": float(np.sqrt(np.mean(z ** 2))), "max_z": float(np.max(np.abs(z)))}


def coverage_lines(rows: list[dict], method: str = "cli") -> list[str]:
    """A markdown section: coverage of ±2 stderr for ``method``'s rows, overall, per noise level,
    per system and per (system, level) cell ([] when no row has standard errors)."""
    rows = [r for r in rows if r.get("method") == method]
    if not any(r.get("stderr_z") for r in rows):
        return []

    def line(label, rs):
        c = coverage(rs)
        exact = sum(_b(r.get("success")) == 1 for r in rs)
        if not c["n"]:
            return f"| {label} | {len(rs)} | {exact} | 0 | 0 | – | – | – |"
        flag = "" if c["fraction"] >= COVERAGE_LEVEL else " (below 90 %)"
        return (f"| {label} | {len(rs)} | {exact} | {c['fits']} | {c['n']} | {c['within']}/{c['n']} = "
                f"{c['fraction']:.0%}{flag} | {c['rms_z']:.2g} | {c['max_z']:.2g} |")

    head = ["| {} | fits | exact support | with stderr | coefficients | within ±2 stderr | RMS z | max abs z |",
            "|---|---|---|---|---|---|---|---|"]
    levels = sorted({_f(r["noise"]) for r in rows})
    systems = sorted({r["system"] for r in rows})
    out = [f"## Coefficient uncertainty: coverage of ±2 stderr (`{method}`)", "",
           "For every fit with the exact support and standard errors (stage 2, the trajectory fit, "
           "was accepted; σ = 0 runs no stage 2), z = (ξ_fit − ξ_true) / stderr for each coefficient "
           "with a stderr (the pinned normalization term has none) and for the friction coefficients; "
           "ξ_true is the truth normalized and gauge-mapped like the fit (as for the coefficient "
           "errors). Calibrated: ≥ 90 % within ±2 (95.4 % for Gaussian z), RMS z ≈ 1. A seed's noise "
           "draw is the same at every level (scaled by σ), so its z-scores change little from level to "
           "level: the independent samples are the seeds' coefficients, fewer than the pooled count.", "",
           head[0].format("pooled"), head[1], line("**all**", rows), ""]
    out += [head[0].format("noise σ / std q"), head[1]] + [
        line(f"{lv:g}", [r for r in rows if _f(r["noise"]) == lv]) for lv in levels] + [""]
    out += [head[0].format("system"), head[1]] + [
        line(s, [r for r in rows if r["system"] == s]) for s in systems] + [""]
    out += [head[0].format("system, σ"), head[1]] + [
        line(f"{s}, {lv:g}", rs) for s in systems for lv in levels
        if (rs := [r for r in rows if r["system"] == s and _f(r["noise"]) == lv])] + [""]
    return out


def tolerance(levels: list[dict], threshold: float = SUCCESS_LEVEL, *, noisy_only: bool = False) -> str:
    """Largest noise level up to which every level has success ≥ threshold ('none' if even the
    smallest fails; '≥ max' if none fails).  ``noisy_only``: ignore the σ = 0 level."""
    ok = None
    for d in levels:
        if noisy_only and d["noise"] == 0:
            continue
        if d["success"] >= threshold:
            ok = d["noise"]
        else:
            return "none" if ok is None else f"{ok:g} (drops at {d['noise']:g})"
    return f"≥ {ok:g} (never dropped)" if ok is not None else "none"


def plot_sweep(summary: dict, out_dir: str) -> list[str]:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = []
    systems = sorted({s for s, _ in summary})
    fields = [("success", "exact-support success rate", False),
              ("coef_rel_error", "max coefficient rel. error (median over seeds)", True),
              ("qddot_error", "q̈ rel. error (clean held-out)", True),
              ("valid_time", "rollout valid time [s]", False)]
    if _has_friction(summary):
        fields.append(("damping_rel_error", "friction coefficient rel. error (median)", True))
    for field, ylabel, log in fields:
        fig, axes = plt.subplots(1, len(systems), figsize=(4.2 * len(systems), 3.4), squeeze=False)
        for ax, s in zip(axes[0], systems):
            for (s2, m), lst in sorted(summary.items()):
                if s2 != s:
                    continue
                x = np.array([d["noise"] for d in lst])
                y = np.array([d[field] for d in lst], float)
                xp = np.where(x > 0, x, np.nan)
                ax.plot(xp, y, "o-", label=m)
                if (x == 0).any():  # zero noise drawn at the left edge as an open marker
                    ax.plot([x[x > 0].min() / 3 if (x > 0).any() else 1e-5], [y[x == 0][0]], "o", mfc="none",
                            color=ax.lines[-1].get_color())
            ax.set_xscale("log")
            ys = np.array([d[field] for (s2, _), lst in summary.items() if s2 == s for d in lst], float)
            if log and np.any(np.isfinite(ys) & (ys > 0)):
                ax.set_yscale("log")
            ax.set_title(s)
            ax.set_xlabel("noise σ / std(q)  (open marker: σ = 0)")
            ax.set_ylabel(ylabel)
            ax.grid(alpha=0.3)
        axes[0][0].legend(fontsize=7)
        fig.tight_layout()
        name = f"{field}_vs_noise.png"
        fig.savefig(os.path.join(out_dir, name), dpi=110)
        plt.close(fig)
        files.append(name)
    return files


def write_report(path: str, command: str, summary: dict, figures: list[str], cfg: SweepConfig,
                 seconds: float, csv_name: str, cell_seconds: float | None = None,
                 rows: list[dict] | None = None) -> None:
    """report.md; with ``rows`` from a user CSV (no ground truth: no 'success' column filled) the
    tolerance table is replaced by the most frequent fitted Lagrangian per method and level."""
    lines = ["# Noise sweep", "", "Command:", "", "```", command, "```", "",
             f"Data per cell: {cfg.n_traj} trajectories × {cfg.duration:g} s at dt = {cfg.dt:g} "
             "(closed-form solution where the system has one, else RK4 with "
             f"{cfg.substeps} substeps); Gaussian noise σ = level × std(q) on positions only, "
             "derivatives estimated by the fit's differentiator. "
             f"Scoring on {cfg.n_test} clean held-out trajectories of {cfg.horizon:g} s (RK4 at dt = "
             f"{cfg.rollout_dt:g} for both the truth and the model; valid time = first time "
             f"‖q_model − q_true‖ > {VALID_THRESHOLD:g}·‖std q‖, mean over trajectories). "
             f"Wall time of this call {seconds:.0f} s"
             + (f" (cells are cached in `{csv_name}` and skipped on --resume; summed per-cell time of all "
                f"cells {cell_seconds:.0f} s)" if cell_seconds else "")
             + f". Raw rows: `{csv_name}`.", "",
             "Methods: `strong-<d>` = `SparseLagrangian(method='strong', differentiator=d)`, "
             "`weak-<d>` = `method='weak'` (default library search in every case).", "",
             "Ground truth: the system's SymPy L divided by the clean-data mean of ∂²L/∂q̇_i² for the "
             "coordinate the fit normalized (`normalization_coordinate_`). Supports are compared "
             "modulo gauge: fit and true terms are mapped into one basis reduced by their "
             "Euler–Lagrange columns (null and collinear terms dropped, fit terms kept first), so "
             "e.g. the true −(B/2) y ẋ becomes +(B/2) x ẏ when the fit chose x ẏ.", "",
             ]
    if rows and all(r.get("success", "") in ("", None) or r.get("status") != "ok" for r in rows):
        lines[8] = ("Data: the user CSV's positions plus Gaussian noise σ = level × std(q) (per coordinate, "
                    f"seeded), derivatives estimated by the fit's differentiator. Raw rows: `{csv_name}`.")
        lines = [ln for ln in lines if not ln.startswith("Ground truth:")]
        lines += ["## User CSV: no ground truth", "",
                  "Success cannot be scored without the true Lagrangian; listed is the most frequent fitted "
                  "Lagrangian per method and noise level (how often over seeds), and how many fits failed.", "",
                  "| method | noise | most frequent fit | frequency | failed |", "|---|---|---|---|---|"]
        groups: dict = {}
        for r in rows:
            groups.setdefault((r["method"], _f(r["noise"])), []).append(r)
        for (m, lev), rs in sorted(groups.items()):
            ok = [r["terms"] for r in rs if r.get("status") == "ok"]
            best = max(set(ok), key=ok.count) if ok else "–"
            lines.append(f"| {m} | {lev:g} | `{best}` | {ok.count(best) if ok else 0}/{len(rs)} | {len(rs) - len(ok)} |")
        lines += ["", "## Figures", ""] + [f"![{f}]({f})" for f in figures] + [""]
        with open(path, "w") as fh:
            fh.write("\n".join(lines))
        return
    damped = describe(sorted({s for s, _ in summary}))
    lines += [damped, ""] if damped else []
    lines += [f"## Noise tolerance (largest level with exact-support success ≥ {SUCCESS_LEVEL:.0%} "
             "at it and every lower level)", "",
             "| system | method | success at σ = 0 | tolerance (all levels) | tolerance (σ > 0 only) |",
             "|---|---|---|---|---|"]
    for (s, m), lst in sorted(summary.items()):
        z = [d for d in lst if d["noise"] == 0]
        zs = f"{z[0]['success']:.2f}" if z else "–"
        lines.append(f"| {s} | {m} | {zs} | {tolerance(lst)} | {tolerance(lst, noisy_only=True)} |")
    lines += ["", "Tolerance = the last level before the success rate first falls below "
              f"{SUCCESS_LEVEL:.0%}; the σ > 0 column ignores the noise-free level, where the weak form can "
              "fail on its own (see the per-level table).", "",
              "## Per level (medians over seeds)", "",
              "| system | method | noise | seeds | success | precision | recall | max coef err | q̈ err | valid t [s] | failed | fit s |",
              "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    fr = _has_friction(summary)  # the friction column only where a system has friction
    if fr:
        lines[-2:] = [lines[-2] + " friction coef err |", lines[-1] + "---|"]
    for (s, m), lst in sorted(summary.items()):
        for d in lst:
            lines.append(f"| {s} | {m} | {d['noise']:g} | {d['n']} | {d['success']:.2f} | {d['precision']:.2f} | "
                         f"{d['recall']:.2f} | {d['coef_rel_error']:.2g} | {d['qddot_error']:.2g} | "
                         f"{d['valid_time']:.2f} | {d['failed']} | {d['fit_seconds']:.1f} |"
                         + (f" {_g(d['damping_rel_error'])} |" if fr else ""))
    lines += [""] + coverage_lines(rows or [])
    lines += ["## Figures", ""] + [f"![{f}]({f})" for f in figures] + [""]
    with open(path, "w") as fh:
        fh.write("\n".join(lines))


def write_summary(parent: str, command: str) -> str:
    """``<parent>/summary.md``: the tolerance table of every ``<parent>/<system>/sweep.csv``."""
    lines = ["# Noise sweep: tolerance summary", "", "Last command:", "", "```", command, "```", "",
             f"Tolerance = last noise level (σ / std q) before the exact-support success rate first falls "
             f"below {SUCCESS_LEVEL:.0%}; per-system details, figures and raw rows in `<system>/`.", "",
             "| system | method | seeds | success at σ = 0 | tolerance (all levels) | tolerance (σ > 0 only) | "
             "max coef err at 0.01 (median of seeds) | friction coef err at 0.01 (median) |",
             "|---|---|---|---|---|---|---|---|"]
    systems, all_rows = set(), []
    for name in sorted(os.listdir(parent)):
        path = os.path.join(parent, name, "sweep.csv")
        if not os.path.isfile(path):
            continue
        all_rows += read_rows(path)
        for (s, m), lst in sorted(summarize(read_rows(path)).items()):
            systems.add(s)
            z = [d for d in lst if d["noise"] == 0]
            c = [d for d in lst if abs(d["noise"] - 0.01) < 1e-12]
            lines.append(f"| {s} | {m} | {max(d['n'] for d in lst)} | {z[0]['success']:.2f} | " if z else f"| {s} | {m} | {max(d['n'] for d in lst)} | – | ")
            lines[-1] += (f"{tolerance(lst)} | {tolerance(lst, noisy_only=True)} | "
                          f"{c[0]['coef_rel_error']:.2g} | {_g(c[0]['damping_rel_error'])} |" if c
                          else f"{tolerance(lst)} | {tolerance(lst, noisy_only=True)} | – | – |")
    damped = describe(sorted(systems))
    if damped:
        lines += ["", damped]
    lines += [""] + coverage_lines(all_rows)
    out = os.path.join(parent, "summary.md")
    with open(out, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    return out


def describe(systems) -> str | None:
    """A report paragraph on the damped systems among ``systems`` (None if there are none)."""
    damped = [s for s in systems if s in DAMPED]
    if not damped:
        return None
    what = ", ".join(f"`{s}` = {DAMPED[s][0]} with the force −{DAMPED[s][1]:g} q̇" for s in damped)
    return (f"Damped systems ({what}): training data and held-out truth are integrated with the "
            "friction (RK4), the fit uses `dissipation=True`, and success also requires the friction "
            "coefficient to be selected; \"friction coef err\" = |c_fit − c| / c (c in L's "
            "normalization). The q̈-loss refinement does not fit friction: `+refine` equals the method "
            "without it wherever the friction is selected.")
