"""Bodies named by the coordinates: ``x1, y1, x2, y2`` are the positions of two bodies in the
plane, ``x_1, y_1, z_1, x_2, …`` of bodies in space.  Pairwise-distance terms of the library
(:class:`discover.library.Pairwise`) are built from these groups.  A chain ``x1 … xn`` (one
stem, integer suffixes) gives the neighbours of :class:`discover.library.Local`."""
from __future__ import annotations

import re
from collections import Counter
from typing import Sequence

__all__ = ["find_bodies", "find_chain"]

#: a coordinate name that ends in a body index: an axis name, an optional "_", digits
_INDEXED = re.compile(r"^(?P<axis>.*?[^\d_])_?(?P<body>\d+)$")


def find_bodies(coordinates: Sequence[str]) -> list[tuple[str, ...]]:
    """Coordinates grouped by body, each group ordered by axis name.

    A body is a set of 2 or 3 coordinates that share an index and differ in their axis names
    (``x1, y1``); bodies count only when at least two share the same axes, so that their
    positions can be compared.  Coordinates that belong to no body (``theta``, a chain's
    ``x1, x2, x3``) are left out.

    >>> find_bodies(["x1", "y1", "x2", "y2"])
    [('x1', 'y1'), ('x2', 'y2')]
    >>> find_bodies(["x1", "x2", "x3"])
    []
    """
    groups: dict[str, dict[str, str]] = {}
    for c in coordinates:
        m = _INDEXED.match(c)
        if m:
            groups.setdefault(m.group("body"), {})[m.group("axis")] = c
    shapes = Counter(tuple(sorted(g)) for g in groups.values() if 2 <= len(g) <= 3)
    return [tuple(g[a] for a in sorted(g)) for g in groups.values()
            if shapes.get(tuple(sorted(g)), 0) >= 2]


def find_chain(coordinates: Sequence[str]) -> list[str] | None:
    """The coordinates ordered along a chain, or None when they do not form one.

    A chain is at least two coordinates with one common stem and distinct integer suffixes
    (``x1, x2, x3``, ``q_1, q_2``); neighbours are consecutive in the order of the suffixes.

    >>> find_chain(["x2", "x10", "x1"])
    ['x1', 'x2', 'x10']
    >>> find_chain(["x1", "y1", "x2", "y2"]) is None
    True
    """
    found = [_INDEXED.match(c) for c in coordinates]
    if len(found) < 2 or not all(found):
        return None
    if len({m.group("axis") for m in found}) != 1 or len({int(m.group("body")) for m in found}) != len(found):
        return None
    return [m.string for m in sorted(found, key=lambda m: int(m.group("body")))]
