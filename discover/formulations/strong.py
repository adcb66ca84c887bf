"""The strong form: Euler–Lagrange residual columns at sampled states, with the estimated q̈
(and the known force's column, −Q, when the data carry one).

Exact and fast on clean data; on noisy data the twice-differentiated q̈ enters the columns
(prefer the weak form there)."""
from __future__ import annotations

import numpy as np
import torch

from .. import dissipation
from ..prepare import stack
from .base import Gauge, Problem, assemble, friction_epsilon

__all__ = ["StrongForm"]


class StrongForm:
    """Args (keyword-only): max_samples — at most this many samples enter the regression
    (drawn with ``seed``); trim — samples cut at both ends of each trajectory (derivative edges)."""

    name = "strong"

    def __init__(self, *, max_samples: int = 4000, seed: int = 0, trim: int = 3):
        self.max_samples = max_samples
        self.seed = seed
        self.trim = trim

    def build(self, ts, train, gauge: Gauge, *, friction: bool) -> Problem:
        forced = train[0].force is not None
        q, qd, qdd, Q = (stack(train, a, self.trim) for a in ("q", "qdot", "qddot", "force" if forced else "q"))
        if len(q) > self.max_samples:
            idx = np.sort(np.random.default_rng(self.seed).choice(len(q), self.max_samples, replace=False))
            q, qd, qdd, Q = q[idx], qd[idx], qdd[idx], Q[idx]
        T = lambda x: torch.as_tensor(x, dtype=torch.float64)  # noqa: E731
        theta = ts.el_columns(T(q), T(qd), T(qdd)).reshape(-1, len(ts)).detach().numpy()
        eps = friction_epsilon(train)
        block = (np.concatenate([dissipation.strong_columns(qd), dissipation.coulomb_strong_columns(qd, eps)], -1)
                 if friction else None)
        return assemble(ts, theta, block, train, gauge, -Q.reshape(-1) if forced else None, eps)
