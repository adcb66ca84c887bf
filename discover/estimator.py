"""The policy users get by default: a library model first, an MLP Lagrangian only when it is
honestly better.

>>> result = Discover().fit(discover.read_csv("data/pendulum.csv"))
>>> result.model_.lagrangian()
0.5*theta_dot**2 + 9.81*cos(theta)

1. :class:`~discover.model.SparseLagrangian` is fitted (automatic library search, friction tried).
2. Its held-out q̈ error is compared with what the noise alone produces: the differentiators'
   own estimate of their q̈ error on the same held-out samples (``noise_floor_``).  A model within
   ``max(fallback_threshold, FLOOR_FACTOR × floor)``, and below ``CEILING``, is consistent with the
   data, and is returned.  So is a model whose stage 2 (the trajectory fit on the measured
   positions) left residuals within ``FOLLOWS`` × the noise estimate on every coordinate: at high
   noise the q̈ estimates are too wild to judge by, the positions are not.
3. Otherwise (or when no library model could be fitted) an MLP Lagrangian is trained on the
   *training* trajectories only, from smoothed derivatives, and scored on the same held-out
   trajectories with the same metric.  It is returned only when its error is below
   ``MLP_MARGIN`` × the library model's, and so is its typical error (the median per-sample
   error, :func:`discover.prepare.qddot_errors`): a few wild q̈ estimates (a spherical pendulum
   at 2 % noise, evaluated at noisy smoothed states) make a right closed form's RMS error large
   where a smooth MLP's stays moderate, while the typical error shows which model is closer to
   the motion.  Otherwise the library model is returned with a warning.
   An MLP that scores worse than the library model (or whose training diverges) is never
   returned; a library model is kept over an MLP up to 1/``MLP_MARGIN`` × worse on purpose (a
   closed form is worth a small loss of fit).

``decision_`` says in one sentence what happened and why; ``warnings_`` lists what a user
should know; ``scores_`` holds the held-out q̈ errors of every model fitted.
"""
from __future__ import annotations

import math
import warnings

import numpy as np

from .mechanics import SingularMassMatrixError
from .model import FitFailedError, SparseLagrangian
from .neural import TrainingDivergedError
from .prepare import PreparedData, prepare, qddot_errors as _qddot_errors, qddot_noise_floor

__all__ = ["Discover", "FLOOR_FACTOR", "CEILING", "MLP_MARGIN"]

#: a library model whose held-out q̈ error is within this factor of the noise floor is
#: consistent with the data (the floor is an estimate: measured 1.3–3× low on noisy pendulums and 1.1× on the noisy double pendulum)
FLOOR_FACTOR = 3.0
#: a library model whose held-out q̈ error is at or above this is never accepted on the noise
#: floor's word alone (at ~10 % noise the floor estimate is itself large and let a model with
#: error ≈ 1 through, measured in results/noise_cli): the MLP comparison and a warning follow
CEILING = 0.5
#: the MLP replaces the library model only when its held-out q̈ error is below this fraction of
#: the library model's (a closed form is worth a small loss of fit)
MLP_MARGIN = 0.8


#: stage 2's position residuals at most this multiple of the noise estimate on every coordinate
#: mean the model follows the positions to within the noise (correct models measured at
#: 0.94–0.99 on simulated noisy data; a harmonic L on ±2.5 rad pendulum swings, and the
#: 0.3 rad-noise spherical pendulum whose coefficients came out 12 % off, above 2)
FOLLOWS = 1.2


def _follows_positions(model) -> str:
    """"" unless the library model's accepted stage 2 left position residuals within ``FOLLOWS``
    × the noise estimate on every coordinate; then the ratios, as text."""
    info = getattr(model, "trajectory_fit_", None) or {}
    ratio = info.get("position_rms_over_noise")
    if not info.get("accepted") or not ratio or not all(r <= FOLLOWS for r in ratio):
        return ""
    return "stage 2 position residual / noise " + ", ".join(f"{r:.2f}" for r in ratio)


class Discover:
    """Library model or, when honestly better, an MLP Lagrangian.

    Args (keyword-only except ``library``):
        library: passed to :class:`SparseLagrangian` (None: automatic tier search).
        fallback: allow the MLP fallback at all.
        model: "auto" (the policy above), or "mlp" to skip the library and return an MLP
            Lagrangian (a user's explicit choice; nothing is compared).
        fallback_threshold: held-out relative q̈ error below which a library model is accepted
            whatever the noise floor says.
        mlp_epochs, mlp_dtype, device: MLP training settings.
        seed, validation, differentiator: shared by both estimators (same held-out split).
        verbose: progress output.
        **sparse_options: further :class:`SparseLagrangian` arguments (method, dissipation, …).
    Fitted: ``model_``, ``sparse_`` (or None), ``mlp_`` (or None), ``scores_``, ``noise_floor_``,
    ``decision_``, ``warnings_``, ``typical_`` (held-out typical q̈ errors); ``prepared_`` and
    ``validation_`` (the differentiated
    trajectories and the held-out ones, in the data's units), ``differentiator_``, ``noise_``.
    """

    def __init__(self, library=None, *, fallback: bool = True, model: str = "auto", fallback_threshold: float = 0.05,
                 mlp_epochs: int = 200, mlp_dtype: str = "float32", device: str = "cpu", seed: int = 0,
                 validation: float = 0.25, differentiator="auto", verbose: bool = False, **sparse_options):
        self.library = library
        self.fallback = fallback
        self.model = model
        self.fallback_threshold = fallback_threshold
        self.mlp_epochs = mlp_epochs
        self.mlp_dtype = mlp_dtype
        self.device = device
        self.seed = seed
        self.validation = validation
        self.differentiator = differentiator
        self.verbose = verbose
        self.sparse_options = sparse_options

    def fit(self, data) -> "Discover":
        self.sparse_, self.mlp_, self.model_ = None, None, None
        self.scores_, self.typical_, self.warnings_ = {}, {}, []
        failure = None
        if self.model not in ("auto", "mlp"):
            raise ValueError(f"model must be 'auto' or 'mlp', not {self.model!r}")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            data = self._prepare(data)
        self.warnings_ += sorted({str(w.message) for w in caught})
        train, val = data.train, data.validation
        if data.has_force and self.model == "mlp":
            raise ValueError("the MLP Lagrangian does not take a known applied force (<coordinate>_force columns); "
                             "use the library model (model='auto')")
        if self.model == "mlp":
            self.noise_floor_, self.accept_below_ = qddot_noise_floor(val), math.nan
            mlp = self._fit_mlp(data.coordinates, train)
            self.scores_["mlp"], self.typical_["mlp"] = _qddot_errors(mlp, val)
            return self._choose(mlp, "MLP Lagrangian requested (model='mlp'); no library model was fitted")
        caught = []
        try:
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                sparse = SparseLagrangian(self.library, differentiator=self.differentiator,
                                          validation=self.validation, device=self.device, seed=self.seed,
                                          verbose=self.verbose, **self.sparse_options).fit(data)
            if not np.all(np.isfinite(sparse.coef_)):
                raise FitFailedError("the library fit diverged (non-finite coefficients)")
            self.sparse_ = sparse
        except FitFailedError as exc:
            failure = str(exc)
        finally:  # what the library fit warned about, also when it failed
            self.warnings_ += sorted({str(w.message) for w in caught})

        self.noise_floor_ = qddot_noise_floor(val)
        self.accept_below_ = min(max(self.fallback_threshold, FLOOR_FACTOR * self.noise_floor_),
                                 max(CEILING, self.fallback_threshold))
        if self.sparse_ is not None:
            err, self.typical_["library"] = _qddot_errors(self.sparse_, val)  # in the data's units, like the MLP's
            self.scores_["library"] = err
            if err <= self.accept_below_:
                return self._choose(self.sparse_, f"the library model's held-out q̈ error {err:.3g} is consistent "
                                    f"with the noise (accepted below {self.accept_below_:.3g})")
            follows = _follows_positions(self.sparse_)
            if follows:
                return self._choose(self.sparse_, f"the library model's fitted motion follows the measured positions "
                                    f"to within the noise ({follows}), though its held-out q̈ error {err:.3g} is above "
                                    f"{self.accept_below_:.3g} (noisy q̈ estimates)")
            failure = (f"held-out q̈ error {err:.3g} > {self.accept_below_:.3g} (the larger of "
                       f"{self.fallback_threshold:g} and {FLOOR_FACTOR:g} × the noise floor {self.noise_floor_:.3g})")
        if not self.fallback or data.has_force:
            if data.has_force and self.fallback:
                failure += "; the MLP fallback does not take a known applied force"
            if self.sparse_ is None:
                raise FitFailedError(failure)
            self.warnings_.append(f"the library model is poor ({failure}); the MLP fallback is off")
            return self._choose(self.sparse_, f"no fallback: {failure}")

        try:
            mlp = self._fit_mlp(data.coordinates, train)
        except (TrainingDivergedError, SingularMassMatrixError) as exc:
            if self.sparse_ is None:
                raise
            self.warnings_.append(f"the library model is poor ({failure}) and the MLP fallback failed ({exc}): "
                                  "the library model is kept")
            return self._choose(self.sparse_, f"library kept: the MLP fallback failed ({exc})")
        mlp_err, self.typical_["mlp"] = _qddot_errors(mlp, val)
        self.scores_["mlp"] = mlp_err
        if self.sparse_ is None:
            self.warnings_.append(f"no library model fits ({failure}): the result is an MLP Lagrangian "
                                  "without closed form")
            return self._choose(mlp, f"no library model could be fitted ({failure})")
        lib_err = self.scores_["library"]
        lib_typ, mlp_typ = self.typical_["library"], self.typical_["mlp"]
        if not mlp_typ < MLP_MARGIN * lib_typ and mlp_err < MLP_MARGIN * lib_err:
            self.warnings_.append(f"the library model is poor ({failure}); the MLP Lagrangian's held-out q̈ error "
                                  f"{mlp_err:.3g} is lower, but not its typical error ({mlp_typ:.3g} vs "
                                  f"{lib_typ:.3g}): the library model is kept")
            return self._choose(self.sparse_, f"library kept: MLP {mlp_err:.3g} < {MLP_MARGIN:g} × library "
                                f"{lib_err:.3g}, but its typical error {mlp_typ:.3g} is not below {MLP_MARGIN:g} × "
                                f"{lib_typ:.3g}")
        if mlp_err < MLP_MARGIN * lib_err:
            self.warnings_.append(f"no library model fits ({failure}); the MLP Lagrangian's held-out q̈ error "
                                  f"{mlp_err:.3g} beats the library model's {lib_err:.3g}: the result has no "
                                  "closed form")
            return self._choose(mlp, f"MLP held-out q̈ error {mlp_err:.3g} < {MLP_MARGIN:g} × library {lib_err:.3g}")
        self.warnings_.append(f"the library model is poor ({failure}), but the MLP fallback did no better "
                              f"(held-out q̈ error {mlp_err:.3g} vs {lib_err:.3g}): the library model is kept")
        return self._choose(self.sparse_, f"library kept: MLP {mlp_err:.3g} is not below {MLP_MARGIN:g} × "
                            f"library {lib_err:.3g}")

    def _prepare(self, data):
        """The one preparation (:func:`discover.prepare.prepare`) both estimators use; keeps
        ``prepared_`` (all trajectories, differentiated), ``validation_`` (the held-out ones, which
        the report evaluates on), ``differentiator_`` and ``noise_``."""
        data = data if isinstance(data, PreparedData) else prepare(data, self.differentiator,
                                                                     validation=self.validation, seed=self.seed)
        self.prepared_, self.validation_ = data.all, data.validation
        self.differentiator_, self.noise_ = data.differentiator, data.noise
        return data

    def _choose(self, model, decision: str) -> "Discover":
        self.model_, self.decision_ = model, decision
        return self

    def _fit_mlp(self, coordinates, train):
        """The MLP on the training trajectories of the library fit's split (the same prepared
        data: smoothed q and the differentiator's q̇, q̈, never raw second differences)."""
        from .data import Trajectory, TrajectorySet
        from .neural import MLPLagrangian

        pieces = [Trajectory(p.t, p.q, p.qdot, p.qddot, i) for i, p in enumerate(train)]
        self.mlp_ = MLPLagrangian(epochs=self.mlp_epochs, device=self.device, seed=self.seed,
                                  dtype=self.mlp_dtype, verbose=self.verbose).fit(
            TrajectorySet(list(coordinates), pieces))
        return self.mlp_

    @property
    def is_library_model(self) -> bool:
        return isinstance(self.model_, SparseLagrangian)

    def summary(self) -> dict:
        return {"decision": self.decision_, "held_out_qddot_error": dict(self.scores_),
                "held_out_qddot_typical_error": dict(self.typical_),
                "qddot_noise_floor": self.noise_floor_ if math.isfinite(self.noise_floor_) else None,
                "accept_below": self.accept_below_ if math.isfinite(self.accept_below_) else None}
