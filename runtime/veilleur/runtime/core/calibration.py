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


# --- Uncalibrated fallback: the apparent height of a person as the scale -----------------------

PERSON_HEIGHT_M = 1.7
"""Assumed height of a standing person (m), the scale of every uncalibrated estimate."""


def y_normalised(points: Any, aspect: float) -> Array:
    """Normalised image points → the *y-normalised* frame: ``(x · aspect, y)``.

    Normalised coordinates divide x by the frame width and y by its height, so one unit of x
    and one unit of y are not the same length on screen. Multiplying x by ``aspect`` (display
    width / height, e.g. 16/9 for HD, 4/3 for 4CIF shown at 4:3) expresses both axes in units
    of the frame height, where distances are isotropic again (square display pixels).

    Example:
        >>> y_normalised([[0.5, 0.5]], 16 / 9).round(3).tolist()
        [[0.889, 0.5]]
    """
    if aspect <= 0:
        raise ValueError(f"frame aspect must be positive, got {aspect}")
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    out: Array = pts * np.array([aspect, 1.0])
    return out


def approx_metres_per_unit(box_height: Any, person_height_m: float = PERSON_HEIGHT_M) -> Array:
    """Metres per y-normalised image unit near a standing person, without calibration.

    A person ≈ ``person_height_m`` tall whose box is ``box_height`` frame heights tall gives
    ``person_height_m / box_height`` metres per frame height, at that person's depth.

    Args:
        box_height: normalised box height(s) (0–1] of standing people, scalar or (N,).

    Raises:
        ValueError: a height that is not positive (no scale can come from it).

    Example:
        >>> float(approx_metres_per_unit(0.2))
        8.5
    """
    h = np.asarray(box_height, dtype=np.float64)
    if np.any(~(h > 0)):
        raise ValueError("box heights must be positive to give a scale")
    out: Array = person_height_m / h
    return out


def approx_ground_m(
    points: Any,
    box_height: Any,
    aspect: float,
    person_height_m: float = PERSON_HEIGHT_M,
) -> Array:
    """Normalised image points → approximate metres, from people's box height (no calibration).

    The points are taken to the y-normalised frame (:func:`y_normalised`) and scaled by
    :func:`approx_metres_per_unit`. Differences of the results are approximate ground
    distances in metres; the absolute values mean nothing on their own.

    Args:
        points: (N, 2) normalised image points (foot points).
        box_height: one normalised height (a shared scale, e.g. the median height of the
            people involved: all points then live in one consistent frame) or one per point
            (each point in its own local scale: only use differences of points measured with
            similar heights, e.g. one track over a short window).
        aspect: display width / height of the frame.

    Caveats (why uncalibrated analytics are *degraded*):
        * the scale holds at the depth of the person whose height gave it; under perspective
          it is too small for farther points and too large for nearer ones;
        * motion along the camera's axis (up/down on screen) is foreshortened by the camera's
          tilt and comes out too short, unless the camera looks straight down;
        * box heights vary with pose (sitting, bending), occlusion and detector jitter, and the
          assumption only holds for people, not vehicles or objects.

    Example:
        >>> a, b = approx_ground_m([[0.1, 0.5], [0.2, 0.5]], 0.17, aspect=1.0)
        >>> round(float(np.linalg.norm(b - a)), 3)
        1.0
    """
    scale = approx_metres_per_unit(box_height, person_height_m)
    pts = y_normalised(points, aspect)
    if scale.ndim == 0:
        out: Array = pts * float(scale)
    else:
        out = pts * scale.reshape(-1, 1)
    return out
