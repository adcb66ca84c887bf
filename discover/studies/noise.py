"""Noise sweep: how much position noise each discovery method survives.

For a reference system (or a user CSV) Gaussian noise of σ = level × std(q) is added to the
POSITIONS only; velocities and accelerations are then estimated by the fit.  Each cell
(system, method, level, seed) fits ``SparseLagrangian`` and is scored against the exact
Lagrangian:

* **support modulo gauge** (:func:`discover.evaluation.compare_to_truth`): fitted and true terms
  in one basis reduced by their Euler–Lagrange columns at generic states, so ``−y ẋ`` in the true
  magnetic Lagrangian becomes ``x ẏ`` when the fit used ``x ẏ`` (they differ by d(xy)/dt).
* **normalization.**  The truth is divided by the data mean (clean trajectories) of
  ∂²L/∂q̇_i² for the coordinate i that the fit reports in ``normalization_coordinate_``.
* metrics: exact-support success, precision/recall of terms, largest relative error of the true
  coefficients, relative q̈ error on clean held-out states, rollout valid time
  (:func:`discover.evaluation.valid_time`: first time the model's rollout deviates from the
  truth's by more than ``VALID_THRESHOLD`` × ‖std q‖, mean over held-out trajectories).
* damped systems (``damped_pendulum``: a reference system plus linear friction, the table
  :data:`discover.studies.noise_friction.DAMPED`): data and truth integrated with the friction,
  fit with ``dissipation=True``; success also needs the friction selected, ``damping_rel_error``
  scores its coefficient.
"""
from __future__ import annotations

import csv
import math
import os
import time
from dataclasses import dataclass

import numpy as np
import sympy
import torch

from ..dissipation import friction_acceleration
from ..evaluation import compare_to_truth, relative_error, valid_time
from ..parallel import session
from .noise_friction import normalized_friction, reference, score_friction

__all__ = ["METHODS", "SweepConfig", "Cell", "prepare_system", "run_cell", "run_sweep", "read_rows",
           "truth_normalized", "CSV_FIELDS", "COVERAGE_Z", "stderr_z", "stderr_coverage",
           "drop_rows"]

#: method label → (SparseLagrangian method, differentiator, stage-2 q̈-loss refinement);
#: "cli" is what pipelines/discover.py returns with no options (discover.Discover: the default
#: library fit with friction tried and stage 2, and the MLP fallback when it is honestly better;
#: an MLP result counts as no exact support)
METHODS = {
    "cli": ("auto", "auto", False),
    "auto": ("auto", "auto", False),  # the library fit's defaults, stage 1 only (as before)
    "strong-savgol": ("strong", "savgol", False),
    "strong-spline": ("strong", "spline", False),
    "weak-savgol": ("weak", "savgol", False),
    "weak-spline": ("weak", "spline", False),
    "strong-auto": ("strong", "auto", False),
    "weak-auto": ("weak", "auto", False),
    "strong-savgol+refine": ("strong", "savgol", True),
    "auto+refine": ("auto", "auto", True),
}

CSV_FIELDS = ["system", "method", "noise", "seed", "status", "success", "precision", "recall",
              "coef_rel_error", "qddot_error", "valid_time", "horizon", "n_terms", "library",
              "normalization", "terms", "fit_seconds", "error", "damping_rel_error", "returned",
              "stderr_n", "stderr_within_2", "stderr_max_abs_z", "stderr_z"]

#: a coefficient is covered when its truth lies within this many standard errors of the fit
COVERAGE_Z = 2.0


@dataclass
class SweepConfig:
    n_traj: int = 4
    duration: float = 10.0
    dt: float = 0.02
    substeps: int = 4
    n_test: int = 2
    horizon: float = 5.0
    rollout_dt: float = 0.05


# ----------------------------------------------------------------------------------------
# data
# ----------------------------------------------------------------------------------------
def simulate_clean(system, n_traj: int, duration: float, dt: float, substeps: int, seed: int,
                   acceleration=None):
    """Clean trajectories: t (T,), q, qdot (T, B, n); ``acceleration``: rollout's override."""
    from ..integrate import rollout

    q0, v0 = system.sample_initial_states(n_traj, np.random.default_rng(seed))
    t = np.arange(int(round(duration / dt)) + 1) * dt
    out = rollout(system, torch.as_tensor(q0), torch.as_tensor(v0), torch.as_tensor(t),
                  substeps=substeps, compute_energy=False, acceleration=acceleration)
    return t, out.q.numpy(), out.qdot.numpy()


def noisy_set(t, q, coordinates, level: float, seed: int, traj_t=None):
    """TrajectorySet of positions q (T, B, n) + N(0, (level·std q)²) noise (std per coordinate)."""
    from ..data import TrajectorySet

    T, B, n = q.shape
    sigma = level * q.reshape(-1, n).std(0)
    rng = np.random.default_rng(10_000 + seed)
    qn = q + rng.normal(size=q.shape) * sigma
    return TrajectorySet.from_arrays(np.tile(t, B), qn.transpose(1, 0, 2).reshape(-1, n),
                                     coordinates=list(coordinates), traj=np.repeat(np.arange(B), T))


# ----------------------------------------------------------------------------------------
# truth comparison
# ----------------------------------------------------------------------------------------
def truth_normalized(system, coordinates, q, qdot) -> sympy.Expr:
    """The system's L scaled as the fit normalized: the data mean of ∂²L/∂q̇_c² = 1 for each
    coordinate c the fit names (one per decoupled block).

    q, qdot: (N, n) clean states."""
    from ..symbolic import normalize_blocks

    if isinstance(coordinates, str):
        coordinates = [coordinates]
    return normalize_blocks(system.lagrangian(), list(system.coordinates), coordinates, q, qdot)


# ----------------------------------------------------------------------------------------
# one cell
# ----------------------------------------------------------------------------------------
@dataclass
class Cell:
    system: str
    method: str
    noise: float
    seed: int

    @property
    def key(self):
        return (self.system, self.method, f"{self.noise:.6g}", str(self.seed))


def prepare_system(name: str, cfg: SweepConfig, seed: int) -> dict:
    """Clean training trajectories and clean held-out truth for one (system, seed); shared by
    every method and noise level.  Uses the closed-form solution where the system has one (and
    no friction)."""
    from ..integrate import rollout
    from ..mechanics import accelerations

    torch.set_num_threads(1)
    system, friction = reference(name)
    forced = friction_acceleration(system, friction)  # None without friction
    t = np.arange(int(round(cfg.duration / cfg.dt)) + 1) * cfg.dt
    q0, v0 = system.sample_initial_states(cfg.n_traj, np.random.default_rng(seed))
    if forced is None and getattr(system, "has_exact_solution", False):
        q, qd = system.exact_solution(q0, v0, t)
    else:
        t, q, qd = simulate_clean(system, cfg.n_traj, cfg.duration, cfg.dt, cfg.substeps, seed, forced)
    q, qd = np.asarray(q, float).reshape(len(t), cfg.n_traj, -1), np.asarray(qd, float).reshape(len(t), cfg.n_traj, -1)
    # held-out: states for the q̈ error, and the truth's rollout with the integrator the model uses
    tt = np.arange(int(round(cfg.horizon / cfg.rollout_dt)) + 1) * cfg.rollout_dt
    h0, hv0 = system.sample_initial_states(cfg.n_test, np.random.default_rng(5000 + seed))
    out = rollout(system, torch.as_tensor(h0), torch.as_tensor(hv0), torch.as_tensor(tt), compute_energy=False,
                  acceleration=forced)
    qt, vt = out.q.numpy(), out.qdot.numpy()
    Qt, Vt = torch.as_tensor(qt.reshape(-1, q.shape[-1])), torch.as_tensor(vt.reshape(-1, q.shape[-1]))
    true_a = (forced(Qt, Vt, None) if forced else accelerations(system.torch_lagrangian(), Qt, Vt)).numpy()
    return {"t": t, "q": q, "qd": qd, "tt": tt, "qt": qt, "vt": vt, "true_a": true_a}


def run_cell(cell: Cell, cfg: SweepConfig, prepared: dict | None = None, csv_path: str | None = None,
             data=None) -> dict:
    """Fit one (system, method, noise, seed) cell and score it; never raises (status column).

    prepared: :func:`prepare_system` output (None with ``csv_path``: a user CSV, no truth).
    data: the TrajectorySet to fit instead of the clean positions plus noise (e.g. with a
    tracking drift, :mod:`discover.studies.drift`); scored against the same truth."""
    torch.set_num_threads(1)
    import warnings

    from ..estimator import Discover
    from ..model import SparseLagrangian

    row = {"system": cell.system, "method": cell.method, "noise": cell.noise, "seed": cell.seed}
    meth, diff, refine = METHODS[cell.method]
    t0 = time.time()
    try:
        friction = 0.0
        if csv_path:
            data, system = _csv_set(csv_path, cell.noise, cell.seed), None
        else:
            system, friction = reference(cell.system)
            coords = list(system.coordinates)
            d = prepared if prepared is not None else prepare_system(cell.system, cfg, cell.seed)
            q, qd = d["q"], d["qd"]
            data = noisy_set(d["t"], q, coords, cell.noise, cell.seed) if data is None else data
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if cell.method == "cli":
                result = Discover(seed=cell.seed).fit(data)
                model = result.model_
                row["returned"] = "library" if result.is_library_model else "mlp"
            else:
                model = SparseLagrangian(method=meth, differentiator=diff, refine=refine, seed=cell.seed,
                                         dissipation=bool(friction), trajectory_fit=False).fit(data)
        if not isinstance(model, SparseLagrangian):  # the MLP fallback: scored on q̈ and rollouts only
            row.update(status="ok", success=False, precision=0.0, recall=0.0, library="mlp")
            if system is not None:
                _score_dynamics(row, model, d, coords, cfg)
            row["fit_seconds"] = round(time.time() - t0, 2)
            return row
        row.update(status="ok", fit_seconds=round(time.time() - t0, 2), n_terms=len(model.terms_),
                   library=model.library_name_, normalization=model.normalization_coordinate_,
                   terms=" + ".join(f"{c:.6g}*{e}" for e, c in zip(model.terms_, model.coef_)))
        if system is None:
            return row
        qa, va = q.reshape(-1, q.shape[-1]), qd.reshape(-1, qd.shape[-1])
        truth = truth_normalized(system, model.normalization_coordinates_, qa, va)
        cmp = compare_to_truth(model.terms_, model.coef_, truth, coords, qa, va, seed=cell.seed)
        row.update({k: v for k, v in cmp.items() if k in ("success", "precision", "recall", "coef_rel_error")})
        true_c = normalized_friction(system, truth, friction, qa, va) if friction else None
        if friction:  # success also needs the friction selected
            selected, row["damping_rel_error"] = score_friction(model.damping_, true_c)
            row["success"] = row["success"] and selected
        if row["success"]:
            row.update(stderr_coverage(model, cmp["truth_terms"], true_c))
        _score_dynamics(row, model, d, coords, cfg)
    except Exception as exc:  # a failed fit is a data point, not a crash
        row.update(status="failed", success=False, precision=0.0, recall=0.0,
                   error=" ".join(str(exc).split())[:200])
    row["fit_seconds"] = round(time.time() - t0, 2)
    return row


def stderr_z(model, truth_terms: dict, true_damping=None) -> list[float]:
    """z = (fitted − true) / stderr of every coefficient of an exact-support fit that has a
    standard error (``coef_stderr_``; the pinned normalization term, stderr 0, is skipped), and
    of the friction coefficients (``damping_stderr_``) against ``true_damping``.

    truth_terms: the truth in the fit's basis and normalization, name → coefficient
    (:func:`discover.evaluation.compare_to_truth`'s ``truth_terms``, gauge already mapped).
    Empty when the fit gave no standard errors."""
    se = getattr(model, "coef_stderr_", None)
    if se is None:
        return []
    z = []
    for e, c, s in zip(model.terms_, model.coef_, np.asarray(se, float)):
        name = str(sympy.expand(e))
        if s > 0 and np.isfinite(s) and name in truth_terms:
            z.append((float(c) - truth_terms[name]) / float(s))
    dse = getattr(model, "damping_stderr_", None)
    if true_damping is not None and dse is not None:
        z += [(float(c) - float(t)) / float(s) for c, t, s in zip(model.damping_, true_damping, dse)
              if s > 0 and np.isfinite(s)]
    return z


def stderr_coverage(model, truth_terms: dict, true_damping=None) -> dict:
    """The row's coverage columns: how many coefficients have a standard error, how many of
    their truths lie within ±``COVERAGE_Z`` stderr, the largest |z| and the z-scores."""
    z = stderr_z(model, truth_terms, true_damping)
    if not z:
        return {}
    return {"stderr_n": len(z), "stderr_within_2": int(sum(abs(x) <= COVERAGE_Z for x in z)),
            "stderr_max_abs_z": float(max(abs(x) for x in z)), "stderr_z": ";".join(f"{x:.3g}" for x in z)}


def _score_dynamics(row: dict, model, d: dict, coords, cfg) -> None:
    """Held-out q̈ error against the truth and the rollout's valid time (any model)."""
    qt, vt, tt, true_a = d["qt"], d["vt"], d["tt"], d["true_a"]
    try:
        pred_a = model.acceleration(qt.reshape(-1, len(coords)), vt.reshape(-1, len(coords)))
        row["qddot_error"] = relative_error(pred_a, true_a)
    except Exception:  # singular mass matrix off the training data
        row["qddot_error"] = math.inf
    try:
        mq, _ = model.simulate(qt[0], vt[0], tt)
        row["valid_time"] = float(np.mean(valid_time(mq, qt, tt)))
    except Exception:
        row["valid_time"] = 0.0
    row["horizon"] = cfg.horizon


def _csv_set(path: str, level: float, seed: int):
    """A user CSV with Gaussian noise (σ = level × std per coordinate) added to its positions."""
    from ..data import TrajectorySet, read_csv

    ds = read_csv(path)
    qs = np.concatenate([tr.q for tr in ds.trajectories])
    sigma = level * qs.std(0)
    rng = np.random.default_rng(10_000 + seed)
    t, q, traj = [], [], []
    for tr in ds.trajectories:
        t.append(tr.t); q.append(tr.q + rng.normal(size=tr.q.shape) * sigma); traj.append(np.full(len(tr.t), tr.id))
    return TrajectorySet.from_arrays(np.concatenate(t), np.concatenate(q), coordinates=list(ds.coordinates),
                                     traj=np.concatenate(traj))


# ----------------------------------------------------------------------------------------
# the sweep: resumable, optionally parallel
# ----------------------------------------------------------------------------------------
def read_rows(path: str) -> list[dict]:
    """The rows of a sweep.csv (empty when it does not exist)."""
    if not os.path.exists(path):
        return []
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def drop_rows(path: str, methods) -> int:
    """Remove ``methods``' rows from a sweep.csv (so that a resumed sweep runs them again);
    returns how many were dropped."""
    rows = read_rows(path)
    keep = [r for r in rows if r["method"] not in set(methods)]
    if len(keep) < len(rows):
        with open(path, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(keep)
    return len(rows) - len(keep)


def _prepared_pair(system: str, cfg: SweepConfig, seed: int):
    """((system, seed), the clean data of that pair) — keyed, since tasks finish in any order."""
    return (system, seed), prepare_system(system, cfg, seed)


def run_sweep(cells: list[Cell], cfg: SweepConfig, csv_out: str, *, jobs: int = 1, csv_path=None,
              progress: bool = True, backend: str = "loky", scheduler: str | None = None) -> list[dict]:
    """Run the cells not already in ``csv_out`` (appending each finished row), return all rows.
    ``jobs``, ``backend`` ("loky" or "dask") and ``scheduler``: where the cells run
    (:func:`discover.parallel.run_tasks`); each cell carries its seed, so the rows are the same
    on every backend."""
    old = read_rows(csv_out)
    done = {(r["system"], r["method"], f"{float(r['noise']):.6g}", str(r["seed"])) for r in old}
    todo = [c for c in cells if c.key not in done]
    if old and list(old[0]) != CSV_FIELDS:  # a sweep.csv from before a column was added: new header
        with open(csv_out, "w", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=CSV_FIELDS)
            w.writeheader()
            w.writerows({k: r.get(k, "") for k in CSV_FIELDS} for r in old)
    new = not os.path.exists(csv_out)
    with open(csv_out, "a", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=CSV_FIELDS)
        if new:
            w.writeheader()
            fh.flush()
        bar = None
        if progress:
            from tqdm import tqdm
            bar = tqdm(total=len(todo), desc="noise sweep", unit="cell")

        def sink(row):
            w.writerow({k: row.get(k, "") for k in CSV_FIELDS})
            fh.flush()
            if bar is not None:
                bar.update(1)
                bar.set_postfix_str(f"{row['system']} {row['method']} σ={row['noise']:g}")

        pairs = sorted({(c.system, c.seed) for c in todo})
        with session(jobs=jobs, backend=backend, scheduler=scheduler) as run:
            prep = ({p: None for p in pairs} if csv_path else
                    dict(run(_prepared_pair, [(s, cfg, sd) for s, sd in pairs])))
            for row in run(run_cell, [(c, cfg, prep[(c.system, c.seed)], csv_path) for c in todo]):
                sink(row)
        if bar is not None:
            bar.close()
    keys = {c.key for c in cells}
    return [r for r in read_rows(csv_out)
            if (r["system"], r["method"], f"{float(r['noise']):.6g}", str(r["seed"])) in keys]
