"""Containers of trajectory data: :class:`Trajectory` (one run) and :class:`TrajectorySet`
(named coordinates, several runs), built from checked tables (:mod:`discover.data.validation`)
or arrays, with derivative estimation, splitting and CSV output."""
from __future__ import annotations

import copy
from dataclasses import dataclass, field, replace
from typing import Sequence

import numpy as np

from .validation import MAX_GAP, MIN_SAMPLES, DataError, Table, validate_table


@dataclass
class Trajectory:
    """One trajectory: ``t`` (N,), ``q`` (N, n), ``qdot`` and ``qddot`` (N, n) or None, and a
    known applied generalized force ``force`` (N, n) or None (CSV columns ``<c>_force``)."""

    t: np.ndarray
    q: np.ndarray
    qdot: np.ndarray | None = None
    qddot: np.ndarray | None = None
    id: int = 0
    force: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.t)

    def _slice(self, sl: slice) -> "Trajectory":
        cut = lambda a: None if a is None else a[sl].copy()  # noqa: E731
        return Trajectory(self.t[sl].copy(), self.q[sl].copy(), cut(self.qdot), cut(self.qddot), self.id,
                          cut(self.force))


@dataclass
class TrajectorySet:
    """Trajectories of one system with named coordinates.

    ``differentiators`` holds, per trajectory, the fitted differentiator that estimated
    its missing derivatives (None where all were given); see :meth:`describe_derivatives`.
    """

    coordinates: list[str]
    trajectories: list[Trajectory]
    source: str | None = None
    differentiators: list | None = field(default=None, repr=False)

    # -- sizes ---------------------------------------------------------------------------
    @property
    def n_dof(self) -> int:
        return len(self.coordinates)

    @property
    def n_samples(self) -> int:
        return sum(len(tr) for tr in self.trajectories)

    @property
    def n_trajectories(self) -> int:
        return len(self.trajectories)

    @property
    def has_derivatives(self) -> bool:
        return all(tr.qdot is not None and tr.qddot is not None for tr in self.trajectories)

    def __repr__(self) -> str:
        return (
            f"TrajectorySet(coordinates={self.coordinates}, trajectories={self.n_trajectories}, "
            f"samples={self.n_samples}, derivatives={'yes' if self.has_derivatives else 'no'}"
            + (f", source={self.source!r})" if self.source else ")")
        )

    # -- construction --------------------------------------------------------------------
    @classmethod
    def from_arrays(
        cls,
        t,
        q,
        *,
        qdot=None,
        qddot=None,
        coordinates: Sequence[str] | None = None,
        traj=None,
        min_samples: int = MIN_SAMPLES,
        max_gap: float = MAX_GAP,
        source: str | None = None,
    ) -> "TrajectorySet":
        """Build from arrays, validated like a CSV: ``t`` (N,), ``q`` (N, n) or (N,),
        ``qdot``/``qddot`` like q, ``traj`` (N,) integer ids; coordinates default to
        ``q0 … q{n-1}``.  Errors name the column and the 1-based row."""
        t = np.asarray(t, dtype=np.float64)
        q = np.asarray(q, dtype=np.float64)
        if q.ndim == 1:
            q = q[:, None]
        if t.ndim != 1 or q.ndim != 2 or len(q) != len(t):
            raise ValueError(f"expected t of shape (N,) and q of shape (N, n); got {t.shape} and {q.shape}")
        n = q.shape[1]
        names = list(coordinates) if coordinates is not None else [f"q{j}" for j in range(n)]
        if len(names) != n:
            raise ValueError(f"{len(names)} coordinate names for {n} columns of q")
        for c in names:
            if c in ("t", "traj") or c.endswith("_dot") or c.endswith("_ddot") or not c:
                raise ValueError(f"coordinate name {c!r} is reserved: use another")
        if len(set(names)) != n:
            raise ValueError(f"coordinate names repeat: {names}")
        columns = {"t": t}
        if traj is not None:
            columns["traj"] = np.asarray(traj)
        for j, c in enumerate(names):
            columns[c] = q[:, j]
        for arr, suffix in ((qdot, "_dot"), (qddot, "_ddot")):
            if arr is not None:
                arr = np.asarray(arr, dtype=np.float64).reshape(len(t), -1)
                if arr.shape[1] != n:
                    raise ValueError(f"{suffix[1:]} has {arr.shape[1]} columns; q has {n}")
                for j, c in enumerate(names):
                    columns[c + suffix] = arr[:, j]
        return cls.from_table(Table(columns, None, source), time="t",
                              traj="traj" if traj is not None else None, coordinates=names,
                              min_samples=min_samples, max_gap=max_gap, traj_given=traj is not None)

    @classmethod
    def from_table(cls, table: Table, *, time: str = "t", traj: str | None = "traj", coordinates=None,
                   velocities=None, accelerations=None, min_samples: int = MIN_SAMPLES,
                   max_gap: float = MAX_GAP, traj_given: bool = False) -> "TrajectorySet":
        """Check ``table`` (:func:`discover.data.validation.validate_table`, roles as in
        :func:`discover.data.read_csv`) and hold one :class:`Trajectory` per trajectory id."""
        coords, segments = validate_table(table, time=time, traj=traj, coordinates=coordinates,
                                          velocities=velocities, accelerations=accelerations,
                                          min_samples=min_samples, max_gap=max_gap, traj_given=traj_given)
        return cls(coords, [Trajectory(s.t, s.q, s.qdot, s.qddot, s.id, s.force) for s in segments], table.file)

    # -- derivatives ---------------------------------------------------------------------
    def with_derivatives(self, differentiator="auto", *, smooth: bool = True,
                         pool_noise: bool = True) -> "TrajectorySet":
        """A new set with q̇ and q̈ filled in, estimated per trajectory (never across
        trajectory boundaries).  Given velocities/accelerations are kept: with q̇ given,
        q̈ is its derivative.  ``differentiator``: a name or object (see
        :func:`discover.derivatives.get_differentiator`); a copy is fitted per trajectory
        and kept in ``differentiators``.  ``smooth`` replaces q by the smoothed q where it
        was differentiated.  ``pool_noise``: with several trajectories, the noise level is
        estimated once from all of them (differences within each) when the
        differentiator takes a ``noise`` argument and has none set.
        """
        from ..derivatives import estimate_noise, get_differentiator

        template = get_differentiator(differentiator)
        pooled = {}
        if pool_noise and self.n_trajectories > 1 and getattr(template, "noise", 0) is None:
            for key in ("q", "qdot"):
                parts = [tr for tr in self.trajectories if _source_of(tr) == key]
                if parts:
                    pooled[key] = estimate_noise(
                        np.concatenate([tr.t for tr in parts]),
                        np.concatenate([getattr(tr, key) for tr in parts]),
                        groups=np.repeat(np.arange(len(parts)), [len(tr) for tr in parts]),
                    )
        out, fitted = [], []
        for tr in self.trajectories:
            key = _source_of(tr)
            if key is None:
                out.append(replace(tr))
                fitted.append(None)
                continue
            d = copy.deepcopy(template)
            if key in pooled:
                d.noise = pooled[key]
            try:
                s, d1, d2 = d.differentiate(tr.t, getattr(tr, key))
            except ValueError as err:
                raise DataError(f"trajectory {tr.id}: cannot estimate derivatives: {err}",
                                file=self.source) from None
            if key == "q":
                new = Trajectory(tr.t.copy(), s if smooth else tr.q.copy(), d1,
                                 tr.qddot.copy() if tr.qddot is not None else d2, tr.id, tr.force)
            else:
                new = Trajectory(tr.t.copy(), tr.q.copy(), tr.qdot.copy(), d1, tr.id, tr.force)
            out.append(new)
            fitted.append(d)
        return TrajectorySet(list(self.coordinates), out, self.source, fitted)

    def describe_derivatives(self) -> str:
        """One line per trajectory saying how its derivatives were obtained."""
        if self.differentiators is None:
            return "given" if self.has_derivatives else "not estimated"
        lines = []
        for tr, d in zip(self.trajectories, self.differentiators):
            what = "given" if d is None else d.describe()
            lines.append(f"trajectory {tr.id}: {what}")
        return "\n".join(lines)

    # -- views ---------------------------------------------------------------------------
    def stack(self) -> dict:
        """Concatenated arrays: ``t`` (N,), ``q``, ``qdot``, ``qddot``, ``force`` (N, n) — None
        when any trajectory lacks them — and ``traj`` (N,) ids."""
        trs = self.trajectories

        def cat(name):
            parts = [getattr(tr, name) for tr in trs]
            if any(p is None for p in parts):
                return None
            return np.concatenate(parts, axis=0)

        return {
            "t": cat("t"),
            "q": cat("q"),
            "qdot": cat("qdot"),
            "qddot": cat("qddot"),
            "force": cat("force"),
            "traj": np.repeat(np.array([tr.id for tr in trs], dtype=np.int64), [len(tr) for tr in trs]),
        }

    def split(self, validation: float = 0.25, *, seed: int = 0) -> tuple["TrajectorySet", "TrajectorySet"]:
        """(train, validation) sets.  With ≥ 2 trajectories, whole trajectories are drawn
        (at least one on each side, ``seed`` picks which); with one, its last
        ``validation`` fraction of samples is the validation segment (no trajectory is
        ever cut across: each part is contiguous in time)."""
        if not 0 < validation < 1:
            raise ValueError(f"validation must be a fraction in (0, 1); got {validation}")
        trs = self.trajectories
        pick = lambda idx: None if self.differentiators is None else [self.differentiators[i] for i in idx]  # noqa: E731
        if len(trs) >= 2:
            n_val = min(len(trs) - 1, max(1, int(round(validation * len(trs)))))
            val_idx = set(np.random.default_rng(seed).permutation(len(trs))[:n_val].tolist())
            tr_idx = [i for i in range(len(trs)) if i not in val_idx]
            va_idx = sorted(val_idx)
            make = lambda idx: TrajectorySet(list(self.coordinates), [trs[i] for i in idx],  # noqa: E731
                                             self.source, pick(idx))
            return make(tr_idx), make(va_idx)
        (tr,) = trs
        n_val = max(1, int(round(validation * len(tr))))
        cut = len(tr) - n_val
        if cut < 1:
            raise ValueError(f"a trajectory of {len(tr)} samples is too short to split")
        return (
            TrajectorySet(list(self.coordinates), [tr._slice(slice(0, cut))], self.source, pick([0])),
            TrajectorySet(list(self.coordinates), [tr._slice(slice(cut, None))], self.source, pick([0])),
        )

    def to_csv(self, path) -> None:
        """Write by the CSV contract: t, traj (when not a single trajectory with id 0),
        coordinates, then ``<c>_dot``, ``<c>_ddot`` and ``<c>_force`` where every trajectory has them.
        Floats are written with full precision, so :func:`read_csv` gives them back."""
        import pandas as pd

        s = self.stack()
        cols = {"t": s["t"]}
        if self.n_trajectories > 1 or self.trajectories[0].id != 0:
            cols["traj"] = s["traj"]
        for key, suffix in (("q", ""), ("qdot", "_dot"), ("qddot", "_ddot"), ("force", "_force")):
            if s[key] is not None:
                for j, c in enumerate(self.coordinates):
                    cols[c + suffix] = s[key][:, j]
        pd.DataFrame(cols).to_csv(path, index=False)


def _source_of(tr: Trajectory):
    """Which array to differentiate for the missing derivatives (None: nothing missing)."""
    if tr.qdot is None:
        return "q"
    if tr.qddot is None:
        return "qdot"
    return None
