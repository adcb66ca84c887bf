"""What every differentiator shares: input checks, the uniform-grid test, Fornberg
finite-difference weights, and the :class:`Differentiator` base class."""
from __future__ import annotations

import numpy as np

#: relative spread of the time steps up to which a grid counts as uniform
UNIFORM_RTOL = 1e-3


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


class Differentiator:
    """Base class: ``differentiate(t, q) -> (q_smooth, qdot, qddot)``.

    Subclasses implement ``_differentiate(t, q)`` on checked float64 ``t`` (N,) and
    ``q`` (N, n), returning three (N, n) arrays.
    """

    name = "differentiator"

    def differentiate(self, t, q):
        """t (N,), q (N,) or (N, n) → (q_smooth, qdot, qddot), each shaped like q."""
        t, q, squeeze = _as_arrays(t, q)
        return _outputs(squeeze, *self._differentiate(t, q))

    def _differentiate(self, t: np.ndarray, q: np.ndarray):
        raise NotImplementedError

    def describe(self) -> str:
        """One line saying what was used (after ``differentiate``: what was chosen)."""
        return self.name

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in vars(self).items() if not k.endswith("_"))
        return f"{type(self).__name__}({args})"
