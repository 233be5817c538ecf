"""Pinhole camera on a mast, looking down at a flat ground plane.

World frame (metres): ``X`` to the right, ``Y`` forward along the ground (away from the mast),
``Z`` up; the ground is ``Z = 0`` and the camera sits at ``(0, 0, height_m)``, pitched down by
``tilt_deg`` with no yaw or roll. Image frame: ``u`` right, ``v`` down, principal point at the
image centre, square pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]


@dataclass(frozen=True)
class PinholeCamera:
    """Projects world points (metres) to pixels and pixels back to the ground.

    Example:
        >>> cam = PinholeCamera(704, 576, focal_px=600.0, height_m=6.0, tilt_deg=30.0)
        >>> uv, depth = cam.project(np.array([[0.0, 10.0, 0.0]]))
        >>> bool(uv[0, 1] > 288)  # a ground point 10 m ahead is below the image centre
        True
    """

    width: int
    height: int
    focal_px: float
    height_m: float
    tilt_deg: float

    @property
    def cx(self) -> float:
        return self.width / 2.0

    @property
    def cy(self) -> float:
        return self.height / 2.0

    @property
    def tilt(self) -> float:
        return math.radians(self.tilt_deg)

    def to_camera(self, points: FloatArray) -> FloatArray:
        """World points ``(..., 3)`` → camera coordinates ``(..., 3)`` (x right, y down, z fwd)."""
        p = np.asarray(points, dtype=np.float64)
        s, c = math.sin(self.tilt), math.cos(self.tilt)
        x = p[..., 0]
        y = p[..., 1]
        z = p[..., 2] - self.height_m
        return np.stack([x, -y * s - z * c, y * c - z * s], axis=-1)

    def project(self, points: FloatArray) -> tuple[FloatArray, FloatArray]:
        """World points ``(..., 3)`` → pixels ``(..., 2)`` and depth along the optical axis.

        Points behind the camera get a depth ≤ 0; callers must skip them.
        """
        cam = self.to_camera(points)
        depth = cam[..., 2]
        safe = np.where(depth > 1e-3, depth, 1e-3)
        u = self.cx + self.focal_px * cam[..., 0] / safe
        v = self.cy + self.focal_px * cam[..., 1] / safe
        return np.stack([u, v], axis=-1), depth

    def project_ground(self, xy: FloatArray) -> FloatArray:
        """Ground points ``(..., 2)`` → pixels ``(..., 2)``."""
        p = np.asarray(xy, dtype=np.float64)
        pts = np.concatenate([p, np.zeros((*p.shape[:-1], 1))], axis=-1)
        return self.project(pts)[0]

    def depth_of_ground(self, y_m: FloatArray | float) -> FloatArray:
        """Optical-axis depth of ground points at forward distance ``y_m``."""
        y = np.asarray(y_m, dtype=np.float64)
        result: FloatArray = y * math.cos(self.tilt) + self.height_m * math.sin(self.tilt)
        return result

    def scale_px_per_m(self, points: FloatArray) -> FloatArray:
        """Pixels per metre (for sizes seen face-on) at world points ``(..., 3)``."""
        depth = self.to_camera(points)[..., 2]
        result: FloatArray = self.focal_px / np.maximum(depth, 1e-3)
        return result

    @property
    def horizon_row(self) -> float:
        """Image row of the horizon (may be above the top edge)."""
        return self.cy - self.focal_px * math.tan(self.tilt)

    def ground_y_at_row(self, v: FloatArray | float) -> FloatArray:
        """Forward distance of the ground seen at image row ``v`` (inf at/above the horizon)."""
        yn = (np.asarray(v, dtype=np.float64) - self.cy) / self.focal_px
        s, c = math.sin(self.tilt), math.cos(self.tilt)
        denom = yn * c + s
        with np.errstate(divide="ignore", invalid="ignore"):
            result: FloatArray = np.where(
                denom > 1e-9, self.height_m * (c - yn * s) / denom, np.inf
            )
        return result

    def ground_row(self, y_m: FloatArray | float) -> FloatArray:
        """Image row of the ground at forward distance ``y_m``."""
        y = np.asarray(y_m, dtype=np.float64)
        s, c = math.sin(self.tilt), math.cos(self.tilt)
        depth = y * c + self.height_m * s
        result: FloatArray = self.cy + self.focal_px * (-y * s + self.height_m * c) / depth
        return result

    def ground_from_pixel(self, uv: FloatArray) -> FloatArray:
        """Pixels ``(..., 2)`` → ground points ``(..., 2)`` (NaN at or above the horizon)."""
        p = np.asarray(uv, dtype=np.float64)
        xn = (p[..., 0] - self.cx) / self.focal_px
        yn = (p[..., 1] - self.cy) / self.focal_px
        s, c = math.sin(self.tilt), math.cos(self.tilt)
        denom = yn * c + s
        with np.errstate(divide="ignore", invalid="ignore"):
            dist = np.where(denom > 1e-9, self.height_m / denom, np.nan)
        return np.stack([dist * xn, dist * (c - yn * s)], axis=-1)

    def half_width_m(self, y_m: FloatArray | float) -> FloatArray:
        """Half of the ground width visible at forward distance ``y_m``."""
        result: FloatArray = self.cx / self.focal_px * self.depth_of_ground(y_m)
        return result


def sample_camera(
    rng: np.random.Generator,
    width: int,
    height: int,
    height_range: tuple[float, float],
    tilt_range: tuple[float, float],
    hfov_range: tuple[float, float],
) -> PinholeCamera:
    """Draw a plausible CCTV mast: the optical axis meets the ground 7–32 m ahead.

    The tilt is drawn from the part of ``tilt_range`` compatible with the mast height, so a
    low camera never stares at its own feet and a high one never looks at the sky.
    """
    h = float(rng.uniform(*height_range))
    lo = max(tilt_range[0], math.degrees(math.atan2(h, 32.0)))
    hi = min(tilt_range[1], math.degrees(math.atan2(h, 7.0)))
    if lo > hi:
        lo = hi = float(np.clip((lo + hi) / 2, *tilt_range))
    tilt = float(rng.uniform(lo, hi))
    hfov = math.radians(float(rng.uniform(*hfov_range)))
    focal = (width / 2.0) / math.tan(hfov / 2.0)
    return PinholeCamera(width, height, focal, h, tilt)
