"""AbandonedObject: the keeper leaving is the trigger; hard negatives do not alert.

Coordinates are normalised; people are 0.2 frame heights tall, so (uncalibrated, 16:9) one unit
of x is 0.2⁻¹ · 1.7 m · 16/9 ≈ 15.1 m: 0.1 units per second is a walk at 1.5 m/s.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from veilleur.runtime.analytics.abandoned import AbandonedObject
from veilleur.runtime.analytics.base import RuleHit, SceneCues
from veilleur.runtime.core.calibration import GroundPlane
from veilleur.runtime.core.detections import Detections
from veilleur.runtime.core.events import EventType

PERSON, BAG, VEHICLE = 0, 3, 1
OWNER, BAG_ID, PASSER = 1, 2, 3
ZONE = np.array([[0.1, 0.1], [0.9, 0.1], [0.9, 0.9], [0.1, 0.9]], dtype=np.float32)
FPS = 5.0
Y = 0.6
DROP_X = 0.53

Box = list[float]
Obj = tuple[Box, int, int, float]  # box, class, tracker id, confidence


def person(x: float, y: float = Y, tid: int = OWNER) -> Obj:
    return ([x - 0.03, y - 0.2, x + 0.03, y], PERSON, tid, 0.9)


def bag(x: float, y: float = Y, tid: int = BAG_ID) -> Obj:
    return ([x - 0.02, y - 0.04, x + 0.02, y], BAG, tid, 0.7)


def dets(*objs: Obj) -> Detections:
    if not objs:
        return Detections.empty()
    return Detections.from_arrays(
        [o[0] for o in objs], [o[3] for o in objs], [o[1] for o in objs], [o[2] for o in objs]
    )


def blob(box: Box, blob_id: int = 1, conf: float = 0.6) -> SceneCues:
    return SceneCues(static_objects=Detections.from_arrays([box], [conf], [-1], [blob_id]))


Step = Callable[[float], tuple[Detections, SceneCues]]


def run(rule: AbandonedObject, step: Step, duration: float) -> list[RuleHit]:
    hits: list[RuleHit] = []
    for i in range(round(duration * FPS)):
        t = i / FPS
        d, cues = step(t)
        hits.extend(rule.update(d, t, cues))
    return hits


def rule(**kw: object) -> AbandonedObject:
    return AbandonedObject("abandon", "hall", ZONE, frozenset({BAG}), **kw)  # type: ignore[arg-type]


def owner_x(t: float, leave_at: float = 5.0) -> float:
    """Walks in from the left (0.1/s), stops at 0.5 from 3 s, walks off to the right."""
    if t < 3.0:
        return 0.2 + 0.1 * t
    if t < leave_at:
        return 0.5
    return 0.5 + 0.1 * (t - leave_at)


def owner_drops_bag(t: float, leave_at: float = 5.0, bag_tid: int = BAG_ID) -> list[Obj]:
    """The owner carries the bag (on their right), drops it at 3 s, leaves at ``leave_at``."""
    x = owner_x(t, leave_at)
    objs = [bag(x + 0.03 if t < 3.0 else DROP_X, tid=bag_tid)]
    if x < 1.0:
        objs.append(person(x))
    return objs


@pytest.mark.req("EX-002")
def test_bag_left_by_its_owner_alerts_once_after_static_s():
    r = rule()
    hits = run(r, lambda t: (dets(*owner_drops_bag(t)), SceneCues()), 40.0)
    assert len(hits) == 1
    h = hits[0]
    # still from 3 s (static_s 10 → 13 s); owner > 2 m away from ≈ 6.6 s (+5 s → 11.6 s)
    assert 12.7 <= h.t <= 13.3
    assert h.event == EventType.OBJET_ABANDONNE and h.zone == "hall" and h.rule_id == "abandon"
    assert h.track_ids == (BAG_ID, OWNER)
    assert h.boxes == ((0.51, 0.56, 0.55, 0.6),)
    assert h.confidence == pytest.approx(0.7)
    assert 2.7 <= h.start_s <= h.t


def test_unattended_time_can_be_what_triggers():
    # the owner stays 15 s: static_s is long past when they leave
    hits = run(rule(), lambda t: (dets(*owner_drops_bag(t, leave_at=15.0)), SceneCues()), 40.0)
    assert len(hits) == 1
    assert 21.2 <= hits[0].t <= 21.8  # > 2 m at ≈ 16.6 s, + unattended_s
    assert 16.2 <= hits[0].start_s <= 16.9


def test_bag_with_its_owner_standing_next_to_it_does_not_alert():
    def step(t: float) -> tuple[Detections, SceneCues]:
        objs = [person(0.5), bag(DROP_X)]
        if 10 <= t < 20:  # someone walks past
            objs.append(person(0.1 + 0.08 * (t - 10), y=0.8, tid=PASSER))
        return dets(*objs), blob(bag(DROP_X)[0]) if t > 8 else SceneCues()

    assert run(rule(), step, 90.0) == []


def test_static_blob_of_a_person_standing_still_is_not_an_object():
    still = person(0.5)

    def step(t: float) -> tuple[Detections, SceneCues]:
        objs = [person(0.2 + 0.05 * t, y=0.85, tid=PASSER)] if t < 12 else []
        if not 20 <= t < 27:  # the detector misses the person for 7 s; the blob stays
            objs.append(still)
        return dets(*objs), blob(still[0]) if t >= 5 else SceneCues()

    assert run(rule(), step, 60.0) == []


def test_static_blob_of_part_of_a_person_is_not_an_object():
    legs = [0.48, 0.5, 0.52, Y]  # someone standing still at a desk, arms moving

    def step(t: float) -> tuple[Detections, SceneCues]:
        return dets(person(0.5)), blob(legs) if t >= 5 else SceneCues()

    r = rule()
    assert run(r, step, 40.0) == []
    assert r._items == []


def test_object_at_the_feet_of_its_keeper_alerts_once_they_leave():
    at_feet = [0.49, Y - 0.04, 0.53, Y]  # inside the keeper's box while they stand there

    def step(t: float) -> tuple[Detections, SceneCues]:
        x = 0.5 if t < 15 else 0.5 + 0.1 * (t - 15)
        people = [person(x)] if x < 1 else []
        return dets(*people), blob(at_feet, blob_id=3) if t >= 8 else SceneCues()

    hits = run(rule(), step, 40.0)
    assert len(hits) == 1
    assert 20.5 <= hits[0].t <= 22.0  # left the 2 m radius at ≈ 16.3 s, + unattended_s
    assert hits[0].track_ids == (OWNER,)


def test_static_blob_of_a_parked_vehicle_is_not_an_object():
    car: Obj = ([0.3, 0.4, 0.6, 0.7], VEHICLE, 9, 0.8)

    def step(t: float) -> tuple[Detections, SceneCues]:
        objs = [car, person(0.7 - 0.02 * t, y=0.72)] if t < 10 else [car]
        return dets(*objs), blob(car[0]) if t >= 2 else SceneCues()

    assert run(rule(), step, 40.0) == []


def test_street_furniture_taken_for_a_bag_does_not_alert_when_people_walk_past():
    # a bin seen as a bag from the first frame, nobody by it then: it has no keeper
    def step(t: float) -> tuple[Detections, SceneCues]:
        objs = [bag(0.4, tid=5)]
        if 20 <= t < 30:
            objs.append(person(0.1 + 0.06 * (t - 20), y=Y + 0.02, tid=PASSER))
        return dets(*objs), SceneCues()  # background: not in the static cue

    assert run(rule(), step, 60.0) == []


def test_bag_carried_by_a_walking_person_does_not_alert():
    def step(t: float) -> tuple[Detections, SceneCues]:
        phase = (0.1 * t) % 1.4
        x = 0.15 + (phase if phase < 0.7 else 1.4 - phase)  # back and forth at 1.5 m/s
        return dets(person(x), bag(x + 0.03)), SceneCues()

    assert run(rule(), step, 60.0) == []


def test_object_the_detector_cannot_name_is_found_by_the_static_cue():
    obj_box = [DROP_X - 0.02, Y - 0.03, DROP_X + 0.02, Y]

    def step(t: float) -> tuple[Detections, SceneCues]:
        x = owner_x(t)
        objs = [person(x)] if x < 1.0 else []
        # the background model reports it 5 s after the drop, plus its lag
        return dets(*objs), blob(obj_box, blob_id=4) if t >= 9.0 else SceneCues()

    hits = run(rule(), step, 40.0)
    assert len(hits) == 1
    # seen at 9 s, credited with 5 s of stillness: 4 s + static_s
    assert 13.8 <= hits[0].t <= 14.2
    assert hits[0].track_ids == (OWNER,)  # no detector track: the keeper found in the past
    assert hits[0].boxes == ((0.51, 0.57, 0.55, 0.6),)
    assert hits[0].confidence == pytest.approx(0.6)


def test_without_static_cue_blobs_are_ignored():
    obj_box = [DROP_X - 0.02, Y - 0.03, DROP_X + 0.02, Y]

    def step(t: float) -> tuple[Detections, SceneCues]:
        x = owner_x(t)
        return dets(*([person(x)] if x < 1 else [])), blob(obj_box) if t >= 9 else SceneCues()

    assert run(rule(use_static_cue=False), step, 40.0) == []


def test_blob_over_a_bag_is_the_same_object():
    def step(t: float) -> tuple[Detections, SceneCues]:
        cue = blob(bag(DROP_X)[0], blob_id=8, conf=0.9) if t >= 9.0 else SceneCues()
        return dets(*owner_drops_bag(t)), cue

    hits = run(rule(), step, 40.0)
    assert len(hits) == 1
    assert hits[0].track_ids == (BAG_ID, OWNER)
    assert hits[0].confidence == pytest.approx(0.9)


def test_a_new_tracker_id_for_the_same_bag_does_not_alert_twice():
    def step(t: float) -> tuple[Detections, SceneCues]:
        return dets(*owner_drops_bag(t, bag_tid=BAG_ID if t < 20 else 7)), SceneCues()

    hits = run(rule(), step, 60.0)
    assert len(hits) == 1


def test_object_outside_the_zone_does_not_alert():
    left = np.array([[0.0, 0.0], [0.4, 0.0], [0.4, 1.0], [0.0, 1.0]], dtype=np.float32)
    r = AbandonedObject("abandon", "left", left, frozenset({BAG}))
    assert run(r, lambda t: (dets(*owner_drops_bag(t)), SceneCues()), 40.0) == []


def test_realerts_only_after_the_keeper_came_back_and_left_again_past_the_cooldown():
    def step(t: float) -> tuple[Detections, SceneCues]:
        if t < 20:
            return dets(*owner_drops_bag(t)), SceneCues()
        if t < 25:  # back by the bag
            return dets(person(0.5), bag(DROP_X)), SceneCues()
        x = 0.5 + 0.1 * (t - 25)
        return dets(*([person(x)] if x < 1 else []), bag(DROP_X)), SceneCues()

    assert len(run(rule(), step, 60.0)) == 1  # cooldown_s = 120
    again = run(rule(cooldown_s=10.0), step, 60.0)
    assert len(again) == 2
    assert 31.2 <= again[1].t <= 31.8


def test_without_require_owner_an_object_never_attended_alerts():
    step = lambda t: (dets(bag(0.4, tid=5)), SceneCues())  # noqa: E731
    assert run(rule(), step, 30.0) == []
    hits = run(rule(require_owner=False), step, 30.0)
    assert len(hits) == 1 and hits[0].t == pytest.approx(10.0)


def test_calibrated_distances_decide_who_attends():
    # 20 m per normalised unit on both axes
    ground = GroundPlane([[0, 0], [1, 0], [1, 1], [0, 1]], [[0, 0], [20, 0], [20, 20], [0, 20]])

    def waiting_at(dx: float) -> Step:
        def step(t: float) -> tuple[Detections, SceneCues]:
            if t < 3:
                return dets(person(0.2 + 0.1 * t), bag(0.23 + 0.1 * t)), SceneCues()
            return dets(person(DROP_X + dx), bag(DROP_X)), SceneCues()

        return step

    near = run(rule(ground=ground), waiting_at(0.075), 40.0)  # 1.5 m away
    assert near == []
    far = run(rule(ground=ground), waiting_at(0.15), 40.0)  # 3 m away
    assert len(far) == 1


def test_uncalibrated_scale_comes_from_peoples_height():
    # a person of 0.1 frame heights is twice as far: the same image gap is twice the metres
    def step(h: float) -> Step:
        def inner(t: float) -> tuple[Detections, SceneCues]:
            x = 0.2 + 0.1 * t if t < 3 else 0.5
            p = ([x - 0.015, Y - h, x + 0.015, Y], PERSON, OWNER, 0.9)
            b = bag(x + 0.03) if t < 3 else bag(0.5 + 0.09)
            return dets(p, b), SceneCues()

        return inner

    # 0.09 units ≈ 0.16 frame heights: 1.4 m next to a 0.2-tall person, 2.7 m for 0.1
    assert run(rule(), step(0.2), 40.0) == []
    assert len(run(rule(), step(0.1), 40.0)) == 1
