"""The report section "Symmetries and conserved quantities" (rendering only: the numbers come
from :func:`discover.conserved.conserved_quantities` and :func:`discover.conserved.charge_series`)."""
from __future__ import annotations

from pathlib import Path

__all__ = ["render_symmetries", "plot_charges"]


def plot_charges(series: list[dict], figure_path) -> Path:
    """One panel per quantity: (Q − mean Q) / size of Q's terms along each trajectory."""
    from .figure import new_figure, save_figure

    k = len(series)
    h = 1.9 * k + 0.6
    fig = new_figure(figsize=(6.4, h))
    axes = fig.subplots(k, 1, sharex=True, squeeze=False)
    for ax, s in zip(axes[:, 0], series):
        for i, (t, r) in enumerate(zip(s["t"], s["relative"])):
            ax.plot(t, r, lw=1, label=f"trajectory {i + 1}")
        ax.axhline(0, color="0.6", lw=0.6)
        ax.set_ylabel("relative\nchange", fontsize=8)
        ax.set_title(s["name"], fontsize=9)
        ax.ticklabel_format(axis="y", style="sci", scilimits=(-2, 2))
    axes[-1, 0].set_xlabel("t")
    if series and len(series[0]["t"]) > 1:
        axes[0, 0].legend(fontsize=7, loc="upper right")
    path = Path(figure_path)
    save_figure(fig, path, margins=dict(left=0.14, right=0.97, bottom=0.5 / h, top=1 - 0.3 / h, hspace=0.45))
    return path


def _fmt(x) -> str:
    return "—" if x is None or x != x else f"{x:.2g}"


def render_symmetries(entries: list[dict], figure_path, series: list[dict] | None = None) -> str:
    """Markdown section for ``entries`` (the ``"conserved"`` list); with ``series`` it also
    draws the figure at ``figure_path`` and links it by file name."""
    friction = any("variation_after_friction" in e for e in entries)
    lines = ["## Symmetries and conserved quantities", ""]
    n_sym = len(entries) - 1
    lines.append(
        "Point symmetries ξ(q)·∂/∂q (translations, angle shifts, rotations, any linear field) that "
        "leave L invariant up to a total time derivative dF/dt, each with its Noether charge "
        "Q = Σ ∂L/∂q̇ᵢ ξᵢ − F, and the energy E = Σ q̇ᵢ ∂L/∂q̇ᵢ − L.  "
        + (f"{n_sym} independent symmetr{'y' if n_sym == 1 else 'ies'} besides time translation."
           if n_sym else "No point symmetry besides time translation."))
    lines.append("")
    lines.append("Variation on data: (max Q − min Q) over the RMS size of Q's terms, largest over the "
                 "held-out trajectories."
                 + ("  With friction the quantities decay as dQ/dt = −Σ ξᵢ ∂R/∂q̇ᵢ (expected; "
                    "∂R/∂q̇ᵢ = cᵢ q̇ᵢ for viscous friction, F_c,i tanh(q̇ᵢ/εᵢ) for Coulomb friction, the energy's "
                    "ξ being q̇); 'after friction' adds back that predicted loss." if friction else ""))
    lines.append("")
    head = "| quantity | symmetry | expression | variation on data |"
    rule = "|---|---|---|---|"
    if friction:
        head, rule = head + " after friction |", rule + "---|"
    lines += [head, rule]
    for e in entries:
        row = f"| {e['name']} | {e['symmetry']} | ${e.get('latex', e['expression'])}$ | {_fmt(e['variation_on_data'])} |"
        if friction:
            row += f" {_fmt(e.get('variation_after_friction'))} |"
        lines.append(row)
    lines.append("")
    lines.append("Plain text (SymPy): " + "; ".join(f"`{e['name']}` = `{e['expression']}`" for e in entries))
    if series:
        path = plot_charges(series, figure_path)
        lines += ["", f"![conserved quantities along held-out trajectories]({path.name})"]
    return "\n".join(lines) + "\n"
