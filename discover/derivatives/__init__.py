"""Numerical differentiation of sampled trajectories: q(t) → (q_smooth, q̇, q̈).

Each differentiator is a small object in the pysindy style,
``q_smooth, qdot, qddot = SavitzkyGolay(polyorder=5).differentiate(t, q)``, with ``t`` of
shape (N,) and ``q`` of shape (N, n) (or (N,)); the outputs have the shape of ``q``, and what
a differentiator chose from the data is kept in attributes ending in ``_`` and summarized by
``describe()``.  This package gathers them and picks one by name.
"""
from __future__ import annotations

from .auto import AUTO_POLYORDERS, CLEAN_RTOL, Auto  # noqa: F401 (constants re-exported)
from .base import UNIFORM_RTOL, Differentiator  # noqa: F401
from .finite_difference import FiniteDifference
from .noise import estimate_noise
from .savgol import SavitzkyGolay
from .spline import SPLINE_FACTOR, SmoothingSpline  # noqa: F401

__all__ = [
    "Auto",
    "Differentiator",
    "FiniteDifference",
    "SavitzkyGolay",
    "SmoothingSpline",
    "estimate_noise",
    "get_differentiator",
]


_NAMES = {
    "auto": Auto,
    "finite_difference": FiniteDifference,
    "fd": FiniteDifference,
    "savgol": SavitzkyGolay,
    "savitzky_golay": SavitzkyGolay,
    "spline": SmoothingSpline,
    "smoothing_spline": SmoothingSpline,
}


def get_differentiator(spec="auto") -> Differentiator:
    """A differentiator from a name ("auto", "finite_difference"/"fd", "savgol", "spline")
    or an object with a ``differentiate`` method (returned unchanged)."""
    if hasattr(spec, "differentiate"):
        return spec
    if isinstance(spec, str):
        key = spec.strip().lower().replace("-", "_").replace(" ", "_")
        if key in _NAMES:
            return _NAMES[key]()
    raise ValueError(
        f"unknown differentiator {spec!r}; use one of 'auto', 'finite_difference' ('fd'), "
        "'savgol', 'spline' or an object with a differentiate(t, q) method"
    )
