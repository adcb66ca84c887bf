"""Pendulums: the simple pendulum (exact Jacobi-elliptic libration) and the planar double
pendulum (no closed form)."""
from __future__ import annotations

import numpy as np
import scipy.special
import sympy

from .base import System, _out, _positive, _rng, _states


class Pendulum(System):
    """Simple pendulum, ``L = ½ m l² θ̇² + m g l cos θ``.

    :meth:`exact_solution` is the exact (Jacobi elliptic) libration below the separatrix;
    :meth:`small_angle_solution` the linearized one.  Random states librate with amplitude
    in ``amplitude_range`` (large, but below π).
    """

    base_name = "pendulum"
    defaults = {"m": 1.0, "l": 1.0, "g": 9.81}
    has_exact_solution = True
    amplitude_range = (1.0, 2.5)

    coordinates = ("theta",)

    def _validate(self):
        _positive(self, "m", "l", "g")

    @property
    def omega(self) -> float:
        return float(np.sqrt(self.params["g"] / self.params["l"]))

    def _lagrangian(self, q, v, t, p):
        (th,), (thd,) = q, v
        return p["m"] * p["l"] ** 2 * thd**2 / 2 + p["m"] * p["g"] * p["l"] * sympy.cos(th)

    def _state_at(self, amplitude, phase):
        """State of the libration of given amplitude at elliptic phase u (arrays)."""
        k = np.sin(amplitude / 2)
        sn, cn, _, _ = scipy.special.ellipj(phase, k**2)
        return 2 * np.arcsin(k * sn), 2 * k * self.omega * cn

    def sample_initial_states(self, n, rng=None):
        g = _rng(rng)
        amp = g.uniform(*self.amplitude_range, n)
        period_u = 4 * scipy.special.ellipk(np.sin(amp / 2) ** 2)
        th, thd = self._state_at(amp, g.uniform(0, 1, n) * period_u)
        return th[:, None], thd[:, None]

    def _exact(self, q0, qdot0, t, t0):
        w = self.omega
        th0, thd0 = q0[:, 0], qdot0[:, 0]
        # sin²(θmax/2) = sin²(θ/2) + (θ̇ / 2ω)²  (energy conservation)
        k2 = np.sin(th0 / 2) ** 2 + (thd0 / (2 * w)) ** 2
        if np.any(k2 >= 1):
            raise ValueError("pendulum: exact_solution covers librations only (energy below the separatrix)")
        k = np.sqrt(k2)
        # θ = 2 arcsin(k sn(u)), θ̇ = 2 k ω cn(u), u = ω t + u0 ;  am(u0) = atan2(sn, cn)
        safe = np.where(k > 0, k, 1.0)
        phi0 = np.arctan2(np.sin(th0 / 2) / safe, thd0 / (2 * w * safe))
        u0 = scipy.special.ellipkinc(phi0, k2)
        u = w * (t - t0)[:, None] + u0
        sn, cn, _, _ = scipy.special.ellipj(u, k2)
        return (2 * np.arcsin(k * sn))[..., None], (2 * k * w * cn)[..., None]

    def small_angle_solution(self, q0, qdot0, t, *, t0: float = 0.0):
        """Linearized motion θ = θ₀ cos ωt + (θ̇₀/ω) sin ωt; shapes as :meth:`exact_solution`."""
        q0, qdot0, single = _states(q0, qdot0, 1)
        wt = self.omega * (np.asarray(t, dtype=np.float64).reshape(-1) - t0)[:, None, None]
        w = self.omega
        return _out(q0 * np.cos(wt) + qdot0 / w * np.sin(wt), -q0 * w * np.sin(wt) + qdot0 * np.cos(wt), single)


class DoublePendulum(System):
    """Planar double pendulum; ``theta1``, ``theta2`` are the angles of the rods from the vertical.

    ``L = ½(m1+m2) l1² θ̇1² + ½ m2 l2² θ̇2² + m2 l1 l2 θ̇1 θ̇2 cos(θ1−θ2)
    + (m1+m2) g l1 cos θ1 + m2 g l2 cos θ2``.  No closed form (chaotic at large energy).
    """

    base_name = "double_pendulum"
    defaults = {"m1": 1.0, "m2": 1.0, "l1": 1.0, "l2": 1.0, "g": 9.81}
    coordinates = ("theta1", "theta2")

    def _validate(self):
        _positive(self, "m1", "m2", "l1", "l2", "g")

    def _lagrangian(self, q, v, t, p):
        (a, b), (ad, bd) = q, v
        m1, m2, l1, l2, g = (p[k] for k in ("m1", "m2", "l1", "l2", "g"))
        kinetic = (m1 + m2) * l1**2 * ad**2 / 2 + m2 * l2**2 * bd**2 / 2 + m2 * l1 * l2 * ad * bd * sympy.cos(a - b)
        return kinetic + (m1 + m2) * g * l1 * sympy.cos(a) + m2 * g * l2 * sympy.cos(b)

    def sample_initial_states(self, n, rng=None):
        g = _rng(rng)
        return g.uniform(-1.0, 1.0, (n, 2)), g.uniform(-1.0, 1.0, (n, 2))
