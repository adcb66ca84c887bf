"""lagrangian.json's fields for a fitted :class:`discover.model.SparseLagrangian`, and back."""
from __future__ import annotations

import numpy as np

__all__ = ["to_fields", "read_fields"]


def to_fields(m) -> dict:
    """The fields of lagrangian.json."""
    return {
        "coordinates": m.coordinates_,
        "lagrangian": str(m.lagrangian()),
        "model": "sparse",
        "terms": [{"term": str(e), "coefficient": float(c)}
                  | ({} if se is None else {"stderr": float(se)})
                  for e, c, se in zip(m.terms_, m.coef_, _stderr_list(getattr(m, "coef_stderr_", None), len(m.coef_)))],
        "normalization": m.normalization_,
        "normalization_coordinates": m.normalization_coordinates_,
        "metrics": m.metrics_,
        "alternatives": getattr(m, "alternatives_", []),
        **({"bodies": [list(b) for b in m.bodies_]} if getattr(m, "bodies_", None) else {}),
    } | ({"dissipation": {"rayleigh": str(m.rayleigh()),
                          "coefficients": dict(zip(m.coordinates_, map(float, m.damping_)))}
                          | ({} if getattr(m, "damping_stderr_", None) is None else
                             {"stderr": dict(zip(m.coordinates_, map(float, m.damping_stderr_)))})
                          | _coulomb_fields(m)}
         if m.dissipation is True or np.any(m.damping_) or np.any(getattr(m, "coulomb_", 0)) else {})


def _coulomb_fields(m) -> dict:
    """lagrangian.json's Coulomb friction fields (empty without it)."""
    coul = getattr(m, "coulomb_", None)
    if coul is None or not np.any(coul):
        return {}
    d = lambda x: dict(zip(m.coordinates_, map(float, x)))  # noqa: E731
    se = getattr(m, "coulomb_stderr_", None)
    return {"coulomb": d(coul), "coulomb_epsilon": d(m.coulomb_epsilon_)} | ({} if se is None else
                                                                           {"coulomb_stderr": d(se)})


def _stderr_list(stderr, k):
    return [None] * k if stderr is None else list(stderr)


def read_fields(m, d: dict):
    """``m`` (an unfitted model) with the fitted attributes that lagrangian.json's fields ``d``
    give; the caller builds it."""
    from .symbolic import parse_lagrangian

    m.coordinates_ = list(d["coordinates"])
    m.terms_ = [parse_lagrangian(t["term"]) for t in d["terms"]]
    m.coef_ = np.array([t["coefficient"] for t in d["terms"]], float)
    m.coef_stderr_ = (np.array([t["stderr"] for t in d["terms"]], float)
                      if d["terms"] and all("stderr" in t for t in d["terms"]) else None)
    m.normalization_ = d.get("normalization", "")
    m.normalization_coordinates_ = d.get("normalization_coordinates", m.coordinates_[:1])
    m.normalization_coordinate_ = (m.normalization_coordinates_ or [None])[0]  # none with a known force
    m.metrics_ = d.get("metrics", {})
    m.force_ = bool(m.metrics_.get("known_force"))
    m.library_name_ = m.metrics_.get("library")
    m.bodies_ = [tuple(b) for b in d.get("bodies", [])]
    diss = d.get("dissipation") or {}
    vec = lambda key, default: np.array([diss.get(key, {}).get(c, default) for c in m.coordinates_], float)  # noqa: E731
    m.damping_ = vec("coefficients", 0.0)
    m.damping_stderr_ = vec("stderr", 0.0) if "stderr" in diss else None
    m.coulomb_, m.coulomb_epsilon_ = vec("coulomb", 0.0), vec("coulomb_epsilon", 1.0)
    m.coulomb_stderr_ = vec("coulomb_stderr", 0.0) if "coulomb_stderr" in diss else None
    return m
