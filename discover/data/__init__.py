"""Trajectory data, in three layers that import one way: :mod:`.validation` (the CSV contract's
checks, :class:`DataError`) ← :mod:`.trajectories` (the containers the estimators fit,
:class:`Trajectory` and :class:`TrajectorySet`) ← :mod:`.reading` (:func:`read_csv`)."""
from __future__ import annotations

from .reading import read_csv
from .trajectories import Trajectory, TrajectorySet
from .validation import MAX_GAP, MIN_SAMPLES, DataError, check_enough_samples  # noqa: F401

__all__ = ["DataError", "Trajectory", "TrajectorySet", "check_enough_samples", "read_csv"]
