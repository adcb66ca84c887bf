"""The typed regression problem every formulation builds, and the steps they share.

A formulation turns prepared trajectories and a bound library (:class:`discover.library.TermSet`)
into Θ, whose zero set is the motion (Θξ ≈ 0), beside the normalization rows (the data mean of
∂²φ_k/∂q̇ᵢ², one row per coordinate) that fix L's scale, the friction block (after the library's
K columns: one viscous column per coordinate, then one Coulomb column per coordinate) and the columns the gauge leaves (null and collinear
terms dropped, :func:`discover.sparse.reduce_gauge`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from .. import dissipation
from ..library import TermSet, complexity
from ..prepare import stack
from ..sparse import reduce_gauge

__all__ = ["Problem", "Gauge", "gauge_reduction", "normalization_rows", "validation_columns", "friction_epsilon"]


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
        friction: the friction columns (K … K + F − 1; empty without friction), both kinds.
        gauge: what gauge reduction dropped.
        force: with a known applied force Q, the index of its column (the last: −Q, coefficient
            fixed to 1 by the one normalization row, which then replaces the kinetic rows: the
            force fixes L's scale), else None.
        coulomb: the Coulomb friction columns among ``friction`` (force −F_c,j tanh(q̇ⱼ/εⱼ)).
        epsilon: Coulomb friction's ε per coordinate (:func:`discover.dissipation.coulomb_epsilon`).
    """

    termset: TermSet
    theta: np.ndarray
    normalization: np.ndarray
    kept: list[int]
    friction: list[int]
    gauge: Gauge
    force: int | None = None
    coulomb: list[int] = field(default_factory=list)
    epsilon: np.ndarray | None = None

    @property
    def n_library(self) -> int:
        return len(self.termset)

    @property
    def friction_groups(self) -> list[list[int]]:
        """The friction columns by kind (viscous, Coulomb), the kinds present only."""
        viscous = [k for k in self.friction if k not in self.coulomb]
        return [g for g in (viscous, self.coulomb) if g]


def gauge_reduction(ts: TermSet, states) -> Gauge:
    """Null and collinear library terms, found on generic random states (Q, V, A) — three
    (B, n) tensors (:func:`discover.evaluation.generic_states`)."""
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


def friction_epsilon(train) -> np.ndarray:
    """Coulomb friction's ε per coordinate from the training trajectories' velocities."""
    return dissipation.coulomb_epsilon(stack(train, "qdot"))


def assemble(ts: TermSet, theta: np.ndarray, friction_block: np.ndarray | None, train, gauge: Gauge,
             force_column: np.ndarray | None = None, epsilon: np.ndarray | None = None) -> Problem:
    """The problem from a formulation's library columns (rows, K), friction columns (rows, n)
    — viscous — or (rows, 2n) — viscous, then Coulomb with ``epsilon`` — or None, and the known
    force's column (rows,) — the force side of the equations, −Q — or None."""
    A = normalization_rows(ts, train)
    kept, fr, co = list(gauge.kept), [], []
    K, n = len(ts), A.shape[0]
    if friction_block is not None:
        block = friction_block.reshape(theta.shape[0], -1)
        theta = np.hstack([theta, block])
        A = np.hstack([A, np.zeros((n, block.shape[1]))])
        fr = [K + j for j in range(block.shape[1])]
        co = fr[n:]
        kept = kept + fr
    if force_column is None:
        return Problem(ts, theta, A, kept, fr, gauge, coulomb=co, epsilon=epsilon)
    F = theta.shape[1]
    theta = np.hstack([theta, np.reshape(force_column, (-1, 1))])
    A = np.zeros((1, F + 1))
    A[0, F] = 1.0
    return Problem(ts, theta, A, kept + [F], fr, gauge, force=F, coulomb=co, epsilon=epsilon)


def validation_columns(problem: Problem, p, used: list[int]) -> tuple[torch.Tensor, torch.Tensor]:
    """(M_k, f_k) columns of the problem's columns ``used`` (sorted) on the held-out trajectory
    ``p`` — (N, n, n, k) and (N, n, k), with M q̈ = f for f = Σ ξ_k f_k: library terms through the
    engine (:meth:`TermSet.mass_force_columns`), friction coefficients as −q̇ⱼ eⱼ (Coulomb:
    −tanh(q̇ⱼ/εⱼ) eⱼ), the known force as +Q (its coefficient is 1)."""
    T = lambda x: torch.as_tensor(x, dtype=torch.float64)  # noqa: E731
    q, qd = T(p.q), T(p.qdot)
    K, n = problem.n_library, q.shape[-1]
    lib = [k for k in used if k < K]
    fr = [problem.friction.index(k) for k in used if k in problem.friction]
    Mc, fc = problem.termset.mass_force_columns(q, qd, lib) if lib else (q.new_zeros(*q.shape, n, 0),
                                                                          q.new_zeros(*q.shape, 0))
    if fr:
        Md, fd = dissipation.force_columns(qd)
        if problem.coulomb:
            Mcc, fcc = dissipation.coulomb_force_columns(qd, problem.epsilon)
            Md, fd = torch.cat([Md, Mcc], -1), torch.cat([fd, fcc], -1)
        Mc, fc = torch.cat([Mc, Md[..., fr]], -1), torch.cat([fc, fd[..., fr]], -1)
    if problem.force is not None and problem.force in used:
        Mc, fc = torch.cat([Mc, q.new_zeros(*q.shape, n, 1)], -1), torch.cat([fc, T(p.force)[..., None]], -1)
    return Mc, fc
