from __future__ import annotations

import numpy as np
import pytest

from veilleur.runtime.core.calibration import CalibrationError, GroundPlane


def test_homography_maps_points_and_areas_in_metres() -> None:
    # a 10 m × 20 m ground rectangle seen in perspective (far side narrower on screen)
    img = [[0.3, 0.2], [0.7, 0.2], [0.9, 0.9], [0.1, 0.9]]
    gnd = [[0.0, 20.0], [10.0, 20.0], [10.0, 0.0], [0.0, 0.0]]
    g = GroundPlane(img, gnd)
    assert g.reprojection_error_m < 1e-6
    np.testing.assert_allclose(g.to_ground(img), gnd, atol=1e-6)
    assert g.area_m2(img) == pytest.approx(200.0, rel=1e-6)
    assert g.distance_m([0.1, 0.9], [0.9, 0.9]) == pytest.approx(10.0, rel=1e-6)
    # the same image distance covers more ground far away than near
    far = g.distance_m([0.45, 0.25], [0.55, 0.25])
    near = g.distance_m([0.45, 0.85], [0.55, 0.85])
    assert far > 1.5 * near


@pytest.mark.parametrize(
    ("img", "gnd", "message"),
    [
        ([[0, 0], [1, 1], [0, 1]], [[0, 0], [1, 1], [0, 1]], "at least 4"),
        ([[0, 0], [0.5, 0.5], [1, 1], [0.25, 0.25]], [[0, 0], [1, 0], [1, 1], [0, 1]], "collinear"),
        ([[0, 0], [1, 0], [1, 1], [0, 1]], [[0, 0], [1, 0], [1, 1]], "as many"),
    ],
)
def test_degenerate_calibration_is_refused(img, gnd, message) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(CalibrationError, match=message):
        GroundPlane(img, gnd)
