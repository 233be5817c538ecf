from __future__ import annotations

import math

import numpy as np
import pytest

from veilleur.runtime.analytics.motion import MotionHistory, spread_rate_mps
from veilleur.runtime.core.calibration import (
    PERSON_HEIGHT_M,
    GroundPlane,
    approx_ground_m,
    approx_metres_per_unit,
    y_normalised,
)
from veilleur.runtime.core.detections import Detections

GROUND = GroundPlane([[0, 0], [1, 0], [1, 1], [0, 1]], [[0, 0], [20, 0], [20, 20], [0, 20]])


def person(foot_x: float, foot_y: float, tid: int = 1, height: float = 0.17) -> Detections:
    return Detections.from_arrays(
        [[foot_x - 0.01, foot_y - height, foot_x + 0.01, foot_y]], [0.9], [0], [tid]
    )


@pytest.mark.req("EX-008")
@pytest.mark.parametrize(
    ("p", "q", "height", "aspect", "metres"),
    [
        ((0.1, 0.5), (0.2, 0.5), 0.17, 1.0, 1.0),  # 10 m per frame height, x like y
        ((0.1, 0.5), (0.2, 0.5), 0.17, 16 / 9, 16 / 9),  # x units are 16/9 longer
        ((0.5, 0.1), (0.5, 0.2), 0.17, 16 / 9, 1.0),  # y units are frame heights
        ((0.5, 0.5), (0.5, 0.6), 0.085, 4 / 3, 2.0),  # a person half as tall: twice the scale
    ],
)
def test_box_height_scale_gives_approximate_metres(p, q, height, aspect, metres):
    a, b = approx_ground_m([p, q], height, aspect)
    assert float(np.linalg.norm(b - a)) == pytest.approx(metres)


def test_box_height_scale_per_point_and_its_errors():
    g = approx_ground_m([[0.0, 1.0], [0.0, 1.0]], [0.17, 0.34], aspect=1.0)
    assert g[:, 1].tolist() == pytest.approx([10.0, 5.0])
    assert float(approx_metres_per_unit(0.2)) == pytest.approx(PERSON_HEIGHT_M / 0.2)
    assert y_normalised([[0.5, 0.5]], 2.0).tolist() == [[1.0, 0.5]]
    with pytest.raises(ValueError, match="positive"):
        approx_metres_per_unit([0.2, 0.0])
    with pytest.raises(ValueError, match="aspect"):
        y_normalised([[0.1, 0.1]], 0.0)


@pytest.mark.parametrize("ground", [GROUND, None], ids=["calibrated", "box-height"])
def test_speed_of_a_walker(ground):
    # 1 normalised unit is 20 m calibrated, 10 m by the 0.17-tall box (aspect 1)
    m = MotionHistory(ground=ground, frame_aspect=1.0)
    step = 0.0075 if ground is not None else 0.015  # 1.5 m/s at 10 fps
    speeds = []
    for i in range(21):
        t = i * 0.1
        m.observe(person(0.2 + step * i, 0.6), t)
        speeds.append(m.speed_mps(1, t, window_s=1.0))
    assert speeds[:5] == [None] * 5  # less than half a window seen
    assert speeds[-1] == pytest.approx(1.5)
    assert m.degraded is (ground is None)


def test_speed_is_net_displacement_so_jitter_does_not_add_up():
    m = MotionHistory(ground=GROUND)
    for i in range(11):
        m.observe(person(0.5 + 0.002 * (-1) ** i, 0.5), i * 0.1)  # ±4 cm jitter
    assert (m.speed_mps(1, 1.0) or 0.0) < 0.1


def test_untracked_boxes_are_skipped_and_lost_tracks_forgotten():
    m = MotionHistory(ground=GROUND, forget_s=5.0)
    assert m.observe(person(0.5, 0.5, tid=-1), 0.0) == []
    assert m.observe(person(0.5, 0.5, tid=4), 0.0) == [4]
    assert m.last(4) is not None
    assert m.speed_mps(4, 1.0) is None  # not seen at t=1
    m.observe(Detections.empty(), 6.0)
    assert m.last(4) is None
    # time never goes back for a track
    m.observe(person(0.5, 0.5, tid=5), 7.0)
    assert m.observe(person(0.6, 0.5, tid=5), 7.0) == []


@pytest.mark.parametrize(("rate", "expected"), [(2.0, 2.0), (-1.0, -1.0), (0.0, 0.0)])
def test_spread_rate_of_a_ring(rate, expected):
    m = MotionHistory(ground=GROUND)
    for i in range(11):
        t = i * 0.1
        r = (4.0 + rate * t) / 20  # metres → normalised
        d = Detections.from_arrays(
            [
                [
                    0.5 + r * math.cos(k * math.pi / 3) - 0.01,
                    0.5 + r * math.sin(k * math.pi / 3) - 0.1,
                    0.5 + r * math.cos(k * math.pi / 3) + 0.01,
                    0.5 + r * math.sin(k * math.pi / 3),
                ]
                for k in range(6)
            ],
            [0.9] * 6,
            [0] * 6,
            list(range(1, 7)),
        )
        m.observe(d, t)
    spans = [s for k in range(1, 7) if (s := m.span(k, 1.0, 1.0)) is not None]
    assert len(spans) == 6
    assert spread_rate_mps(m, spans) == pytest.approx(expected, abs=1e-3)  # float32 boxes
    assert spread_rate_mps(m, spans[:1]) == 0.0
