"""Smoothing-spline differentiation: ``scipy.interpolate.UnivariateSpline`` (quintic) per
coordinate, on any grid, smoothing from the estimated noise σ when not given."""
from __future__ import annotations

import warnings

import numpy as np

from .base import Differentiator
from .noise import _noise

#: SmoothingSpline's default s is SPLINE_FACTOR · N σ² (N σ² itself undersmooths badly
#: whenever σ is estimated a little low)
SPLINE_FACTOR = 2.0
#: σ below ROUNDOFF · max|q| is floating-point round-off, not noise: the spline interpolates
#: (s = 0).  A smoothing s at round-off level asks FITPACK for a residual it cannot resolve
#: ("s too small"), and the iteration then returns an arbitrary spline.
ROUNDOFF = 1e-12


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
            roundoff = self.noise_ <= ROUNDOFF * np.max(np.abs(q), axis=0)
            self.smoothing_ = np.where(roundoff, 0.0, SPLINE_FACTOR * N * self.noise_**2)
        else:
            self.smoothing_ = np.broadcast_to(np.asarray(self.smoothing, float), (n,)).copy()
        k = min(self.degree, N - 1)
        out = [np.empty_like(q) for _ in range(3)]
        self.notes_ = []
        for j in range(n):
            spl = self._spline(t, q[:, j], k, j)
            for d in range(3):
                out[d][:, j] = spl.derivative(d)(t) if d else spl(t)
        return out

    def _spline(self, t, y, k, j):
        """FITPACK's spline for column j; when FITPACK reports that it could not reach the
        requested s (s too small for the data), the interpolating spline (s = 0), which is what
        such an s approaches, is used instead and ``notes_`` says so.  Other FITPACK warnings
        are passed on with the column named."""
        from scipy.interpolate import UnivariateSpline  # here: scipy.interpolate takes 0.3 s to import

        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            spl = UnivariateSpline(t, y, k=k, s=self.smoothing_[j])
        messages = [str(w.message) for w in caught]
        if messages and self.smoothing_[j] > 0 and any("s too small" in m for m in messages):
            self.notes_.append(f"column {j}: FITPACK could not reach s = {self.smoothing_[j]:.3g} "
                               "(s too small); interpolating spline used")
            self.smoothing_[j] = 0.0
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                spl = UnivariateSpline(t, y, k=k, s=0.0)
            messages = [str(w.message) for w in caught]
        for m in messages:
            warnings.warn(f"smoothing spline, column {j}: {m.strip()}", RuntimeWarning, stacklevel=3)
        return spl

    def describe(self) -> str:
        s = getattr(self, "smoothing_", self.smoothing)
        notes = "; ".join(getattr(self, "notes_", []))
        return (f"smoothing spline (degree {self.degree}), s = {np.array2string(np.asarray(s), precision=3)}"
                + (f" ({notes})" if notes else ""))
