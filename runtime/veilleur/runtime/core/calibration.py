"""Perspective calibration (EX-008): image points ↔ ground points in metres, as a homography.

Image points are normalised (0–1, x right, y down), like every zone. With a :class:`GroundPlane`
speeds are in m/s, distances in metres and densities in persons per m²; without one, analytics
fall back to normalised image units and say that they are degraded.
"""

from __future__ import annotations

from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

Array = NDArray[np.float64]


class CalibrationError(ValueError):
    """Calibration points that cannot give a usable homography."""


class GroundPlane:
    """Maps normalised image points to ground coordinates in metres.

    Args:
        image_points: (K, 2) normalised image points, K ≥ 4, no three collinear in practice.
        ground_points: (K, 2) the same points on the ground, in metres.

    Raises:
        CalibrationError: fewer than four points, mismatched counts, or degenerate geometry.
    """

    def __init__(self, image_points: Any, ground_points: Any) -> None:
        img = np.asarray(image_points, dtype=np.float64).reshape(-1, 2)
        gnd = np.asarray(ground_points, dtype=np.float64).reshape(-1, 2)
        if len(img) < 4 or len(img) != len(gnd):
            raise CalibrationError(
                f"calibration needs at least 4 image points and as many ground points "
                f"(got {len(img)} and {len(gnd)})"
            )
        if _max_triangle_area(img) < 1e-4 or _max_triangle_area(gnd) < 1e-3:
            raise CalibrationError("calibration points are (nearly) collinear")
        h, _ = cv2.findHomography(img, gnd, method=0)
        if h is None or not np.all(np.isfinite(h)) or abs(np.linalg.det(h)) < 1e-12:
            raise CalibrationError("calibration points give no valid homography")
        self.h: Array = np.asarray(h, dtype=np.float64)
        self.reprojection_error_m = float(np.max(np.linalg.norm(self.to_ground(img) - gnd, axis=1)))

    def to_ground(self, points: Any) -> Array:
        """(N, 2) normalised image points → (N, 2) ground metres."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
        if len(pts) == 0:
            return np.zeros((0, 2), dtype=np.float64)
        hom = np.hstack([pts, np.ones((len(pts), 1))]) @ self.h.T
        w = hom[:, 2:3]
        w = np.where(np.abs(w) < 1e-12, 1e-12, w)
        out: Array = hom[:, :2] / w
        return out

    def area_m2(self, polygon: Any) -> float:
        """Ground area of a normalised image polygon, in square metres."""
        g = self.to_ground(polygon)
        x, y = g[:, 0], g[:, 1]
        return float(0.5 * abs(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))

    def distance_m(self, p: Any, q: Any) -> float:
        """Ground distance between two normalised image points, in metres."""
        a, b = self.to_ground(np.stack([np.asarray(p), np.asarray(q)]))
        return float(np.linalg.norm(a - b))


def _max_triangle_area(pts: Array) -> float:
    best = 0.0
    n = len(pts)
    for i in range(n):
        for j in range(i + 1, n):
            for k in range(j + 1, n):
                a, b, c = pts[i], pts[j], pts[k]
                area = 0.5 * abs((b[0] - a[0]) * (c[1] - a[1]) - (b[1] - a[1]) * (c[0] - a[0]))
                best = max(best, area)
    return best
