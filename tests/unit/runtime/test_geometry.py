from __future__ import annotations

import numpy as np
import pytest

from veilleur.runtime.core.geometry import (
    angle_between_deg,
    points_in_polygon,
    segments_intersect,
    side_of_line,
)

SQUARE = np.array([[0.2, 0.2], [0.6, 0.2], [0.6, 0.6], [0.2, 0.6]], dtype=np.float32)
CONCAVE = np.array([[0, 0], [1, 0], [1, 1], [0.5, 0.4], [0, 1]], dtype=np.float32)


@pytest.mark.parametrize(
    ("polygon", "point", "inside"),
    [
        (SQUARE, (0.4, 0.4), True),
        (SQUARE, (0.1, 0.4), False),
        (SQUARE, (0.7, 0.7), False),
        (SQUARE, (0.4, 0.61), False),
        (CONCAVE, (0.5, 0.8), False),  # in the notch of the concave shape
        (CONCAVE, (0.9, 0.8), True),
    ],
)
def test_points_in_polygon(polygon, point, inside):
    got = points_in_polygon(np.array([point], dtype=np.float32), polygon)
    assert got.tolist() == [inside]


def test_points_in_polygon_empty_and_degenerate():
    assert points_in_polygon(np.zeros((0, 2), dtype=np.float32), SQUARE).shape == (0,)
    with pytest.raises(ValueError, match="at least 3"):
        points_in_polygon(np.zeros((1, 2), dtype=np.float32), SQUARE[:2])


@pytest.mark.parametrize(
    ("point", "sign"),
    [((0.4, 0.5), 1), ((0.6, 0.5), -1), ((0.5, 0.3), 0)],
)
def test_side_of_line_convention(point, sign):
    # A line drawn downwards: its right-hand side (walking a → b) is the screen's left.
    s = side_of_line(np.array([point]), np.array([0.5, 0.0]), np.array([0.5, 1.0]))[0]
    assert np.sign(s) == sign


@pytest.mark.parametrize(
    ("p0", "p1", "crosses"),
    [
        ((0.4, 0.5), (0.6, 0.5), True),
        ((0.4, 0.5), (0.45, 0.5), False),
        ((0.4, 1.5), (0.6, 1.5), False),  # beyond the segment's end
        ((0.4, 0.5), (0.5, 0.5), True),  # touching counts
    ],
)
def test_segments_intersect(p0, p1, crosses):
    a, b = np.array([0.5, 0.0]), np.array([0.5, 1.0])
    assert segments_intersect(np.array(p0), np.array(p1), a, b) is crosses


@pytest.mark.parametrize(
    ("u", "v", "deg"), [((1, 0), (1, 0), 0.0), ((1, 0), (0, 1), 90.0), ((1, 0), (-2, 0), 180.0)]
)
def test_angle_between(u, v, deg):
    assert angle_between_deg(np.array(u, float), np.array(v, float)) == pytest.approx(deg)


def test_angle_of_zero_vector_is_an_error():
    with pytest.raises(ValueError):
        angle_between_deg(np.zeros(2), np.ones(2))
