"""Error estimates from the data: the white-noise level σ of each coordinate, and the
bias² + variance of a linear derivative filter, which ``SavitzkyGolay(window=None)`` and
``Auto`` minimize.  The signal power spectrum is estimated from a cubic-detrended,
Hann-tapered periodogram, keeping only bins clearly above the noise floor σ²; a linear
filter with frequency response H has squared bias Σ|H(ω) − (iω)^d|² P(ω) and variance
σ² Σ c_j² (averaged over the interior and the ends, where the one-sided fits are noisier).
"""
from __future__ import annotations

from math import comb

import numpy as np

from .base import _is_uniform


def estimate_noise(t, q, *, groups=None, max_order: int = 10) -> np.ndarray:
    """Standard deviation σ of white noise on each column of ``q``; returns shape (n,).

    For k = 1 … ``max_order`` the k-th divided differences over k + 1 consecutive samples
    (weights normalized to unit norm, so white noise keeps variance σ²; exact on uneven
    grids) annihilate polynomials of degree < k; their robust scale (1.4826 · MAD) is an
    upper bound on σ that drops toward σ as the signal is removed.  The smallest over k is
    returned.  ``groups`` (N,) labels trajectories: differences never span two of them.
    """
    t = np.asarray(t, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    q2 = q[:, None] if q.ndim == 1 else q
    labels = np.zeros(len(t), dtype=np.int64) if groups is None else np.asarray(groups)
    # contiguous runs of equal labels are the segments
    cuts = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    segments = [(a, b) for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(t)])]
    best = np.full(q2.shape[1], np.inf)
    for k in range(1, max_order + 1):
        parts = []
        for a, b in segments:
            if b - a <= k:
                continue
            parts.append(_normalized_differences(t[a:b], q2[a:b], k))
        if not parts:
            break
        d = np.concatenate(parts, axis=0)
        if d.shape[0] < 3:
            break
        med = np.median(d, axis=0)
        s = 1.4826 * np.median(np.abs(d - med), axis=0)
        # quantized data can make most differences exactly 0: fall back to the RMS
        zero = s == 0
        if np.any(zero):
            s[zero] = np.sqrt(np.mean(d[:, zero] ** 2, axis=0))
        best = np.minimum(best, s)
    best[~np.isfinite(best)] = 0.0
    return best if q.ndim == 2 else best[:1]


def _normalized_differences(t: np.ndarray, q: np.ndarray, k: int) -> np.ndarray:
    """k-th divided differences of q (N, n), weights scaled to unit norm: (N − k, n)."""
    N = len(t)
    if _is_uniform(t, 1e-9):
        w = np.array([(-1.0) ** (k - j) * comb(k, j) for j in range(k + 1)])
        w /= np.linalg.norm(w)
        return sum(w[j] * q[j : N - k + j] for j in range(k + 1))
    h = np.median(np.diff(t))
    idx = np.arange(N - k)[:, None] + np.arange(k + 1)
    x = t[idx] / h  # (N-k, k+1)
    diff = x[:, :, None] - x[:, None, :]
    diff[:, np.arange(k + 1), np.arange(k + 1)] = 1.0
    w = 1.0 / np.prod(diff, axis=2)
    w /= np.linalg.norm(w, axis=1, keepdims=True)
    return np.einsum("bm,bmc->bc", w, q[idx])


def _noise(given, t, q) -> np.ndarray:
    if given is None:
        return estimate_noise(t, q)
    return np.broadcast_to(np.asarray(given, dtype=np.float64), (q.shape[1],)).copy()


def _signal_spectrum(x: np.ndarray, sigma: float):
    """Periodogram of the signal part of x (N,): returns (N, bin weights, P).

    x minus its least-squares cubic (which every candidate filter differentiates exactly)
    is Hann-tapered.  P is normalized so that white noise of variance σ² has E[P] = σ²;
    bins whose 3-bin average is not clearly above that floor are set to 0 (isolated noise
    peaks are not signal).  Known limits: the taper under-weights the ends of the record
    (bias underestimated for signals that are fastest there, e.g. chirps), and records of
    a cycle or less cannot resolve low frequencies (bias overestimated, windows too short).
    """
    N = len(x)
    s = np.linspace(-1.0, 1.0, N)
    V = s[:, None] ** np.arange(4)
    r = x - V @ np.linalg.lstsq(V, x, rcond=None)[0]
    win = np.sin(np.pi * (np.arange(N) + 0.5) / N) ** 2  # Hann
    P = np.abs(np.fft.rfft(r * win)) ** 2 / (N * np.mean(win**2))
    Ps = np.convolve(np.pad(P, 1, mode="edge"), np.ones(3) / 3, mode="valid")
    threshold = (5.0 + 0.5 * np.log(len(P))) * sigma**2
    P = np.where((Ps > threshold) & (P > sigma**2), P - sigma**2, 0.0)
    weights = np.full(len(P), 2.0)
    weights[0] = 1.0
    if N % 2 == 0:
        weights[-1] = 1.0
    return N, weights, P


def _filter_mse(c: np.ndarray, d: int, h: float, spectrum, sigma: float, var: float):
    """Estimated mean-square error of the interior filter c (odd length) for derivative d."""
    M, weights, P = spectrum
    m = len(c) // 2
    g = np.zeros(M)
    g[(-np.arange(-m, m + 1)) % M] = c  # g[-l] = c_{l+m}  ⇒  rfft(g) = Σ c e^{iωlh}
    H = np.fft.rfft(g)
    omega = 2 * np.pi * np.arange(len(H)) / (M * h)
    bias2 = np.sum(weights * np.abs(H - (1j * omega) ** d) ** 2 * P) / M
    return float(bias2 + sigma**2 * var)
