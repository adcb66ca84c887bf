"""The network: a Lagrangian for ONE state in the data's units (normalization lives inside).
Plain (default): ``L = f_θ(q̃, ṽ) + ½‖ṽ‖²`` with ``q̃ = (q − μ_q)/σ_q``, ``ṽ = q̇/σ_q̇``; the
quadratic term only makes ``M = ∂²L/∂q̇²`` positive definite at initialization (f_θ is free,
so it restricts nothing).  ``structured=True`` (DeLaN-like): ``L = ½ ṽᵀ(LLᵀ + εI)ṽ − V(q̃)``,
L lower triangular with a softplus diagonal, so M is positive definite by construction; it
cannot represent terms linear in q̇ (magnetic) or non-quadratic kinetic energies
(relativistic).
"""
from __future__ import annotations

import math

import torch
from torch import nn

_ACTIVATIONS = {"softplus": nn.Softplus, "tanh": nn.Tanh, "silu": nn.SiLU, "gelu": nn.GELU}
_DIAG_SHIFT = math.log(math.e - 1.0)  # softplus(_DIAG_SHIFT) = 1: M̃ starts near identity
_STRUCT_EPS = 1e-3


def _mlp(n_in: int, hidden, n_out: int, activation: str) -> nn.Sequential:
    layers, width = [], n_in
    for h in hidden:
        layers += [nn.Linear(width, h), _ACTIVATIONS[activation]()]
        width = h
    layers.append(nn.Linear(width, n_out))
    return nn.Sequential(*layers)


class LagrangianNet(nn.Module):
    """``forward(q, qdot)``: q, qdot of shape ``(n,)`` → scalar L (data units)."""

    def __init__(self, n_dof: int, hidden=(128, 128), activation: str = "softplus",
                 structured: bool = False):
        super().__init__()
        if activation not in _ACTIVATIONS:
            raise ValueError(f"activation {activation!r}: choose one of {sorted(_ACTIVATIONS)} "
                             "(it needs non-zero second derivatives, so not relu)")
        self.n_dof, self.structured = n_dof, structured
        self.register_buffer("q_mean", torch.zeros(n_dof))
        self.register_buffer("q_scale", torch.ones(n_dof))
        self.register_buffer("v_scale", torch.ones(n_dof))
        if structured:
            m = n_dof * (n_dof + 1) // 2
            self.mass_net = _mlp(n_dof, hidden, m, activation)
            self.potential_net = _mlp(n_dof, hidden, 1, activation)
            rows, cols = torch.tril_indices(n_dof, n_dof)
            scatter = torch.zeros(n_dof * n_dof, m)
            scatter[rows * n_dof + cols, torch.arange(m)] = 1.0
            self.register_buffer("tril_scatter", scatter, persistent=False)
            self.register_buffer("tril_diag", rows == cols, persistent=False)
        else:
            self.net = _mlp(2 * n_dof, hidden, 1, activation)
            with torch.no_grad():  # small f_θ at start: M ≈ identity (normalized units)
                self.net[-1].weight.mul_(0.1)

    def forward(self, q: torch.Tensor, qdot: torch.Tensor) -> torch.Tensor:
        x = (q - self.q_mean) / self.q_scale
        v = qdot / self.v_scale
        if self.structured:
            raw = self.mass_net(x)
            vals = torch.where(self.tril_diag, nn.functional.softplus(raw + _DIAG_SHIFT), raw)
            chol = (self.tril_scatter @ vals).reshape(self.n_dof, self.n_dof)
            w = chol.T @ v  # ṽᵀ L Lᵀ ṽ = ‖Lᵀ ṽ‖²
            return 0.5 * (w @ w + _STRUCT_EPS * (v @ v)) - self.potential_net(x)[0]
        return self.net(torch.cat([x, v]))[0] + 0.5 * (v @ v)
