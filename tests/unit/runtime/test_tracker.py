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


def test_a_falling_person_keeps_their_id_and_the_class_follows():
    # person (0) standing, then the detector calls the same body person_lying (7)
    tr = ByteTracker()
    out = None
    for i in range(5):
        out = tr.update(Detections.from_arrays([[100, 100, 140, 200]], [0.9], [0]), i * 0.2)
    assert out is not None and out.tracker_id.tolist() == [1]
    lying = Detections.from_arrays([[80, 160, 180, 200]], [0.9], [7])
    for i in range(5, 10):
        out = tr.update(lying, i * 0.2)
        assert out.tracker_id.tolist() == [1]
    track = tr.track(1)
    assert track is not None and track.class_id == 7
    assert len(tr.tracks) == 1


def test_other_classes_still_never_share_a_track():
    tr = ByteTracker()
    for i in range(3):
        tr.update(walker(10, cls=0), i * 0.2)
    # a bag (3) exactly where the person was: a new track, not the person's
    tr.update(walker(10, cls=3), 0.6)
    assert tr.update(walker(10, cls=3), 0.8).tracker_id.tolist() == [2]


def test_person_and_person_lying_boxes_of_one_body_make_one_track():
    # class-aware NMS keeps both boxes of a falling body: the duplicate starts no track
    tr = ByteTracker()
    for i in range(3):
        tr.update(Detections.from_arrays([[100, 100, 140, 200]], [0.9], [0]), i * 0.2)
    both = Detections.from_arrays([[100, 110, 145, 200], [98, 112, 146, 200]], [0.9, 0.8], [0, 7])
    for i in range(3, 6):
        out = tr.update(both, i * 0.2)
        assert sorted(out.tracker_id.tolist()) == [-1, 1]  # whichever overlaps the track more
    assert [t.track_id for t in tr.tracks] == [1]


def test_class_groups_can_be_switched_off():
    tr = ByteTracker(TrackerParams(class_groups=()))
    for i in range(3):
        tr.update(Detections.from_arrays([[100, 100, 140, 200]], [0.9], [0]), i * 0.2)
    lying = Detections.from_arrays([[100, 120, 140, 200]], [0.9], [7])
    tr.update(lying, 0.6)
    assert tr.update(lying, 0.8).tracker_id.tolist() == [2]


def test_a_posture_change_with_little_overlap_keeps_the_id():
    # a 30 × 170 px person and the 140 × 30 px body on the ground: IoU ≈ 0.11 < match_iou
    tr = ByteTracker()
    for i in range(5):
        tr.update(Detections.from_arrays([[100, 30, 130, 200]], [0.9], [0]), i * 0.2)
    lying = Detections.from_arrays([[60, 170, 200, 200]], [0.9], [7])
    # the shape jump is not taken as motion: the prediction does not keep stretching the box
    assert [tr.update(lying, 1.0 + i * 0.2).tracker_id[0] for i in range(5)] == [1] * 5


def test_the_same_class_wins_over_a_class_change():
    tr = ByteTracker()
    for i in range(3):
        tr.update(Detections.from_arrays([[100, 100, 140, 200]], [0.9], [0]), i * 0.2)
    # the person moved a little; a lying body overlaps the old box more (another person)
    d = Detections.from_arrays([[112, 100, 152, 200], [100, 150, 140, 200]], [0.9, 0.9], [0, 7])
    out = tr.update(d, 0.6)
    assert out.tracker_id.tolist() == [1, -1]
    track = tr.track(1)
    assert track is not None and track.class_id == 0
