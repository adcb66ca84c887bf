"""Weak-form Euler–Lagrange regression: no q̈ from the data at all.

For a smooth test function ψ(t) that vanishes with its derivative at the ends of its window,
integrating the Euler–Lagrange equation against ψ and by parts gives

    ∫ ψ (d/dt ∂L/∂q̇ − ∂L/∂q) dt = −∫ (ψ' ∂L/∂q̇ + ψ ∂L/∂q) dt = 0,

which needs only (smoothed) q and q̇.  The same windows give an acceleration check that needs no
differentiated data either: ∫ ψ q̈ dt = ∫ ψ'' q dt.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .definite import solve_accelerations_masked

__all__ = ["TestFunctions", "test_functions", "typical_period", "weak_columns", "weak_acceleration_error", "weak_validation_error",
           "weak_validation_errors", "weak_noise_floor"]


@dataclass
class TestFunctions:
    """Quadrature-weighted bump functions on one trajectory's time grid: each (J, N)."""

    psi: np.ndarray
    dpsi: np.ndarray
    ddpsi: np.ndarray


def _trapezoid_weights(t: np.ndarray) -> np.ndarray:
    dt = np.diff(t)
    w = np.zeros_like(t)
    w[:-1] += dt / 2
    w[1:] += dt / 2
    return w


#: fewest samples of a test-function window (the quadrature of ψ'' needs them)
MIN_WIDTH = 16


def test_functions(t: np.ndarray, *, width: int | None = None, overlap: float = 0.5, power: int = 6,
                   period: float | None = None) -> TestFunctions:
    """Bumps ψ(s) = (1 − s²)^p, s ∈ [−1, 1], on windows of ``width`` samples.

    t: (N,).  ``width`` defaults to N/8 clamped to [48, 200] samples, and to at most one
    ``period`` (the motion's typical period, :func:`typical_period`) when given: a window over
    several oscillations averages the motion away (measured: a 1 s pendulum at 30 fps, where 200
    samples are 7 periods, left every model with a weak error ≈ 1).  Windows overlap by
    ``overlap``.  The power p = 6 makes ψ vanish to high order at the window ends, so the
    trapezoid rule is accurate far beyond second order.
    """
    N = len(t)
    if width is None:
        width = int(np.clip(N // 8, 48, 200))
        if period is not None and np.isfinite(period) and len(t) > 1:
            per_period = int(round(period / np.median(np.diff(t))))
            width = max(min(width, per_period), MIN_WIDTH)
    width = int(min(width, N))
    stride = max(1, int(round(width * (1 - overlap))))
    starts = list(range(0, N - width + 1, stride)) or [0]
    w = _trapezoid_weights(t)
    J = len(starts)
    psi, dpsi, ddpsi = (np.zeros((J, N)) for _ in range(3))
    p = power
    for j, s0 in enumerate(starts):  # loop over windows (a few dozen), not samples
        s1 = min(s0 + width - 1, N - 1)
        tc, h = 0.5 * (t[s0] + t[s1]), 0.5 * (t[s1] - t[s0])
        idx = slice(s0, s1 + 1)
        s = (t[idx] - tc) / h
        u = np.clip(1 - s**2, 0, None)
        psi[j, idx] = u**p
        dpsi[j, idx] = -2 * p * s * u ** (p - 1) / h
        ddpsi[j, idx] = (-2 * p * u ** (p - 1) + 4 * p * (p - 1) * s**2 * u ** (p - 2)) / h**2
    return TestFunctions(psi * w, dpsi * w, ddpsi * w)


def typical_period(prepared) -> float:
    """The motion's typical period: per trajectory and coordinate, the period of the strongest
    Fourier component of the (mean-removed, Hann-tapered) smoothed q; the fastest coordinate of
    each trajectory counts, and the median over trajectories is returned (inf for no motion)."""
    periods = []
    for p in prepared:
        N = len(p.t)
        if N < 8:
            continue
        x = (p.q - p.q.mean(0)) * np.hanning(N)[:, None]
        power = np.abs(np.fft.rfft(x, axis=0)) ** 2
        power[0] = 0
        k = np.argmax(power, axis=0)
        k = k[k > 0]
        if len(k):
            periods.append((p.t[-1] - p.t[0]) * N / (N - 1) / k.max())
    return float(np.median(periods)) if periods else math.inf


def weak_columns(gq: torch.Tensor, gv: torch.Tensor, tf: TestFunctions) -> torch.Tensor:
    """Weak Euler–Lagrange columns −(ψ'·∂φ/∂q̇ + ψ·∂φ/∂q), shape (J, n, K).

    gq, gv: (N, n, K) per-sample term gradients for one trajectory
    (:meth:`discover.library.TermSet.gradient_columns`).
    """
    psi = torch.as_tensor(tf.psi, dtype=gq.dtype, device=gq.device)
    dpsi = torch.as_tensor(tf.dpsi, dtype=gq.dtype, device=gq.device)
    return -(torch.einsum("jb,bik->jik", dpsi, gv) + torch.einsum("jb,bik->jik", psi, gq))


def weak_acceleration_error(qddot_pred: np.ndarray, q_obs: np.ndarray, tf: TestFunctions) -> tuple[float, float]:
    """(‖∫ψ q̈_pred − ∫ψ'' q‖², ‖∫ψ'' q‖²) over windows and coordinates.

    qddot_pred: (N, n) predicted at the (smoothed) data states; q_obs: (N, n) measured positions.
    Sum both parts over trajectories and take the square root of the ratio for a relative error.
    """
    ref = tf.ddpsi @ q_obs
    diff = tf.psi @ qddot_pred - ref
    return float((diff**2).sum()), float((ref**2).sum())


def weak_validation_error(val_cols, S, coef: np.ndarray, val) -> float | None:
    """sqrt(Σ‖∫ψ q̈_pred − ∫ψ'' q‖² / Σ‖∫ψ'' q‖²) over validation trajectories; None if the
    model has a singular/indefinite mass matrix on them or predicts non-finite values.

    val_cols: per trajectory the (M_k, f_k) term columns (:meth:`discover.library.TermSet.
    mass_force_columns`); S, coef: the candidate's support (indices into them) and coefficients;
    val: the trajectories (``q_obs`` and test functions ``tf``)."""
    K = val_cols[0][0].shape[-1] if val_cols else 0
    X = np.zeros((1, K))
    X[0, list(S)] = coef
    err = weak_validation_errors(val_cols, X, val)[0]
    return None if math.isnan(err) else float(err)


#: most array elements of one batch of candidates' mass matrices (memory bound of the scoring)
BATCH_ELEMENTS = 2 ** 23


def weak_validation_errors(val_cols, X: np.ndarray, val) -> np.ndarray:
    """:func:`weak_validation_error` of many candidate models at once: row c of ``X`` (C, K)
    holds candidate c's coefficients on the K columns of ``val_cols`` (zero off its support).
    Returns (C,) errors, NaN where the candidate's mass matrix is singular or indefinite on some
    held-out state or its prediction is not finite.  M and f are linear in the coefficients, so
    every candidate's q̈ comes from one batched solve (in chunks of candidates)."""
    C = X.shape[0]
    num, den, ok = np.zeros(C), 0.0, np.ones(C, bool)
    if not val_cols:
        return np.full(C, np.nan)
    N, n = max(Mc.shape[0] for Mc, _ in val_cols), val_cols[0][0].shape[1]
    chunk = max(1, BATCH_ELEMENTS // max(N * n * n, 1))
    for (Mc, fc), p in zip(val_cols, val):
        ref = p.tf.ddpsi @ p.q_obs
        den += float((ref**2).sum())
        for a in range(0, C, chunk):
            xi = torch.as_tensor(X[a:a + chunk], dtype=Mc.dtype)
            M = torch.einsum("bijk,ck->cbij", Mc, xi)
            f = torch.einsum("bik,ck->cbi", fc, xi)
            pred, bad = solve_accelerations_masked(M, f)
            pred = pred.detach().numpy()
            good = ~bad.any(-1).numpy() & np.isfinite(pred).all((1, 2))
            ok[a:a + chunk] &= good
            diff = np.einsum("jb,cbi->cji", p.tf.psi, np.where(good[:, None, None], pred, 0.0)) - ref
            num[a:a + chunk] += (diff**2).sum((1, 2))
    return np.where(ok & (den > 0), np.sqrt(num / max(den, 1e-300)), np.nan)


def weak_noise_floor(val) -> float:
    """The relative weak acceleration error (:func:`weak_validation_error`) that white position
    noise alone gives the true model: its residual ∫ψ q̈ − ∫ψ'' q_obs is −∫ψ'' ε, so
    E‖·‖² = Σ σᵢ² ‖ψ''‖² per window and coordinate, with σ estimated per held-out trajectory
    (:func:`discover.derivatives.estimate_noise`).  A lower bound in expectation: the prediction
    at smoothed states adds its own error.  ``val``: prepared trajectories with test functions."""
    from .derivatives import estimate_noise

    num = den = 0.0
    for p in val:
        sigma = np.atleast_1d(estimate_noise(p.t, p.q_obs))
        num += float((p.tf.ddpsi ** 2).sum()) * float(np.sum(sigma ** 2))
        den += float(((p.tf.ddpsi @ p.q_obs) ** 2).sum())
    return math.sqrt(num / den) if den > 0 else 0.0
