from __future__ import annotations

import numpy as np

from veilleur.runtime.core.detections import Detections
from veilleur.runtime.track.bytetrack import ByteTracker, TrackerParams


def walker(x: float, score: float = 0.9, cls: int = 0) -> Detections:
    return Detections.from_arrays([[x, 100, x + 40, 200]], [score], [cls])


def test_ids_are_stable_along_a_walk():
    tr = ByteTracker()
    ids = [tr.update(walker(10 + 8 * i), i * 0.2).tracker_id[0] for i in range(20)]
    assert ids[0] == -1  # not confirmed on first sight
    assert set(ids[1:]) == {1}


def test_low_score_boxes_keep_a_track_alive():
    tr = ByteTracker()
    for i in range(5):
        tr.update(walker(10 + 8 * i), i * 0.2)
    # partly occluded: low score, still the same track (ByteTrack's second pass)
    assert tr.update(walker(50, score=0.2), 1.0).tracker_id.tolist() == [1]
    # a low-score box with no track does not start one
    assert ByteTracker().update(walker(50, score=0.2), 0.0).tracker_id.tolist() == [-1]


def test_short_occlusion_keeps_id_long_one_does_not():
    tr = ByteTracker(TrackerParams(max_lost_s=1.0))
    for i in range(5):
        tr.update(walker(10 + 8 * i), i * 0.2)
    tr.update(Detections.empty(), 1.0)
    assert tr.update(walker(10 + 8 * 7), 1.4).tracker_id.tolist() == [1]
    tr.update(Detections.empty(), 2.0)
    tr.update(walker(300), 4.0)
    assert tr.update(walker(300), 4.2).tracker_id.tolist() == [2]


def test_two_people_crossing_classes_do_not_swap():
    tr = ByteTracker()
    out = None
    for i in range(10):
        d = Detections.from_arrays(
            [[10 + 10 * i, 100, 50 + 10 * i, 200], [200 - 10 * i, 100, 240 - 10 * i, 200]],
            [0.9, 0.9],
            [0, 3],
        )
        out = tr.update(d, i * 0.2)
    assert out is not None
    assert out.tracker_id.tolist() == [1, 2]
    assert np.all(out.class_id == [0, 3])
