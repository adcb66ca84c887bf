"""Textbook systems of analytical mechanics with position-dependent kinetic energies or
trigonometric potentials: the elastic pendulum, the spherical pendulum, a bead on a rotating
hoop, and the cart-pole with a free cart (no closed forms; simulated)."""
from __future__ import annotations

import numpy as np
import sympy

from .base import System, _positive, _rng


class ElasticPendulum(System):
    """A mass on a spring swinging in a vertical plane; ``r`` is the spring's length, ``phi`` its
    angle from the downward vertical.

    ``L = ½ m (ṙ² + r² φ̇²) + m g r cos φ − ½ k (r − l)²``.  Random states swing up to 1 rad
    with the spring stretched within ±15 % of its hanging length ``l + m g / k``.
    """

    base_name = "elastic_pendulum"
    defaults = {"m": 1.0, "g": 9.81, "k": 30.0, "l": 1.0}
    coordinates = ("r", "phi")

    def _validate(self):
        _positive(self, "m", "g", "k", "l")

    @property
    def hanging_length(self) -> float:
        return self.params["l"] + self.params["m"] * self.params["g"] / self.params["k"]

    def _lagrangian(self, q, v, t, p):
        (r, phi), (rd, phid) = q, v
        return (p["m"] * (rd**2 + r**2 * phid**2) / 2 + p["m"] * p["g"] * r * sympy.cos(phi)
                - p["k"] * (r - p["l"]) ** 2 / 2)

    def sample_initial_states(self, n, rng=None):
        g = _rng(rng)
        r = self.hanging_length * (1 + g.uniform(-0.15, 0.15, n))
        q = np.stack([r, g.uniform(-1.0, 1.0, n)], -1)
        return q, np.stack([g.uniform(-0.5, 0.5, n), g.uniform(-1.0, 1.0, n)], -1)


class SphericalPendulum(System):
    """A pendulum free to swing in every direction; ``theta`` is the polar angle from the
    downward vertical, ``phi`` the azimuth.

    ``L = ½ m l² (θ̇² + sin²θ φ̇²) + m g l cos θ``.  Random states are near conical orbits
    (θ between 0.5 and 1.1 rad, azimuthal speed 0.6–1.4 × the conical one, θ̇ up to 1): the angular
    momentum keeps θ away from the coordinate singularities θ = 0 and π.
    """

    base_name = "spherical_pendulum"
    defaults = {"m": 1.0, "l": 1.0, "g": 9.81}
    coordinates = ("theta", "phi")

    def _validate(self):
        _positive(self, "m", "l", "g")

    def _lagrangian(self, q, v, t, p):
        (th, _), (thd, phid) = q, v
        return p["m"] * p["l"] ** 2 * (thd**2 + sympy.sin(th) ** 2 * phid**2) / 2 + p["m"] * p["g"] * p["l"] * sympy.cos(th)

    def sample_initial_states(self, n, rng=None):
        g = _rng(rng)
        th = g.uniform(0.5, 1.1, n)
        conical = np.sqrt(self.params["g"] / (self.params["l"] * np.cos(th)))  # φ̇ of a conical orbit
        phid = conical * g.uniform(0.6, 1.4, n) * g.choice([-1.0, 1.0], n)
        q = np.stack([th, g.uniform(-np.pi, np.pi, n)], -1)
        return q, np.stack([g.uniform(-1.0, 1.0, n), phid], -1)


class BeadOnHoop(System):
    """A bead sliding on a vertical hoop of radius ``R`` spun at angular velocity ``omega``
    about its vertical diameter; ``theta`` is the angle from the bottom.

    ``L = ½ m R² (θ̇² + ω² sin²θ) + m g R cos θ``: above ω² = g/R the bottom is unstable and the
    bead oscillates about cos θ* = g / (ω² R).  Random states start within ±2 rad of the bottom.
    """

    base_name = "bead_on_hoop"
    defaults = {"m": 1.0, "R": 1.0, "omega": 4.0, "g": 9.81}
    coordinates = ("theta",)

    def _validate(self):
        _positive(self, "m", "R", "omega", "g")

    def _lagrangian(self, q, v, t, p):
        (th,), (thd,) = q, v
        return p["m"] * p["R"] ** 2 * (thd**2 + p["omega"] ** 2 * sympy.sin(th) ** 2) / 2 + p["m"] * p["g"] * p["R"] * sympy.cos(th)

    def sample_initial_states(self, n, rng=None):
        g = _rng(rng)
        return g.uniform(-2.0, 2.0, (n, 1)), g.uniform(-2.0, 2.0, (n, 1))


class CartPole(System):
    """A pendulum hanging from a cart that rolls freely on a horizontal track; ``x`` is the
    cart's position, ``theta`` the pendulum's angle from the downward vertical.

    ``L = ½ (M + m) ẋ² + m l ẋ θ̇ cos θ + ½ m l² θ̇² + m g l cos θ``.  Random states swing up to
    1.5 rad with cart speeds up to 1.
    """

    base_name = "cart_pole"
    defaults = {"M": 1.0, "m": 0.5, "l": 1.0, "g": 9.81}
    coordinates = ("x", "theta")

    def _validate(self):
        _positive(self, "M", "m", "l", "g")

    def _lagrangian(self, q, v, t, p):
        (_, th), (xd, thd) = q, v
        M, m, l, g = (p[k] for k in ("M", "m", "l", "g"))
        return (M + m) * xd**2 / 2 + m * l * xd * thd * sympy.cos(th) + m * l**2 * thd**2 / 2 + m * g * l * sympy.cos(th)

    def sample_initial_states(self, n, rng=None):
        g = _rng(rng)
        q = np.stack([g.uniform(-1.0, 1.0, n), g.uniform(-1.5, 1.5, n)], -1)
        return q, g.uniform(-1.0, 1.0, (n, 2))
