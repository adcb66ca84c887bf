"""Reference mechanical systems with exact Lagrangians, by registry name.

Every system writes its Lagrangian ONCE, as a SymPy expression; parameters have defaults and
are overridden by keyword (``get_system("pendulum", l=2.0)``), and structural integers such as
the number of coordinates are keywords as well (``get_system("chain", n=6)``).  Arrays are
NumPy float64: initial states ``(n_samples, n_dof)``, trajectories ``(T, n_samples, n_dof)``
with time first, as :func:`discover.integrate.rollout` returns.
"""
from __future__ import annotations

import re
from functools import partial
from typing import Callable

from .base import System
from .oscillators import Chain, DrivenOscillator, HarmonicOscillator
from .particles import Kepler, MagneticParticle, RelativisticParticle, SpringPair
from .pendulums import DoublePendulum, Pendulum
from .textbook import BeadOnHoop, CartPole, ElasticPendulum, SphericalPendulum

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
    "ElasticPendulum",
    "SphericalPendulum",
    "BeadOnHoop",
    "CartPole",
    "SpringPair",
    "SYSTEMS",
    "get_system",
]


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
    "elastic_pendulum": ElasticPendulum,
    "spherical_pendulum": SphericalPendulum,
    "bead_on_hoop": BeadOnHoop,
    "cart_pole": CartPole,
    "spring_pair": SpringPair,
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
