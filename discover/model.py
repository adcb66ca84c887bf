"""The library estimator users fit: SparseLagrangian, L = Σ ξ_k φ_k with sparse ξ.

>>> model = SparseLagrangian().fit(discover.read_csv("data/pendulum.csv"))
>>> model.lagrangian()
0.5*theta_dot**2 + 9.81*cos(theta)
"""
from __future__ import annotations

import math

import numpy as np
import sympy
import torch

from .bodies import find_bodies
from .candidate import Candidate
from .data import check_enough_samples
from .evaluation import generic_states
from .io import FittedModel, load
from .dissipation import dissipation_function, rayleigh_expr, warn_negative_friction
from .formulations import Problem, gauge_reduction, get_formulation, validation_columns
from .formulations.base import friction_epsilon
from . import model_json
from .library import Library, TermSet, default_tiers
from .mechanics import accelerations, energy
from .prepare import (Prepared, PreparedData, prepare, prepare_trajectories, qddot_error as _qddot_error,
                      qddot_noise_floor, stack as _stack)
from .selection import EXACT, alternatives as _alternatives, mixed_velocity as _mixed_velocity, select as _select
from .sparse import SupportSearch, independent_blocks, normalization_rows, scaled_factor
from .symbolic import build_lagrangian, velocity_name
from .units import rescale_prepared, to_user_units, unit_scales
from .weak import test_functions, typical_period, weak_noise_floor, weak_validation_error, weak_validation_errors

__all__ = ["SparseLagrangian", "FitFailedError", "load", "Prepared"]

#: relative noise above which data count as measured or noisy (not simulated and written to 12
#: digits, ~1e-12) and stage 2, the trajectory fit, runs by default (measured: 4e-5 on the IBM
#: camera and MultiArm encoder recordings)
MEASURED = 1e-8


#: on noisy data, a tier whose best held-out weak error is within this factor of the error that
#: the noise alone gives the true model (:func:`discover.weak.weak_noise_floor`) is consistent
#: with the data (measured: true models at 0.88–1.22 × the floor on noisy pendulums, double
#: pendulums, oscillators, chains, a charge in a magnetic field; the floor counts only the noise on
#: the positions, not on the states the model is evaluated at)
NOISE_CONSISTENT = 1.5
#: once a tier is consistent with the noise, richer tiers are still searched while they have at
#: most this many terms (look-alikes of the same size: cos x beside x⁴) and skipped above it (a
#: search over hundreds of terms that cannot lower the error below the noise)
SMALL_TIER = 60


class FitFailedError(RuntimeError):
    """No library model could be fitted (all candidates singular, diverged or infeasible)."""


# ----------------------------------------------------------------------------------------
# the estimator
# ----------------------------------------------------------------------------------------
class SparseLagrangian(FittedModel, kind="sparse"):
    """L = Σ ξ_k φ_k(q, q̇) with sparse ξ, found from trajectories.

    Args (keyword-only, stored as given):
        library: a :class:`discover.library.Library`, or None to search the default tiers
            (quadratic → trig → polynomial → central → trig+polynomial) and keep the sparsest
            model within ``parsimony`` of the best validation error.
        bodies: coordinates grouped by body (``[("ax", "ay"), ("bx", "by")]`` or
            ``"ax,ay;bx,by"``) for the default tiers' pairwise-distance terms, replacing their
            detection by name (``x1, y1, x2, y2``; :func:`discover.bodies.find_bodies`); a bad
            group is a ValueError from ``fit``.  ``bodies_`` holds the bodies used.
        method: "strong" (Euler–Lagrange residual with estimated q̈), "weak" (integrated
            against test functions, no q̈), or "auto" (weak when the data are noisy).
        differentiator: name or object for discover.derivatives ("auto" by default).
        parsimony: a sparser model is preferred while its validation error is at most
            (1 + parsimony) × the best one's.
        validation: fraction of trajectories (or of the one trajectory's time) held out.
        max_samples: at most this many samples enter the strong-form regression.
        refine: stage 2 — refine the chosen model's coefficients on the q̈-loss through the
            engine (Adam with an L1 proximal step, :mod:`discover.refine`); kept only if the
            validation error does not get worse (``refinement_`` says what happened).
        refine_steps, l1: Adam steps and L1 weight of the refinement.
        device: where the refinement runs ("cpu" or "cuda").
        dissipation: friction beside L (:mod:`discover.dissipation`): viscous, a Rayleigh function
            R = ½ Σ cᵢ q̇ᵢ², and Coulomb, the force −F_c,i tanh(q̇ᵢ/εᵢ) (ε: 1 % of the RMS speed):
            "auto" (default) tries every support with and without each kind and keeps one only
            when it earns its place like terms; True forces the viscous coefficients into every
            support (Coulomb still tried); False leaves friction out.
        trajectory_fit: stage 2 on noisy data — the chosen support's coefficients (and friction)
            re-estimated by maximum likelihood on the measured positions, multiple shooting
            (:mod:`discover.formulations.trajectory`), giving ``coef_stderr_``; "auto" (default): on measured or
            noisy data (relative noise above ``MEASURED``); True: always; False: never.
        seed: for the train/validation split and random gauge states.
        verbose: progress output.
    """

    def __init__(self, library: Library | None = None, *, bodies=None, method: str = "auto", differentiator="auto",
                 parsimony: float = 0.25, validation: float = 0.25, max_samples: int = 4000,
                 max_terms: int = 400, refine: bool = False, refine_steps: int = 300, l1: float = 0.0,
                 device: str = "cpu", dissipation="auto", trajectory_fit="auto", seed: int = 0,
                 verbose: bool = False):
        self.library = library
        self.bodies = bodies
        self.method = method
        self.differentiator = differentiator
        self.parsimony = parsimony
        self.validation = validation
        self.max_samples = max_samples
        self.max_terms = max_terms
        self.refine = refine
        self.refine_steps = refine_steps
        self.l1 = l1
        self.device = device
        self.dissipation = dissipation
        self.trajectory_fit = trajectory_fit
        self.seed = seed
        self.verbose = verbose

    # ---------------------------------------------------------------- fitting
    def fit(self, data) -> "SparseLagrangian":
        """Fit to a :class:`discover.data.TrajectorySet` (positions, optionally velocities) or to
        data already prepared by :func:`discover.prepare.prepare` (its split is used as is).

        Data far from order one (1e-8 m, a time column in ns) are fitted in rescaled internal
        units and the result is reported in the data's units (:mod:`discover.units`);
        ``unit_scales_`` records the powers of ten used.  ``prepared_`` keeps the prepared
        data (in the data's units) with the held-out trajectories the model was validated on."""
        if not isinstance(data, PreparedData):
            data = prepare(data, self.differentiator, validation=self.validation, seed=self.seed)
        self.prepared_ = data
        s, tau = unit_scales(data.all)
        self.unit_scales_ = {"coordinates": dict(zip(data.coordinates, map(float, s))), "time": float(tau)}
        if np.all(s == 1) and tau == 1:
            return self._fit(data)
        self._fit(rescale_prepared(data, s, tau))
        to_user_units(self, s, tau)
        self.noise_ = data.noise
        return self

    def _fit(self, data: PreparedData) -> "SparseLagrangian":
        self.coordinates_ = list(data.coordinates)
        self.bodies_ = find_bodies(self.coordinates_, self.bodies)  # given bodies are checked before the search
        n = len(self.coordinates_)
        self.differentiator_, self.noise_ = data.differentiator, data.noise
        self.relative_noise_ = data.relative_noise
        method = self.method
        if method == "auto":
            method = "weak" if self.relative_noise_ > 1e-4 else "strong"
        form = get_formulation(method, max_samples=self.max_samples, seed=self.seed)
        self.method_ = method
        train, val = data.train, data.validation
        self.period_ = typical_period(data.all)
        for p in train + val:  # the held-out check is weak (∫ψ q̈ = ∫ψ'' q) whatever the formulation
            p.tf = test_functions(p.t, overlap=0.75, period=self.period_)
        tiers = ([("user", self.library)] if self.library is not None
                 else default_tiers(self.coordinates_, max_terms=self.max_terms, bodies=self.bodies))
        states = generic_states(*(_stack(data.all, a) for a in ("q", "qdot")), np.random.default_rng(self.seed),
                                400, qddot=_stack(data.all, "qddot"), dtype=torch.float64)

        results: list[Candidate] = []
        self.tiers_, gauges = [], {}
        iterator = tiers
        if self.verbose:
            from tqdm import tqdm
            iterator = tqdm(tiers, desc="library tiers")
        floor = weak_noise_floor(val) if self.relative_noise_ > MEASURED else 0.0
        consistent = False
        for name, lib in iterator:
            if consistent and self.library is None:
                size = lib.size(self.coordinates_, self.max_terms)
                if size > SMALL_TIER:
                    self.tiers_.append({"tier": name, "terms": size, "best_val_error": math.nan, "candidates": 0,
                                        "skipped": "a smaller tier is already consistent with the noise"})
                    continue
            ts = lib.bind(self.coordinates_)
            check_enough_samples(sum(len(p.t) for p in train) * n, len(ts), data.source)
            problem = form.build(ts, train, gauge_reduction(ts, states), friction=bool(self.dissipation))
            search = SupportSearch(force_friction=self.dissipation is True, max_size=lib.max_support(self.coordinates_))
            cands = self._validate(problem, self._propose(problem, search), val)
            for c in cands:
                c.tier, c.tier_rank = name, len(self.tiers_)
            gauges[name] = problem.gauge
            results += cands
            best = min((c.val_error for c in cands), default=math.inf)
            self.tiers_.append({"tier": name, "terms": len(ts), "best_val_error": best,
                                "candidates": len(cands)})
            if best < EXACT:
                break
            consistent = consistent or best <= NOISE_CONSISTENT * floor
        if not results:
            raise FitFailedError(
                "no library model fits: every candidate had a singular or indefinite mass matrix "
                "or could not carry the normalization"
            )
        chosen = _select(results, self.parsimony)
        self.alternatives_ = _alternatives(results, chosen, self.parsimony)
        self.gauge_ = {"null": gauges[chosen.tier].null, "collinear": gauges[chosen.tier].collinear}
        self.damping_ = np.asarray(chosen.damping, float)
        self.coulomb_ = np.asarray(chosen.coulomb, float)
        self.coulomb_epsilon_ = friction_epsilon(train)
        self.refinement_ = None
        if self.refine and (np.any(self.damping_) or np.any(self.coulomb_) or data.has_force):
            self.refinement_ = {"skipped": "the q̈-loss refinement does not fit friction or a known force"}
        elif self.refine:
            self.refinement_ = self._refine(chosen, train, val, torch.float64)
        self.candidates_ = sorted(results, key=lambda c: (c.n_terms, c.val_error))
        self.library_name_ = chosen.tier
        self.terms_ = list(chosen.terms)
        self.coef_ = chosen.coef
        self.force_ = data.has_force
        if self.force_:  # the known force fixes L's scale
            self.normalization_coordinates_, self.normalization_coordinate_ = [], None
            self.normalization_ = ("none needed: the known applied force fixes L's scale (L is in the force's "
                                   "units times the coordinate's, e.g. N·m × rad = J for a torque)")
        else:
            rows = list(chosen.norm)
            self.normalization_coordinates_ = [self.coordinates_[i] for i in rows]
            self.normalization_coordinate_ = self.normalization_coordinates_[0]
            self.normalization_ = "mean over the data of " + " and of ".join(
                f"∂²L/∂{velocity_name(c)}²" for c in self.normalization_coordinates_) + " = 1"
            if len(rows) > 1:
                self.normalization_ += " (decoupled blocks, each scaled separately)"
        self._build()
        self.coef_stderr_, self.damping_stderr_, self.coulomb_stderr_, self.trajectory_fit_ = None, None, None, None
        wanted = self.trajectory_fit is True or (self.trajectory_fit == "auto" and self.relative_noise_ > MEASURED)
        if wanted:
            from .formulations.trajectory import trajectory_refine

            old = list(self.terms_)
            self.trajectory_fit_ = trajectory_refine(self, chosen, results, train, val, _qddot_error,
                                                     friction=self.dissipation == "auto")
            if self.terms_ != old:  # a rival support won on likelihood: the stage-1 choice is the alternative
                now = sorted(map(str, self.terms_))
                self.alternatives_ = [a for a in self.alternatives_ if sorted(a["terms"]) != now]
                self.alternatives_.insert(0, {"lagrangian": str(build_lagrangian(old, chosen.coef, digits=4)),
                                              "terms": [str(e) for e in old],
                                              "coef": [float(x) for x in chosen.coef],
                                              "validation_error": float(chosen.val_error),
                                              "n_terms": int(chosen.n_terms)})
        self.metrics_ = {
            "method": method,
            "library": self.library_name_,
            "n_terms": len(self.terms_),
            "validation_weak_acceleration_error": chosen.val_error,
            "validation_qddot_error": _qddot_error(self, val),
            "validation_qddot_noise_floor": qddot_noise_floor(val),
            "train_qddot_error": _qddot_error(self, train),
            "relative_noise_estimate": self.relative_noise_,
            "differentiator": self.differentiator_,
            "n_train_trajectories": len(train),
            "n_validation_trajectories": len(val),
        }
        if self.refinement_ is not None:
            self.metrics_["refinement"] = self.refinement_
        if self.trajectory_fit_ is not None:
            self.metrics_["trajectory_fit"] = self.trajectory_fit_
        if self.alternatives_:
            self.metrics_["indistinguishable_alternatives"] = len(self.alternatives_)
        if self.dissipation is True or np.any(self.damping_) or np.any(self.coulomb_):
            self.metrics_["rayleigh_dissipation"] = str(self.rayleigh())
            warn_negative_friction(self)
        if self.force_:
            self.metrics_["known_force"] = [c + "_force" for c in self.coordinates_]
        return self

    @staticmethod
    def _propose(problem: Problem, search: SupportSearch) -> list[Candidate]:
        """Candidate supports under each normalization row that the kept columns can carry, and
        under the rows of independent blocks (a decoupled system needs one row per block)."""
        Theta, A, kept = problem.theta, problem.normalization, problem.kept
        if problem.force is not None:  # the force's coefficient is the one normalization
            return search.propose(Theta, A, kept, [0], friction=problem.friction_groups, required=[problem.force])
        seen, out = set(), []
        factor = scaled_factor(Theta, kept)  # one QR of Θ for every row tried
        for i in normalization_rows(A, kept):
            proposal = independent_blocks(Theta, A, kept, i, factor=factor)
            for rows in [[i]] + ([proposal] if len(proposal) > 1 else []):
                for c in search.propose(Theta, A, kept, rows, friction=problem.friction_groups, factor=factor):
                    if (c.norm, c.support) not in seen:
                        seen.add((c.norm, c.support))
                        out.append(c)
        return out

    def _validate(self, problem: Problem, cands: list[Candidate], val) -> list[Candidate]:
        """Held-out weak acceleration error of each candidate (those with a singular mass matrix
        on the held-out states are dropped).  M and f are linear in ξ, so the per-term columns on
        the validation states are computed once and every candidate costs one batched solve."""
        n, K, ts = len(self.coordinates_), problem.n_library, problem.termset
        used = sorted({k for c in cands for k in c.support})
        position = {k: j for j, k in enumerate(used)}
        val_cols = [validation_columns(problem, p, used) for p in val]
        X = np.zeros((len(cands), len(used)))
        for i, c in enumerate(cands):
            X[i, [position[k] for k in c.support]] = c.coef_full[list(c.support)]
        errors = weak_validation_errors(val_cols, X, val)
        mixed = {k: _mixed_velocity(ts.exprs[k], self.coordinates_) for k in used if k < K}  # once per term
        out = []
        for c, err in zip(cands, errors):
            if math.isnan(err):
                continue
            S = list(c.support)
            coef = c.coef_full[S]
            lib = [j for j, k in enumerate(S) if k < K]
            fr = [j for j, k in enumerate(S) if k in problem.friction]
            c.terms = [ts.exprs[S[j]] for j in lib]
            c.coef = coef[lib]
            c.damping, c.coulomb = np.zeros(n), np.zeros(n)
            for j in fr:  # viscous columns K … K + n − 1, then Coulomb's
                (c.coulomb if S[j] in problem.coulomb else c.damping)[(S[j] - K) % n] = coef[j]
            c.val_error = float(err)
            c.mixed = sum(mixed[S[j]] for j in lib)
            out.append(c)
        return out

    def _refine(self, chosen: Candidate, train, val, dtype) -> dict:
        """Stage 2 on the chosen candidate (updated in place when validation agrees)."""
        from .refine import refine_coefficients

        T = lambda x: torch.as_tensor(x, dtype=dtype)
        ts = TermSet(chosen.terms, self.coordinates_)
        q, qd, qdd = (_stack(train, a, 3) for a in ("q", "qdot", "qddot"))
        if len(q) > self.max_samples:
            idx = np.sort(np.random.default_rng(self.seed).choice(len(q), self.max_samples, replace=False))
            q, qd, qdd = q[idx], qd[idx], qdd[idx]
        A = ts.velocity_hessian_mean(T(_stack(train, "q")), T(_stack(train, "qdot"))).detach().numpy()
        r = refine_coefficients(ts, np.asarray(chosen.coef, float), q, qd, qdd, A[list(chosen.norm)],
                                steps=self.refine_steps, l1=self.l1, device=self.device, seed=self.seed)
        keep = [k for k in range(len(r.coef)) if r.coef[k] != 0]
        val_cols = [ts.mass_force_columns(T(p.q), T(p.qdot)) for p in val]
        err = weak_validation_error(val_cols, keep, r.coef[keep], val) if keep else None
        accepted = err is not None and err <= chosen.val_error * (1 + 1e-3)
        info = {"qddot_loss_before": r.loss_before, "qddot_loss_after": r.loss_after,
                "validation_before": chosen.val_error, "validation_after": err,
                "dropped": [str(chosen.terms[k]) for k in r.dropped], "accepted": accepted}
        if accepted:
            chosen.terms, chosen.coef = [chosen.terms[k] for k in keep], r.coef[keep]
            chosen.support, chosen.val_error = tuple(chosen.support[k] for k in keep), err
        return info

    # ---------------------------------------------------------------- fitted model
    _fitted_attribute = "termset_"

    def _build(self):
        self.termset_ = TermSet(self.terms_, self.coordinates_)
        self._xi = torch.as_tensor(np.asarray(self.coef_, float), dtype=torch.float64)
        self._L = self.termset_.lagrangian(self._xi)
        damp, coul = getattr(self, "damping_", None), getattr(self, "coulomb_", None)
        viscous, dry = damp is not None and np.any(damp), coul is not None and np.any(coul)
        self._R = (dissipation_function(damp if viscous else None, coul if dry else None, self.coulomb_epsilon_)
                   if viscous or dry else None)

    def torch_lagrangian(self):
        """L(q, q̇) for one state as a torch callable."""
        self._check_fitted()
        return self._L

    def lagrangian(self, *, digits: int = 6) -> sympy.Expr:
        """The fitted Lagrangian as a SymPy expression (coefficients rounded to ``digits``)."""
        self._check_fitted()
        return build_lagrangian(self.terms_, self.coef_, digits=digits)

    def rayleigh(self, *, digits: int = 6) -> sympy.Expr:
        """The fitted dissipation function ½ Σ cᵢ q̇ᵢ² (+ Σ F_c,i εᵢ log cosh(q̇ᵢ/εᵢ) with Coulomb
        friction; 0 without friction)."""
        self._check_fitted()
        coul = getattr(self, "coulomb_", None)
        if coul is None or not np.any(coul):
            return rayleigh_expr(self.damping_, self.coordinates_, digits=digits)
        return rayleigh_expr(self.damping_, self.coordinates_, digits=digits, coulomb=coul,
                             epsilon=self.coulomb_epsilon_)

    def acceleration(self, q, qdot, force=None):
        """q̈ of the fitted L (and friction, and a known applied generalized force ``force``,
        broadcastable to (..., n)) at states (..., n): numpy in → numpy out, torch in → torch out."""
        return self._numpy_or_torch(lambda a, b: accelerations(self._L, a, b, dissipation=self._R, force=force),
                                    q, qdot)

    def energy(self, q, qdot):
        return self._numpy_or_torch(lambda a, b: energy(self._L, a, b), q, qdot)

    def simulate(self, q0, qdot0, t, *, method: str = "rk4", force=None):
        """Roll out from (q0, qdot0) over times t; returns (q, qdot) each (len(t), ..., n),
        computed in float64 (numpy in → numpy out, torch in → torch out).  ``force``: a known
        applied generalized force as a callable of time, ``force(t) -> (..., n)``."""
        from .integrate import rollout

        self._check_fitted()
        def driven(q, v, tt):  # friction and a known force join the Euler–Lagrange accelerations
            return accelerations(self._L, q, v, dissipation=self._R, force=None if force is None else force(tt))

        def roll(q0, qdot0, t):
            if force is None:  # friction through the rollout's replayed engine
                out = rollout(self._L, q0, qdot0, t, method=method, dissipation=self._R)
            else:
                out = rollout(self._L, q0, qdot0, t, method=method, acceleration=driven)
            return out.q, out.qdot

        return self._numpy_or_torch(roll, q0, qdot0, t, dtype=torch.float64)

    def score(self, data) -> float:
        """Relative q̈ error on ``data`` (a TrajectorySet), derivatives estimated as in fit."""
        self._check_fitted()
        prepared, _, _ = prepare_trajectories(data, self.differentiator)
        return _qddot_error(self, prepared)

    # ---------------------------------------------------------------- persistence
    def to_dict(self) -> dict:
        """The fields of lagrangian.json (written by :func:`discover.io.save`)."""
        self._check_fitted()
        return model_json.to_fields(self)

    @classmethod
    def _from_saved(cls, fields, config, tensors) -> "SparseLagrangian":
        return cls.from_dict(fields)

    @classmethod
    def from_dict(cls, d: dict) -> "SparseLagrangian":
        """The model whose :meth:`to_dict` gave ``d`` (as read from lagrangian.json)."""
        m = model_json.read_fields(cls(), d)
        m._build()
        return m
