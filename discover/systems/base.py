"""The :class:`System` base class: a mechanical system defined by one SymPy Lagrangian in the
coordinate symbols, their velocities ``<coord>_dot`` and time ``t``, with its torch form
derived by :func:`discover.symbolic.sympy_to_torch`; plus helpers the systems share."""
from __future__ import annotations

from typing import Callable, ClassVar

import numpy as np
import sympy

from ..symbolic import TIME, sympy_to_torch, velocity_name


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
        from ..mechanics import energy

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
