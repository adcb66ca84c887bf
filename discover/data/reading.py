"""Reading trajectories from a CSV file: the text is parsed into a
:class:`~discover.data.validation.Table` (header, rows, line numbers; layout problems raise
:class:`DataError`), then checked and cut into trajectories
(:meth:`discover.data.TrajectorySet.from_table`)."""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from .trajectories import TrajectorySet
from .validation import MAX_GAP, MIN_SAMPLES, DataError, Table

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
    return TrajectorySet.from_table(table, time=time, traj=traj, coordinates=coordinates,
                                    velocities=velocities, accelerations=accelerations,
                                    min_samples=min_samples, max_gap=max_gap, traj_given=traj != "traj")


def _parse(path: Path, name: str) -> Table:
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
    return Table(columns, np.asarray(lines), name)
