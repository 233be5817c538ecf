"""A frame being drawn: colour image, object-id buffer and per-object tight boxes.

Every primitive is drawn twice: anti-aliased into the colour image, and with its object id into
the id buffer (id 0 = static scenery, which occludes). The box of an object is the union of
its primitives' extents, so it fits the drawn silhouette; the id buffer tells what is left
visible after occlusion.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np
from numpy.typing import NDArray

from veilleur.data.synth.camera import FloatArray

SHIFT = 3
SCALE = 1 << SHIFT
LIMIT = 1e5


Point = Sequence[float] | NDArray[np.float64]
Paint = Sequence[int]
"""A BGR colour (cv2 scalar)."""


def _fixed(pts: FloatArray) -> NDArray[np.int32]:
    return np.round(np.clip(pts, -LIMIT, LIMIT) * SCALE).astype(np.int32)


def _fx(p: Point) -> tuple[int, int]:
    """One point to cv2 fixed-point integers (scalar fast path)."""
    x = min(max(float(p[0]), -LIMIT), LIMIT)
    y = min(max(float(p[1]), -LIMIT), LIMIT)
    return round(x * SCALE), round(y * SCALE)


class Canvas:
    """Drawing surface of one frame.

    Example:
        >>> c = Canvas(np.zeros((10, 10, 3), np.uint8))
        >>> c.circle(np.array([5.0, 5.0]), 2.0, (255, 255, 255), oid=3)
        >>> c.boxes[3]
        [3.0, 3.0, 7.0, 7.0]
    """

    def __init__(self, image: NDArray[np.uint8]) -> None:
        self.image = image
        self.ids: NDArray[np.uint16] = np.zeros(image.shape[:2], dtype=np.uint16)
        self.boxes: dict[int, list[float]] = {}

    def _grow(self, oid: int, x0: float, y0: float, x1: float, y1: float) -> None:
        if oid <= 0:
            return
        box = self.boxes.get(oid)
        if box is None:
            self.boxes[oid] = [x0, y0, x1, y1]
        else:
            box[0] = min(box[0], x0)
            box[1] = min(box[1], y0)
            box[2] = max(box[2], x1)
            box[3] = max(box[3], y1)

    def poly(self, pts: FloatArray, colour: Paint, oid: int = 0, hull: bool = False) -> None:
        """Filled convex polygon (``hull``: take the convex hull of ``pts`` first)."""
        fixed: NDArray[np.int32] = _fixed(pts)
        if hull:
            fixed = np.asarray(cv2.convexHull(fixed), dtype=np.int32)
        cv2.fillConvexPoly(self.image, fixed, colour, cv2.LINE_AA, SHIFT)
        cv2.fillConvexPoly(self.ids, fixed, oid, cv2.LINE_8, SHIFT)
        lo = pts.min(axis=0)
        hi = pts.max(axis=0)
        self._grow(oid, float(lo[0]), float(lo[1]), float(hi[0]), float(hi[1]))

    def line(self, p0: Point, p1: Point, width: float, colour: Paint, oid: int = 0) -> None:
        """Thick segment with round caps; ``width`` in pixels (at least 1)."""
        t = int(min(max(1, round(width)), 500))
        a = _fx(p0)
        b = _fx(p1)
        cv2.line(self.image, a, b, colour, t, cv2.LINE_AA, SHIFT)
        cv2.line(self.ids, a, b, oid, t, cv2.LINE_8, SHIFT)
        if oid > 0:
            r = t / 2
            self._grow(
                oid,
                min(p0[0], p1[0]) - r,
                min(p0[1], p1[1]) - r,
                max(p0[0], p1[0]) + r,
                max(p0[1], p1[1]) + r,
            )

    def circle(self, centre: Point, radius: float, colour: Paint, oid: int = 0) -> None:
        r = min(max(radius, 0.5), 2000.0)
        c = _fx(centre)
        rr = round(r * SCALE)
        cv2.circle(self.image, c, rr, colour, -1, cv2.LINE_AA, SHIFT)
        cv2.circle(self.ids, c, rr, oid, -1, cv2.LINE_8, SHIFT)
        if oid > 0:
            x, y = float(centre[0]), float(centre[1])
            self._grow(oid, x - r, y - r, x + r, y + r)

    def ellipse(
        self,
        centre: Point,
        axes: tuple[float, float],
        colour: Paint,
        oid: int = 0,
        angle: float = 0.0,
        arc: tuple[float, float] = (0.0, 360.0),
    ) -> None:
        """Filled (part of an) ellipse; the box grows by the full ellipse extent."""
        c = _fx(centre)
        ax = (
            max(1, round(min(axes[0], 2000.0) * SCALE)),
            max(1, round(min(axes[1], 2000.0) * SCALE)),
        )
        cv2.ellipse(self.image, c, ax, angle, arc[0], arc[1], colour, -1, cv2.LINE_AA, SHIFT)
        cv2.ellipse(self.ids, c, ax, angle, arc[0], arc[1], oid, -1, cv2.LINE_8, SHIFT)
        if oid > 0:
            th = math.radians(angle)
            ex = math.hypot(axes[0] * math.cos(th), axes[1] * math.sin(th))
            ey = math.hypot(axes[0] * math.sin(th), axes[1] * math.cos(th))
            x, y = float(centre[0]), float(centre[1])
            self._grow(oid, x - ex, y - ey, x + ex, y + ey)

    def darken(self, pts: FloatArray, factor: float) -> None:
        """Multiply the image inside a polygon by ``factor`` (shadows); ids untouched."""
        h, w = self.image.shape[:2]
        x0 = int(max(0, np.floor(pts[:, 0].min())))
        y0 = int(max(0, np.floor(pts[:, 1].min())))
        x1 = int(min(w, np.ceil(pts[:, 0].max()) + 1))
        y1 = int(min(h, np.ceil(pts[:, 1].max()) + 1))
        if x1 <= x0 or y1 <= y0:
            return
        mask = np.zeros((y1 - y0, x1 - x0), dtype=np.uint8)
        cv2.fillConvexPoly(mask, _fixed(pts - [x0, y0]), 255, cv2.LINE_AA, SHIFT)
        roi = self.image[y0:y1, x0:x1]
        k = 1.0 - (1.0 - factor) * mask.astype(np.float32) / 255.0
        roi[:] = (roi * k[..., None]).astype(np.uint8)

    def glow(
        self, centre: Point, radius: float, colour: tuple[float, float, float], strength: float
    ) -> None:
        """Additive radial glow (lamps, flames, beacons); ids untouched."""
        h, w = self.image.shape[:2]
        r = max(2.0, radius)
        x0, y0 = int(max(0, centre[0] - r)), int(max(0, centre[1] - r))
        x1, y1 = int(min(w, centre[0] + r + 1)), int(min(h, centre[1] + r + 1))
        if x1 <= x0 or y1 <= y0:
            return
        yy, xx = np.mgrid[y0:y1, x0:x1].astype(np.float32)
        d2 = ((xx - centre[0]) ** 2 + (yy - centre[1]) ** 2) / (r * r)
        a = np.clip(1.0 - d2, 0.0, 1.0) ** 2 * strength
        roi = self.image[y0:y1, x0:x1].astype(np.float32)
        roi += a[..., None] * np.asarray(colour, dtype=np.float32)
        self.image[y0:y1, x0:x1] = np.clip(roi, 0, 255).astype(np.uint8)
