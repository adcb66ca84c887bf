"""Validation of trajectory tables by the CSV contract of DESIGN.md: one header row, time
``t``, an optional integer ``traj`` separating trajectories, ``<c>_dot``/``<c>_ddot``
velocities and accelerations, every other column a coordinate.  Every problem raises
:class:`DataError` naming the file, column and row wherever they apply; times must increase
within a trajectory, and gaps over ``max_gap`` median steps (usually two recordings joined
without a ``traj`` column) are refused.  A :class:`Table` (columns by name) comes in, checked
coordinate names and one :class:`Segment` of arrays per trajectory go out; the containers
(:mod:`discover.data.trajectories`) are built from those."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, NamedTuple

import numpy as np

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


@dataclass
class Table:
    """Columns by name (raw strings or numbers), the file line of each data row, the file."""

    columns: dict
    lines: np.ndarray | None
    file: str | None

    def where(self, i: int) -> dict:
        """row/line keywords for 0-based data row i."""
        return {"row": int(i) + 1, "line": None if self.lines is None else int(self.lines[i])}


class Segment(NamedTuple):
    """One trajectory's checked arrays: ``t`` (N,), ``q`` (N, n), ``qdot``/``qddot``/``force``
    (N, n) or None."""

    id: int
    t: np.ndarray
    q: np.ndarray
    qdot: np.ndarray | None
    qddot: np.ndarray | None
    force: np.ndarray | None = None


def _numeric(table: Table, col: str) -> np.ndarray:
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


def _check_magnitudes(table: Table, t, q, coords, time):
    """Refuse magnitudes whose Lagrangian is not representable in double precision: beyond
    ``discover.units.LIMIT`` (or, for a coordinate's largest value, below its inverse) the
    coefficients of q⁴ or q̇² terms in these units overflow or underflow.  Milder scales are
    fitted in rescaled internal units (:mod:`discover.units`)."""
    from ..units import LIMIT

    advice = "; express the column in other units (magnitudes from 1e-50 to 1e50 are fitted in rescaled units)"
    for j, c in enumerate(coords):
        a = np.abs(q[:, j])
        i = int(np.argmax(a))
        if a[i] > LIMIT:
            raise DataError(f"value {q[i, j]:.3g} is too large{advice}", file=table.file, column=c, **table.where(i))
        if 0 < a[i] < 1 / LIMIT:
            raise DataError(f"every value is below {a[i]:.3g} in magnitude{advice}", file=table.file, column=c,
                            **table.where(i))
    a = np.abs(t)
    i = int(np.argmax(a))
    if a[i] > LIMIT:
        raise DataError(f"time {t[i]:.3g} is too large{advice}", file=table.file, column=time, **table.where(i))
    if len(t) > 1:
        dt = np.abs(np.diff(t))
        i = int(np.argmax(dt))
        if 0 < dt[i] < 1 / LIMIT:
            raise DataError(f"time steps are all below {dt[i]:.3g}{advice}", file=table.file, column=time,
                            **table.where(i + 1))


def _traj_ids(table: Table, col: str) -> np.ndarray:
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
    """('x', 'dot') for 'x_dot', ('x', 'ddot') for 'x_ddot', ('x', 'force') for 'x_force',
    (c, None) otherwise."""
    for suffix in ("ddot", "dot", "force"):
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


def validate_table(table: Table, *, time: str, traj: str | None, coordinates, velocities, accelerations,
                   min_samples: int, max_gap: float, traj_given: bool) -> tuple[list[str], list[Segment]]:
    """Check ``table`` by the CSV contract and cut it into trajectories.

    The roles are those of :func:`discover.data.read_csv`; ``traj_given``: the trajectory
    column was named by the caller, so its absence is an error.  Returns the coordinate names
    and one :class:`Segment` per trajectory id, in increasing id order.  Raises
    :class:`DataError` naming the file, column and row."""
    names = list(table.columns)
    file = table.file
    if time not in names and all(_is_number(c) for c in names):
        raise DataError(
            "the first row holds numbers, not column names: the file has no header row; add one "
            f"naming the time column '{time}' and the coordinates (e.g. t,x,y)",
            file=file, line=1,
        )
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
                kind = {"dot": "velocity", "ddot": "acceleration", "force": "applied force"}[suffix]
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
    # known applied generalized forces: <c>_force; a coordinate without one is unforced (Q = 0)
    fcols = [c + "_force" if c + "_force" in names else None for c in coords]
    if coordinates is not None:
        stray = [c for c in names if _split_name(c)[1] == "force" and _split_name(c)[0] not in coords
                 and c not in coords]
        if stray:
            raise DataError(f"named like the applied force of '{_split_name(stray[0])[0]}', which is not a "
                            "coordinate", file=file, column=stray[0])

    t = _numeric(table, time)
    N = len(t)
    q = np.column_stack([_numeric(table, c) for c in coords])
    qdot = None if vcols is None else np.column_stack([_numeric(table, c) for c in vcols])
    qddot = None if acols is None else np.column_stack([_numeric(table, c) for c in acols])
    force = None if not any(fcols) else np.column_stack([_numeric(table, c) if c else np.zeros(N) for c in fcols])
    ids = _traj_ids(table, traj_col) if traj_col else np.zeros(N, dtype=np.int64)

    _check_magnitudes(table, t, q, coords, time)
    for j, c in enumerate(coords):
        if np.all(q[:, j] == q[0, j]):
            raise DataError(
                f"the coordinate is constant (every value is {q[0, j]:g}) and carries no "
                "dynamics; drop the column or pass coordinates=[...]",
                file=file, column=c,
            )

    need_derivatives = qdot is None or qddot is None
    segments = []
    uniq = np.unique(ids)
    for tid in uniq:  # by id, not by order of appearance: the fit does not depend on row order
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
        segments.append(Segment(int(tid), tt, q[rows],
                                None if qdot is None else qdot[rows],
                                None if qddot is None else qddot[rows],
                                None if force is None else force[rows]))
    return coords, segments


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
