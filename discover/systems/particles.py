"""Particles in fields: a charge in a uniform magnetic field, a relativistic particle in a
uniform field, and the Kepler problem — each with its closed-form motion — and two bodies joined
by a spring (simulated)."""
from __future__ import annotations

import numpy as np
import sympy

from .base import System, _positive, _rng


class MagneticParticle(System):
    """Charged particle in a uniform field B ẑ (2-D: x, y; 3-D: x, y, z).

    ``L = ½ m |v|² + (charge·B/2)(x ẏ − y ẋ)``: circular (Larmor) motion in the x–y plane with
    angular frequency ω = charge·B/m (clockwise for ω > 0), radius |v⊥|/|ω|; uniform in z.
    """

    base_name = "magnetic"
    structure = {"dim": 2}
    defaults = {"m": 1.0, "charge": 1.0, "B": 2.0}
    has_exact_solution = True

    @property
    def name(self):
        return f"magnetic_{self.shape_params['dim']}d"

    def _validate(self):
        if self.shape_params["dim"] not in (2, 3):
            raise ValueError("magnetic: dim must be 2 or 3")
        _positive(self, "m")
        if self.params["charge"] * self.params["B"] == 0:
            raise ValueError("magnetic: charge·B must be nonzero (otherwise this is a free particle)")

    @property
    def coordinates(self):
        return ("x", "y", "z")[: self.shape_params["dim"]]

    @property
    def cyclotron_frequency(self) -> float:
        return self.params["charge"] * self.params["B"] / self.params["m"]

    def _lagrangian(self, q, v, t, p):
        kinetic = p["m"] * sum(vi**2 for vi in v) / 2
        return kinetic + p["charge"] * p["B"] / 2 * (q[0] * v[1] - q[1] * v[0])

    def sample_initial_states(self, n, rng=None):
        g = _rng(rng)
        return g.uniform(-1, 1, (n, self.n_dof)), g.uniform(-1, 1, (n, self.n_dof))

    def _exact(self, q0, qdot0, t, t0):
        w = self.cyclotron_frequency
        s = (t - t0)[:, None]
        z0 = q0[:, 0] + 1j * q0[:, 1]  # x + i y:  z̈ = −i ω ż
        zd0 = qdot0[:, 0] + 1j * qdot0[:, 1]
        rot = np.exp(-1j * w * s)
        zd = zd0 * rot
        z = z0 + zd0 * (1 - rot) / (1j * w)
        q = np.stack([z.real, z.imag], -1)
        qd = np.stack([zd.real, zd.imag], -1)
        if self.n_dof == 3:
            q = np.concatenate([q, (q0[:, 2] + qdot0[:, 2] * s)[..., None]], -1)
            qd = np.concatenate([qd, np.broadcast_to(qdot0[:, 2], s.shape[:1] + qdot0[:, 2].shape)[..., None]], -1)
        return q, qd


class RelativisticParticle(System):
    """Relativistic particle in a uniform field (c = 1), ``L = −m √(1 − ẋ²) − m g x``.

    Momentum p = mγẋ falls linearly, p(t) = p₀ − m g t, and x = x₀ − (E(t) − E₀)/(m g) with
    E = √(m² + p²).
    """

    base_name = "relativistic"
    defaults = {"m": 1.0, "g": 0.5}
    coordinates = ("x",)
    has_exact_solution = True

    def _validate(self):
        _positive(self, "m")
        if self.params["g"] == 0:
            raise ValueError("relativistic: g must be nonzero (use a nonzero uniform field)")

    def _lagrangian(self, q, v, t, p):
        return -p["m"] * sympy.sqrt(1 - v[0] ** 2) - p["m"] * p["g"] * q[0]

    def sample_initial_states(self, n, rng=None):
        g = _rng(rng)
        return g.uniform(-1, 1, (n, 1)), g.uniform(-0.8, 0.8, (n, 1))

    def _exact(self, q0, qdot0, t, t0):
        m, g = self.params["m"], self.params["g"]
        if np.any(np.abs(qdot0) >= 1):
            raise ValueError("relativistic: |qdot0| must be below 1 (the speed of light)")
        v0 = qdot0[:, 0]
        p0 = m * v0 / np.sqrt(1 - v0**2)
        p = p0 - m * g * (t - t0)[:, None]
        e0, e = np.sqrt(m**2 + p0**2), np.sqrt(m**2 + p**2)
        return (q0[:, 0] - (e - e0) / (m * g))[..., None], (p / e)[..., None]


class Kepler(System):
    """Central 1/r potential in the plane, ``L = ½ m (ẋ² + ẏ²) + k / √(x² + y²)``.

    Random states are bound orbits of moderate eccentricity (≲ 0.35) around r ≈ 1.
    :meth:`exact_solution` solves Kepler's equation (bound orbits);
    :meth:`orbit_energy` and :meth:`angular_momentum` are the conserved quantities.
    """

    base_name = "kepler"
    defaults = {"m": 1.0, "k": 1.0}
    coordinates = ("x", "y")
    has_exact_solution = True

    def _validate(self):
        _positive(self, "m", "k")

    def _lagrangian(self, q, v, t, p):
        (x, y), (xd, yd) = q, v
        return p["m"] * (xd**2 + yd**2) / 2 + p["k"] / sympy.sqrt(x**2 + y**2)

    def orbit_energy(self, q, qdot):
        q, qdot = np.asarray(q, float), np.asarray(qdot, float)
        return self.params["m"] * (qdot**2).sum(-1) / 2 - self.params["k"] / np.linalg.norm(q, axis=-1)

    def angular_momentum(self, q, qdot):
        q, qdot = np.asarray(q, float), np.asarray(qdot, float)
        return self.params["m"] * (q[..., 0] * qdot[..., 1] - q[..., 1] * qdot[..., 0])

    def sample_initial_states(self, n, rng=None):
        g = _rng(rng)
        m, k = self.params["m"], self.params["k"]
        r = g.uniform(0.7, 1.3, n)
        ang = g.uniform(0, 2 * np.pi, n)
        vc = np.sqrt(k / (m * r))
        vt = vc * g.uniform(0.85, 1.15, n) * g.choice([-1.0, 1.0], n)
        vr = vc * g.uniform(-0.15, 0.15, n)
        er = np.stack([np.cos(ang), np.sin(ang)], -1)
        et = np.stack([-np.sin(ang), np.cos(ang)], -1)
        return r[:, None] * er, vr[:, None] * er + vt[:, None] * et

    def _exact(self, q0, qdot0, t, t0):
        mu = self.params["k"] / self.params["m"]
        r0 = np.linalg.norm(q0, axis=-1)
        v2 = (qdot0**2).sum(-1)
        energy = v2 / 2 - mu / r0
        if np.any(energy >= 0):
            raise ValueError("kepler: exact_solution covers bound orbits (negative energy) only")
        a = -mu / (2 * energy)
        sig = (q0 * qdot0).sum(-1) / np.sqrt(mu)  # r·v / √μ
        n_mean = np.sqrt(mu / a**3)
        # Kepler's equation in the change of eccentric anomaly dE:
        #   n Δt = dE − (1 − r0/a) sin dE + (σ/√a)(1 − cos dE),  d/d(dE) = r/a > 0
        c1, c2 = 1 - r0 / a, sig / np.sqrt(a)
        M = n_mean * (t - t0)[:, None]
        turns = np.floor(M / (2 * np.pi))
        Mr = M - 2 * np.pi * turns
        dE = Mr.copy()
        for _ in range(60):
            f = dE - c1 * np.sin(dE) + c2 * (1 - np.cos(dE)) - Mr
            fp = 1 - c1 * np.cos(dE) + c2 * np.sin(dE)
            step = f / fp
            dE = dE - np.clip(step, -1.0, 1.0)
            if np.max(np.abs(step)) < 1e-15:
                break
        r = a * (1 - c1 * np.cos(dE) + c2 * np.sin(dE))
        f = 1 - a / r0 * (1 - np.cos(dE))
        g = (t - t0)[:, None] - (dE + 2 * np.pi * turns - np.sin(dE)) / n_mean
        fd = -np.sqrt(mu * a) / (r * r0) * np.sin(dE)
        gd = 1 - a / r * (1 - np.cos(dE))
        q = f[..., None] * q0 + g[..., None] * qdot0
        qd = fd[..., None] * q0 + gd[..., None] * qdot0
        return q, qd


class SpringPair(System):
    """Two bodies in the plane joined by a spring of rest length ``l`` (no other forces);
    coordinates ``x1, y1, x2, y2``.

    ``L = ½ m1 (ẋ1² + ẏ1²) + ½ m2 (ẋ2² + ẏ2²) − ½ k (|r1 − r2| − l)²``.  Random states: the
    bodies ``l`` × (0.7–1.3) apart in a random direction near the origin, spinning about their
    centre of mass and vibrating along the spring; the centre of mass drifts slowly (≤ 0.2).
    """

    base_name = "spring_pair"
    defaults = {"m1": 1.0, "m2": 1.5, "k": 10.0, "l": 1.0}
    coordinates = ("x1", "y1", "x2", "y2")

    def _validate(self):
        _positive(self, "m1", "m2", "k", "l")

    def _lagrangian(self, q, v, t, p):
        x1, y1, x2, y2 = q
        kinetic = p["m1"] * (v[0] ** 2 + v[1] ** 2) / 2 + p["m2"] * (v[2] ** 2 + v[3] ** 2) / 2
        d = sympy.sqrt((x1 - x2) ** 2 + (y1 - y2) ** 2)
        return kinetic - p["k"] * (d - p["l"]) ** 2 / 2

    def sample_initial_states(self, n, rng=None):
        g = _rng(rng)
        m1, m2 = self.params["m1"], self.params["m2"]
        w1, w2 = m2 / (m1 + m2), m1 / (m1 + m2)  # r1 = c + w1 d, r2 = c − w2 d with d = r1 − r2
        ang = g.uniform(0, 2 * np.pi, n)
        e = np.stack([np.cos(ang), np.sin(ang)], -1)
        et = np.stack([-np.sin(ang), np.cos(ang)], -1)
        d = self.params["l"] * g.uniform(0.7, 1.3, n)[:, None] * e
        dd = g.uniform(-1.0, 1.0, n)[:, None] * e + g.uniform(-2.0, 2.0, n)[:, None] * et
        c, cd = g.uniform(-0.5, 0.5, (n, 2)), g.uniform(-0.2, 0.2, (n, 2))
        q = np.concatenate([c + w1 * d, c - w2 * d], -1)
        return q, np.concatenate([cd + w1 * dd, cd - w2 * dd], -1)
