"""The default differentiator: per coordinate, finite differences on clean data, otherwise
the Savitzky–Golay filter with the lowest estimated q̈ error."""
from __future__ import annotations

import numpy as np

from .base import Differentiator, _fornberg
from .finite_difference import FiniteDifference
from .noise import _filter_mse, _noise, _signal_spectrum
from .savgol import _apply_windows, _select_savgol, _uniform_view

#: Savitzky–Golay polynomial orders ``Auto`` tries (odd: same q̈ filter as the even order
#: below inside, one more degree at the ends)
AUTO_POLYORDERS = (3, 5, 7)
#: Auto keeps finite differences without a smoothing search when their estimated RMS
#: q̈ error is below this fraction of the RMS q̈
CLEAN_RTOL = 1e-6


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

    def _differentiate(self, t, q):
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
        return out

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
