"""Trajectories made ready for fitting: smoothed q, estimated q̇ and q̈, train/validation split.

:func:`prepare` is the one preparation path every estimator uses: it differentiates each
trajectory once, estimates the noise, and splits off the held-out trajectories; the fitted
models keep the result (``prepared_``), so nothing is differentiated or split twice.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Prepared", "PreparedData", "prepare", "prepare_trajectories", "qddot_error", "qddot_errors", "qddot_noise_floor", "split_trajectories", "stack"]


@dataclass
class Prepared:
    """One trajectory with what the fit needs: observed q and smoothed q, q̇, q̈ (each (N, n))."""

    t: np.ndarray
    q_obs: np.ndarray
    q: np.ndarray
    qdot: np.ndarray
    qddot: np.ndarray
    id: int = 0
    tf: object = field(default=None, repr=False)
    #: the differentiator's estimate of its RMS q̈ error per coordinate (n,), None if unknown
    qddot_error: np.ndarray | None = None
    #: a known applied generalized force Q(t) per sample (N, n), None without
    force: np.ndarray | None = None

    def slice(self, a: int, b: int, id_: int) -> "Prepared":
        return Prepared(self.t[a:b], self.q_obs[a:b], self.q[a:b], self.qdot[a:b], self.qddot[a:b], id_,
                        qddot_error=self.qddot_error, force=None if self.force is None else self.force[a:b])


@dataclass
class PreparedData:
    """Everything the estimators need from one data set, prepared once.

    Attributes:
        coordinates: coordinate names.
        all: every trajectory, differentiated (a long single one is cut only in train/validation).
        train, validation: the split (``validation`` held out from every fit).
        differentiator: what differentiated the data (a description).
        noise: estimated noise per coordinate (n,), in the data's units.
        source: the file the data came from (for messages), or None.
    """

    coordinates: list[str]
    all: list[Prepared]
    train: list[Prepared]
    validation: list[Prepared]
    differentiator: str
    noise: np.ndarray
    source: object = None

    @property
    def has_force(self) -> bool:
        """Whether the data carry a known applied generalized force."""
        return any(p.force is not None for p in self.all)

    @property
    def relative_noise(self) -> float:
        """The largest noise estimate relative to its coordinate's spread over the data."""
        scale = np.concatenate([p.q_obs for p in self.all]).std(0)
        return float(np.max(self.noise / np.where(scale > 0, scale, 1)))


def prepare(data, differentiator="auto", *, validation: float = 0.25, seed: int = 0) -> PreparedData:
    """Differentiate every trajectory of ``data`` (a TrajectorySet) once and split off a held-out
    ``validation`` fraction (:func:`split_trajectories`, drawn with ``seed``)."""
    prepared, desc, noise = prepare_trajectories(data, differentiator)
    train, val = split_trajectories(prepared, validation, seed)
    return PreparedData(list(data.coordinates), prepared, train, val, desc, noise, getattr(data, "source", None))


def prepare_trajectories(data, differentiator="auto") -> tuple[list[Prepared], str, np.ndarray]:
    """Differentiate every trajectory of ``data`` (a TrajectorySet) separately.

    Returns (prepared trajectories, description of the differentiator, noise estimate per coordinate).
    """
    from .derivatives import estimate_noise, get_differentiator

    out, desc, noise = [], "", []
    for tr in data.trajectories:
        diff = get_differentiator(differentiator)
        q_s, qd, qdd = diff.differentiate(tr.t, tr.q)
        if getattr(tr, "qdot", None) is not None:
            qd = tr.qdot
        if getattr(tr, "qddot", None) is not None:
            qdd = tr.qddot
        err = getattr(diff, "qddot_error_", None)
        if getattr(tr, "qddot", None) is not None:
            err = np.zeros(q_s.shape[1])
        force = getattr(tr, "force", None)
        out.append(Prepared(np.asarray(tr.t, float), np.asarray(tr.q, float), q_s, qd, qdd, int(tr.id),
                            qddot_error=None if err is None else np.asarray(err, float),
                            force=None if force is None else np.asarray(force, float)))
        desc = diff.describe() if hasattr(diff, "describe") else repr(diff)
        noise.append(np.atleast_1d(estimate_noise(tr.t, tr.q)))
    return out, desc, np.max(np.stack(noise), axis=0)


#: a single trajectory is cut into this many pieces for validation (when each piece is long enough)
SINGLE_PIECES = 8
#: fewest samples of a validation piece of a single trajectory
MIN_PIECE = 50


def split_trajectories(prepared: list[Prepared], fraction: float, seed: int) -> tuple[list[Prepared], list[Prepared]]:
    """Hold out whole trajectories when there are several.  One long trajectory (one recording)
    is cut into ``SINGLE_PIECES`` pieces and a ``fraction`` of them, spread evenly over the
    record, is held out, so that validation covers the early, large swings and the late, small
    ones (not only the last quarter); a short one holds out its last ``fraction``.  Derivatives
    were estimated on the whole trajectory before cutting, so the cuts add no edge effects."""
    if len(prepared) >= 2:
        rng = np.random.default_rng(seed)
        order = rng.permutation(len(prepared))
        n_val = max(1, int(round(fraction * len(prepared))))
        val = [prepared[i] for i in sorted(order[:n_val])]
        train = [prepared[i] for i in sorted(order[n_val:])]
        return train, val
    p = prepared[0]
    N = len(p.t)
    k = SINGLE_PIECES
    n_val = max(1, int(round(fraction * k)))
    if N // k < MIN_PIECE or n_val >= k:
        cut = int(N * (1 - fraction))
        return [p.slice(0, cut, p.id)], [p.slice(cut, N, p.id)]
    edges = np.linspace(0, N, k + 1).astype(int)
    held = set(np.round(np.linspace(k / n_val - 1, k - 1, n_val)).astype(int).tolist())
    train, val = [], []
    for i in range(k):
        (val if i in held else train).append(p.slice(edges[i], edges[i + 1], p.id))
    return _merge_adjacent(train), val


def _merge_adjacent(pieces: list[Prepared]) -> list[Prepared]:
    """Consecutive pieces of one trajectory joined again (fewer, longer training pieces)."""
    out = [pieces[0]]
    for p in pieces[1:]:
        last = out[-1]
        if last.id == p.id and np.isclose(p.t[0] - last.t[-1], np.median(np.diff(last.t))):
            out[-1] = Prepared(np.concatenate([last.t, p.t]), np.concatenate([last.q_obs, p.q_obs]),
                               np.concatenate([last.q, p.q]), np.concatenate([last.qdot, p.qdot]),
                               np.concatenate([last.qddot, p.qddot]), last.id, qddot_error=last.qddot_error,
                               force=None if p.force is None else np.concatenate([last.force, p.force]))
        else:
            out.append(p)
    return out


def stack(prepared: list[Prepared], attr: str, trim: int = 0) -> np.ndarray:
    """One attribute of all trajectories, concatenated, ``trim`` samples cut at both ends of each."""
    return np.concatenate([getattr(p, attr)[trim: len(p.t) - trim] for p in prepared], 0)


def qddot_noise_floor(prepared: list[Prepared], trim: int = 3) -> float:
    """The relative q̈ error that even the true model would show against these estimated q̈:
    the differentiators' own error estimates (bias² + variance from the noise level and the
    signal spectrum), as ‖error‖ / ‖q̈‖ over the same samples as the models' q̈ error.  0 where
    a differentiator gives no estimate."""
    num = sum(float(np.sum(p.qddot_error ** 2)) * max(len(p.t) - 2 * trim, 0)
              for p in prepared if p.qddot_error is not None and np.all(np.isfinite(p.qddot_error)))
    qdd = stack(prepared, "qddot", trim)
    return float(np.sqrt(num) / max(np.linalg.norm(qdd), 1e-300))


def qddot_error(model, prepared) -> float:
    """‖q̈_model − q̈_estimated‖ / ‖q̈_estimated‖ over the given trajectories (edges trimmed)."""
    return qddot_errors(model, prepared)[0]


def qddot_errors(model, prepared) -> tuple[float, float]:
    """(relative RMS error as :func:`qddot_error`, typical error): the median over samples and
    coordinates of |q̈_model − q̈_estimated| in units of each coordinate's median |q̈_estimated|.
    The first is ruled by the few samples where the estimate is wild (near a coordinate
    singularity of the model, where noise in the smoothed state moves q̈ most), the second not."""
    from .mechanics import SingularMassMatrixError

    q, qd, qdd = (stack(prepared, a, 3) for a in ("q", "qdot", "qddot"))
    forced = prepared[0].force is not None
    try:
        pred = model.acceleration(q, qd, force=stack(prepared, "force", 3)) if forced else model.acceleration(q, qd)
    except SingularMassMatrixError:
        return math.inf, math.inf
    rms = float(np.linalg.norm(pred - qdd) / max(np.linalg.norm(qdd), 1e-300))
    scale = np.maximum(np.median(np.abs(qdd), axis=0), 1e-300)
    typical = float(np.median(np.abs(pred - qdd) / scale))
    return rms, typical
