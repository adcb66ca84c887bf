"""The trajectory formulation, stage 2 of the library fit on noisy data: maximum likelihood on the measured positions
(:mod:`discover.trajectory_fit`) re-estimates the coefficients, decides between look-alike
supports and decides friction; standard errors come from the Gauss–Newton curvature.

The weak-form coefficients are biased on noisy data (errors in variables) and its residuals
cannot separate terms whose difference is within the noise (x⁴ against cos x, measured: the
weak form preferred cos x on a Duffing oscillator at 2 % noise).  The trajectory fit is not
biased, and the difference of two fits' χ² (a likelihood ratio) separates such supports
decisively when the data can.  It runs on the training trajectories only, so held-out errors
stay held out:

1. the stage-1 choice and up to ``RIVALS`` other supports of the same size and normalization
   whose held-out weak error is within ``RIVAL_BAND`` of its own (best first) are each fitted; the one with the smallest residual wins
   when it beats the stage-1 choice by Δχ² > ``SWAP`` (same number of coefficients: a
   likelihood ratio above e² ≈ 7), otherwise the stage-1 choice stays;
2. a slow drift of the tracking: per-segment observation offsets (eliminated like the segment's
   state, :func:`discover.trajectory_fit.fit_trajectories` ``offsets=True``) are kept when they
   lower χ² by more than chance allows (p < ``DRIFT_P`` for χ² with one degree per offset); they
   cost precision where an offset is nearly collinear with a segment's motion, so not by default;
3. friction (when allowed and not yet in the model) is added when it lowers χ² by more than
   ``DECISIVE`` per coefficient (p < 0.001 for χ²(1) at 10.8): viscous first, then Coulomb, each
   kind judged on its own;
4. the result is kept when it converged and its held-out q̈ error did not grow by more than
   ``TOLERANCE`` (a guard against gross failures; the held-out q̈ are smoothed estimates, so an
   unbiased model can score a little worse on them).
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import scipy.stats
import torch

from ..library import TermSet
from ..prepare import stack

__all__ = ["trajectory_refine", "segments", "TOLERANCE", "DECISIVE", "SWAP", "RIVALS", "RIVAL_BAND"]

#: relative growth of the held-out q̈ error still accepted from the trajectory fit
TOLERANCE = 0.25
#: Δχ² per extra or changed coefficient that counts as decisive (χ²(1) at p = 0.001)
DECISIVE = 10.83
#: Δχ² by which a rival support of the same size must beat the stage-1 choice
SWAP = 4.0
#: other supports of the chosen size tried against the stage-1 choice
RIVALS = 2
#: only rivals whose held-out weak error is within this factor of the stage-1 choice's are tried
#: (the weak form's bias can reverse look-alikes by ~1.5×, measured on a Duffing oscillator at 2 %
#: noise: x⁴ 0.127 against cos x 0.084; supports 10× worse are not look-alikes)
RIVAL_BAND = 2.0
#: per-segment observation offsets (a tracking drift) are kept when their χ² gain has p below this
DRIFT_P = 1e-3
#: try the offsets at all (studies switch it off to measure what they change)
TRY_OFFSETS = True
#: position residuals above this multiple of the differentiator's noise estimate mean the fitted
#: motion does not follow the positions to within the noise (a spherical pendulum whose winding φ
#: carried 0.31 rad of noise: 3.3×, coefficients 12 % off, 9 standard errors)
MISFIT = 2.0


def _fit(model, terms, coef, friction, fit, train, offsets=False):
    """One trajectory fit of ``terms`` from ``coef``; ``friction`` = (c, F_c) start values and
    ``fit`` = (fit c, fit F_c); ``offsets``: per-segment observation offsets (tracking drift).
    With a known force there are no normalization rows."""
    from ..trajectory_fit import fit_trajectories

    coords = model.coordinates_
    ts = TermSet(terms, coords)
    T = lambda x: torch.as_tensor(x, dtype=torch.float64)  # noqa: E731
    A = ts.velocity_hessian_mean(T(stack(train, "q")), T(stack(train, "qdot"))).detach().numpy()
    rows = [coords.index(c) for c in model.normalization_coordinates_]
    forced = train[0].force is not None
    try:
        r = fit_trajectories(terms, coords, np.asarray(coef, float), A[rows], [(p.t, p.q_obs) for p in train],
                             damping0=np.asarray(friction[0], float), fit_damping=fit[0],
                             coulomb0=np.asarray(friction[1], float), fit_coulomb=fit[1],
                             coulomb_epsilon=model.coulomb_epsilon_,
                             forces=[p.force for p in train] if forced else None,
                             segment_seconds=segments(getattr(model, "period_", math.inf)), offsets=offsets)
    except Exception as exc:  # noqa: BLE001 - a failed fit is one rival less, never a crash
        return None, f"trajectory fit failed: {' '.join(str(exc).split())}"
    ok = r.converged and np.all(np.isfinite(r.coef)) and np.all(np.isfinite(r.coef_stderr))
    return (r, "") if ok else (None, r.message or "did not converge")


def segments(period: float) -> tuple[float, float]:
    """Segment lengths of the continuation: 1 s → 2 s (measured on pendulums and the double
    pendulum, periods 1–3 s), or ½ → 1 period where the motion's period is far from seconds
    (a time column in ms, or fast oscillations), so that the choice does not depend on the unit
    of time."""
    if not np.isfinite(period) or 0.1 <= period <= 10.0:
        return 1.0, 2.0
    return 0.5 * period, period


def _chi2_gap(a, b, sigma) -> float:
    """χ²(a) − χ²(b) with one common σ."""
    return float(((a.ssr - b.ssr) / sigma**2).sum())


def trajectory_refine(model, chosen, candidates, train, val, qddot_error, *, friction: bool) -> dict:
    """Stage 2 for ``model`` (a fitted SparseLagrangian whose terms/coefficients are those of the
    :class:`~discover.candidate.Candidate` ``chosen``); ``candidates`` are stage 1's others.  Updates the model in place when accepted
    (``terms_``, ``coef_``, ``damping_``, ``coulomb_``, and their ``*_stderr_``) and returns what
    happened (for ``metrics_``)."""
    n = len(model.coordinates_)
    damping, coulomb = np.asarray(model.damping_, float), np.asarray(model.coulomb_, float)
    kinds = (bool(np.any(damping)), bool(np.any(coulomb)))  # viscous, Coulomb in the stage-1 model
    before = qddot_error(model, val)
    saved = (list(model.terms_), model.coef_.copy(), damping.copy(), coulomb.copy())
    base, why = _fit(model, list(model.terms_), model.coef_, (damping, coulomb), kinds, train)
    if base is None:
        return {"accepted": False, "reason": why, "validation_qddot_error_before": before}
    info = {"validation_qddot_error_before": before}
    best, best_terms, best_kinds = base, list(model.terms_), kinds
    sigma = base.sigma
    key = frozenset(map(str, model.terms_))
    rivals = [c for c in sorted(candidates, key=lambda c: c.val_error)
              if c.n_terms == chosen.n_terms and c.norm == chosen.norm
              and c.val_error <= RIVAL_BAND * chosen.val_error
              and c.key != key and (bool(np.any(c.damping)), bool(np.any(c.coulomb))) == kinds]
    tried, seen = [], {key}
    for c in rivals:
        if c.key in seen:
            continue
        seen.add(c.key)
        r, _ = _fit(model, list(c.terms), c.coef, (c.damping, c.coulomb), kinds, train)
        gap = None if r is None else _chi2_gap(base, r, sigma)
        tried.append({"terms": [str(e) for e in c.terms], "chi2_gain": gap})
        if r is not None and gap > SWAP and r.ssr.sum() < best.ssr.sum():
            best, best_terms = r, list(c.terms)
        if len(tried) >= RIVALS:
            break
    info["rivals"] = tried
    offsets = False
    if TRY_OFFSETS:
        r, _ = _fit(model, best_terms, best.coef, (best.damping, best.coulomb), best_kinds, train, offsets=True)
        if r is not None and best.dof > r.dof:
            gap = _chi2_gap(best, r, sigma)
            info["drift_chi2_gain"], info["drift_offsets"] = gap, best.dof - r.dof
            if scipy.stats.chi2.sf(gap, best.dof - r.dof) < DRIFT_P:
                best, offsets = r, True
        info["drift_offsets_added"] = offsets
    for kind, label in ((0, "friction_chi2_gain"), (1, "coulomb_chi2_gain")):  # viscous, then Coulomb
        if not friction or best_kinds[kind]:
            continue
        fit = tuple(best_kinds[k] or k == kind for k in range(2))
        r, _ = _fit(model, best_terms, best.coef, (best.damping, best.coulomb), fit, train, offsets=offsets)
        if r is not None:
            gap = _chi2_gap(best, r, sigma)
            info[label] = gap
            if gap > DECISIVE * n:
                best, best_kinds = r, fit
    model.terms_ = best_terms
    model.coef_ = np.asarray(best.coef, float)
    model.damping_ = np.asarray(best.damping, float) if best_kinds[0] else np.zeros(n)
    model.coulomb_ = np.asarray(best.coulomb, float) if best_kinds[1] else np.zeros(n)
    model._build()
    after = qddot_error(model, val)
    info |= {"converged": True, "reduced_chi2": float(best.reduced_chi2),
             "position_rms": [float(x) for x in best.rms], "segment_seconds": float(best.segment_seconds),
             "validation_qddot_error_after": after, "support_changed": best_terms != saved[0],
             "friction_added": best_kinds[0] and not kinds[0], "coulomb_added": best_kinds[1] and not kinds[1]}
    if not np.isfinite(after) or after > before * (1 + TOLERANCE):
        model.terms_, model.coef_, model.damping_, model.coulomb_ = saved
        model._build()
        return info | {"accepted": False, "reason": f"held-out q̈ error grew from {before:.4g} to {after:.4g}"}
    model.coef_stderr_ = np.asarray(best.coef_stderr, float)
    model.damping_stderr_ = np.asarray(best.damping_stderr, float) if best_kinds[0] else None
    model.coulomb_stderr_ = np.asarray(best.coulomb_stderr, float) if best_kinds[1] else None
    return _check_misfit(info | {"accepted": True}, model.noise_, model.coordinates_)


def _check_misfit(info: dict, noise, coordinates) -> dict:
    """``info`` with ``position_rms_over_noise``; warns when the accepted fit leaves position
    residuals above ``MISFIT`` × the differentiator's noise estimate (the same internal units):
    its standard errors then assume white residuals that are not."""
    ratio = np.asarray(info["position_rms"], float) / np.maximum(np.asarray(noise, float), 1e-300)
    bad = [f"{c} ({r:.2g}×)" for c, r in zip(coordinates, ratio) if r > MISFIT]
    if bad:
        warnings.warn("stage 2 (the trajectory fit) leaves position residuals well above the estimated noise for "
                      + ", ".join(bad) + ": the model does not follow these positions to within the noise, and "
                      "its standard errors are too small", stacklevel=3)
    return info | {"position_rms_over_noise": [float(r) for r in ratio]}
