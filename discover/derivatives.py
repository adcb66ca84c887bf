"""Numerical differentiation of sampled trajectories: q(t) → (q_smooth, q̇, q̈).

Each differentiator is a small object in the pysindy style::

    q_smooth, qdot, qddot = SavitzkyGolay(polyorder=5).differentiate(t, q)

with ``t`` of shape (N,) and ``q`` of shape (N, n) (or (N,)); the outputs have the shape of
``q``.  Work is vectorized over samples and columns; only loops over stencil points,
candidate windows or columns remain.  What a differentiator chose from the data is kept in
attributes ending in ``_`` (``noise_``, ``window_``, ``order_`` …) and summarized by
``describe()``, so reports can say it.

- :class:`FiniteDifference` — high-order finite differences on the actual grid (Fornberg
  weights: uneven ``t`` is exact), central inside, one-sided at the ends.
- :class:`SavitzkyGolay` — local polynomial least squares.  On a uniform grid the classic
  filter, with coefficients computed in a Legendre basis (stable for any window and
  polyorder, unlike ``scipy.signal.savgol_coeffs`` at polyorder ≥ 7 with windows of hundreds
  of samples) and ends handled like ``savgol_filter(mode="interp")``; on an uneven grid one
  polynomial per sample in the actual times.  With ``window=None`` the window is chosen
  per coordinate and per derivative by minimizing an estimate of bias² + variance.
- :class:`SmoothingSpline` — ``scipy.interpolate.UnivariateSpline`` (quintic), smoothing
  ``s = 2 N σ²`` from the estimated noise σ when not given; any grid.
- :class:`Auto` (the default) — estimates σ per coordinate and picks finite differences
  on clean data, otherwise Savitzky–Golay with windows chosen as above.

Bias² + variance estimate (``SavitzkyGolay(window=None)`` and ``Auto``): the signal power
spectrum is estimated from a cubic-detrended, Hann-tapered periodogram, keeping only bins
clearly above the noise floor σ²; a linear filter with frequency response H has squared
bias Σ|H(ω) − (iω)^d|² P(ω) and variance σ² Σ c_j² (averaged over the interior and the
ends, where the one-sided fits are noisier).
"""
from __future__ import annotations

import warnings
from functools import lru_cache
from math import comb

import numpy as np
from numpy.polynomial import legendre
from scipy.interpolate import UnivariateSpline
from scipy.ndimage import correlate1d

__all__ = [
    "Auto",
    "Differentiator",
    "FiniteDifference",
    "SavitzkyGolay",
    "SmoothingSpline",
    "estimate_noise",
    "get_differentiator",
]

#: relative spread of the time steps up to which a grid counts as uniform
UNIFORM_RTOL = 1e-3
#: Savitzky–Golay polynomial orders ``Auto`` tries (odd: same q̈ filter as the even order
#: below inside, one more degree at the ends)
AUTO_POLYORDERS = (3, 5, 7)
#: Auto keeps finite differences without a smoothing search when their estimated RMS
#: q̈ error is below this fraction of the RMS q̈
CLEAN_RTOL = 1e-6
#: SmoothingSpline's default s is SPLINE_FACTOR · N σ² (N σ² itself undersmooths badly
#: whenever σ is estimated a little low)
SPLINE_FACTOR = 2.0


# ----------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------
def _as_arrays(t, q):
    """Validate and convert: t (N,), q (N,) or (N, n) → float64 t (N,), q (N, n), squeeze."""
    t = np.asarray(t, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    squeeze = q.ndim == 1
    if squeeze:
        q = q[:, None]
    if t.ndim != 1 or q.ndim != 2 or q.shape[0] != t.shape[0]:
        raise ValueError(
            f"expected t of shape (N,) and q of shape (N, n); got t {t.shape} and q {q.shape}"
        )
    if t.shape[0] < 4:
        raise ValueError(f"need at least 4 samples to estimate derivatives; got {t.shape[0]}")
    if not (np.all(np.isfinite(t)) and np.all(np.isfinite(q))):
        raise ValueError("t and q must be finite (no NaN or inf)")
    if np.any(np.diff(t) <= 0):
        raise ValueError("t must be strictly increasing")
    return t, q, squeeze


def _is_uniform(t: np.ndarray, rtol: float = UNIFORM_RTOL) -> bool:
    dt = np.diff(t)
    h = np.median(dt)
    return bool(np.max(np.abs(dt - h)) <= rtol * h)


def _fornberg(x: np.ndarray, max_deriv: int) -> np.ndarray:
    """Finite-difference weights at 0 for nodes ``x`` (B, m): returns (B, m, max_deriv + 1).

    Fornberg's recursion (Math. Comp. 51, 1988), vectorized over the B stencils.
    """
    B, m = x.shape
    c = np.zeros((B, m, max_deriv + 1))
    c[:, 0, 0] = 1.0
    c1 = np.ones(B)
    c4 = x[:, 0].copy()
    for i in range(1, m):
        mn = min(i, max_deriv)
        c2 = np.ones(B)
        c5, c4 = c4, x[:, i]
        for j in range(i):
            c3 = x[:, i] - x[:, j]
            c2 = c2 * c3
            if j == i - 1:
                for k in range(mn, 0, -1):
                    c[:, i, k] = c1 * (k * c[:, i - 1, k - 1] - c5 * c[:, i - 1, k]) / c2
                c[:, i, 0] = -c1 * c5 * c[:, i - 1, 0] / c2
            for k in range(mn, 0, -1):
                c[:, j, k] = (c4 * c[:, j, k] - k * c[:, j, k - 1]) / c3
            c[:, j, 0] = c4 * c[:, j, 0] / c3
        c1 = c2
    return c


def _outputs(squeeze, *arrays):
    return tuple(a[:, 0] if squeeze else a for a in arrays)


# ----------------------------------------------------------------------------------------
# noise
# ----------------------------------------------------------------------------------------
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


# ----------------------------------------------------------------------------------------
# finite differences
# ----------------------------------------------------------------------------------------
class Differentiator:
    """Base class: ``differentiate(t, q) -> (q_smooth, qdot, qddot)``."""

    name = "differentiator"

    def differentiate(self, t, q):
        """t (N,), q (N,) or (N, n) → (q_smooth, qdot, qddot), each shaped like q."""
        raise NotImplementedError

    def describe(self) -> str:
        """One line saying what was used (after ``differentiate``: what was chosen)."""
        return self.name

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.endswith("_"))
        return f"{type(self).__name__}({args})"


class FiniteDifference(Differentiator):
    """Finite differences of accuracy ``order`` (even) on the actual, possibly uneven grid.

    Inside: central stencils of ``order + 1`` points.  Within ``order/2`` samples of an end:
    one-sided stencils of ``order + 2`` points (same order for q̈).  ``order`` is lowered
    when there are too few samples (``order_`` records the one used).  ``q_smooth`` is q.
    """

    name = "finite_difference"

    def __init__(self, order: int = 4):
        self.order = order

    def differentiate(self, t, q):
        t, q, squeeze = _as_arrays(t, q)
        if self.order < 2 or self.order % 2:
            raise ValueError(f"FiniteDifference order must be an even integer ≥ 2; got {self.order}")
        N = len(t)
        order = min(self.order, (N - 2) // 2 * 2)
        self.order_ = order
        half = order // 2
        h = np.median(np.diff(t))
        qdot = np.empty_like(q)
        qddot = np.empty_like(q)
        rows_in = np.arange(half, N - half)
        rows_left = np.arange(half)
        rows_right = np.arange(N - half, N)
        stencils = [
            (rows_in, rows_in[:, None] + np.arange(-half, half + 1)),
            (rows_left, np.broadcast_to(np.arange(order + 2), (half, order + 2))),
            (rows_right, np.broadcast_to(np.arange(N - order - 2, N), (half, order + 2))),
        ]
        for rows, idx in stencils:
            if len(rows) == 0:
                continue
            w = _fornberg((t[idx] - t[rows][:, None]) / h, 2)
            qi = q[idx]
            qdot[rows] = np.einsum("bm,bmc->bc", w[:, :, 1], qi) / h
            qddot[rows] = np.einsum("bm,bmc->bc", w[:, :, 2], qi) / h**2
        return _outputs(squeeze, q.copy(), qdot, qddot)

    def describe(self) -> str:
        return f"finite differences, order {getattr(self, 'order_', self.order)}"


# ----------------------------------------------------------------------------------------
# Savitzky–Golay
# ----------------------------------------------------------------------------------------
class _SavgolFit:
    """Least-squares polynomial of degree p over a window of w points, in x = offset / m.

    The basis is Legendre polynomials in x ∈ [−1, 1]: nearly orthogonal on the window, so
    the normal equations stay well conditioned for any window and polyorder.
    """

    def __init__(self, window: int, polyorder: int):
        self.w, self.p, self.m = window, polyorder, window // 2
        x = (np.arange(window) - self.m) / max(self.m, 1)
        A = legendre.legvander(x, polyorder)  # (w, p+1)
        self.G = np.linalg.inv(A.T @ A)  # covariance of the coefficients per unit σ²
        self.P = self.G @ A.T  # (p+1, w): Legendre coefficients from samples
        self._edge_var: dict[int, float] = {}

    def basis(self, x: np.ndarray, d: int) -> np.ndarray:
        """d-th x-derivative of the basis polynomials at points x: (len(x), p+1)."""
        if d > self.p:
            return np.zeros((len(x), self.p + 1))
        D = legendre.legder(np.eye(self.p + 1), d) if d else np.eye(self.p + 1)
        return legendre.legvander(np.asarray(x, dtype=np.float64), self.p - d) @ D

    def edge_x(self):
        m = max(self.m, 1)
        return (np.arange(self.m) - self.m) / m, (np.arange(self.m + 1, self.w) - self.m) / m

    def interior(self, d: int, h: float) -> np.ndarray:
        """Interior weights (w,) for the d-th time derivative."""
        return (self.basis(np.zeros(1), d) @ self.P)[0] / (self.m * h) ** d

    def mean_variance(self, d: int, h: float, N: int) -> float:
        """Mean over N samples of the variance of the d-th derivative per unit σ²."""
        if d not in self._edge_var:
            # Σ over the 2m end positions of b G bᵀ (b: basis derivatives there); both
            # ends are mirror images, and for long windows a 256-point sample of the
            # smooth variance profile stands for the m positions of one end
            x = self.edge_x()[0]
            if len(x) > 256:
                x = x[np.linspace(0, len(x) - 1, 256).round().astype(int)]
            B = self.basis(x, d)
            v = np.sum((B @ self.G) * B, axis=1)
            self._edge_var[d] = float(2 * self.m * np.mean(v)) if self.m else 0.0
        c = self.interior(d, 1.0)
        total = (N - 2 * self.m) * np.dot(c, c) + self._edge_var[d] / max(self.m, 1) ** (2 * d)
        return float(total / N) / h ** (2 * d)

    def apply(self, q: np.ndarray, d: int, h: float) -> np.ndarray:
        """d-th derivative of q (N, n) on a uniform grid of step h."""
        out = correlate1d(q, self.interior(d, h), axis=0, mode="nearest")
        if self.m:
            xl, xr = self.edge_x()
            scale = (self.m * h) ** d
            out[: self.m] = self.basis(xl, d) @ (self.P @ q[: self.w]) / scale
            out[-self.m :] = self.basis(xr, d) @ (self.P @ q[-self.w :]) / scale
        return out


@lru_cache(maxsize=256)
def _savgol_fit(window: int, polyorder: int) -> _SavgolFit:
    return _SavgolFit(window, polyorder)


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


def _candidate_windows(N: int, polyorder: int) -> list[int]:
    w_min = polyorder + 2 if polyorder % 2 else polyorder + 1
    w_max = N if N % 2 else N - 1
    ws = set()
    w = float(w_min)
    while w <= w_max:
        wi = int(round(w)) | 1
        if w_min <= wi <= w_max:
            ws.add(wi)
        w *= 1.2
    ws.add(w_max)
    return sorted(x for x in ws if x >= w_min)


def _select_savgol(h, x, sigma, polyorders, spectrum=None):
    """Best (polyorder, (w0, w1, w2), mse (3,)) for one column x (N,) on a uniform grid."""
    N = len(x)
    spectrum = _signal_spectrum(x, sigma) if spectrum is None else spectrum
    best = None
    for p in polyorders:
        if p + 1 >= N:
            continue
        scores = []
        for w in _candidate_windows(N, p):
            fit = _savgol_fit(w, p)
            scores.append(
                (w, [_filter_mse(fit.interior(d, h), d, h, spectrum, sigma,
                                 fit.mean_variance(d, h, N)) for d in range(3)])
            )
        windows = tuple(min(scores, key=lambda s: s[1][d])[0] for d in range(3))
        mse = np.array([min(s[1][d] for s in scores) for d in range(3)])
        if best is None or mse[2] < best[2][2]:
            best = (p, windows, mse)
    if best is None:
        raise ValueError(f"too few samples ({N}) for Savitzky–Golay smoothing")
    return best


class SavitzkyGolay(Differentiator):
    """Savitzky–Golay smoothing and differentiation (local polynomial least squares).

    ``window`` (odd number of samples) is used for q, q̇ and q̈; ``None`` chooses one per
    coordinate and per derivative from the data (``window_``: list of (w_q, w_q̇, w_q̈)).
    A window longer than the data is shortened to it.  On a uniform grid (steps equal
    within 0.1 %) the classic filter is applied; on an uneven grid each sample gets its own
    least-squares polynomial over the same number of neighbours, in the actual times.
    """

    name = "savgol"

    def __init__(self, window: int | None = None, polyorder: int = 4, *, noise=None):
        self.window = window
        self.polyorder = polyorder
        self.noise = noise

    def differentiate(self, t, q):
        t, q, squeeze = _as_arrays(t, q)
        N, n = q.shape
        p = self.polyorder
        if p < 2:
            raise ValueError(f"polyorder must be ≥ 2 for second derivatives; got {p}")
        if self.window is None:
            self.noise_ = _noise(self.noise, t, q)
            h, qu = _uniform_view(t, q)
            self.window_ = [
                _select_savgol(h, qu[:, j], self.noise_[j], (p,))[1] for j in range(n)
            ]
        else:
            w = int(self.window)
            if w % 2 == 0 or w <= p:
                raise ValueError(f"window must be odd and larger than polyorder={p}; got {w}")
            w = min(w, N if N % 2 else N - 1)
            if w <= p:
                raise ValueError(f"{N} samples are too few for polyorder={p}")
            self.window_ = [(w, w, w)] * n
        return _outputs(squeeze, *_apply_windows(t, q, p, self.window_))

    def describe(self) -> str:
        ws = getattr(self, "window_", None)
        if ws is None:
            return f"Savitzky–Golay, polyorder {self.polyorder}, window {self.window}"
        return f"Savitzky–Golay, polyorder {self.polyorder}, windows {_fmt_windows(ws)}"


def _uniform_view(t, q):
    """(h, q on a uniform grid): q itself when t is uniform, else linearly resampled
    (only used to choose windows)."""
    N = len(t)
    if _is_uniform(t):
        return (t[-1] - t[0]) / (N - 1), q
    tu = np.linspace(t[0], t[-1], N)
    return tu[1] - tu[0], np.column_stack([np.interp(tu, t, col) for col in q.T])


def _apply_windows(t, q, p, windows):
    """Outputs (q, q̇, q̈) with per-column windows [(w0, w1, w2), ...]."""
    out = [np.empty_like(q) for _ in range(3)]
    uniform = _is_uniform(t)
    h = (t[-1] - t[0]) / (len(t) - 1)
    for j, ws in enumerate(windows):
        for d, w in enumerate(ws):
            col = q[:, j : j + 1]
            if uniform:
                out[d][:, j] = _savgol_fit(w, p).apply(col, d, h)[:, 0]
            else:
                out[d][:, j] = _local_poly(t, col, w, p, d)[:, 0]
    return out


def _local_poly(t, q, window, p, d, chunk_elems=1 << 21):
    """d-th derivative from least-squares polynomials of degree p over ``window``
    consecutive samples at the actual times (centred where possible, shifted inward at
    the ends); vectorized over samples in chunks.  q (N, n) → (N, n)."""
    N = len(t)
    m = window // 2
    start = np.clip(np.arange(N) - m, 0, N - window)
    D = legendre.legder(np.eye(p + 1), d) if d else np.eye(p + 1)
    out = np.empty_like(q)
    step = max(1, chunk_elems // (window * (p + 1)))
    for a in range(0, N, step):
        rows = np.arange(a, min(N, a + step))
        idx = start[rows][:, None] + np.arange(window)
        lo, hi = t[idx[:, 0]], t[idx[:, -1]]
        mid, half = (lo + hi) / 2, (hi - lo) / 2
        x = (t[idx] - mid[:, None]) / half[:, None]  # in [-1, 1]
        A = legendre.legvander(x, p)  # (B, w, p+1)
        coef = np.linalg.solve(A.transpose(0, 2, 1) @ A,
                               np.einsum("bwk,bwc->bkc", A, q[idx]))  # (B, p+1, n)
        x0 = (t[rows] - mid) / half
        b = legendre.legvander(x0, p - d) @ D if d <= p else np.zeros((len(rows), p + 1))
        out[rows] = np.einsum("bk,bkc->bc", b, coef) / half[:, None] ** d
    return out


def _fmt_windows(ws) -> str:
    return "; ".join("(q {}, q̇ {}, q̈ {})".format(*w) for w in ws)


def _noise(given, t, q) -> np.ndarray:
    if given is None:
        return estimate_noise(t, q)
    return np.broadcast_to(np.asarray(given, dtype=np.float64), (q.shape[1],)).copy()


# ----------------------------------------------------------------------------------------
# smoothing spline
# ----------------------------------------------------------------------------------------
class SmoothingSpline(Differentiator):
    """Quintic smoothing spline (FITPACK) per coordinate; works on uneven grids.

    ``smoothing`` is FITPACK's ``s`` (sum of squared residuals allowed); ``None`` uses
    ``2 N σ²`` with σ from :func:`estimate_noise` (or ``noise``); ``smoothing_`` records it.
    Less accurate than :class:`SavitzkyGolay` with a chosen window on noisy data (its q̈ is
    several times worse at 1 % noise), kept as an independent alternative.
    """

    name = "spline"

    def __init__(self, smoothing: float | None = None, *, degree: int = 5, noise=None):
        self.smoothing = smoothing
        self.degree = degree
        self.noise = noise

    def differentiate(self, t, q):
        t, q, squeeze = _as_arrays(t, q)
        N, n = q.shape
        if self.smoothing is None:
            self.noise_ = _noise(self.noise, t, q)
            self.smoothing_ = SPLINE_FACTOR * N * self.noise_**2
        else:
            self.smoothing_ = np.broadcast_to(np.asarray(self.smoothing, float), (n,)).copy()
        k = min(self.degree, N - 1)
        out = [np.empty_like(q) for _ in range(3)]
        for j in range(n):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # FITPACK's iteration-limit notes
                spl = UnivariateSpline(t, q[:, j], k=k, s=self.smoothing_[j])
            for d in range(3):
                out[d][:, j] = spl.derivative(d)(t) if d else spl(t)
        return _outputs(squeeze, *out)

    def describe(self) -> str:
        s = getattr(self, "smoothing_", self.smoothing)
        return f"smoothing spline (degree {self.degree}), s = {np.array2string(np.asarray(s), precision=3)}"


# ----------------------------------------------------------------------------------------
# automatic choice
# ----------------------------------------------------------------------------------------
class Auto(Differentiator):
    """Choose the differentiation per coordinate from the data (the default).

    σ is estimated per coordinate (or taken from ``noise``).  The estimated mean-square q̈
    error of finite differences (each order in ``fd_orders``, on the actual grid) is
    compared with the best Savitzky–Golay filter (polyorders 3, 5, 7; windows chosen per
    derivative): clean data get finite differences, noisy data the smoother.  On an uneven
    grid the choice is made on the data resampled to a uniform grid and the smoother is
    the uneven-grid local polynomial fit.

    Fitted: ``noise_`` (n,), ``method_`` (per coordinate: "finite_difference" or
    "savgol"), ``order_`` (finite-difference order, None for Savitzky–Golay), ``window_``
    and ``polyorder_`` (None for finite differences), ``qddot_error_`` (n,) the estimated
    RMS error of q̈ (interior bias from the spectrum, variance including the ends).
    """

    name = "auto"

    def __init__(self, *, noise=None, fd_orders: tuple[int, ...] = (4, 6, 8)):
        self.noise = noise
        self.fd_orders = fd_orders

    def differentiate(self, t, q):
        t, q, squeeze = _as_arrays(t, q)
        n = q.shape[1]
        self.noise_ = _noise(self.noise, t, q)
        self.method_, self.order_, self.window_, self.polyorder_ = [], [], [], []
        self.qddot_error_ = np.full(n, np.nan)
        out = [np.empty_like(q) for _ in range(3)]
        for j in range(n):
            col = q[:, j : j + 1]
            method, setting, mse = _choose(t, col[:, 0], self.noise_[j], self.fd_orders)
            if method == "savgol":
                p, windows = setting
                res = _apply_windows(t, col, p, [windows])
                self.order_.append(None)
            else:
                res = FiniteDifference(setting).differentiate(t, col)
                p = windows = None
                self.order_.append(min(setting, (len(t) - 2) // 2 * 2))
            for d in range(3):
                out[d][:, j] = res[d][:, 0]
            self.method_.append(method)
            self.window_.append(windows)
            self.polyorder_.append(p)
            self.qddot_error_[j] = np.sqrt(mse)
        return _outputs(squeeze, *out)

    def describe(self) -> str:
        if not hasattr(self, "method_"):
            return "auto"
        parts = []
        for j, m in enumerate(self.method_):
            if m == "savgol":
                w = self.window_[j]
                s = f"Savitzky–Golay p={self.polyorder_[j]} windows q/q̇/q̈ {w[0]}/{w[1]}/{w[2]}"
            else:
                s = f"finite differences order {self.order_[j]}"
            parts.append(f"[{j}] {s} (σ≈{self.noise_[j]:.3g})")
        return "auto: " + "; ".join(parts)


def _fd_mse(order: int, h: float, N: int, spectrum, sigma: float) -> float:
    """Estimated mean-square q̈ error of finite differences on a uniform grid."""
    order = min(order, (N - 2) // 2 * 2)
    half = order // 2
    w = _fornberg(np.arange(-half, half + 1, dtype=float)[None], 2)[0, :, 2] / h**2
    we = _fornberg(np.arange(order + 2, dtype=float)[None] - np.arange(half)[:, None], 2)
    var_edges = 2 * np.sum(we[:, :, 2] ** 2) / h**4
    var = ((N - 2 * half) * np.dot(w, w) + var_edges) / N
    return _filter_mse(w, 2, h, spectrum, sigma, var)


def _choose(t, x, sigma, fd_orders):
    """Method for one column x (N,): ("finite_difference", order, mse) or
    ("savgol", (polyorder, windows), mse), mse the estimated mean-square q̈ error."""
    h, xu = _uniform_view(t, x[:, None])
    xu = xu[:, 0]
    N = len(xu)
    spectrum = _signal_spectrum(xu, sigma)
    fd = {o: _fd_mse(o, h, N, spectrum, sigma) for o in fd_orders}
    order = min(fd, key=fd.get)
    _, weights, P = spectrum
    omega = 2 * np.pi * np.arange(len(P)) / (N * h)
    qddot_power = np.sum(weights * omega**4 * P) / N
    if sigma == 0 or fd[order] <= CLEAN_RTOL**2 * qddot_power:
        return "finite_difference", order, fd[order]
    p, windows, mse = _select_savgol(h, xu, sigma, AUTO_POLYORDERS, spectrum)
    if mse[2] >= fd[order]:
        return "finite_difference", order, fd[order]
    return "savgol", (p, windows), mse[2]


# ----------------------------------------------------------------------------------------
# by name
# ----------------------------------------------------------------------------------------
_NAMES = {
    "auto": Auto,
    "finite_difference": FiniteDifference,
    "fd": FiniteDifference,
    "savgol": SavitzkyGolay,
    "savitzky_golay": SavitzkyGolay,
    "spline": SmoothingSpline,
    "smoothing_spline": SmoothingSpline,
}


def get_differentiator(spec="auto") -> Differentiator:
    """A differentiator from a name ("auto", "finite_difference"/"fd", "savgol", "spline")
    or an object with a ``differentiate`` method (returned unchanged)."""
    if hasattr(spec, "differentiate"):
        return spec
    if isinstance(spec, str):
        key = spec.strip().lower().replace("-", "_").replace(" ", "_")
        if key in _NAMES:
            return _NAMES[key]()
    raise ValueError(
        f"unknown differentiator {spec!r}; use one of 'auto', 'finite_difference' ('fd'), "
        "'savgol', 'spline' or an object with a differentiate(t, q) method"
    )
