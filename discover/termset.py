"""A library bound to coordinates: a fixed list of SymPy terms evaluated with torch, and their
Euler–Lagrange columns through the one engine (:mod:`discover.mechanics`).  Libraries
(:mod:`discover.library`) produce the terms; :meth:`discover.library.Library.bind` makes a
:class:`TermSet`."""
from __future__ import annotations

from typing import Callable, Sequence

import sympy
import torch

from .mechanics import lagrangian_gradients, mass_and_force
from .symbolic import velocity_name

__all__ = ["TermSet"]


def _symbols(coordinates: Sequence[str]):
    q = [sympy.Symbol(c) for c in coordinates]
    v = [sympy.Symbol(velocity_name(c)) for c in coordinates]
    return q, v


class TermSet:
    """A fixed list of SymPy terms over given coordinates, evaluated with torch."""

    def __init__(self, terms: Sequence[sympy.Expr], coordinates: Sequence[str]):
        self.exprs = list(terms)
        self.coordinates = list(coordinates)
        self.names = [str(e) for e in self.exprs]
        q, v = _symbols(self.coordinates)
        self._fn = sympy.lambdify(q + v, self.exprs, modules="torch")
        self._term_fns: dict[int, Callable] = {}

    def __len__(self):
        return len(self.exprs)

    def subset(self, idx: Sequence[int]) -> "TermSet":
        return TermSet([self.exprs[i] for i in idx], self.coordinates)

    def values(self, q: torch.Tensor, qdot: torch.Tensor) -> torch.Tensor:
        """φ(q, q̇) for ONE state (1-D q, qdot) → (K,)."""
        n = len(self.coordinates)
        vals = self._fn(*[q[i] for i in range(n)], *[qdot[i] for i in range(n)])
        return torch.stack([v if isinstance(v, torch.Tensor) else q.new_tensor(float(v)) + 0 * q[0] for v in vals])

    def lagrangian(self, xi: torch.Tensor) -> Callable:
        """L(q, q̇) = ξ·φ(q, q̇) for one state."""
        return lambda q, qdot: (xi * self.values(q, qdot)).sum()

    def term(self, k: int) -> Callable:
        """φ_k(q, q̇) for one state, lambdified from its SymPy form (cached)."""
        if k not in self._term_fns:
            q, v = _symbols(self.coordinates)
            g = sympy.lambdify(q + v, self.exprs[k], modules="torch")

            def phi(qq, vv, g=g):
                val = g(*qq.unbind(-1), *vv.unbind(-1))
                zero = 0 * qq.sum(-1)  # anchors constants to the input's shape, dtype and device
                return val + zero if isinstance(val, torch.Tensor) else qq.new_tensor(float(val)) + zero

            phi.batched = True  # one state (n,) or a batch (B, n)
            self._term_fns[k] = phi
        return self._term_fns[k]

    def mass_force_columns(self, q, qdot, indices=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-term M_k = ∂²φ_k/∂q̇² (B, n, n, K) and f_k = ∂φ_k/∂q − C_k q̇ (B, n, K), for the
        terms k in ``indices`` (all by default).

        The Euler–Lagrange equations are linear in L, so for L = ξ·φ: M = Σ ξ_k M_k and
        f = Σ ξ_k f_k.  Each term goes through the one engine on the whole batch (a loop over
        terms, linear in their number; differentiating ξ·φ at once would cost K² here).
        q, qdot: (B, n).
        """
        ks = range(len(self)) if indices is None else indices
        parts = [mass_and_force(self.term(k), q, qdot) for k in ks]
        return torch.stack([p[0] for p in parts], -1), torch.stack([p[1] for p in parts], -1)

    def el_columns(self, q, qdot, qddot) -> torch.Tensor:
        """Θ[b, i, k] = Euler–Lagrange residual (M_k q̈ − f_k)_i of term k at sample b: (B, n, K)."""
        M, f = self.mass_force_columns(q, qdot)
        return torch.einsum("bijk,bj->bik", M, qddot) - f

    def gradient_columns(self, q, qdot) -> tuple[torch.Tensor, torch.Tensor]:
        """(∂φ_k/∂q_i, ∂φ_k/∂q̇_i) as two (B, n, K) tensors (what the weak form needs)."""
        parts = [lagrangian_gradients(self.term(k), q, qdot) for k in range(len(self))]
        return torch.stack([p[0] for p in parts], -1), torch.stack([p[1] for p in parts], -1)

    def velocity_hessian_mean(self, q, qdot, *, max_samples: int = 1000) -> torch.Tensor:
        """(n, K): data mean of ∂²φ_k/∂q̇_i² (the normalization functionals)."""
        step = max(1, q.shape[0] // max_samples)
        M, _ = self.mass_force_columns(q[::step], qdot[::step])
        return M.diagonal(dim1=1, dim2=2).mean(0).T
