from __future__ import annotations

import numpy as np
import pytest

from veilleur.runtime.core.detections import Detections, box_iou, nms


def test_iou_table():
    a = np.array([[0, 0, 10, 10]], dtype=np.float32)
    b = np.array([[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]], dtype=np.float32)
    np.testing.assert_allclose(box_iou(a, b), [[1.0, 50 / 150, 0.0]], rtol=1e-6)
    assert box_iou(a, np.zeros((0, 4), np.float32)).shape == (1, 0)


def test_nms_is_class_aware():
    boxes = np.array([[0, 0, 10, 10], [1, 1, 10, 10], [1, 1, 10, 10]], dtype=np.float32)
    scores = np.array([0.9, 0.8, 0.7], dtype=np.float32)
    classes = np.array([0, 0, 1])
    assert nms(boxes, scores, classes, 0.5).tolist() == [0, 2]
    assert nms(np.zeros((0, 4), np.float32), np.zeros(0, np.float32), classes[:0], 0.5).size == 0


def test_detections_shape_checks_and_helpers():
    d = Detections.from_arrays([[0, 0, 10, 20], [10, 10, 30, 30]], [0.9, 0.4], [0, 3])
    assert len(d) == 2
    assert d.tracker_id.tolist() == [-1, -1]
    assert d.foot_points().tolist() == [[5, 20], [20, 30]]
    assert d.area().tolist() == [200, 400]
    assert len(d[d.confidence > 0.5]) == 1
    assert d.scaled(0.1, 0.5).xyxy[0].tolist() == pytest.approx([0, 0, 1, 10])
    with pytest.raises(ValueError):
        Detections(np.zeros((2, 3), np.float32), np.zeros(2, np.float32), np.zeros(2, np.int64))
    assert len(Detections.empty()) == 0
