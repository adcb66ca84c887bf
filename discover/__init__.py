"""discover: find the Lagrangian of a mechanical system from its trajectories.

How a CSV becomes a Lagrangian (each module one job, imports flowing down this list):

- ``data/`` — validation (the CSV contract, DataError) ← containers (Trajectory, TrajectorySet)
  ← reading (read_csv);
- ``derivatives/`` — finite differences, Savitzky–Golay, splines, the automatic choice;
- ``prepare`` — the one preparation: derivatives per trajectory, noise, train/validation split
  (``prepare() → PreparedData``, kept by the fitted models);
- ``units`` — internal units for data far from order one, and back;
- ``mechanics`` — the one Euler–Lagrange implementation (q̈, M and f, residuals, energy; friction
  and known forces), ``definite`` — the definite solve, ``replay`` — the engine's operations recorded
  once per model and batch shape and replayed (rollouts, benchmarks), ``integrate`` — rollouts;
- ``library`` — candidate terms (SymPy + torch from one definition);
- ``formulations/`` — strong and weak forms build the regression problem (Θ, normalization rows,
  friction block, known force); ``formulations.trajectory`` — stage 2, maximum likelihood on the
  positions (``trajectory_fit``: the multiple-shooting solver);
- ``sparse`` — gauge reduction and the support search (``SupportSearch``), ``candidate`` — one
  candidate model, ``selection`` — the noise-aware choice and look-alike alternatives;
- ``model`` — SparseLagrangian (the orchestration), ``estimator`` — Discover (library model or, when
  honestly better, the MLP of ``neural/``), ``io`` — fitted-model base and lagrangian.json;
- ``symbolic`` — SymPy export, ``symmetry``/``conserved`` — point symmetries and Noether charges;
- ``evaluation`` — shared metrics; ``parallel`` — task backends (joblib loky, dask);
  ``studies/`` — experiments; ``reports/`` — rendering only; ``systems/`` — reference systems.
"""
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
