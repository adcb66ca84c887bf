"""Figures for the reports without pyplot: a :class:`matplotlib.figure.Figure` drawn straight
to a file by the Agg canvas (no global figure manager, no GUI backend to import or pick)."""
from __future__ import annotations

__all__ = ["new_figure", "save_figure"]


def new_figure(**kwargs):
    """A detached Figure (``figsize=…`` etc.); draw on it with ``fig.subplots(...)``."""
    from matplotlib.figure import Figure

    return Figure(**kwargs)


def save_figure(fig, path, *, dpi: int = 110, margins: dict | None = None):
    """Write ``fig`` to ``path``: fixed ``margins`` (``subplots_adjust`` keywords) when given,
    otherwise the tight layout (measures every label: a draw more)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    if margins is None:
        fig.tight_layout()
    else:
        fig.subplots_adjust(**margins)
    fig.savefig(path, dpi=dpi)
