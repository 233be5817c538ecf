"""Pure plane geometry for zones and lines, in normalised image coordinates (x right, y down).

Line side convention: for a directed line ``a → b`` and a point ``p``, the side is the sign of
the 2-D cross product ``(b - a) × (p - a) = dx·(py - ay) - dy·(px - ax)``. With y pointing
down, a positive value puts ``p`` on the **right-hand** side of someone walking from ``a`` to
``b`` on the screen. A line drawn from top to bottom therefore has its right-hand side on the
screen's left. ``left_to_right`` crossing means negative → positive.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

Points = NDArray[np.floating[Any]]
"""Points or vectors in normalised image coordinates, any float precision."""


def points_in_polygon(points: Points, polygon: Points) -> NDArray[np.bool_]:
    """Even-odd rule: which of (N, 2) ``points`` lie inside the (K, 2) ``polygon``.

    Points exactly on an edge count as inside for the lower/left edges and outside for the
    others (the usual half-open convention), so adjacent zones never both contain a point.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    poly = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    if poly.shape[0] < 3:
        raise ValueError("a polygon needs at least 3 points")
    if pts.shape[0] == 0:
        return np.zeros(0, dtype=np.bool_)
    # called for every rule on every frame with a handful of points: plain slicing rather
    # than np.roll, (N, 1) columns against (K,) edges (same arithmetic, less overhead)
    nxt = np.concatenate((poly[1:], poly[:1]))
    x = pts[:, 0:1]
    y = pts[:, 1:2]
    x1, y1 = poly[:, 0], poly[:, 1]
    x2, y2 = nxt[:, 0], nxt[:, 1]
    straddles = (y1 > y) != (y2 > y)
    with np.errstate(divide="ignore", invalid="ignore"):
        x_cross = x1 + (y - y1) * (x2 - x1) / (y2 - y1)
    crossings = straddles & (x < x_cross)
    inside: NDArray[np.bool_] = (np.count_nonzero(crossings, axis=1) % 2) == 1
    return inside


def side_of_line(points: Points, a: Points, b: Points) -> NDArray[np.float64]:
    """Signed cross product ``(b - a) × (p - a)`` for each point (y down).

    Positive: the point is on the right-hand side of someone walking ``a → b`` on screen.
    Example: ``a=(0.5, 0), b=(0.5, 1)`` (drawn downwards): ``p=(0.4, 0.5)`` → positive,
    ``p=(0.6, 0.5)`` → negative.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    av = np.asarray(a, dtype=np.float64).reshape(2)
    bv = np.asarray(b, dtype=np.float64).reshape(2)
    d = bv - av
    rel = pts - av
    result: NDArray[np.float64] = d[0] * rel[:, 1] - d[1] * rel[:, 0]
    return result


def _side(px: float, py: float, ax: float, ay: float, bx: float, by: float) -> float:
    """:func:`side_of_line` of one point, in Python floats (same operations, same result)."""
    return (bx - ax) * (py - ay) - (by - ay) * (px - ax)


def segments_intersect(p0: Points, p1: Points, a: Points, b: Points) -> bool:
    """Whether the segment ``p0 → p1`` properly crosses the finite segment ``a → b``."""
    # scalar float64 arithmetic: called per track and frame, where numpy's per-call overhead
    # dominated; the operations are those of side_of_line, so the result is identical
    p0x, p0y = float(p0[0]), float(p0[1])
    p1x, p1y = float(p1[0]), float(p1[1])
    ax, ay = float(a[0]), float(a[1])
    bx, by = float(b[0]), float(b[1])
    s0 = _side(p0x, p0y, ax, ay, bx, by)
    s1 = _side(p1x, p1y, ax, ay, bx, by)
    if s0 == 0 and s1 == 0:
        return False
    if (s0 > 0) == (s1 > 0) and s0 != 0 and s1 != 0:
        return False
    t0 = _side(ax, ay, p0x, p0y, p1x, p1y)
    t1 = _side(bx, by, p0x, p0y, p1x, p1y)
    return bool((t0 > 0) != (t1 > 0) or t0 == 0 or t1 == 0)


def angle_between_deg(u: Points, v: Points) -> float:
    """Unsigned angle between two 2-D vectors, in degrees (0–180)."""
    un = float(np.linalg.norm(u))
    vn = float(np.linalg.norm(v))
    if un == 0 or vn == 0:
        raise ValueError("angle of a zero vector is undefined")
    cos = float(np.dot(u, v)) / (un * vn)
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def polygon_area(polygon: Points) -> float:
    """Area of a simple polygon (shoelace formula), in squared input units."""
    p = np.asarray(polygon, dtype=np.float64).reshape(-1, 2)
    x, y = p[:, 0], p[:, 1]
    return float(0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))
