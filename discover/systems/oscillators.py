"""Oscillators: independent harmonic oscillators and the spring chain (linear, solved
exactly by normal modes), and the periodically driven oscillator."""
from __future__ import annotations

import numpy as np
import scipy.linalg
import sympy

from .base import System, _as_int, _positive, _rng


def _normal_mode_solution(M, K, q0, qdot0, t):
    """Exact motion of M q̈ = −K q (M, K symmetric positive definite); ``(T, B, n)`` each."""
    w2, phi = scipy.linalg.eigh(K, M)  # phiᵀ M phi = I, phiᵀ K phi = diag(w²)
    w = np.sqrt(w2)
    eta0 = q0 @ M @ phi  # modal coordinates: η = φᵀ M q
    etad0 = qdot0 @ M @ phi
    wt = t[:, None, None] * w
    eta = eta0 * np.cos(wt) + etad0 / w * np.sin(wt)
    etad = -eta0 * w * np.sin(wt) + etad0 * np.cos(wt)
    return eta @ phi.T, etad @ phi.T


class HarmonicOscillator(System):
    """n independent oscillators, ``L = Σ ½ m_c ċ² − ½ k_c c²`` (unequal masses and springs).

    Coordinates ``x, y, z`` for n ≤ 3, ``x1 … xn`` beyond; parameters ``m_<c>``, ``k_<c>``.
    """

    base_name = "harmonic"
    structure = {"n": 1}
    has_exact_solution = True

    def __init__(self, **params):
        n = _as_int("n", params.get("n", 1))
        self._coords = ("x", "y", "z")[:n] if n <= 3 else tuple(f"x{i + 1}" for i in range(n))
        # accepted parameter names depend on n
        self.defaults = {}
        for i, c in enumerate(self._coords):
            self.defaults[f"m_{c}"] = 1.0 + 0.5 * i
            self.defaults[f"k_{c}"] = 1.0 + 1.5 * i + 0.25 * i * i
        super().__init__(**params)

    @property
    def name(self) -> str:
        return f"harmonic_{self.shape_params['n']}d"

    @property
    def coordinates(self):
        return self._coords

    def _validate(self):
        _positive(self, *self.params)

    def _lagrangian(self, q, v, t, p):
        return sum(
            p[f"m_{c}"] * vi**2 / 2 - p[f"k_{c}"] * qi**2 / 2 for c, qi, vi in zip(self._coords, q, v)
        )

    def sample_initial_states(self, n, rng=None):
        g = _rng(rng)
        return g.uniform(-1, 1, (n, self.n_dof)), g.uniform(-1, 1, (n, self.n_dof))

    def matrices(self):
        """``(M, K)``: L = ½ q̇ᵀ M q̇ − ½ qᵀ K q."""
        m = [self.params[f"m_{c}"] for c in self._coords]
        k = [self.params[f"k_{c}"] for c in self._coords]
        return np.diag(m), np.diag(k)

    def _exact(self, q0, qdot0, t, t0):
        return _normal_mode_solution(*self.matrices(), q0, qdot0, t - t0)


class Chain(System):
    """n masses between two fixed walls, joined by n+1 equal springs (coordinates x1 … xn).

    ``L = Σ ½ m (1 + alpha·x_i²) ẋ_i² − ½ k Σ_{i=0..n} (x_{i+1} − x_i)²`` with x_0 = x_{n+1} = 0.
    With ``alpha = 0`` (default) it is linear, normal-mode frequencies
    ω_j = 2 √(k/m) sin(jπ / 2(n+1)); ``alpha ≠ 0`` gives a state-dependent mass matrix.
    """

    base_name = "chain"
    structure = {"n": 4}
    defaults = {"m": 1.0, "k": 1.0, "alpha": 0.0}

    @property
    def name(self):
        return f"chain_{self.shape_params['n']}"

    @property
    def has_exact_solution(self):  # type: ignore[override]
        return self.params["alpha"] == 0

    def _validate(self):
        _positive(self, "m", "k")
        if self.params["alpha"] < 0:
            raise ValueError("chain: alpha must be >= 0 (the mass matrix must stay positive definite)")

    @property
    def coordinates(self):
        return tuple(f"x{i + 1}" for i in range(self.shape_params["n"]))

    def _lagrangian(self, q, v, t, p):
        kinetic = sum(p["m"] * (1 + p["alpha"] * qi**2) * vi**2 / 2 for qi, vi in zip(q, v))
        ends = [sympy.Integer(0), *q, sympy.Integer(0)]
        potential = sum(p["k"] * (b - a) ** 2 / 2 for a, b in zip(ends[:-1], ends[1:]))
        return kinetic - potential

    def sample_initial_states(self, n, rng=None):
        g = _rng(rng)
        return g.uniform(-0.5, 0.5, (n, self.n_dof)), g.uniform(-0.5, 0.5, (n, self.n_dof))

    def matrices(self):
        """``(M, K)`` of the linear chain (alpha = 0)."""
        n, m, k = self.n_dof, self.params["m"], self.params["k"]
        K = k * (2 * np.eye(n) - np.eye(n, k=1) - np.eye(n, k=-1))
        return m * np.eye(n), K

    def _exact(self, q0, qdot0, t, t0):
        return _normal_mode_solution(*self.matrices(), q0, qdot0, t - t0)


class DrivenOscillator(System):
    """Harmonic oscillator under a periodic force, ``L = ½ m ẋ² − ½ k x² + F x cos(Ω t)``."""

    base_name = "driven_oscillator"
    defaults = {"m": 1.0, "k": 1.0, "F": 0.5, "Omega": 1.7}
    coordinates = ("x",)
    time_dependent = True
    has_exact_solution = True

    def _validate(self):
        _positive(self, "m", "k")

    def _lagrangian(self, q, v, t, p):
        return p["m"] * v[0] ** 2 / 2 - p["k"] * q[0] ** 2 / 2 + p["F"] * q[0] * sympy.cos(p["Omega"] * t)

    def sample_initial_states(self, n, rng=None):
        g = _rng(rng)
        return g.uniform(-1, 1, (n, 1)), g.uniform(-1, 1, (n, 1))

    def _particular(self, t):
        """A particular solution x_p(t), ẋ_p(t) (resonant case included)."""
        m, k, F, W = (self.params[c] for c in ("m", "k", "F", "Omega"))
        w = np.sqrt(k / m)
        if np.isclose(W**2, w**2, rtol=1e-12, atol=0):
            return F * t * np.sin(w * t) / (2 * m * w), F * (np.sin(w * t) + w * t * np.cos(w * t)) / (2 * m * w)
        A = F / (k - m * W**2)
        return A * np.cos(W * t), -A * W * np.sin(W * t)

    def _exact(self, q0, qdot0, t, t0):
        w = np.sqrt(self.params["k"] / self.params["m"])
        xp0, vp0 = self._particular(np.asarray(t0))
        xp, vp = self._particular(t)
        A, B = q0[:, 0] - xp0, (qdot0[:, 0] - vp0) / w
        s = (t - t0)[:, None]
        x = A * np.cos(w * s) + B * np.sin(w * s) + xp[:, None]
        v = -A * w * np.sin(w * s) + B * w * np.cos(w * s) + vp[:, None]
        return x[..., None], v[..., None]
