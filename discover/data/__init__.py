"""Trajectory data: CSV reading and validation (:func:`read_csv`, :class:`DataError`) and the
containers the estimators fit (:class:`Trajectory`, :class:`TrajectorySet`)."""
from __future__ import annotations

from .reading import MAX_GAP, MIN_SAMPLES, DataError, check_enough_samples, read_csv  # noqa: F401
from .trajectories import Trajectory, TrajectorySet

__all__ = ["DataError", "Trajectory", "TrajectorySet", "check_enough_samples", "read_csv"]
