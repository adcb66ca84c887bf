"""Drift study: what the default path returns when a tracker's positions drift slowly.

A camera tracker's position carries, besides white noise, a slow additive drift d(t): the
camera or the reference mark creeps, the lighting changes.  Each case simulates a reference
system (clean data as in the noise sweep, :func:`discover.studies.noise.prepare_system`), adds

* a drift per trajectory and coordinate with RMS ``amplitude`` × std(q) over the trajectory, on a
  time scale of the whole trajectory (≫ the period):

  - ``walk``: a Brownian path from d(0) = 0 (a random walk), rescaled to that RMS;
  - ``trend``: a random quadratic trend a t/T + b (t/T)², rescaled likewise;
  - ``none``: no drift (the reference);

* white Gaussian noise σ = ``noise`` × std(q) (the same draw with and without drift),

and fits the positions with the default :class:`discover.Discover` (what ``pipelines/discover.py``
returns with no options), scored like the noise sweep's ``cli`` cells
(:func:`discover.studies.noise.run_cell`: exact support modulo gauge, largest relative
coefficient error against the truth normalized like the fit, held-out q̈ error on clean states,
coverage of ±2 stderr).  Each case runs twice: with stage 2 trying the trajectory fit's per-segment
observation offsets and keeping them when χ² says the data need them (the default path,
:mod:`discover.formulations.trajectory`), and without that decision (the default before it).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..parallel import session
from .noise import Cell, SweepConfig, prepare_system, run_cell

__all__ = ["DRIFTS", "DriftConfig", "drift", "drifted_set", "run_case", "run_study", "key", "FIELDS"]

DRIFTS = ("none", "walk", "trend")

FIELDS = ["system", "drift", "offsets", "seed", "noise", "amplitude", "status", "returned", "success", "coef_rel_error",
          "qddot_error", "stderr_n", "stderr_within_2", "stderr_max_abs_z", "stderr_z", "terms",
          "fit_seconds", "error"]


@dataclass
class DriftConfig:
    noise: float = 0.01        # white noise σ / std(q)
    amplitude: float = 0.03    # drift RMS / std(q)
    sweep: SweepConfig = field(default_factory=lambda: SweepConfig(n_traj=6, duration=12.0, dt=0.02))


def drift(kind: str, t, shape, scale, seed: int) -> np.ndarray:
    """A slow additive drift (T, B, n): per trajectory and coordinate, RMS over the trajectory
    equal to ``scale`` (n,); ``t`` (T,)."""
    T, B, n = shape
    rng = np.random.default_rng(20_000 + seed)
    if kind == "none":
        return np.zeros(shape)
    if kind == "walk":
        d = np.concatenate([np.zeros((1, B, n)), np.cumsum(rng.normal(size=(T - 1, B, n)), 0)])
    elif kind == "trend":
        s = ((t - t[0]) / (t[-1] - t[0]))[:, None, None]
        a, b = rng.normal(size=(2, 1, B, n))
        d = a * s + b * s ** 2
    else:
        raise ValueError(f"unknown drift {kind!r}; choose from {DRIFTS}")
    rms = np.sqrt(np.mean(d ** 2, 0, keepdims=True))
    return d / np.where(rms > 0, rms, 1.0) * np.asarray(scale, float)


def drifted_set(t, q, coordinates, kind: str, cfg: DriftConfig, seed: int):
    """TrajectorySet of q (T, B, n) + drift + white noise; the drift (T, B, n)."""
    from ..data import TrajectorySet

    T, B, n = q.shape
    std = q.reshape(-1, n).std(0)
    d = drift(kind, t, q.shape, cfg.amplitude * std, seed)
    noise = np.random.default_rng(10_000 + seed).normal(size=q.shape) * cfg.noise * std
    y = q + d + noise
    data = TrajectorySet.from_arrays(np.tile(t, B), y.transpose(1, 0, 2).reshape(-1, n),
                                     coordinates=list(coordinates), traj=np.repeat(np.arange(B), T))
    return data, d


def run_case(system: str, kind: str, seed: int, cfg: DriftConfig, prepared: dict | None = None, *,
             offsets: bool = True) -> dict:
    """One fit of the default path on drifted data, scored against the truth (never raises);
    ``offsets``: the stage-2 decision on per-segment observation offsets tried (the default
    path) or not (the default before it existed)."""
    from ..formulations import trajectory
    from .noise_friction import reference

    sys_, _ = reference(system)
    d = prepared if prepared is not None else prepare_system(system, cfg.sweep, seed)
    data, _ = drifted_set(d["t"], d["q"], list(sys_.coordinates), kind, cfg, seed)
    saved, trajectory.TRY_OFFSETS = trajectory.TRY_OFFSETS, offsets
    try:
        row = run_cell(Cell(system, "cli", cfg.noise, seed), cfg.sweep, d, data=data)
    finally:
        trajectory.TRY_OFFSETS = saved
    return row | {"drift": kind, "offsets": offsets, "amplitude": cfg.amplitude if kind != "none" else 0.0}


def _case(system, kind, seed, offsets, cfg):
    return run_case(system, kind, seed, cfg, offsets=offsets)


def run_study(systems, kinds, seeds, cfg: DriftConfig, *, jobs: int = 1, offsets=(False, True),
              done=(), sink=None) -> list[dict]:
    """Every (system, drift kind, seed, offsets) case not in ``done`` (keys as :func:`key`);
    ``sink(row)`` is called as rows finish.  Returns the new rows."""
    todo = [(s, k, sd, o, cfg) for s in systems for sd in seeds for k in kinds for o in offsets
            if key({"system": s, "drift": k, "seed": sd, "offsets": o}) not in set(done)]
    rows = []
    with session(jobs=jobs, backend="loky") as run:
        for row in run(_case, todo):
            rows.append(row)
            if sink is not None:
                sink(row)
    return rows


def key(row) -> tuple:
    """A case's identity in a drift.csv row or a new row."""
    return (row["system"], row["drift"], str(row["seed"]), str(row["offsets"]))
