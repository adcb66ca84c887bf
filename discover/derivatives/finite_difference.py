"""Finite differences on the actual grid: Fornberg weights (uneven ``t`` is exact), central
inside, one-sided at the ends."""
from __future__ import annotations

import numpy as np

from .base import Differentiator, _fornberg


class FiniteDifference(Differentiator):
    """Finite differences of accuracy ``order`` (even) on the actual, possibly uneven grid.

    Inside: central stencils of ``order + 1`` points.  Within ``order/2`` samples of an end:
    one-sided stencils of ``order + 2`` points (same order for q̈).  ``order`` is lowered
    when there are too few samples (``order_`` records the one used).  ``q_smooth`` is q.
    """

    name = "finite_difference"

    def __init__(self, order: int = 4):
        self.order = order

    def _differentiate(self, t, q):
        if self.order < 2 or self.order % 2:
            raise ValueError(f"FiniteDifference order must be an even integer ≥ 2; got {self.order}")
        N = len(t)
        order = min(self.order, (N - 2) // 2 * 2)
        self.order_ = order
        half = order // 2
        h = np.median(np.diff(t))
        qdot = np.empty_like(q)
        qddot = np.empty_like(q)
        rows_in = np.arange(half, N - half)
        rows_left = np.arange(half)
        rows_right = np.arange(N - half, N)
        stencils = [
            (rows_in, rows_in[:, None] + np.arange(-half, half + 1)),
            (rows_left, np.broadcast_to(np.arange(order + 2), (half, order + 2))),
            (rows_right, np.broadcast_to(np.arange(N - order - 2, N), (half, order + 2))),
        ]
        for rows, idx in stencils:
            if len(rows) == 0:
                continue
            w = _fornberg((t[idx] - t[rows][:, None]) / h, 2)
            qi = q[idx]
            qdot[rows] = np.einsum("bm,bmc->bc", w[:, :, 1], qi) / h
            qddot[rows] = np.einsum("bm,bmc->bc", w[:, :, 2], qi) / h**2
        return q.copy(), qdot, qddot

    def describe(self) -> str:
        return f"finite differences, order {getattr(self, 'order_', self.order)}"
