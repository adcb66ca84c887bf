"""Smoothing-spline differentiation: ``scipy.interpolate.UnivariateSpline`` (quintic) per
coordinate, on any grid, smoothing from the estimated noise σ when not given."""
from __future__ import annotations

import warnings

import numpy as np
from scipy.interpolate import UnivariateSpline

from .base import Differentiator
from .noise import _noise

#: SmoothingSpline's default s is SPLINE_FACTOR · N σ² (N σ² itself undersmooths badly
#: whenever σ is estimated a little low)
SPLINE_FACTOR = 2.0


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

    def _differentiate(self, t, q):
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
        return out

    def describe(self) -> str:
        s = getattr(self, "smoothing_", self.smoothing)
        return f"smoothing spline (degree {self.degree}), s = {np.array2string(np.asarray(s), precision=3)}"
