"""Bicycles (class ``bicycle``) ridden by a person: wheels, frame and handlebar."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from veilleur.data.synth.actors import Person
from veilleur.data.synth.camera import FloatArray, PinholeCamera
from veilleur.data.synth.canvas import Canvas
from veilleur.data.synth.geometry import body_to_world

WHEEL_R = 0.34
RING = 14
REAR, FRONT, BB, SEAT, BAR, HEAD_LOW, BAR_L, BAR_R = range(8)
FRAME = ((REAR, BB), (BB, SEAT), (SEAT, REAR), (SEAT, HEAD_LOW), (BB, HEAD_LOW), (HEAD_LOW, BAR),
         (HEAD_LOW, FRONT), (BAR_L, BAR_R))  # fmt: skip
_LOCAL = np.array(
    [[0, -0.52, WHEEL_R], [0, 0.52, WHEEL_R], [0, 0.0, 0.3], [0, -0.2, 0.9], [0, 0.45, 1.0],
     [0, 0.42, 0.62], [-0.25, 0.45, 1.0], [0.25, 0.45, 1.0]]
)  # fmt: skip


def _local() -> FloatArray:
    ang = np.linspace(0.0, 2 * np.pi, RING, endpoint=False)
    rings = [
        np.stack(
            [np.zeros(RING), hub_y + WHEEL_R * np.cos(ang), WHEEL_R + WHEEL_R * np.sin(ang)], 1
        )
        for hub_y in (-0.52, 0.52)
    ]
    return np.vstack([_LOCAL, *rings])


@dataclass
class BicycleView:
    """Pixels of a ridden bicycle for every frame."""

    track_id: int
    uv: FloatArray
    width: FloatArray
    colours: NDArray[np.int64]


def prepare_bicycle(rider: Person, cam: PinholeCamera, colours: NDArray[np.int64]) -> BicycleView:
    """``colours``: lit (tyre, frame) colours per frame ``(F, 2, 3)``."""
    assert rider.bicycle_id is not None
    n = len(rider.tilt)
    loc = np.broadcast_to(_local(), (n, len(_local()), 3))
    world = body_to_world(loc, rider.kin.pos, rider.kin.heading, np.zeros(n))
    uv, depth = cam.project(world)
    width = cam.focal_px / np.maximum(depth[:, BB], 1e-3)
    return BicycleView(rider.bicycle_id, uv, width, colours)


def draw_bicycle(cv: Canvas, v: BicycleView, i: int) -> None:
    u: list[list[float]] = v.uv[i].tolist()
    scale = float(v.width[i])
    tyre, frame = (tuple(c) for c in v.colours[i].tolist())
    for start in (8, 8 + RING):
        ring = u[start : start + RING]
        for a, b in zip(ring, ring[1:] + ring[:1], strict=True):
            cv.line(a, b, 0.05 * scale, tyre, v.track_id)
    for ja, jb in FRAME:
        cv.line(u[ja], u[jb], 0.04 * scale, frame, v.track_id)
