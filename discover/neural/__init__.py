"""MLP Lagrangians (LNN): the fallback when no sparse library model fits.  A network
``L_θ(q, q̇)`` is trained so that the accelerations it implies through the Euler–Lagrange
equations (:func:`discover.mechanics.accelerations`, the one implementation) match the data's
q̈; single models and vmapped ensembles are fitted, saved and loaded like the other estimators.
"""
from __future__ import annotations

from .base import TrainingDivergedError
from .estimators import MLPEnsemble, MLPLagrangian, load_mlp
from .network import LagrangianNet
from .speed import measure_speed

__all__ = ["TrainingDivergedError", "LagrangianNet", "MLPLagrangian", "MLPEnsemble",
           "load_mlp", "measure_speed"]
