"""Bodies named by the coordinates: ``x1, y1, x2, y2`` are the positions of two bodies in the
plane, ``x_1, y_1, z_1, x_2, …`` of bodies in space.  Pairwise-distance terms of the library
(:class:`discover.library.Pairwise`) are built from these groups.  Names that say nothing
(``ax, ay, bx, by``, ``sun_x, …``) need the bodies given: ``find_bodies(coordinates, bodies)``
checks them, and :func:`parse_bodies` reads the command line's ``"ax,ay;bx,by"``.  A chain
``x1 … xn`` (one stem, integer suffixes) gives the neighbours of :class:`discover.library.Local`."""
from __future__ import annotations

import re
from collections import Counter
from typing import Sequence

__all__ = ["find_bodies", "parse_bodies", "check_bodies", "find_chain"]

#: a coordinate name that ends in a body index: an axis name, an optional "_", digits
_INDEXED = re.compile(r"^(?P<axis>.*?[^\d_])_?(?P<body>\d+)$")


def find_bodies(coordinates: Sequence[str], bodies: Sequence[Sequence[str]] | str | None = None
                ) -> list[tuple[str, ...]]:
    """Coordinates grouped by body, each group ordered by axis name.

    ``bodies`` (the user's groups, a list of name lists or ``"ax,ay;bx,by"``) replaces the
    detection by name: they are checked (:func:`check_bodies`) and returned in the given order.
    Otherwise a body is a set of 2 or 3 coordinates that share an index and differ in their axis names
    (``x1, y1``); bodies count only when at least two share the same axes, so that their
    positions can be compared.  Coordinates that belong to no body (``theta``, a chain's
    ``x1, x2, x3``) are left out.

    >>> find_bodies(["x1", "y1", "x2", "y2"])
    [('x1', 'y1'), ('x2', 'y2')]
    >>> find_bodies(["x1", "x2", "x3"])
    []
    """
    if bodies is not None:
        return check_bodies(bodies, coordinates)
    groups: dict[str, dict[str, str]] = {}
    for c in coordinates:
        m = _INDEXED.match(c)
        if m:
            groups.setdefault(m.group("body"), {})[m.group("axis")] = c
    shapes = Counter(tuple(sorted(g)) for g in groups.values() if 2 <= len(g) <= 3)
    return [tuple(g[a] for a in sorted(g)) for g in groups.values()
            if shapes.get(tuple(sorted(g)), 0) >= 2]


def parse_bodies(text: str) -> list[tuple[str, ...]]:
    """Bodies written as ``"ax,ay;bx,by"``: bodies separated by ``;``, the coordinates of one
    body by ``,`` (spaces ignored), in the same axis order for every body.

    >>> parse_bodies("sun_x, sun_y; earth_x, earth_y")
    [('sun_x', 'sun_y'), ('earth_x', 'earth_y')]
    """
    return [tuple(c.strip() for c in b.split(",")) for b in text.split(";") if b.strip()]


def check_bodies(bodies: Sequence[Sequence[str]] | str, coordinates: Sequence[str]) -> list[tuple[str, ...]]:
    """The user's bodies as tuples, after checking them against the coordinate names.

    Each body is 2 or 3 coordinates, the i-th of every body along the same axis (positions are
    compared component by component); at least two bodies, all with the same number of axes,
    no coordinate in two bodies.  Raises ValueError naming the offending name or body.

    >>> check_bodies("ax,ay;bx,by", ["ax", "ay", "bx", "by", "theta"])
    [('ax', 'ay'), ('bx', 'by')]
    """
    groups = parse_bodies(bodies) if isinstance(bodies, str) else [tuple(b) for b in bodies]
    known, seen = set(coordinates), set()
    for b in groups:
        for c in b:
            if c == "":
                raise ValueError(f"body {','.join(map(str, b))!r} has an empty coordinate name")
            if c not in known:
                raise ValueError(f"{c!r} is not a coordinate (coordinates: {', '.join(coordinates)})")
            if c in seen:
                raise ValueError(f"{c!r} is in two bodies")
            seen.add(c)
        if not 2 <= len(b) <= 3:
            raise ValueError(f"body {','.join(b)!r} has {len(b)} coordinate{'s' * (len(b) != 1)}; "
                             "a body is 2 (plane) or 3 (space)")
    if len(groups) < 2:
        raise ValueError(f"{len(groups)} bod{'y' if len(groups) == 1 else 'ies'} given; pairwise terms need at "
                         "least two (e.g. \"ax,ay;bx,by\")")
    for b in groups[1:]:
        if len(b) != len(groups[0]):
            raise ValueError(f"body {','.join(b)!r} has {len(b)} coordinates, body {','.join(groups[0])!r} "
                             f"{len(groups[0])}: every body needs the same axes")
    return groups


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
