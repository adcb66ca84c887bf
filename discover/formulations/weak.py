"""The weak form: Euler–Lagrange equations integrated against test functions (no q̈ from the
data; :mod:`discover.weak` holds the test functions and integrals)."""
from __future__ import annotations

import numpy as np
import torch

from .. import dissipation
from ..weak import weak_columns
from .base import Gauge, Problem, assemble, friction_epsilon

__all__ = ["WeakForm"]


class WeakForm:
    """Columns −∫(ψ'·∂φ/∂q̇ + ψ·∂φ/∂q) dt per test window (and −∫ψ Q dt for a known force);
    the test functions ``p.tf`` are placed on every trajectory before (the validation uses
    them too)."""

    name = "weak"

    def build(self, ts, train, gauge: Gauge, *, friction: bool) -> Problem:
        blocks = []
        for p in train:  # one block per trajectory: its own time grid and windows
            g1, g2 = ts.gradient_columns(torch.as_tensor(p.q, dtype=torch.float64),
                                         torch.as_tensor(p.qdot, dtype=torch.float64))
            blocks.append(weak_columns(g1, g2, p.tf).reshape(-1, len(ts)))
        theta = torch.cat(blocks, 0).detach().numpy()
        eps = friction_epsilon(train)
        D = np.concatenate([np.concatenate([dissipation.weak_columns(p.q_obs, p.tf),
                                            dissipation.coulomb_weak_columns(p.qdot, p.tf, eps)], -1)
                            for p in train], 0) if friction else None
        forced = train[0].force is not None
        Q = np.concatenate([-(p.tf.psi @ p.force).reshape(-1) for p in train]) if forced else None
        return assemble(ts, theta, D, train, gauge, Q, eps)
