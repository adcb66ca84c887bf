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
coverage of ±2 stderr).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..parallel import session
from .noise import Cell, SweepConfig, prepare_system, run_cell

__all__ = ["DRIFTS", "DriftConfig", "drift", "drifted_set", "run_case", "run_study", "FIELDS"]

DRIFTS = ("none", "walk", "trend")

FIELDS = ["system", "drift", "seed", "noise", "amplitude", "status", "returned", "success", "coef_rel_error",
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


def run_case(system: str, kind: str, seed: int, cfg: DriftConfig, prepared: dict | None = None) -> dict:
    """One fit of the default path on drifted data, scored against the truth (never raises)."""
    from .noise_friction import reference

    sys_, _ = reference(system)
    d = prepared if prepared is not None else prepare_system(system, cfg.sweep, seed)
    data, _ = drifted_set(d["t"], d["q"], list(sys_.coordinates), kind, cfg, seed)
    row = run_cell(Cell(system, "cli", cfg.noise, seed), cfg.sweep, d, data=data)
    return row | {"drift": kind, "amplitude": cfg.amplitude if kind != "none" else 0.0}


def _case(system, kinds, seed, cfg):
    d = prepare_system(system, cfg.sweep, seed)
    return [run_case(system, k, seed, cfg, d) for k in kinds]


def run_study(systems, kinds, seeds, cfg: DriftConfig, *, jobs: int = 1, sink=None) -> list[dict]:
    """Every (system, seed) with every drift kind (the clean data simulated once per pair);
    ``sink(row)`` is called as rows finish."""
    rows = []
    with session(jobs=jobs, backend="loky") as run:
        for group in run(_case, [(s, list(kinds), sd, cfg) for s in systems for sd in seeds]):
            for row in group:
                rows.append(row)
                if sink is not None:
                    sink(row)
    return rows
