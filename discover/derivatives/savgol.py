"""Savitzky–Golay smoothing and differentiation (local polynomial least squares).  On a
uniform grid the classic filter, with coefficients computed in a Legendre basis (stable for
any window and polyorder, unlike ``scipy.signal.savgol_coeffs`` at polyorder ≥ 7 with
windows of hundreds of samples) and ends handled like ``savgol_filter(mode="interp")``; on
an uneven grid one polynomial per sample in the actual times.  Windows can be chosen per
coordinate and per derivative by minimizing the estimated bias² + variance.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.polynomial import legendre

from .base import Differentiator, _is_uniform
from .noise import _filter_mse, _noise, _signal_spectrum


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
        self._centre: dict[int, np.ndarray] = {}  # weights at the centre per unit step, by d

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
        if d not in self._centre:
            self._centre[d] = (self.basis(np.zeros(1), d) @ self.P)[0]
        return self._centre[d] / (self.m * h) ** d

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
        c = self.interior(d, h)
        out = np.empty(q.shape, dtype=np.result_type(q, c))
        if len(q) >= len(c):  # windows centred on every interior sample (the edges follow)
            windows = np.lib.stride_tricks.sliding_window_view(q, len(c), axis=0)
            out[self.m: len(q) - self.m] = windows @ c
        if self.m:
            xl, xr = self.edge_x()
            scale = (self.m * h) ** d
            out[: self.m] = self.basis(xl, d) @ (self.P @ q[: self.w]) / scale
            out[-self.m :] = self.basis(xr, d) @ (self.P @ q[-self.w :]) / scale
        return out


@lru_cache(maxsize=256)
def _savgol_fit(window: int, polyorder: int) -> _SavgolFit:
    return _SavgolFit(window, polyorder)


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

    def _differentiate(self, t, q):
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
        return _apply_windows(t, q, p, self.window_)

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
