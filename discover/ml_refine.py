"""Stage 2 of the library fit on noisy data: the chosen support's coefficients (and friction)
re-estimated by maximum likelihood on the measured positions (:mod:`discover.trajectory_fit`),
with standard errors from the Gauss–Newton curvature.

The weak-form coefficients are biased on noisy data (errors in variables); the trajectory fit
is not.  It runs on the training trajectories only, so held-out errors stay held out, and its
result is kept when it converged, its mass matrix stays positive definite on the data, and the
held-out q̈ error does not grow by more than ``TOLERANCE`` (the held-out q̈ are themselves
smoothed estimates, so a less biased model can score a little worse on them).
"""
from __future__ import annotations

import numpy as np
import torch

from .library import TermSet
from .prepare import stack

__all__ = ["trajectory_refine", "TOLERANCE"]

#: relative growth of the held-out q̈ error still accepted from the trajectory fit
TOLERANCE = 0.05


def trajectory_refine(model, train, val, qddot_error) -> dict:
    """Refit ``model`` (a fitted SparseLagrangian: terms_, coef_, damping_, normalization
    coordinates) on ``train`` (Prepared trajectories, raw positions ``q_obs``); updates the
    model in place when accepted (``coef_``, ``damping_``, ``coef_stderr_``,
    ``damping_stderr_``).  ``qddot_error(model, prepared)`` scores held-out q̈.  Returns what
    happened (for ``metrics_``)."""
    from .trajectory_fit import fit_trajectories

    coords = model.coordinates_
    ts = TermSet(model.terms_, coords)
    T = lambda x: torch.as_tensor(x, dtype=torch.float64)  # noqa: E731
    A = ts.velocity_hessian_mean(T(stack(train, "q")), T(stack(train, "qdot"))).detach().numpy()
    rows = [coords.index(c) for c in model.normalization_coordinates_]
    damping = np.asarray(model.damping_, float)
    fit_damping = bool(np.any(damping))
    before = qddot_error(model, val)
    saved = (model.coef_.copy(), damping.copy())
    try:
        r = fit_trajectories(model.terms_, coords, np.asarray(model.coef_, float), A[rows],
                             [(p.t, p.q_obs) for p in train], damping0=damping if fit_damping else None,
                             fit_damping=fit_damping)
    except Exception as exc:  # noqa: BLE001 - a failed stage 2 leaves the stage-1 model as it was
        return {"accepted": False, "reason": f"trajectory fit failed: {exc}"}
    info = {"converged": bool(r.converged), "reduced_chi2": float(r.reduced_chi2),
            "position_rms": [float(x) for x in r.rms], "segment_seconds": float(r.segment_seconds),
            "iterations": int(r.iterations), "seconds": round(float(r.seconds), 2),
            "validation_qddot_error_before": before}
    if not (r.converged and np.all(np.isfinite(r.coef)) and np.all(np.isfinite(r.coef_stderr))):
        return info | {"accepted": False, "reason": r.message or "did not converge"}
    model.coef_ = np.asarray(r.coef, float)
    model.damping_ = np.asarray(r.damping, float) if fit_damping else damping
    model._build()
    after = qddot_error(model, val)
    info["validation_qddot_error_after"] = after
    if not np.isfinite(after) or after > before * (1 + TOLERANCE):
        model.coef_, model.damping_ = saved
        model._build()
        return info | {"accepted": False, "reason": f"held-out q̈ error grew from {before:.4g} to {after:.4g}"}
    model.coef_stderr_ = np.asarray(r.coef_stderr, float)
    model.damping_stderr_ = np.asarray(r.damping_stderr, float) if fit_damping else None
    return info | {"accepted": True}
