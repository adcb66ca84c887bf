"""Trajectory data: CSV reading and validation, and the containers the estimators fit.

The CSV contract (DESIGN.md): one header row; ``t`` is time; an optional integer ``traj``
separates trajectories; ``<c>_dot`` and ``<c>_ddot`` are the velocity and acceleration of
coordinate ``c``; every other column is a coordinate.  Keyword arguments override the roles.

Every problem with the input raises :class:`DataError` naming the file, the column and the
data row (with its line in the file) wherever they apply.

Sampling: times must increase strictly within each trajectory.  Uneven steps are accepted
(``FiniteDifference`` and ``SmoothingSpline`` use the actual times and ``Auto`` falls back to
them; only ``SavitzkyGolay`` needs a uniform grid), but a gap longer than ``max_gap`` times
the median step is refused: derivatives across it would be meaningless, and it usually
means two recordings were joined without a ``traj`` column.
"""
from __future__ import annotations

import copy
import csv
import io
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

__all__ = ["DataError", "Trajectory", "TrajectorySet", "check_enough_samples", "read_csv"]

#: fewest samples per trajectory from which derivatives are estimated
MIN_SAMPLES = 7
#: largest time step accepted, in multiples of the trajectory's median step
MAX_GAP = 10.0


class DataError(ValueError):
    """Bad input data.  ``str`` is one line: ``file: column 'x', row 12 (line 13): what``.

    ``row`` is the 1-based data row (the header is not a row), ``line`` the 1-based line
    of the file; either may be None, as may ``file`` and ``column``.
    """

    def __init__(self, message: str, *, file=None, column=None, row=None, line=None):
        self.message = message
        self.file = None if file is None else str(file)
        self.column = column
        self.row = row
        self.line = line
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.column is not None:
            where.append(f"column '{self.column}'")
        if self.row is not None:
            where.append(f"row {self.row}" + (f" (line {self.line})" if self.line else ""))
        elif self.line is not None:
            where.append(f"line {self.line}")
        prefix = f"{self.file}: " if self.file else ""
        return prefix + (", ".join(where) + ": " if where else "") + self.message


def check_enough_samples(n_samples: int, n_terms: int, file=None) -> None:
    """Raise :class:`DataError` when there are fewer samples than library terms."""
    if n_samples < n_terms:
        raise DataError(
            f"{n_samples} samples but the library has {n_terms} terms: a fit needs at least "
            "as many samples as terms; give more data or use a smaller library",
            file=file,
        )


# ----------------------------------------------------------------------------------------
# containers
# ----------------------------------------------------------------------------------------
@dataclass
class Trajectory:
    """One trajectory: ``t`` (N,), ``q`` (N, n), ``qdot`` and ``qddot`` (N, n) or None."""

    t: np.ndarray
    q: np.ndarray
    qdot: np.ndarray | None = None
    qddot: np.ndarray | None = None
    id: int = 0

    def __len__(self) -> int:
        return len(self.t)

    def _slice(self, sl: slice) -> "Trajectory":
        cut = lambda a: None if a is None else a[sl].copy()  # noqa: E731
        return Trajectory(self.t[sl].copy(), self.q[sl].copy(), cut(self.qdot), cut(self.qddot), self.id)


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
        table = _Table(columns, None, source)
        return _assemble(table, time="t", traj="traj" if traj is not None else None,
                         coordinates=names, velocities=None, accelerations=None,
                         min_samples=min_samples, max_gap=max_gap, traj_given=traj is not None)

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
        from .derivatives import estimate_noise, get_differentiator

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
                                 tr.qddot.copy() if tr.qddot is not None else d2, tr.id)
            else:
                new = Trajectory(tr.t.copy(), tr.q.copy(), tr.qdot.copy(), d1, tr.id)
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
        """Concatenated arrays: ``t`` (N,), ``q``, ``qdot``, ``qddot`` (N, n) — None when
        any trajectory lacks them — and ``traj`` (N,) ids."""
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
        coordinates, then ``<c>_dot`` and ``<c>_ddot`` where every trajectory has them.
        Floats are written with full precision, so :func:`read_csv` gives them back."""
        import pandas as pd

        s = self.stack()
        cols = {"t": s["t"]}
        if self.n_trajectories > 1 or self.trajectories[0].id != 0:
            cols["traj"] = s["traj"]
        for key, suffix in (("q", ""), ("qdot", "_dot"), ("qddot", "_ddot")):
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


# ----------------------------------------------------------------------------------------
# reading
# ----------------------------------------------------------------------------------------
@dataclass
class _Table:
    """Columns by name (raw strings or numbers), the file line of each data row, the file."""

    columns: dict
    lines: np.ndarray | None
    file: str | None

    def where(self, i: int) -> dict:
        """row/line keywords for 0-based data row i."""
        return {"row": int(i) + 1, "line": None if self.lines is None else int(self.lines[i])}


_SEPARATORS = {";": "semicolons", "\t": "tabs", "|": "'|'"}


def read_csv(
    path,
    *,
    time: str = "t",
    traj: str | None = "traj",
    coordinates: Sequence[str] | None = None,
    velocities: Sequence[str] | Mapping[str, str] | None = None,
    accelerations: Sequence[str] | Mapping[str, str] | None = None,
    min_samples: int = MIN_SAMPLES,
    max_gap: float = MAX_GAP,
) -> TrajectorySet:
    """Read and validate trajectories from a CSV file.

    Roles: ``time`` names the time column; ``traj`` the optional trajectory-id column
    (None: no such column); ``coordinates`` lists the coordinate columns (default: every
    column not playing another role; when given, other columns are ignored);
    ``velocities``/``accelerations`` name the derivative columns, as a list parallel to the
    coordinates or a mapping coordinate → column (default: ``<c>_dot``/``<c>_ddot`` when
    present).  ``min_samples``: fewest samples per trajectory when derivatives must be
    estimated.  ``max_gap``: largest accepted time step, in median steps.

    Raises :class:`DataError` (file, column, row and line where they apply).
    """
    name = str(path)
    table = _parse(Path(path), name)
    return _assemble(table, time=time, traj=traj, coordinates=coordinates,
                     velocities=velocities, accelerations=accelerations,
                     min_samples=min_samples, max_gap=max_gap, traj_given=traj != "traj")


def _parse(path: Path, name: str) -> _Table:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataError("file not found", file=name) from None
    except IsADirectoryError:
        raise DataError("is a directory, not a CSV file", file=name) from None
    except UnicodeDecodeError:
        raise DataError("not a UTF-8 text file", file=name) from None
    if not text.strip():
        raise DataError("file is empty; expected a header row (e.g. 't,x') and data rows", file=name)
    reader = csv.reader(io.StringIO(text))
    header, header_line, rows, lines = None, None, [], []
    for row in reader:
        if not row or all(not v.strip() for v in row):
            continue  # blank line
        if header is None:
            header, header_line = [v.strip() for v in row], reader.line_num
        else:
            rows.append(row)
            lines.append(reader.line_num)
    if len(header) == 1:
        for sep, label in _SEPARATORS.items():
            if sep in header[0]:
                raise DataError(
                    f"the header {header[0]!r} is a single column containing {label}: the file "
                    "seems to use another delimiter; discover reads comma-separated files",
                    file=name, line=header_line,
                )
    for j, c in enumerate(header):
        if not c:
            raise DataError(f"column {j + 1} of the header has no name", file=name, line=header_line)
    seen = {}
    for j, c in enumerate(header):
        if c in seen:
            raise DataError(f"the name appears twice in the header (columns {seen[c] + 1} and {j + 1})",
                            file=name, column=c, line=header_line)
        seen[c] = j
    if not rows:
        raise DataError("the file has a header but no data rows", file=name)
    for i, row in enumerate(rows):
        if len(row) != len(header):
            raise DataError(f"{len(row)} values but the header has {len(header)} columns",
                            file=name, row=i + 1, line=lines[i])
    columns = {c: [row[j] for row in rows] for j, c in enumerate(header)}
    return _Table(columns, np.asarray(lines), name)


def _numeric(table: _Table, col: str) -> np.ndarray:
    """Column as float64; text, empty values, NaN and inf raise DataError."""
    raw = table.columns[col]
    try:
        values = np.asarray(raw, dtype=np.float64)
    except (ValueError, TypeError):
        values = None
    if values is None:
        for i, v in enumerate(raw):
            try:
                float(v)
            except (ValueError, TypeError):
                msg = "empty value" if not str(v).strip() else f"value {str(v).strip()!r} is not a number"
                raise DataError(msg, file=table.file, column=col, **table.where(i)) from None
    bad = np.flatnonzero(~np.isfinite(values))
    if len(bad):
        i = bad[0]
        raise DataError(f"value {str(raw[i]).strip()!r} is not finite; remove or fill the row",
                        file=table.file, column=col, **table.where(i))
    return values


def _traj_ids(table: _Table, col: str) -> np.ndarray:
    raw = table.columns[col]
    try:
        values = np.asarray(raw, dtype=np.float64)
        if np.all(np.isfinite(values)) and np.all(values == np.round(values)):
            return values.astype(np.int64)
    except (ValueError, TypeError):
        pass
    for i, v in enumerate(raw):
        try:
            x = float(v)
        except (ValueError, TypeError):
            x = np.nan
        if not (np.isfinite(x) and x.is_integer()):
            raise DataError(f"trajectory id {str(v).strip()!r} is not an integer",
                            file=table.file, column=col, **table.where(i))
    raise AssertionError("unreachable")  # pragma: no cover


def _split_name(c: str):
    """('x', 'dot') for 'x_dot', ('x', 'ddot') for 'x_ddot', (c, None) otherwise."""
    for suffix in ("ddot", "dot"):
        if c.endswith("_" + suffix) and len(c) > len(suffix) + 1:
            return c[: -len(suffix) - 1], suffix
    return c, None


def _derivative_columns(spec, coords, names, kind, table):
    """Resolve velocity/acceleration columns: list parallel to coords, or None."""
    suffix = "_dot" if kind == "velocity" else "_ddot"
    if spec is None:
        cols = [c + suffix for c in coords]
        present = [c in names for c in cols]
        if not any(present):
            return None
        if not all(present):
            missing = cols[present.index(False)]
            have = cols[present.index(True)]
            raise DataError(
                f"{kind} column '{have}' is given but '{missing}' is missing: give the "
                f"{kind} of every coordinate or of none",
                file=table.file, column=missing,
            )
        return cols
    if isinstance(spec, Mapping):
        unknown = [c for c in spec if c not in coords]
        if unknown:
            raise DataError(f"{kind} given for '{unknown[0]}', which is not a coordinate",
                            file=table.file, column=spec[unknown[0]])
        missing = [c for c in coords if c not in spec]
        if missing:
            raise DataError(f"no {kind} column for coordinate '{missing[0]}'", file=table.file,
                            column=missing[0])
        cols = [spec[c] for c in coords]
    else:
        cols = list(spec)
        if len(cols) != len(coords):
            raise DataError(f"{len(cols)} {kind} columns for {len(coords)} coordinates {coords}",
                            file=table.file)
    for c in cols:
        if c not in names:
            raise DataError(f"{kind} column not found; the columns are {', '.join(names)}",
                            file=table.file, column=c)
    return cols


def _assemble(table: _Table, *, time, traj, coordinates, velocities, accelerations,
              min_samples, max_gap, traj_given) -> TrajectorySet:
    names = list(table.columns)
    file = table.file
    if time not in names:
        raise DataError(
            f"no time column '{time}'; the columns are {', '.join(names)}; "
            f"name the time column '{time}' or pass time=...",
            file=file, column=time,
        )
    traj_col = traj if (traj is not None and traj in names) else None
    if traj is not None and traj_col is None and traj_given:
        raise DataError(f"no trajectory column '{traj}'; the columns are {', '.join(names)}",
                        file=file, column=traj)
    explicit = set()
    for spec in (velocities, accelerations):
        if isinstance(spec, Mapping):
            explicit.update(spec.values())
        elif spec is not None:
            explicit.update(spec)
    if coordinates is None:
        coords = []
        for c in names:
            if c in (time, traj_col) or c in explicit:
                continue
            base, suffix = _split_name(c)
            if suffix is None:
                coords.append(c)
            elif base not in names:
                kind = "velocity" if suffix == "dot" else "acceleration"
                raise DataError(
                    f"named like the {kind} of coordinate '{base}', but there is no column "
                    f"'{base}'; rename it, or pass coordinates=[...] to set the roles",
                    file=file, column=c,
                )
    else:
        coords = list(coordinates)
        for c in coords:
            if c not in names:
                raise DataError(f"coordinate column not found; the columns are {', '.join(names)}",
                                file=file, column=c)
    if not coords:
        raise DataError(f"no coordinate columns besides the time '{time}'", file=file)
    if len(set(coords)) != len(coords):
        raise DataError(f"coordinates repeat: {coords}", file=file)
    vcols = _derivative_columns(velocities, coords, names, "velocity", table)
    acols = _derivative_columns(accelerations, coords, names, "acceleration", table)

    t = _numeric(table, time)
    N = len(t)
    q = np.column_stack([_numeric(table, c) for c in coords])
    qdot = None if vcols is None else np.column_stack([_numeric(table, c) for c in vcols])
    qddot = None if acols is None else np.column_stack([_numeric(table, c) for c in acols])
    ids = _traj_ids(table, traj_col) if traj_col else np.zeros(N, dtype=np.int64)

    for j, c in enumerate(coords):
        if np.all(q[:, j] == q[0, j]):
            raise DataError(
                f"the coordinate is constant (every value is {q[0, j]:g}) and carries no "
                "dynamics; drop the column or pass coordinates=[...]",
                file=file, column=c,
            )

    need_derivatives = qdot is None or qddot is None
    trajectories = []
    uniq, first = np.unique(ids, return_index=True)
    for tid in uniq[np.argsort(first)]:
        rows = np.flatnonzero(ids == tid)
        label = f"trajectory {tid}: " if traj_col else ""
        tt = t[rows]
        if need_derivatives and len(rows) < min_samples:
            span = f"rows {rows[0] + 1}–{rows[-1] + 1}" if len(rows) > 1 else f"row {rows[0] + 1}"
            raise DataError(
                f"{label}{len(rows)} samples ({span}); at least {min_samples} are needed to "
                "estimate derivatives",
                file=file, column=traj_col, **table.where(rows[0]),
            )
        dt = np.diff(tt)
        bad = np.flatnonzero(dt <= 0)
        if len(bad):
            k = bad[0]
            what = "repeats" if dt[k] == 0 else f"goes backwards (from {tt[k]:.10g})"
            raise DataError(f"{label}time {tt[k + 1]:.10g} {what}; times must increase "
                            "within a trajectory", file=file, column=time, **table.where(rows[k + 1]))
        if len(dt) >= 2:
            h = np.median(dt)
            k = int(np.argmax(dt))
            if dt[k] > max_gap * h:
                raise DataError(
                    f"{label}gap in time from {tt[k]:.10g} to {tt[k + 1]:.10g} "
                    f"({dt[k] / h:.0f}× the median step {h:.4g}); split the recording with a "
                    f"'traj' column or pass max_gap=...",
                    file=file, column=time, **table.where(rows[k + 1]),
                )
        trajectories.append(Trajectory(
            tt, q[rows],
            None if qdot is None else qdot[rows],
            None if qddot is None else qddot[rows],
            int(tid),
        ))
    return TrajectorySet(coords, trajectories, file)
