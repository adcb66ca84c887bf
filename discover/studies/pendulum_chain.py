"""An n-link planar pendulum for the scaling study: n equal point masses m on massless rods of
length l, hung one below the other, angles theta1 … thetan from the vertical.

With c_ij = n − max(i, j) + 1 (the number of masses at or below both links i and j),

    L = ½ m l² Σ_ij c_ij θ̇_i θ̇_j cos(θ_i − θ_j) + m g l Σ_i c_ii cos θ_i,

so every pair of links is coupled: the truth has n + n(n − 1)/2 + n terms.  There is no closed
form; :meth:`PendulumChain.simulate` integrates the Euler–Lagrange equations, derived by hand,

    Σ_j c_ij [cos(θ_i − θ_j) θ̈_j + sin(θ_i − θ_j) θ̇_j²] + (g / l) c_ii sin θ_i = 0,

with the project's RK4 rollout (the engine's autograd Hessian of an n² -term L is slow at n = 32, and
the hand derivation is an independent check of it: tests compare the two).
"""
from __future__ import annotations

import numpy as np
import sympy
import torch

from ..systems.base import System, _rng

__all__ = ["PendulumChain"]


class PendulumChain(System):
    """n-link pendulum (coordinates theta1 … thetan); see the module docstring."""

    base_name = "pendulum_chain"
    structure = {"n": 3}
    defaults = {"m": 1.0, "l": 1.0, "g": 9.81}

    @property
    def name(self):
        return f"pendulum_chain_{self.shape_params['n']}"

    @property
    def coordinates(self):
        return tuple(f"theta{i + 1}" for i in range(self.shape_params["n"]))

    def _counts(self) -> np.ndarray:
        n = self.n_dof
        i = np.arange(n)
        return (n - np.maximum.outer(i, i)).astype(float)

    def _lagrangian(self, q, v, t, p):
        c = self._counts()
        n = len(q)
        kinetic = sum(sympy.Rational(1, 2) * int(c[i, j]) * v[i] * v[j] * (sympy.cos(q[i] - q[j]) if i != j else 1)
                      for i in range(n) for j in range(n))
        return p["m"] * p["l"] ** 2 * kinetic + p["m"] * p["g"] * p["l"] * sum(int(c[i, i]) * sympy.cos(q[i])
                                                                                   for i in range(n))

    def sample_initial_states(self, n, rng=None):
        g = _rng(rng)
        return g.uniform(-0.5, 0.5, (n, self.n_dof)), g.uniform(-0.5, 0.5, (n, self.n_dof))

    def acceleration(self, q, qdot):
        """θ̈ at states (B, n) from the hand-derived equations of the module docstring (numpy in →
        numpy out, torch in → torch out)."""
        xp = torch if isinstance(q, torch.Tensor) else np
        c, gl = self._counts(), self.params["g"] / self.params["l"]
        if xp is torch:
            c = torch.as_tensor(c, dtype=q.dtype, device=q.device)
        d = q[:, :, None] - q[:, None, :]
        M = c * xp.cos(d)
        rhs = -(c * xp.sin(d)) @ (qdot**2)[:, :, None]
        rhs = rhs[:, :, 0] - gl * xp.diagonal(c) * xp.sin(q)
        return xp.linalg.solve(M, rhs[:, :, None])[:, :, 0]

    def simulate(self, q0, qdot0, t, *, substeps: int = 4) -> tuple[np.ndarray, np.ndarray]:
        """(q, q̇), each (T, B, n): the project's RK4 rollout (``substeps`` steps per interval of
        ``t``) driven by the hand-derived accelerations."""
        from ..integrate import rollout

        T = lambda x: torch.as_tensor(np.asarray(x, float))  # noqa: E731
        out = rollout(None, T(q0), T(qdot0), T(t), substeps=substeps, compute_energy=False,
                      acceleration=lambda q, v, tt: self.acceleration(q, v))
        return out.q.numpy(), out.qdot.numpy()
