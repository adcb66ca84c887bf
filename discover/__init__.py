"""discover: find the Lagrangian of a mechanical system from its trajectories."""
from .mechanics import (
    SingularMassMatrixError,
    accelerations,
    energy,
    euler_lagrange_residual,
    lagrangian_gradients,
    mass_and_force,
    mass_matrix,
    solve_accelerations,
)
from .integrate import Rollout, rollout
from .data import DataError, Trajectory, TrajectorySet, check_enough_samples, read_csv
from .derivatives import (
    Auto,
    FiniteDifference,
    SavitzkyGolay,
    SmoothingSpline,
    estimate_noise,
    get_differentiator,
)
from .library import Constant, Custom, Polynomial, Radial, Trig
from .model import FitFailedError, SparseLagrangian
from .io import load
from .estimator import Discover
from .neural import MLPEnsemble, MLPLagrangian, TrainingDivergedError

__version__ = "0.1.0"
__all__ = [
    "SingularMassMatrixError", "accelerations", "energy", "euler_lagrange_residual",
    "lagrangian_gradients", "mass_and_force", "mass_matrix", "solve_accelerations",
    "Rollout", "rollout",
    "DataError", "Trajectory", "TrajectorySet", "check_enough_samples", "read_csv",
    "Auto", "FiniteDifference", "SavitzkyGolay", "SmoothingSpline", "estimate_noise", "get_differentiator",
    "Constant", "Custom", "Polynomial", "Radial", "Trig",
    "FitFailedError", "SparseLagrangian", "load", "Discover",
    "MLPEnsemble", "MLPLagrangian", "TrainingDivergedError",
]
