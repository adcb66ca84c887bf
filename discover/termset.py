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


def _batched_term(symbols, expr) -> Callable:
    """expr lambdified over ``symbols`` = positions then velocities, as φ(q, q̇) on (..., s)
    inputs (the last axis holds the s coordinates): one state or a batch."""
    g = sympy.lambdify(symbols, expr, modules="torch")

    def phi(qq, vv):
        val = g(*qq.unbind(-1), *vv.unbind(-1))
        zero = 0 * qq.sum(-1)  # anchors constants to the input's shape, dtype and device
        return val + zero if isinstance(val, torch.Tensor) else qq.new_tensor(float(val)) + zero

    phi.batched = True
    return phi


class TermSet:
    """A fixed list of SymPy terms over given coordinates, evaluated with torch."""

    def __init__(self, terms: Sequence[sympy.Expr], coordinates: Sequence[str]):
        self.exprs = list(terms)
        self.coordinates = list(coordinates)
        self.names = [str(e) for e in self.exprs]
        q, v = _symbols(self.coordinates)
        self._fn = sympy.lambdify(q + v, self.exprs, modules="torch")
        self._term_fns: dict[int, tuple[list[int], Callable]] = {}
        self._groups: list | None = None

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

    def coordinates_of(self, k: int) -> list[int]:
        """Indices of the coordinates whose position or velocity term k contains (sorted)."""
        names = {s.name for s in self.exprs[k].free_symbols}
        return [i for i, c in enumerate(self.coordinates) if c in names or velocity_name(c) in names]

    def term(self, k: int) -> Callable:
        """φ_k(q, q̇) of all n coordinates, for one state or a batch (:meth:`local_term` in the
        coordinates it touches)."""
        idx, phi = self.local_term(k)

        def full(qq, vv):
            return phi(qq[..., idx], vv[..., idx])

        full.batched = True
        return full

    def local_term(self, k: int) -> tuple[list[int], Callable]:
        """``(idx, φ_k)``: the coordinates term k touches and φ_k as a function of those alone,
        φ_k(q[..., idx], q̇[..., idx]), lambdified from its SymPy form (cached).

        A term touches few coordinates (x₁ẋ₂, θ̇₁θ̇₂ cos(θ₁ − θ₂)): its Euler–Lagrange rows outside
        idx vanish and its mass block lives on idx × idx, so the engine differentiates it in
        |idx| variables instead of n (a chain of 32 masses: 2 instead of 32 reverse passes)."""
        if k not in self._term_fns:
            idx = self.coordinates_of(k)
            q, v = _symbols([self.coordinates[i] for i in idx])
            self._term_fns[k] = (idx, _batched_term(q + v, self.exprs[k]))
        return self._term_fns[k]

    def groups(self) -> list[tuple[Callable, torch.Tensor, torch.Tensor]]:
        """The terms grouped by shape: ``(φ, I, ks)`` per group, the terms ``ks`` (G,) being one
        template φ over s coordinates placed at the rows of ``I`` (G, s), so that
        φ(q[..., I], q̇[..., I]) → (..., G) evaluates the whole group at once (cached).

        x₁x₂, x₂x₃, …, x₃₁x₃₂ are one group (a product of neighbours); θ̇ᵢθ̇ⱼ cos(θᵢ − θⱼ) for all
        pairs another: the number of tensor operations of L = Σ ξ_k φ_k (and of its derivatives)
        then grows with the number of shapes, not of terms (what the trajectory fit's replayed
        q̈ Jacobians pay per operation on a few dozen segments)."""
        if self._groups is None:
            shapes: dict[str, tuple[sympy.Expr, list[sympy.Symbol], list[list[int]], list[int]]] = {}
            for k, e in enumerate(self.exprs):
                idx = self.coordinates_of(k)
                q, v = _symbols([self.coordinates[i] for i in idx])
                Q = [sympy.Symbol(f"_q{j}") for j in range(len(idx))]
                V = [sympy.Symbol(f"_v{j}") for j in range(len(idx))]
                template = e.xreplace(dict(zip(q + v, Q + V)))
                key = sympy.srepr(template)
                shapes.setdefault(key, (template, Q + V, [], []))
                shapes[key][2].append(idx)
                shapes[key][3].append(k)
            self._groups = [(_batched_term(symbols, template), torch.as_tensor(rows, dtype=torch.long).reshape(len(ks), -1),
                             torch.as_tensor(ks, dtype=torch.long)) for template, symbols, rows, ks in shapes.values()]
        return self._groups

    def velocity_bandwidth(self) -> int:
        """Lower bandwidth of every M = Σ ξ_k ∂²φ_k/∂q̇² in the coordinates' order, read off the
        terms: the largest |i − j| of two velocities q̇ᵢ, q̇ⱼ in one term (0: M is diagonal)."""
        vel = {sympy.Symbol(velocity_name(c)): i for i, c in enumerate(self.coordinates)}
        width = 0
        for e in self.exprs:
            at = [vel[s] for s in e.free_symbols if s in vel]
            width = max(width, max(at) - min(at) if at else 0)
        return width

    def _local_mass_force(self, k, q, qdot):
        """(idx, M_k on idx × idx (B, s, s), f_k on idx (B, s)) of term k; q, qdot: (B, n)."""
        idx, phi = self.local_term(k)
        M, f = mass_and_force(phi, q[:, idx], qdot[:, idx])
        return idx, M, f

    def mass_force_columns(self, q, qdot, indices=None) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-term M_k = ∂²φ_k/∂q̇² (B, n, n, K) and f_k = ∂φ_k/∂q − C_k q̇ (B, n, K), for the
        terms k in ``indices`` (all by default).

        The Euler–Lagrange equations are linear in L, so for L = ξ·φ: M = Σ ξ_k M_k and
        f = Σ ξ_k f_k.  Each term goes through the one engine on the whole batch, in the
        coordinates it touches (:meth:`term`; a loop over terms, linear in their number).
        The result holds n² entries per sample and term: where only M_k q̈ is needed,
        :meth:`el_columns` never builds it.  q, qdot: (B, n).
        """
        ks = list(range(len(self)) if indices is None else indices)
        B, n = q.shape
        M, f = q.new_zeros(B, n, n, len(ks)), q.new_zeros(B, n, len(ks))
        for j, k in enumerate(ks):
            idx, Mk, fk = self._local_mass_force(k, q, qdot)
            ix = torch.as_tensor(idx, dtype=torch.long)
            M[..., j][:, ix[:, None], ix] = Mk
            f[:, ix, j] = fk
        return M, f

    def el_columns(self, q, qdot, qddot) -> torch.Tensor:
        """Θ[b, i, k] = Euler–Lagrange residual (M_k q̈ − f_k)_i of term k at sample b: (B, n, K).

        Term by term in the coordinates each touches: the memory is that of Θ, not of the
        (B, n, n, K) mass columns (9 GB for 4000 samples of a 32-mass chain's 284 terms)."""
        B, n = q.shape
        out = q.new_zeros(B, n, len(self))
        for k in range(len(self)):
            idx, Mk, fk = self._local_mass_force(k, q, qdot)
            out[:, idx, k] = torch.einsum("bij,bj->bi", Mk, qddot[:, idx]) - fk
        return out

    def gradient_columns(self, q, qdot) -> tuple[torch.Tensor, torch.Tensor]:
        """(∂φ_k/∂q_i, ∂φ_k/∂q̇_i) as two (B, n, K) tensors (what the weak form needs)."""
        gq, gv = q.new_zeros(*q.shape, len(self)), q.new_zeros(*q.shape, len(self))
        for k in range(len(self)):
            idx, phi = self.local_term(k)
            gq[..., idx, k], gv[..., idx, k] = lagrangian_gradients(phi, q[..., idx], qdot[..., idx])
        return gq, gv

    def velocity_hessian_mean(self, q, qdot, *, max_samples: int = 1000) -> torch.Tensor:
        """(n, K): data mean of ∂²φ_k/∂q̇_i² (the normalization functionals)."""
        step = max(1, q.shape[0] // max_samples)
        q, qdot = q[::step], qdot[::step]
        diag = q.new_zeros(*q.shape, len(self))  # (B, n, K): n·K per sample, not n²·K
        for k in range(len(self)):
            idx, Mk, _ = self._local_mass_force(k, q, qdot)
            diag[:, idx, k] = Mk.diagonal(dim1=1, dim2=2)
        return diag.transpose(1, 2).mean(0).T  # reduced as a (B, K, n) view: the former sums to the last bit
