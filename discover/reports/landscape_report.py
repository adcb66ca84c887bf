"""Figures, landscape.json and report.md of ``pipelines/loss_landscape.py`` (numbers from
:mod:`discover.studies.landscape` and :mod:`discover.studies.landscape_library`)."""
from __future__ import annotations

import math
import os

import numpy as np

from ..studies.landscape import GLOBAL_TOL, HOLandscape, MultiStart

__all__ = ["library_report", "write_outputs"]


def _hatch(ax, x, y, Z):
    """Hatch the cells where Z is NaN (M not positive definite)."""
    bad = (~np.isfinite(Z)).astype(float)
    if bad.any():
        ax.contourf(x, y, bad, levels=[0.5, 1.5], colors="none", hatches=["///"])
        ax.contour(x, y, bad, levels=[0.5], colors="0.3", linewidths=0.6)


def _figures(out_dir, sl):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5))
    ax = axes[0]
    im = ax.pcolormesh(sl.axis, sl.axis, np.log10(sl.loss2d + 1e-30), shading="auto", cmap="viridis")
    fig.colorbar(im, ax=ax, label="log10 relative q̈-loss")
    ax.contour(sl.axis, sl.axis, np.log10(sl.loss2d + 1e-30), levels=[-4, -3, -2, -1, 0], colors="w", linewidths=0.5)
    _hatch(ax, sl.axis, sl.axis, sl.loss2d)
    ax.plot([0], [0], "r*", ms=10, label="optimum ξ*")
    for a, b, v, inner in sl.minima:
        if (a, b) != (0.0, 0.0):
            ax.plot([a], [b], "wx" if inner else "w+", ms=7)
    ax.set_xlabel("α (direction d₁)"); ax.set_ylabel("β (direction d₂)")
    ax.set_title("ξ* + α d₁ + β d₂ (random, filter-normalized)\nhatched: M not positive definite; ×/+: other grid minima",
                 fontsize=8)
    ax.legend(fontsize=7, loc="upper right")
    ax = axes[1]
    im = ax.pcolormesh(sl.plane_a, sl.plane_b, np.log10(sl.plane_loss + 1e-30), shading="auto", cmap="viridis")
    fig.colorbar(im, ax=ax, label="log10 relative q̈-loss")
    ax.contour(sl.plane_a, sl.plane_b, np.log10(sl.plane_loss + 1e-30), levels=[-4, -3, -2, -1, 0], colors="w",
               linewidths=0.5)
    _hatch(ax, sl.plane_a, sl.plane_b, sl.plane_loss)
    ax.axhline(0, color="r", ls="--", lw=1, label="scale line (1 + a) ξ*: flat")
    ax.plot([0], [0], "r*", ms=10)
    ax.set_xlabel("a (scale direction ξ*)"); ax.set_ylabel("b (random direction d₁)")
    ax.set_title("(1 + a) ξ* + b d₁: level sets are rays from a = −1 (L ~ cL)", fontsize=8)
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout(); fig.savefig(os.path.join(out_dir, "dp_slices.png"), dpi=110); plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4))
    floor = 1e-30
    ax.plot(sl.line, np.maximum(sl.scale_loss, floor), label="scale: (1 + s) ξ*")
    ax.plot(sl.line, np.maximum(sl.rand_loss, floor), label="random: ξ* + s d₁")
    neg = ~sl.scale_pd
    if neg.any():
        ax.plot(sl.line[neg], np.maximum(sl.scale_loss[neg], floor), "k.", ms=2, label="M not positive definite (c < 0)")
    ax.axhline(sl.widths["level"], color="0.5", ls=":", lw=1)
    ax.set_yscale("log"); ax.set_xlabel("s  (‖d₁‖ = ‖ξ*‖)"); ax.set_ylabel("relative q̈-loss")
    ax.set_title("double pendulum: 1-D slices through the fitted optimum", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout(); fig.savefig(os.path.join(out_dir, "dp_profiles.png"), dpi=110); plt.close(fig)


def _mlp_figure(out_dir, mlp):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.5))
    e = np.asarray(mlp["val_errors"])
    ax.hist(np.log10(e), bins=max(5, len(e)))
    ax.set_xlabel("log10 relative q̈ error on held-out trajectory"); ax.set_ylabel("seeds")
    ax.set_title(f"MLP Lagrangian multi-start ({len(e)} seeds, {mlp['epochs']} epochs)", fontsize=9)
    fig.tight_layout(); fig.savefig(os.path.join(out_dir, "mlp_hist.png"), dpi=110); plt.close(fig)


def _row(name, ms: MultiStart):
    fin = np.isfinite(ms.loss)
    q = np.quantile(ms.loss[fin], [0, 0.25, 0.5, 0.75, 1]) if fin.any() else [math.nan] * 5
    n = len(ms.loss)
    return (f"| {name} | {n} | {ms.global_fraction:.2f} ({int(round(ms.global_fraction * n))}/{n}) | "
            f"{int((~fin).sum())} | {len(ms.minima)} | " + " | ".join(f"{x:.2e}" for x in q) + " |")


def _ms_json(ms: MultiStart):
    fin = np.isfinite(ms.loss)
    return {"starts": len(ms.loss), "global_fraction": ms.global_fraction, "indefinite_mass": int((~fin).sum()),
            "distinct_minima": len(ms.minima),
            "loss_quantiles": np.quantile(ms.loss[fin], [0, 0.25, 0.5, 0.75, 1]).tolist() if fin.any() else []}


def library_report(out_dir: str, sl, ms_rand: MultiStart, ms_s1: MultiStart, stage1: dict, mlp: dict | None,
                   timing: dict) -> tuple[list[str], dict]:
    """Write dp_slices.png, dp_profiles.png (and mlp_hist.png); return (markdown lines, JSON dict)."""
    _figures(out_dir, sl)
    fmt = lambda c: ", ".join(f"{x:.4g}" for x in c)
    others = [m for m in sl.minima if (m[0], m[1]) != (0.0, 0.0)]
    inner = [m for m in others if m[3]]
    p_inner = [m for m in sl.plane_minima if m[3]]
    w = sl.widths
    ev = w["hessian_eigenvalues"]
    c1 = np.asarray(stage1["coef"], float)
    k1 = abs(c1[0]) / np.linalg.norm(c1) * math.sqrt(len(c1))
    at_half = float(np.interp(0.5, sl.line, np.nan_to_num(sl.rand_loss, nan=np.inf)))
    lines = [
        "## 3. Library model: slices through the fitted double-pendulum optimum", "",
        f"Data: 4 RK4 rollouts × 5 s (dt = 0.01) of the default double pendulum, clean; "
        f"`SparseLagrangian()` (default settings) found, in {sl.fit_seconds:.0f} s,", "",
        f"    L = {sl.lagrangian}", "",
        f"(normalization: {sl.normalization}). The loss is the relative q̈-loss Σ‖q̈(ξ) − q̈‖²/Σ‖q̈‖² on "
        f"{sl.n_samples} states with exact q̈, over ξ in the span of the found terms "
        f"({', '.join(sl.names)}); at ξ* it is {sl.loss_opt:.1e} (batched q̈ vs `model.acceleration`: "
        f"max |Δq̈| = {sl.engine_check:.1e}). Directions: d_k = r_k/|r_k|·|ξ*_k|, r ~ N(0, 1) "
        "(filter normalization, Li et al. 2018, with one coefficient per filter: only the signs are random; "
        f"‖d‖ = ‖ξ*‖); cosines in units of |ξ*_k| (plain cosines are dominated by the large potential coefficients): cos(d₁, ξ*) = {sl.cosines['d1_xi']:.2f}, cos(d₂, ξ*) = {sl.cosines['d2_xi']:.2f}, "
        f"cos(d₁, d₂) = {sl.cosines['d1_d2']:.2f}.", "",
        f"- Random 2-D slice ξ* + α d₁ + β d₂, α, β ∈ [−{sl.span:g}, {sl.span:g}] ({len(sl.axis)}² points): grid "
        f"minimum at (α, β) = ({sl.argmin[0]:.3g}, {sl.argmin[1]:.3g}); M is not positive definite on "
        f"{sl.frac_not_pd:.0%} of the grid (hatched).",
        f"- Curvature at ξ*: Hessian of the loss in (α, β) has eigenvalues {ev[0]:.3g} and {ev[1]:.3g} "
        f"(condition {ev[1] / ev[0]:.3g}); half-width at loss {w['level']:g} (≈ 10 % RMS q̈ error): "
        f"{w['quadratic_halfwidth_d1']:.3g} along d₁ and {w['quadratic_halfwidth_d2']:.3g} along d₂ from the "
        f"quadratic model, {w['measured_halfwidth_d1']:.3g} along d₁ measured on the 1-D profile "
        "(in units of |ξ*_k| per coefficient).",
        f"- Other local minima in the random slice: {len(inner)} in the interior of the valid region"
        + (" (" + "; ".join(f"(α, β) = ({a:.2f}, {b:.2f}), loss {v:.2e}" for a, b, v, _ in inner[:5]) + ")" if inner else "")
        + f"; {len(others) - len(inner)} on the grid edge or against the hatched region (where the loss keeps "
        "falling out of view, not a basin)"
        + (" (" + "; ".join(f"({a:.2f}, {b:.2f}): {v:.2e}" for a, b, v, _ in others if not _)[:300] + ")"
           if len(others) > len(inner) else "") + ".",
        f"- Scale × random plane (1 + a) ξ* + b d₁: {len(p_inner)} interior local minima"
        f"{' (the scale line itself is a flat valley: minima along it are ties at round-off)' if p_inner else ''}; "
        "every level set is a ray from (a, b) = (−1, 0), as in the HO heatmap.",
        f"- Along the scale direction (1 + s) ξ*, s ∈ [−1.5, 1.5] (c = 1 + s ≠ 0, including c < 0 where M is "
        f"negative definite but q̈ is the same): the loss stays {sl.loss_opt:.1e} ± {sl.scale_max_dev:.1e} and "
        f"q̈ changes by at most {sl.scale_qddot_dev:.1e} of max |q̈| — flat to round-off. Along the random "
        f"direction at the same distance, s = 0.5: loss {at_half:.3g}.", "",
        "![slices](dp_slices.png)", "", "![profiles](dp_profiles.png)", "",
        "## 4. Multi-start with and without the stage-1 linear initialization", "",
        f"The pendulum fit of section 2 (same data, library, Adam lr {ms_rand.lr:g}, {ms_rand.steps} steps, "
        "all starts in one batch). Stage 1 = the linear Euler–Lagrange regression of the sparse fit "
        f"(`discover.sparse`: constrained least squares, STLSQ at relative threshold {stage1['threshold']:g}) on the "
        f"same data: ξ₁ = ({fmt(stage1['coef'])}), rescaled to norm √K like a N(0, 1) start and perturbed by "
        f"N(0, {stage1['noise']:g}²) per coefficient. Global minimum: within {GLOBAL_TOL:.0%} of the truth "
        "after normalization.", "",
        "| starts | n | reach global | M ≤ 0 at end | distinct end points | loss min | 25 % | median | 75 % | max |",
        "|---|---|---|---|---|---|---|---|---|---|",
        _row("random ξ ~ N(0, 1)", ms_rand), _row(f"stage 1 + N(0, {stage1['noise']:g}²)", ms_s1), "",
        f"Stage-1 starts never end with M ≤ 0 ({int((~np.isfinite(ms_s1.loss)).sum())} vs "
        f"{int((~np.isfinite(ms_rand.loss)).sum())} from random starts), but they do not all stay at the "
        f"minimum they start next to: Adam's step is ≈ lr = {ms_rand.lr:g} per coefficient whatever the gradient, "
        f"against a rescaled kinetic coefficient of {k1:.3g}, so its first steps kick the start into the shallow "
        "cos θ/θ² valley of section 2, along which it then creeps (a smaller lr, or the relative-step "
        "refinement of the sparse fit, should keep them in place; not measured here).", "",
    ]
    js = {"double_pendulum_slices": {
        "lagrangian": sl.lagrangian, "terms": sl.names, "coef": sl.coef.tolist(), "fit_seconds": sl.fit_seconds,
        "loss_at_optimum": sl.loss_opt, "engine_check_max_abs": sl.engine_check, "grid": len(sl.axis),
        "span": sl.span, "d1": sl.d1.tolist(), "d2": sl.d2.tolist(), "cosines": sl.cosines,
        "grid_argmin": sl.argmin, "fraction_not_positive_definite": sl.frac_not_pd,
        "hessian": sl.hessian.tolist(), "widths": w, "other_minima_random_slice":
            [{"alpha": a, "beta": b, "loss": v, "interior": i} for a, b, v, i in others],
        "interior_minima_scale_plane": [{"a": a, "b": b, "loss": v} for a, b, v, _ in p_inner],
        "scale_max_loss_deviation": sl.scale_max_dev, "scale_max_rel_qddot_deviation": sl.scale_qddot_dev,
        "random_loss_at_s_0.5": at_half},
        "stage1_comparison": {"stage1": {k: (np.asarray(v).tolist() if k == "coef" else v) for k, v in stage1.items()},
                              "random": _ms_json(ms_rand), "stage1_starts": _ms_json(ms_s1)}}
    if mlp is not None:
        _mlp_figure(out_dir, mlp)
        e = np.asarray(mlp["val_errors"])
        lines += [
            f"MLP Lagrangian ({'structured ½q̇ᵀM(q)q̇ − V(q)' if mlp['structured'] else 'plain'}, hidden "
            f"{tuple(mlp['hidden'])}, Adam lr {mlp['lr']:g}, {mlp['epochs']} epochs, batch {mlp['batch_size']}): "
            f"{mlp['n_seeds']} seeds trained at once (`MLPEnsemble`, vmap) on the first 3 pendulum trajectories "
            f"({mlp['n_train']} samples), validated on the 4th ({mlp['n_val']}), {mlp['seconds']:.0f} s. "
            f"Relative q̈ error on the held-out trajectory: min {e.min():.3g}, median {np.median(e):.3g}, max {e.max():.3g} "
            f"(max/min {e.max() / e.min():.3g}); best epochs {mlp['best_epochs']}"
            + (" — all still improving at the last epoch: the spread is that of unfinished training, "
               "not of distinct minima." if min(mlp["best_epochs"]) >= mlp["epochs"] else "."), "",
            "![mlp](mlp_hist.png)", ""]
        js["mlp_multistart"] = mlp
    return lines, js


# ----------------------------------------------------------------------------------------
# the HO and pendulum multi-start sections, and the files
# ----------------------------------------------------------------------------------------
def write_outputs(out_dir: str, command: str, ho: HOLandscape, ms: MultiStart, timing: dict, *,
                  extra_lines=(), extra_json=None) -> None:
    """ho_heatmap.png, ho_profile.png, multistart_hist.png, landscape.json and report.md
    (``extra_lines``/``extra_json``: further sections, appended)."""
    import json
    import os

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    r0 = ho.k0 / ho.m0
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    L = np.log10(ho.loss + 1e-12 * max(ho.loss.max(), 1e-300))
    im = ax.pcolormesh(ho.m_grid, ho.k_grid, L, shading="auto", cmap="viridis")
    fig.colorbar(im, ax=ax, label="log10 mean q̈-loss")
    mline = np.linspace(ho.m_grid[0], ho.m_grid[-1], 50)
    ax.plot(mline, r0 * mline, "r--", lw=1.5, label=f"valley k/m = k₀/m₀ = {r0:g}")
    ax.plot([ho.m0], [ho.k0], "w*", ms=10, label="(m₀, k₀)")
    ax.plot([ho.argmin[0]], [ho.argmin[1]], "rx", ms=8, label="grid argmin")
    ax.set_ylim(ho.k_grid[0], ho.k_grid[-1])
    ax.set_xlabel("m"); ax.set_ylabel("k"); ax.set_title("HO: L = ½ m q̇² − ½ k q²  (clean data)")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout(); fig.savefig(os.path.join(out_dir, "ho_heatmap.png"), dpi=110); plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4))
    for (d, s), prof in ho.profiles.items():
        ax.plot(ho.profile_k, prof + 1e-16, label=f"{d}, σ={s:g}" if s else "clean (exact q̈)")
    ax.axvline(ho.k0, color="k", ls=":", lw=1)
    ax.set_yscale("log"); ax.set_xlabel(f"k  (m = m₀ = {ho.m0:g})"); ax.set_ylabel("mean q̈-loss")
    ax.set_title("1-D profile, m fixed"); ax.legend(fontsize=7)
    fig.tight_layout(); fig.savefig(os.path.join(out_dir, "ho_profile.png"), dpi=110); plt.close(fig)

    fig, ax = plt.subplots(figsize=(6, 4))
    fin = ms.loss[np.isfinite(ms.loss)]
    if fin.size:
        ax.hist(np.log10(np.maximum(fin, 1e-30)), bins=40)
    ax.set_xlabel("log10 final relative q̈-loss"); ax.set_ylabel("starts")
    ax.set_title(f"pendulum multi-start ({len(ms.loss)} starts, {ms.steps} Adam steps; "
                 f"{int((~np.isfinite(ms.loss)).sum())} with M ≤ 0 not shown)", fontsize=8)
    fig.tight_layout(); fig.savefig(os.path.join(out_dir, "multistart_hist.png"), dpi=110); plt.close(fig)

    pm = {f"{d}:{s:g}": {"k_hat": v[0], "curvature": v[1], "min_loss": v[2]} for (d, s), v in ho.profile_min.items()}
    fin_mask = np.isfinite(ms.loss)
    summary = {
        "ho": {"m0": ho.m0, "k0": ho.k0, "grid": [len(ho.m_grid), len(ho.k_grid)],
               "grid_argmin": ho.argmin, "argmin_ratio": ho.argmin[1] / ho.argmin[0],
               "argmin_ratio_error_in_cells": ho.valley_distance, "max_loss_on_valley": ho.valley_max_loss,
               "loss_range": [float(ho.loss.min()), float(ho.loss.max())], "profiles": pm},
        "multistart": {"terms": list(ms.terms), "truth_normalized": ms.truth.tolist(), "starts": len(ms.loss),
                       "steps": ms.steps, "lr": ms.lr, "indefinite_mass": int((~fin_mask).sum()),
                       "distinct_minima": len(ms.minima), "global_fraction": ms.global_fraction,
                       "global_tol": GLOBAL_TOL, "engine_check_max_abs": ms.engine_check,
                       "loss_quantiles": (np.quantile(ms.loss[fin_mask], [0, 0.25, 0.5, 0.75, 1]).tolist()
                                          if fin_mask.any() else []),
                       "minima": [{"loss": m[0], "coef": m[1].tolist(), "count": m[2]} for m in ms.minima[:10]]},
        "timing_seconds": timing,
        **(extra_json or {}),
    }
    with open(os.path.join(out_dir, "landscape.json"), "w") as fh:
        json.dump(summary, fh, indent=1)

    def fmt(c):
        return ", ".join(f"{x:.4g}" for x in c)

    n_glob = int(round(ms.global_fraction * len(ms.loss)))
    lines = [
        f"Command: `{command}`", "", "# Loss landscape of the q̈-loss", "",
        f"Run time: HO grid and profiles {timing.get('ho_seconds', 0):.0f} s, multi-start "
        f"{timing.get('multistart_seconds', 0):.0f} s"
        + "".join(f", {k.replace('_seconds', '').replace('_', ' ')} {v:.0f} s" for k, v in timing.items()
                  if k not in ("ho_seconds", "multistart_seconds"))
        + ". All losses go through the Euler–Lagrange engine: "
        "`TermSet.mass_force_columns` gives per-term M_k, f_k once; q̈(ξ) = (Σξ_k M_k)⁻¹ Σξ_k f_k is then "
        "one batched tensor op for every grid point / start (checked against `discover.accelerations`: "
        f"max |Δq̈| = {ms.engine_check:.1e}).", "",
        "## 1. Harmonic oscillator, L = ½ m q̇² − ½ k q²", "",
        f"Data: exact solutions of m₀ = {ho.m0:g}, k₀ = {ho.k0:g} (4 trajectories × 10 s, dt = 0.01), "
        "loss = mean over samples of (q̈ᵢ − q̈(L))², q̈(L) = −(k/m) q.", "",
        f"- Grid {len(ho.m_grid)}×{len(ho.k_grid)}, m ∈ [{ho.m_grid[0]:g}, {ho.m_grid[-1]:g}], "
        f"k ∈ [{ho.k_grid[0]:g}, {ho.k_grid[-1]:g}]: the minimum is not a point but the ray "
        f"k/m = k₀/m₀ = {r0:g} (L and cL give the same motion: projective degeneracy). "
        f"Grid argmin (m, k) = ({ho.argmin[0]:.4g}, {ho.argmin[1]:.4g}), ratio {ho.argmin[1] / ho.argmin[0]:.6g} "
        f"(off the valley by {ho.valley_distance:.2g} ratio cells); the loss ON the analytic valley is at "
        f"most {ho.valley_max_loss:.1e} for every m, while the grid's loss spans "
        f"[{ho.loss.min():.1e}, {ho.loss.max():.3g}]. The loss depends on k/m only: every level set is a ray.",
        "- 1-D profile with m = m₀ fixed (unique minimum; the loss is a parabola in k):", "",
        "| data | k̂ (argmin) | d²loss/dk² at k̂ | loss at k̂ |", "|---|---|---|---|"]
    for (d, s), (kh, cv, lo) in ho.profile_min.items():
        lines.append(f"| {'clean, exact q̈' if s == 0 else f'noise σ = {s:g}·std q, q̈ by {d}'} | {kh:.4g} | {cv:.3g} | {lo:.3g} |")
    lines += [
        "", "With Savitzky–Golay derivatives the minimum barely moves but its floor rises (the valley "
        "flattens relative to its depth: loss at k̂ / curvature grows with σ); with plain finite "
        "differences the minimum moves: the estimated q̈ᵢ contains −2nᵢ/dt², the same noise nᵢ that "
        "sits in qᵢ, so the regression of q̈ on q is biased by ≈ +2σ²/(dt²·var q)·m (= +2 for σ = 0.01·std q, "
        "dt = 0.01) and grows as σ² (the minimum then sits at the grid edge).", "",
        "![heatmap](ho_heatmap.png)", "", "![profile](ho_profile.png)", "",
        "## 2. Multi-start fits of a small pendulum library", "",
        f"L = ξ·({', '.join(ms.terms)}) fitted to clean pendulum data (m = l = 1, g = 9.81; 4 trajectories "
        f"× 5 s, amplitudes 1–2.5 rad) by Adam (lr {ms.lr:g}, {ms.steps} steps) on the relative q̈-loss "
        f"Σ‖Δq̈‖²/Σ‖q̈‖² from {len(ms.loss)} starts ξ ~ N(0, 1)⁴. Coefficients are reported normalized to a "
        "data mean of ∂²L/∂θ̇² = 1 (the loss is blind to scale). "
        f"Truth (normalized): ({fmt(ms.truth)}).", "",
        f"- starts ending with a mass ∂²L/∂θ̇² that is not positive on all data: {int((~fin_mask).sum())}",
        f"- distinct end points (coefficients within 1 % of each other): {len(ms.minima)}",
        f"- fraction reaching the global minimum (within {GLOBAL_TOL:.0%} of the truth): "
        f"{ms.global_fraction:.2f} ({n_glob}/{len(ms.loss)})",
    ]
    if fin_mask.any():
        qs = np.quantile(ms.loss[fin_mask], [0, 0.25, 0.5, 0.75, 1])
        lines.append("- final loss quantiles (min, 25 %, median, 75 %, max): " + ", ".join(f"{x:.2e}" for x in qs))
    lines += ["", "Best end points (loss, normalized coefficients, number of starts):", "",
              "| loss | coefficients | starts |", "|---|---|---|"]
    for lo, c, n in ms.minima[:8]:
        lines.append(f"| {lo:.3e} | ({fmt(c)}) | {n} |")
    lines += ["", "cos θ and θ² are nearly collinear over the data range (cos θ ≈ 1 − θ²/2 + θ⁴/24), so the "
              "landscape has a long, shallow valley along which Adam creeps: most \"distinct\" end points are "
              "points on that valley rather than separate basins, and their losses grade continuously.", "",
              "![histogram](multistart_hist.png)", ""]
    lines += list(extra_lines)
    with open(os.path.join(out_dir, "report.md"), "w") as fh:
        fh.write("\n".join(lines))
