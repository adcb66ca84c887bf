"""Formulations: each turns prepared trajectories and a bound library into a typed regression
problem (:class:`Problem`) — the strong form (q̈ estimated), the weak form (test functions, no
q̈) — and the trajectory formulation (multiple shooting on the measured positions,
:mod:`discover.formulations.trajectory`), which refits a chosen support by maximum likelihood."""
from .base import Gauge, Problem, gauge_reduction, normalization_rows, validation_columns
from .strong import StrongForm
from .weak import WeakForm

__all__ = ["Gauge", "Problem", "StrongForm", "WeakForm", "gauge_reduction", "get_formulation",
           "normalization_rows", "validation_columns"]


def get_formulation(name: str, *, max_samples: int = 4000, seed: int = 0):
    """"strong" or "weak" by name."""
    if name == "strong":
        return StrongForm(max_samples=max_samples, seed=seed)
    if name == "weak":
        return WeakForm()
    raise ValueError(f"method must be 'strong', 'weak' or 'auto', not {name!r}")
