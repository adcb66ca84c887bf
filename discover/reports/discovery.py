"""The discovery report: report.md and its figures for a fitted Lagrangian (rollouts, energy,
parity, terms); the numbers come from :func:`discover.evaluation.evaluate`.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import sympy

from ..evaluation import ROLLOUT_START
from ..symbolic import equations_of_motion, to_latex, velocity_name
from .figure import new_figure, save_figure
from .symmetry_report import render_symmetries

__all__ = ["write_report"]


def _fig_rollout(ev, coordinates, path):
    r = next((r for r in ev["rollouts"] if "error" not in r), None)
    if r is None:
        return False
    n = len(coordinates)
    fig = new_figure(figsize=(8, 2.2 * (n + 1)))
    axes = fig.subplots(n + 1, 1, sharex=True)
    for i, c in enumerate(coordinates):
        axes[i].plot(r["t"], r["q_obs"][:, i], "k.", ms=2, label="data (held out)")
        axes[i].plot(r["t"], r["q"][:, i], "C1", label="rollout of found L")
        axes[i].set_ylabel(c)
    axes[0].legend(loc="upper right", fontsize=8)
    E = r["energy"]
    axes[n].plot(r["t"], (E - E[0]) / max(abs(E[0]), 1e-12), "C2")
    axes[n].set_ylabel("ΔE / |E₀|")
    axes[n].set_xlabel("t [s]")
    fig.suptitle(f"Held-out trajectory: rollout from its state at sample {ROLLOUT_START}")
    h = 2.2 * (n + 1)
    save_figure(fig, path, margins=dict(left=0.11, right=0.98, bottom=0.55 / h, top=1 - 0.45 / h, hspace=0.12))
    return True


def _fig_parity(model, validation, coordinates, path):
    q = np.concatenate([p.q[3:-3] for p in validation])
    qd = np.concatenate([p.qdot[3:-3] for p in validation])
    qdd = np.concatenate([p.qddot[3:-3] for p in validation])
    pred = np.asarray(model.acceleration(q, qd))
    n = len(coordinates)
    fig = new_figure(figsize=(3.6 * n, 3.4))
    axes = np.atleast_1d(fig.subplots(1, n))
    for i, c in enumerate(coordinates):
        axes[i].plot(qdd[:, i], pred[:, i], ".", ms=2)
        lo, hi = np.percentile(qdd[:, i], [0.5, 99.5])
        axes[i].plot([lo, hi], [lo, hi], "k--", lw=0.8)
        axes[i].set_xlabel(f"{c}_ddot estimated from data")
        axes[i].set_ylabel(f"{c}_ddot predicted")
    fig.suptitle("q̈ parity on held-out data")
    w = 3.6 * n
    save_figure(fig, path, margins=dict(left=0.75 / w, right=1 - 0.15 / w, bottom=0.16, top=0.88, wspace=0.4))


def _fig_coefficients(terms, coefs, path):
    fig = new_figure(figsize=(7, 0.4 * len(terms) + 1.2))
    ax = fig.subplots()
    ax.barh(range(len(terms)), coefs, color=["C0" if c > 0 else "C3" for c in coefs])
    ax.set_yticks(range(len(terms)))
    ax.set_yticklabels([str(t) for t in terms])
    ax.axvline(0, color="k", lw=0.6)
    ax.set_xlabel("coefficient (normalized)")
    save_figure(fig, path)  # tight: the term labels are of any length


def _fmt(x) -> str:
    if isinstance(x, float):
        return "—" if not math.isfinite(x) else f"{x:.3g}"
    return str(x)


def write_report(out: Path, *, model, info: dict, ev: dict, command: str, warnings: list[str],
                 mlp=None, sparse_error: str | None = None, conserved: list[dict] | None = None,
                 conserved_series: list[dict] | None = None) -> None:
    """report.md and PNG figures for a fitted model (sparse, or MLP fallback); ``conserved`` (the
    ``"conserved"`` entries of lagrangian.json) and their ``conserved_series`` along held-out
    trajectories add the symmetries section."""
    out = Path(out)
    coords = info["coordinates"]
    lines = [f"# Lagrangian discovery: `{info['source']}`", "", f"Command: `{command}`", ""]
    lines += ["## Data", "",
              f"- coordinates: {', '.join(coords)}; trajectories: {info['n_trajectories']}; "
              f"samples: {info['n_samples']}; time step ≈ {info['dt']:.4g} s",
              f"- derivatives: {info['differentiator']}",
              f"- estimated position noise (relative to signal std): {info['relative_noise']:.2g}"]
    if info.get("bodies"):
        lines.append("- bodies (pairwise-distance terms): " + "; ".join(f"({', '.join(b)})" for b in info["bodies"])
                     + (" — given by --bodies" if info.get("bodies_given") else " — found from the coordinate names"))
    lines.append("")
    if warnings:
        lines += ["## Warnings", ""] + [f"- {w}" for w in warnings] + [""]
    alternatives = getattr(model, "alternatives_", None)
    if alternatives:
        lines += ["## Indistinguishable alternatives", "",
                  "These supports, with no more terms, fit the held-out data within the same margin (look-alike "
                  "terms such as θ² and cos θ at small amplitude). The model above was chosen by the stated rule: "
                  "the lowest held-out error, and on noisy or measured data the likelihood of the positions "
                  "(stage 2), which replaces a look-alike only when it is decisively better. More amplitude or "
                  "less noise would separate them further.", "",
                  "| L | held-out weak error |", "|---|---|"]
        lines += [f"| `{a['lagrangian']}` | {a['validation_error']:.3g} |" for a in alternatives] + [""]
    sparse = getattr(model, "terms_", None) is not None
    if sparse:
        L = model.lagrangian()
        lines += ["## Lagrangian", "", f"$$L = {to_latex(L, coords)}$$", "", "```", f"L = {L}", "```", "",
                  f"Normalization: {model.normalization_} (L and cL give the same motion, and "
                  "terms whose Euler–Lagrange equations vanish identically are dropped).", ""]
        coulomb = getattr(model, "coulomb_", None)
        dry = coulomb is not None and bool(np.any(coulomb))
        R = (model.rayleigh() if getattr(model, "dissipation", False) is True or np.any(getattr(model, "damping_", 0))
             or dry else None)
        eqs = equations_of_motion(L, coords)
        if R is not None:
            lines += ["## Dissipation (Rayleigh function)", "", f"$$R = {to_latex(R, coords)}$$", "",
                      "```", f"R = {R}", "```", "",
                      "Friction fitted beside L (same normalization): the equations of motion are "
                      "d/dt ∂L/∂q̇ − ∂L/∂q + ∂R/∂q̇ = 0, and energy is not conserved.", ""]
            if dry:
                lines += ["Coulomb (dry) friction: the terms F_c ε log cosh(q̇/ε) give the force "
                          "−F_c tanh(q̇/ε), a sign function smoothed over ε = 1 % of the RMS speed ("
                          + ", ".join(f"{q}: F_c = {f:.6g}, ε = {e:.3g}" for q, f, e in
                                      zip(coords, coulomb, model.coulomb_epsilon_) if f) + ").", ""]
            vs = [sympy.Symbol(velocity_name(c)) for c in coords]
            eqs = [sympy.Eq(e.lhs + sympy.diff(R, v), 0) for e, v in zip(eqs, vs)]
        rhs = ([sympy.Symbol(c + "_force") for c in coords] if getattr(model, "force_", False)
               else [sympy.Integer(0)] * len(coords))
        lines += ["## Equations of motion", ""]
        if getattr(model, "force_", False):
            lines += ["With the known applied generalized forces `<coordinate>_force` of the data on the right "
                      "(L is in the force's units).", ""]
        lines += [f"$${to_latex(e.lhs, coords)} = {sympy.latex(r)}$$" for e, r in zip(eqs, rhs)] + [""]
        lines += ["Plain text:", "", "```"] + [f"{e.lhs} = {r}" for e, r in zip(eqs, rhs)] + ["```", ""]
        se = getattr(model, "coef_stderr_", None)
        if se is None:
            lines += ["## Terms", "", "| term | coefficient |", "|---|---|"]
            lines += [f"| `{t}` | {c:.8g} |" for t, c in zip(model.terms_, model.coef_)] + [""]
        else:
            lines += ["## Terms", "", "Standard errors from the maximum-likelihood trajectory fit (Gauss–Newton "
                      "curvature; the coefficient that carries the normalization is fixed, stderr 0).", "",
                      "| term | coefficient | ± stderr |", "|---|---|---|"]
            lines += [f"| `{t}` | {c:.8g} | {e:.2g} |" for t, c, e in zip(model.terms_, model.coef_, se)] + [""]
            dse = getattr(model, "damping_stderr_", None)
            if dse is not None:
                lines += ["| friction | c | ± stderr |", "|---|---|---|"]
                lines += [f"| {q} | {c:.6g} | {e:.2g} |" for q, c, e in zip(model.coordinates_, model.damping_, dse)]
                lines += [""]
            cse = getattr(model, "coulomb_stderr_", None)
            if cse is not None:
                lines += ["| Coulomb friction | F_c | ± stderr |", "|---|---|---|"]
                lines += [f"| {q} | {c:.6g} | {e:.2g} |" for q, c, e in zip(model.coordinates_, model.coulomb_, cse)]
                lines += [""]
        _fig_coefficients(model.terms_, model.coef_, out / "coefficients.png")
        lines += ["![coefficients](coefficients.png)", ""]
    else:
        lines += ["## Model: MLP Lagrangian", "",
                  f"Why: {sparse_error}. An MLP Lagrangian L(q, q̇) was trained through the "
                  "Euler–Lagrange equations on the training trajectories' smoothed derivatives. It has no "
                  "closed form; use `discover.load(DIR)` for q̈, rollouts and energy.", ""]
    m = info["metrics"]
    if conserved:
        lines += [render_symmetries(conserved, out / "symmetries.png", conserved_series), ""]
    lines += ["## Fit and validation", "", "| metric | value |", "|---|---|"]
    lines += [f"| {k.replace('_', ' ')} | {_fmt(v)} |" for k, v in m.items() if not isinstance(v, dict)]
    for k, v in m.items():
        if isinstance(v, dict):
            lines += [f"| {k} — {kk.replace('_', ' ')} | {_fmt(vv)} |" for kk, vv in v.items()]
    lines += [f"| held-out rollout: median time with error < 10 % of signal std | "
              f"{ev['rollout_valid_time']:.3g} s of {ev['rollout_duration']:.3g} s |",
              f"| held-out rollout: median max energy drift (relative) | {_fmt(ev['rollout_energy_drift'])} |",
              f"| energy of the found L along the held-out data: relative variation | "
              f"{_fmt(ev['energy_variation_on_data'])} |", ""]
    if _fig_rollout(ev, coords, out / "rollout.png"):
        lines += ["![rollout](rollout.png)", ""]
    _fig_parity(model, info["validation"], coords, out / "parity.png")
    lines += ["![parity](parity.png)", ""]
    if sparse and getattr(model, "tiers_", None):
        lines += ["## Library search", "", "| library | terms | best validation error | candidates |",
                  "|---|---|---|---|"]
        lines += [f"| {t['tier']} | {t['terms']} | "
                  f"{'skipped: ' + t['skipped'] if t.get('skipped') else _fmt(t['best_val_error'])} | {t['candidates']} |"
                  for t in model.tiers_]
        lines += ["", f"Chosen: **{model.library_name_}** — the sparsest model whose validation error "
                  f"is within {model.parsimony:.0%} of the best.", ""]
        g = getattr(model, "gauge_", {})
        if g.get("null") or g.get("collinear"):
            lines += [f"Null-Lagrangian terms dropped (their Euler–Lagrange columns vanish): "
                      f"{', '.join(f'`{x}`' for x in g.get('null', [])) or 'none'}.",
                      f"Collinear terms dropped (dependent on simpler ones): "
                      f"{', '.join(f'`{x}`' for x in g.get('collinear', [])) or 'none'}.", ""]
        lines += ["Best candidates by size:", "", "| terms | validation error | library | model |",
                  "|---|---|---|---|"]
        shown = {}
        for c in model.candidates_:
            shown.setdefault(c.n_terms, c)
        for k in sorted(shown)[:8]:
            c = shown[k]
            lines.append(f"| {k} | {_fmt(c.val_error)} | {c.tier} | `{' + '.join(str(e) for e in c.terms)}` |")
        lines.append("")
    (out / "report.md").write_text("\n".join(lines))
