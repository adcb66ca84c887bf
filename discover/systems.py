"""Reference mechanical systems: one SymPy Lagrangian each, closed forms where they exist.

Every system writes its Lagrangian ONCE, as a SymPy expression in the coordinate symbols,
their velocities ``<coord>_dot`` and time ``t``; the torch form is derived from it by
:func:`discover.symbolic.sympy_to_torch`.  Parameters have defaults and are overridden by
keyword (``get_system("pendulum", l=2.0)``); structural integers (number of coordinates)
are keywords as well (``get_system("chain", n=6)``).

Arrays are NumPy, float64: initial states ``(n_samples, n_dof)``; trajectories
``(T, n_samples, n_dof)`` with time first, as :func:`discover.integrate.rollout` returns.
"""
from __future__ import annotations

import re
from functools import partial
from typing import Callable, ClassVar

import numpy as np
import scipy.linalg
import scipy.special
import sympy

from .symbolic import TIME, sympy_to_torch, velocity_name

__all__ = [
    "System",
    "HarmonicOscillator",
    "MagneticParticle",
    "Pendulum",
    "DoublePendulum",
    "RelativisticParticle",
    "Kepler",
    "Chain",
    "DrivenOscillator",
    "SYSTEMS",
    "get_system",
]


def _rng(rng) -> np.random.Generator:
    return rng if isinstance(rng, np.random.Generator) else np.random.default_rng(rng)


def _states(q0, qdot0, n: int):
    """Initial states as float64 arrays ``(B, n)`` plus whether the input was unbatched."""
    q0 = np.asarray(q0, dtype=np.float64)
    qdot0 = np.asarray(qdot0, dtype=np.float64)
    single = q0.ndim == 1
    q0, qdot0 = np.atleast_2d(q0), np.atleast_2d(qdot0)
    if q0.shape[-1] != n or qdot0.shape[-1] != n:
        raise ValueError(f"initial states need {n} coordinates, got shapes {q0.shape} and {qdot0.shape}")
    q0, qdot0 = np.broadcast_arrays(q0, qdot0)
    return q0, qdot0, single


def _out(q, qdot, single: bool):
    return (q[:, 0], qdot[:, 0]) if single else (q, qdot)


class System:
    """A mechanical system defined by its Lagrangian.

    Attributes:
        name: registry name (e.g. ``"harmonic_3d"``).
        coordinates: coordinate names, in order; velocities are ``<name>_dot``.
        params: numeric parameters (defaults overridden by keyword).
        time_dependent: whether L depends explicitly on ``t``.
        has_exact_solution: whether :meth:`exact_solution` is available.
    """

    #: physical parameters and their defaults
    defaults: ClassVar[dict[str, float]] = {}
    #: structural integer parameters (number of coordinates, …) and their defaults
    structure: ClassVar[dict[str, int]] = {}
    time_dependent: ClassVar[bool] = False
    has_exact_solution: ClassVar[bool] = False
    base_name: ClassVar[str] = ""

    def __init__(self, **params):
        known = set(self.defaults) | set(self.structure)
        unknown = sorted(set(params) - known)
        if unknown:
            raise ValueError(
                f"{self.base_name}: unknown parameter(s) {unknown}; valid parameters are {sorted(known)}"
            )
        self.shape_params = {k: _as_int(k, params.get(k, v)) for k, v in self.structure.items()}
        self.params = {k: float(params.get(k, v)) for k, v in self._defaults().items()}
        self._torch = None
        self._validate()

    # -- what subclasses provide -----------------------------------------------------
    def _defaults(self) -> dict[str, float]:
        """Parameter defaults; may depend on the structural parameters."""
        return dict(self.defaults)

    def _validate(self) -> None:
        """Raise ValueError for parameters that make no physical sense."""

    @property
    def coordinates(self) -> tuple[str, ...]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _lagrangian(self, q, v, t, p) -> sympy.Expr:  # pragma: no cover - abstract
        """The Lagrangian in symbols ``q``, ``v`` (lists), ``t`` and parameters ``p`` (dict)."""
        raise NotImplementedError

    def sample_initial_states(self, n: int, rng=None) -> tuple[np.ndarray, np.ndarray]:
        """``n`` random initial states ``(q0, qdot0)``, each ``(n, n_dof)``."""
        raise NotImplementedError  # pragma: no cover - abstract

    def _exact(self, q0, qdot0, t, t0):  # pragma: no cover - abstract
        raise NotImplementedError

    # -- public ------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.base_name

    @property
    def n_dof(self) -> int:
        return len(self.coordinates)

    def symbols(self) -> tuple[list[sympy.Symbol], list[sympy.Symbol], sympy.Symbol]:
        """``(q, qdot, t)`` SymPy symbols: coordinates, ``<name>_dot`` velocities, time."""
        q = [sympy.Symbol(c) for c in self.coordinates]
        v = [sympy.Symbol(velocity_name(c)) for c in self.coordinates]
        return q, v, sympy.Symbol(TIME)

    def param_symbols(self) -> dict[str, sympy.Symbol]:
        return {k: sympy.Symbol(k) for k in self.params}

    def lagrangian(self, *, numeric: bool = True) -> sympy.Expr:
        """The Lagrangian as a SymPy expression.

        With ``numeric=True`` (default) the parameters are substituted (as exact rationals of
        their float values); with ``numeric=False`` they stay symbols named as in ``params``.
        """
        q, v, t = self.symbols()
        if numeric:
            p = {k: sympy.Rational(repr(val)) for k, val in self.params.items()}
        else:
            p = self.param_symbols()
        return self._lagrangian(q, v, t, p)

    def torch_lagrangian(self) -> Callable:
        """``L(q, qdot[, t])`` for ONE state (1-D tensors), as :mod:`discover.mechanics` expects."""
        if self._torch is None:
            self._torch, _ = sympy_to_torch(self.lagrangian(), coordinates=self.coordinates)
        return self._torch

    def exact_solution(self, q0, qdot0, t, *, t0: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
        """Closed-form motion from the state ``(q0, qdot0)`` at time ``t0``.

        Args:
            q0, qdot0: ``(B, n_dof)`` or ``(n_dof,)``.
            t: ``(T,)`` absolute times.
        Returns:
            ``(q, qdot)``, each ``(T, B, n_dof)`` (or ``(T, n_dof)`` for unbatched input).
        """
        if not self.has_exact_solution:
            raise NotImplementedError(f"{self.name} has no closed-form solution")
        q0, qdot0, single = _states(q0, qdot0, self.n_dof)
        t = np.asarray(t, dtype=np.float64).reshape(-1)
        q, qdot = self._exact(q0, qdot0, t, float(t0))
        return _out(q, qdot, single)

    def energy(self, q, qdot, t=None):
        """Energy function ``q̇·∂L/∂q̇ − L`` (by :func:`discover.mechanics.energy`), shape ``(...)``."""
        from .mechanics import energy

        return energy(self.torch_lagrangian(), q, qdot, t)

    def __repr__(self) -> str:
        args = {**self.shape_params, **self.params}
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in args.items())})"


def _as_int(key, value) -> int:
    f = float(value)
    if f != int(f) or f < 1:
        raise ValueError(f"parameter {key} must be a positive integer, got {value!r}")
    return int(f)


def _positive(system: System, *keys: str) -> None:
    for k in keys:
        if not system.params[k] > 0:
            raise ValueError(f"{system.name}: parameter {k} must be > 0, got {system.params[k]}")


# ----------------------------------------------------------------------------------------
# linear systems:  L = ½ q̇ᵀ M q̇ − ½ qᵀ K q  solved by normal modes
# ----------------------------------------------------------------------------------------
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


#: registry: name → factory accepting parameter keywords
SYSTEMS: dict[str, Callable[..., System]] = {
    "harmonic": HarmonicOscillator,
    "harmonic_1d": partial(HarmonicOscillator, n=1),
    "harmonic_2d": partial(HarmonicOscillator, n=2),
    "harmonic_3d": partial(HarmonicOscillator, n=3),
    "magnetic_2d": partial(MagneticParticle, dim=2),
    "magnetic_3d": partial(MagneticParticle, dim=3),
    "pendulum": Pendulum,
    "double_pendulum": DoublePendulum,
    "relativistic": RelativisticParticle,
    "kepler": Kepler,
    "chain": Chain,
    "driven_oscillator": DrivenOscillator,
}


def get_system(name: str, **params) -> System:
    """A reference system by registry name, with parameters overridden by keyword.

    >>> get_system("pendulum", l=2.0).params["l"]
    2.0
    """
    factory = SYSTEMS.get(name)
    if factory is None:  # sized names such as "harmonic_5d" or "chain_6" (what System.name gives)
        sized = re.fullmatch(r"(harmonic)_(\d+)d|(chain)_(\d+)", name)
        if sized is None:
            raise ValueError(f"unknown system {name!r}; known systems: {', '.join(sorted(SYSTEMS))}")
        base, n = (sized.group(1), sized.group(2)) if sized.group(1) else (sized.group(3), sized.group(4))
        factory = partial(SYSTEMS[base], n=int(n))
    if isinstance(factory, partial):
        fixed = set(factory.keywords) & set(params)
        if fixed:
            raise ValueError(f"{name}: parameter(s) {sorted(fixed)} are fixed by the system name")
    return factory(**params)
