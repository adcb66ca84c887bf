"""discover: find the Lagrangian of a mechanical system from its trajectories."""
from .mechanics import (
    SingularMassMatrixError,
    accelerations,
    energy,
    euler_lagrange_residual,
    lagrangian_gradients,
    mass_matrix,
)
from .neural import MLPEnsemble, MLPLagrangian, TrainingDivergedError

__version__ = "0.1.0"
__all__ = [
    "SingularMassMatrixError",
    "accelerations",
    "energy",
    "euler_lagrange_residual",
    "lagrangian_gradients",
    "mass_matrix",
]
__all__ += ["MLPEnsemble", "MLPLagrangian", "TrainingDivergedError"]
