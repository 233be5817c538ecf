from __future__ import annotations

import numpy as np
import pytest

from veilleur.runtime.analytics.base import RuleHit
from veilleur.runtime.analytics.fall import PersonOnGround, Posture, pixel_ratio
from veilleur.runtime.core.detections import Detections
from veilleur.runtime.core.events import EventType
from veilleur.runtime.track.bytetrack import ByteTracker

W, H = 1920, 1080  # a 16:9 frame
FULL = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float32)
PERSON, LYING = 0, 7
CLASSES = frozenset({PERSON, LYING})
DT = 0.2

# pixel sizes (w, h) of the postures, all with their foot point at (960, 800) px
STAND = (60, 170)  # ratio 2.8
LIE = (170, 50)  # 0.29
SIT = (100, 100)  # 1.0
BEND = (140, 90)  # 0.64: bending over looks like lying for a moment


def box(
    size: tuple[int, int], tid: int = 1, cls: int = PERSON, x: float = 960, conf: float = 0.8
) -> Detections:
    w, h = size
    xyxy = [(x - w / 2) / W, (800 - h) / H, (x + w / 2) / W, 800 / H]
    return Detections.from_arrays([xyxy], [conf], [cls], [tid])


def rule(**kw: object) -> PersonOnGround:
    return PersonOnGround("r", "z", FULL, CLASSES, **kw)  # type: ignore[arg-type]


def play(
    a: PersonOnGround, segments: list[tuple[float, Detections | None]], t0: float = 0.0
) -> list[RuleHit]:
    """Feed each segment's detections (None: nothing seen) every DT for its duration."""
    hits: list[RuleHit] = []
    t = t0
    for duration, d in segments:
        for _ in range(round(duration / DT)):
            hits += a.update(d if d is not None else Detections.empty(), round(t, 6))
            t += DT
    return hits


@pytest.mark.parametrize(
    ("size", "posture"),
    [(STAND, Posture.UPRIGHT), (LIE, Posture.LYING), (SIT, Posture.OTHER), (BEND, Posture.LYING)],
)
def test_posture_uses_the_pixel_ratio_not_the_normalised_one(size, posture):
    d = box(size)
    assert rule().posture(PERSON, d.xyxy[0]) is posture
    assert rule().posture(LYING, d.xyxy[0]) is Posture.LYING  # the class says so
    assert rule().posture(3, d.xyxy[0]) is Posture.OTHER  # not a person


def test_pixel_ratio_corrects_the_frame_aspect():
    d = box((100, 250))
    assert float((d.xyxy[0, 3] - d.xyxy[0, 1]) / (d.xyxy[0, 2] - d.xyxy[0, 0])) > 4.4
    assert pixel_ratio(d.xyxy[0], W / H) == pytest.approx(2.5, rel=1e-4)
    # a sitting person in a 16:9 frame would look upright if the aspect were ignored
    assert rule(frame_aspect=1.0).posture(PERSON, box(SIT).xyxy[0]) is Posture.UPRIGHT


@pytest.mark.req("EX-003")
@pytest.mark.parametrize(
    "lying",
    [box(LIE, cls=LYING), box(LIE, cls=PERSON)],
    ids=["person_lying-class", "wide-person-box"],
)
def test_upright_then_lying_alerts_after_min_lying_s(lying):
    hits = play(rule(), [(3.0, box(STAND)), (6.0, lying)])
    assert len(hits) == 1
    h = hits[0]
    assert (h.event, h.zone, h.track_ids) == (EventType.PERSONNE_AU_SOL, "z", (1,))
    assert h.start_s == pytest.approx(3.0)
    assert h.t == pytest.approx(6.0)
    assert h.boxes == (tuple(round(float(v), 4) for v in lying.xyxy[0]),)


def test_a_fall_through_a_brief_in_between_posture_alerts():
    hits = play(rule(), [(3.0, box(STAND)), (0.4, box(SIT)), (5.0, box(LIE, cls=LYING))])
    assert len(hits) == 1 and hits[0].start_s == pytest.approx(3.4)


def test_hard_negative_lying_from_first_sight():
    assert play(rule(), [(20.0, box(LIE, cls=LYING))]) == []


def test_hard_negative_sitting_down():
    sit_jitter = [box((95, 100)), box(SIT), box((105, 100)), box((110, 100))]
    segments: list[tuple[float, Detections | None]] = [(3.0, box(STAND))]
    segments += [(DT, sit_jitter[i % 4]) for i in range(60)]
    assert play(rule(), segments) == []


def test_hard_negative_bending_briefly_and_repeatedly():
    segments: list[tuple[float, Detections | None]] = [(3.0, box(STAND))]
    for _ in range(4):
        segments += [(1.6, box(BEND)), (1.0, box(STAND))]
    assert play(rule(), segments) == []


def test_hard_negative_too_briefly_upright_before():
    # first seen for 0.6 s only upright (below upright_before_s), then lying
    assert play(rule(), [(0.6, box(STAND)), (6.0, box(LIE, cls=LYING))]) == []
    assert len(play(rule(upright_before_s=0.4), [(0.6, box(STAND)), (6.0, box(LIE))])) == 1


def test_hard_negative_lying_down_slowly_after_a_long_sit():
    segments = [(3.0, box(STAND)), (5.0, box(SIT)), (10.0, box(LIE, cls=LYING))]
    assert play(rule(), segments) == []


def test_lying_shorter_than_min_lying_s_then_getting_up():
    assert play(rule(), [(3.0, box(STAND)), (2.6, box(LIE)), (3.0, box(STAND))]) == []


def test_short_gaps_while_lying_are_tolerated_long_ones_are_not():
    lie = box(LIE, cls=LYING)
    short: list[tuple[float, Detections | None]] = [
        (3.0, box(STAND)),
        (1.0, lie),
        (1.0, None),  # occluded by a passer-by
        (0.4, box(SIT)),  # a squarer box for a moment
        (2.0, lie),
    ]
    hits = play(rule(), short)
    assert len(hits) == 1 and hits[0].start_s == pytest.approx(3.0)
    long_gap: list[tuple[float, Detections | None]] = [
        (3.0, box(STAND)),
        (1.0, lie),
        (2.6, None),
        (5.0, lie),
    ]
    assert play(rule(), long_gap) == []


def test_an_id_change_at_the_fall_is_bridged():
    # an untracked first frame (the tracker confirms on the second), then a new id
    hits = play(
        rule(),
        [(3.0, box(STAND, tid=1)), (DT, box(LIE, tid=-1, cls=LYING)), (5.0, box(LIE, tid=2))],
    )
    assert len(hits) == 1
    assert hits[0].track_ids == (2,)
    assert hits[0].start_s == pytest.approx(3.2)


def test_a_new_lying_track_far_from_the_upright_one_is_not_bridged():
    far = box(LIE, tid=2, cls=LYING, x=300)
    assert play(rule(), [(3.0, box(STAND, tid=1)), (6.0, far)]) == []


def test_a_duplicate_lying_box_does_not_steal_a_present_track():
    # the detector outputs both classes for the fallen body, with two ids
    both = Detections.from_arrays(
        np.vstack([box(LIE, tid=2, cls=LYING).xyxy, box(LIE, tid=1).xyxy]),
        [0.8, 0.6],
        [LYING, PERSON],
        [2, 1],
    )
    hits = play(rule(), [(3.0, box(STAND, tid=1)), (5.0, both)])
    assert [h.track_ids for h in hits] == [(1,)]


def test_occlusion_with_a_new_id_while_lying_keeps_the_lying_run():
    hits = play(
        rule(),
        [(3.0, box(STAND)), (1.6, box(LIE, tid=1)), (1.0, None), (2.0, box(LIE, tid=8))],
    )
    assert len(hits) == 1
    assert (hits[0].track_ids, hits[0].start_s) == ((8,), pytest.approx(3.0))


def test_cooldown_per_track():
    fall = [(3.0, box(STAND)), (4.0, box(LIE, cls=LYING))]
    a = rule(cooldown_s=60.0)
    first = play(a, fall)
    again = play(a, fall, t0=7.0)  # gets up and falls again 7 s later
    late = play(a, fall, t0=80.0)
    assert (len(first), len(again), len(late)) == (1, 0, 1)


def test_one_alert_per_lying_run():
    assert len(play(rule(cooldown_s=0.0), [(3.0, box(STAND)), (30.0, box(LIE))])) == 1


def test_lying_outside_the_zone_is_ignored():
    left = np.array([[0, 0], [0.3, 0], [0.3, 1], [0, 1]], dtype=np.float32)
    a = PersonOnGround("r", "z", left, CLASSES)
    assert play(a, [(3.0, box(STAND)), (6.0, box(LIE))]) == []


def test_with_the_tracker_a_fall_keeps_one_id_end_to_end():
    tracker = ByteTracker()
    a = rule()
    hits: list[RuleHit] = []
    t = 0.0
    for size, cls, n in ((STAND, PERSON, 15), (LIE, LYING, 25)):
        for _ in range(n):
            raw = box(size, tid=-1, cls=cls)
            hits += a.update(tracker.update(raw, t), t)
            t = round(t + DT, 6)
    assert len(hits) == 1 and hits[0].track_ids == (1,)
