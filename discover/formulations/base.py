"""The typed regression problem every formulation builds, and the steps they share.

A formulation turns prepared trajectories and a bound library (:class:`discover.library.TermSet`)
into Θ, whose zero set is the motion (Θξ ≈ 0), beside the normalization rows (the data mean of
∂²φ_k/∂q̇ᵢ², one row per coordinate) that fix L's scale, the friction block (one column per
coordinate, after the library's K columns) and the columns the gauge leaves (null and collinear
terms dropped, :func:`discover.sparse.reduce_gauge`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from ..library import TermSet, complexity
from ..prepare import stack
from ..sparse import reduce_gauge

__all__ = ["Problem", "Gauge", "gauge_reduction", "normalization_rows"]


@dataclass
class Gauge:
    """Library columns left after gauge reduction, and the names of those dropped."""

    kept: list[int]
    null: list[str] = field(default_factory=list)
    collinear: list[str] = field(default_factory=list)


@dataclass
class Problem:
    """Θξ ≈ 0 under Aᵢξ = 1 for the normalization row(s) i.

    Attributes:
        termset: the library bound to the coordinates (K terms).
        theta: (rows, K + F) regression matrix; columns ≥ K are friction coefficients.
        normalization: (n, K + F) rows A (zeros in the friction columns).
        kept: columns the search may use (gauge-reduced library columns, then friction).
        friction: the friction columns (K … K + F − 1; empty without friction).
        gauge: what gauge reduction dropped.
    """

    termset: TermSet
    theta: np.ndarray
    normalization: np.ndarray
    kept: list[int]
    friction: list[int]
    gauge: Gauge

    @property
    def n_library(self) -> int:
        return len(self.termset)


def gauge_reduction(ts: TermSet, states) -> Gauge:
    """Null and collinear library terms, found on generic random states (Q, V, A) — three
    (B, n) tensors (:func:`discover.evaluation.generic_states` or :func:`discover.prepare.random_states`)."""
    Q, V, A = states
    K = len(ts)
    cols = ts.el_columns(Q, V, A).reshape(-1, K).detach().numpy()
    gq, gv = ts.gradient_columns(Q, V)
    scales = (gq.reshape(-1, K).norm(dim=0) + gv.reshape(-1, K).norm(dim=0)).detach().numpy()
    order = sorted(range(K), key=lambda k: complexity(ts.exprs[k]))
    kept, null, collinear = reduce_gauge(cols, order, scales=scales)
    return Gauge(list(kept), [ts.names[k] for k in null], [ts.names[k] for k in collinear])


def normalization_rows(ts: TermSet, train, dtype=torch.float64) -> np.ndarray:
    """(n, K): the data mean of ∂²φ_k/∂q̇ᵢ² over the training trajectories."""
    qa = torch.as_tensor(stack(train, "q"), dtype=dtype)
    va = torch.as_tensor(stack(train, "qdot"), dtype=dtype)
    return ts.velocity_hessian_mean(qa, va).detach().numpy()


def assemble(ts: TermSet, theta: np.ndarray, friction_block: np.ndarray | None, train, gauge: Gauge) -> Problem:
    """The problem from a formulation's library columns (rows, K) and friction columns
    (rows, n) or None."""
    A = normalization_rows(ts, train)
    kept, fr = list(gauge.kept), []
    if friction_block is not None:
        K, n = len(ts), A.shape[0]
        theta = np.hstack([theta, friction_block.reshape(-1, n)])
        A = np.hstack([A, np.zeros((n, n))])
        fr = [K + j for j in range(n)]
        kept = kept + fr
    return Problem(ts, theta, A, kept, fr, gauge)
