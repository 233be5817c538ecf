"""Walking routes: waypoint timelines → per-frame kinematics, and the checks that keep
background actors from triggering events they are not meant to trigger.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from veilleur.data.synth.camera import BoolArray, FloatArray
from veilleur.data.synth.layout import (
    ZONE_CORRIDOR,
    ZONE_FORBIDDEN,
    ZONE_LINE,
    Layout,
    point_in_convex,
)
from veilleur.runtime.core.geometry import points_in_polygon


@dataclass(frozen=True)
class Kinematics:
    """Per-frame ground motion of one actor (``pos`` is NaN while the actor is off the scene)."""

    pos: FloatArray
    heading: FloatArray
    speed: FloatArray
    dist: FloatArray

    @property
    def present(self) -> BoolArray:
        result: BoolArray = ~np.isnan(self.pos[:, 0])
        return result


def follow(
    points: Sequence[tuple[float, float]] | FloatArray,
    speeds: float | Sequence[float],
    t0: float,
    times: FloatArray,
    waits: Sequence[float] | None = None,
    hold_start: bool = False,
    hold_end: bool = False,
) -> Kinematics:
    """Walk ``points`` from time ``t0`` at ``speeds`` (m/s, one per leg), pausing ``waits[i]``
    seconds at waypoint ``i``.

    Before ``t0`` the actor is absent unless ``hold_start`` (then it stands at the first point);
    after the last point it is absent unless ``hold_end``.

    Example:
        >>> k = follow([(0, 0), (10, 0)], 1.0, 0.0, np.array([0.0, 5.0, 20.0]))
        >>> k.pos[1].tolist(), bool(np.isnan(k.pos[2, 0]))
        ([5.0, 0.0], True)
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 2)
    n = len(pts)
    v = np.broadcast_to(np.asarray(speeds, dtype=np.float64), (max(n - 1, 1),))
    w = np.zeros(n) if waits is None else np.asarray(waits, dtype=np.float64)
    knot_t = [t0]
    knot_p = [pts[0]]
    knot_d = [0.0]
    knot_h: list[float] = []
    knot_s: list[float] = []
    heading = 0.0 if n < 2 else math.atan2(*(pts[1] - pts[0])[::-1])
    if w[0] > 0:
        knot_t.append(knot_t[-1] + w[0])
        knot_p.append(pts[0])
        knot_d.append(0.0)
        knot_h.append(heading)
        knot_s.append(0.0)
    for i in range(1, n):
        seg = pts[i] - pts[i - 1]
        length = float(np.hypot(*seg))
        if length > 1e-9:
            heading = math.atan2(seg[1], seg[0])
        dt = length / max(float(v[i - 1]), 1e-6)
        knot_t.append(knot_t[-1] + max(dt, 1e-6))
        knot_p.append(pts[i])
        knot_d.append(knot_d[-1] + length)
        knot_h.append(heading)
        knot_s.append(float(v[i - 1]) if length > 1e-9 else 0.0)
        if w[i] > 0:
            knot_t.append(knot_t[-1] + w[i])
            knot_p.append(pts[i])
            knot_d.append(knot_d[-1])
            knot_h.append(heading)
            knot_s.append(0.0)
    kt = np.asarray(knot_t)
    kp = np.asarray(knot_p)
    t = np.asarray(times, dtype=np.float64)
    pos = np.stack([np.interp(t, kt, kp[:, 0]), np.interp(t, kt, kp[:, 1])], axis=1)
    dist = np.interp(t, kt, np.asarray(knot_d))
    if knot_h:
        seg_idx = np.clip(np.searchsorted(kt, t, side="right") - 1, 0, len(knot_h) - 1)
        head = np.asarray(knot_h)[seg_idx]
        speed = np.asarray(knot_s)[seg_idx]
    else:
        head = np.full(len(t), heading)
        speed = np.zeros(len(t))
    speed = np.where((t < kt[0]) | (t > kt[-1]), 0.0, speed)
    absent = np.zeros(len(t), dtype=bool)
    if not hold_start:
        absent |= t < kt[0]
    if not hold_end:
        absent |= t > kt[-1]
    pos[absent] = np.nan
    return Kinematics(pos, head, speed, dist)


def smooth(values: FloatArray, fps: float, window_s: float) -> FloatArray:
    """Centred moving average (edge-padded) of a per-frame signal."""
    k = max(1, round(window_s * fps))
    if k <= 1:
        return values.astype(np.float64)
    padded = np.pad(values.astype(np.float64), (k // 2, k - 1 - k // 2), mode="edge")
    result: FloatArray = np.convolve(padded, np.ones(k) / k, mode="valid")
    return result


def image_motion(lay: Layout, pos: FloatArray, fps: float, window_s: float = 1.0) -> FloatArray:
    """Normalised image foot-point velocity per frame, over a trailing window (NaN if unknown)."""
    cam = lay.camera
    norm = cam.project_ground(np.nan_to_num(pos)) / np.array([cam.width, cam.height])
    norm[np.isnan(pos[:, 0])] = np.nan
    k = max(1, round(window_s * fps))
    vel: FloatArray = np.full(norm.shape, np.nan)
    vel[k:] = (norm[k:] - norm[:-k]) / (k / fps)
    return vel


def angle_to(vel: FloatArray, direction: tuple[float, float]) -> FloatArray:
    """Angle (deg) between each velocity row and ``direction`` (NaN for unknown velocity)."""
    d = np.asarray(direction, dtype=np.float64)
    norm = np.linalg.norm(vel, axis=1) * np.linalg.norm(d)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = (vel @ d) / norm
    result: FloatArray = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    return result


def violates(
    lay: Layout,
    kin: Kinematics,
    fps: float,
    tolerance_deg: float,
    zone_margin: float = 1.2,
    allow_road: bool = False,
) -> bool:
    """Whether a background actor would raise a zone, line or wrong-way event, walk on the
    road or through furniture.
    """
    ok = kin.present
    if not ok.any():
        return False
    pos = kin.pos[ok]
    if point_in_convex(lay.zones[ZONE_FORBIDDEN].world, pos, zone_margin).any():
        return True
    line = lay.zones[ZONE_LINE].world
    in_band = (pos[:, 1] > line[0, 1] - 1.5) & (pos[:, 1] < line[1, 1] + 1.5)
    # Crossing, standing beyond, or coming within 0.8 m of the platform line (box foot points
    # lead the feet by a few decimetres, and a route may cross right after the clip ends).
    if np.any(in_band & (lay.side_b * (pos[:, 0] - line[0, 0]) > -0.8)):
        return True
    if not allow_road and lay.road_y is not None:
        r0, r1 = lay.road_y
        if np.any((pos[:, 1] > r0 + 0.3) & (pos[:, 1] < r1 - 0.3)):
            return True
    for f in lay.furniture:
        if f.kind in ("lamp", "bench", "bin", "tree", "post", "sign", "beacon"):
            radius = 1.2 if f.kind == "bench" else 0.6
            if np.any(np.hypot(pos[:, 0] - f.x, pos[:, 1] - f.y) < radius):
                return True
    vel = image_motion(lay, kin.pos, fps)
    moving = kin.speed > 0.3
    cam = lay.camera
    feet = cam.project_ground(np.nan_to_num(kin.pos)) / np.array([cam.width, cam.height])
    inside = points_in_polygon(feet, lay.zones[ZONE_CORRIDOR].norm) & kin.present
    wrong = angle_to(vel, lay.allowed_direction()) > tolerance_deg - 20.0
    bad = inside & moving & np.nan_to_num(wrong).astype(bool)
    return bool(bad.sum() / fps > 0.5)
