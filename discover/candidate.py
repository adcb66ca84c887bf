"""One candidate model of the library search: its support, coefficients and scores.

The support search (:class:`discover.sparse.SupportSearch`) proposes candidates with their
training residual; validation (:mod:`discover.model`) fills in the terms, the coefficients split
into L's and friction's, and the held-out error; selection (:mod:`discover.selection`) and the
trajectory fit (:mod:`discover.formulations.trajectory`) read them.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import sympy

__all__ = ["Candidate"]


@dataclass
class Candidate:
    """A support S under the normalization rows ``norm``.

    Attributes:
        norm: the coordinates (indices) whose mean ∂²L/∂q̇ᵢ² is fixed to 1.
        support: column indices into the regression problem (library terms < K, friction ≥ K).
        coef_full: coefficients of all columns (zero outside the support), (K + F,).
        train_residual: ‖Θ_S ξ_S‖ on the training data (scaled columns).
        terms, coef: the library terms of the support and their coefficients (after validation).
        damping: friction coefficients per coordinate, (n,) (zeros without friction).
        coulomb: Coulomb friction F_c per coordinate, (n,) (zeros without it).
        val_error: held-out weak acceleration error.
        mixed: number of terms with two or more velocities (a tie-breaker in selection).
        tier, tier_rank: the library tier it came from and that tier's position in the search.
    """

    norm: tuple[int, ...]
    support: tuple[int, ...]
    coef_full: np.ndarray = field(repr=False)
    train_residual: float
    terms: list[sympy.Expr] = field(default_factory=list)
    coef: np.ndarray = field(default_factory=lambda: np.zeros(0))
    damping: np.ndarray = field(default_factory=lambda: np.zeros(0))
    coulomb: np.ndarray = field(default_factory=lambda: np.zeros(0))
    val_error: float = float("inf")
    mixed: int = 0
    tier: str = ""
    tier_rank: int = 0

    @property
    def n_terms(self) -> int:
        """Size of the support (library terms and friction coefficients)."""
        return len(self.support)

    @property
    def key(self) -> frozenset:
        """The library terms as strings: two candidates with equal keys are the same L."""
        return frozenset(map(str, self.terms))
