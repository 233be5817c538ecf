"""Post-processing and the quick mAP@0.5 used to monitor training."""

from __future__ import annotations

import numpy as np
import pytest

from veilleur.runtime.core.detections import Detections
from veilleur.training.quick_map import map50, postprocess

GT = (np.array([[0, 0, 10, 10], [20, 20, 40, 40]], np.float32), np.array([0, 1]))


def _det(rows: list[list[float]]) -> Detections:
    a = np.asarray(rows, dtype=np.float32).reshape(-1, 6)
    return Detections.from_arrays(a[:, :4], a[:, 4], a[:, 5].astype(np.int64))


@pytest.mark.parametrize(
    ("pred", "expected"),
    [
        ([[0, 0, 10, 10, 0.9, 0], [20, 20, 40, 40, 0.8, 1]], 1.0),
        ([], 0.0),
        ([[0, 0, 10, 10, 0.9, 1], [20, 20, 40, 40, 0.8, 0]], 0.0),  # classes swapped
        ([[0, 0, 10, 10, 0.9, 0]], 0.5),  # class 1 missed
        ([[0, 0, 10, 10, 0.9, 0], [0, 0, 10, 10, 0.8, 0], [20, 20, 40, 40, 0.8, 1]], 1.0),
        ([[0, 0, 10, 10, 0.5, 0], [50, 50, 60, 60, 0.9, 0], [20, 20, 40, 40, 0.8, 1]], 0.75),
    ],
)
def test_map50(pred: list[list[float]], expected: float) -> None:
    assert map50([_det(pred)], [GT]) == pytest.approx(expected)


def test_postprocess_thresholds_and_suppresses() -> None:
    out = np.array(
        [
            [0, 0, 10, 10, 0.9, 0.1],
            [1, 1, 10, 10, 0.8, 0.7],  # suppressed for class 0, kept for class 1
            [50, 50, 60, 60, 0.2, 0.1],  # below threshold
        ],
        dtype=np.float32,
    )
    d = postprocess(out, confidence=0.5, nms_iou=0.5)
    kept = sorted(zip(d.class_id.tolist(), d.confidence.tolist(), strict=True))
    assert [(c, round(p, 2)) for c, p in kept] == [(0, 0.9), (1, 0.7)]
