from __future__ import annotations

import numpy as np
import pytest

from veilleur.runtime.analytics.direction import WrongWay
from veilleur.runtime.analytics.lines import LineCrossing
from veilleur.runtime.analytics.zones import ZoneDensity, ZonePresence
from veilleur.runtime.core.detections import Detections
from veilleur.runtime.core.events import EventType

ZONE = np.array([[0.4, 0.4], [0.8, 0.4], [0.8, 0.8], [0.4, 0.8]], dtype=np.float32)
PERSON = frozenset({0})


def person_at(foot_x: float, foot_y: float, tid: int = 1, cls: int = 0) -> Detections:
    box = [foot_x - 0.02, foot_y - 0.1, foot_x + 0.02, foot_y]
    return Detections.from_arrays([box], [0.8], [cls], [tid])


@pytest.mark.req("EX-036")
def test_zone_presence_waits_min_duration_and_alerts_once_per_entry():
    z = ZonePresence("r", "z", ZONE, PERSON, min_duration_s=1.0)
    xs = [0.2, 0.3, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75]
    hits = [z.update(person_at(x, 0.6), t * 0.5) for t, x in enumerate(xs)]
    fired = [i for i, h in enumerate(hits) if h]
    assert fired == [4]  # entered at t=1.0 (i=2), alerted at t=2.0
    h = hits[4][0]
    assert (h.event, h.zone, h.start_s, h.t, h.track_ids) == (
        EventType.FRANCHISSEMENT,
        "z",
        1.0,
        2.0,
        (1,),
    )


def test_zone_presence_ignores_other_classes_and_untracked():
    z = ZonePresence("r", "z", ZONE, PERSON)
    assert z.update(person_at(0.6, 0.6, cls=3), 0.0) == []
    assert z.update(person_at(0.6, 0.6, tid=-1), 0.1) == []
    assert len(z.update(person_at(0.6, 0.6), 0.2)) == 1


def test_zone_presence_realerts_after_leaving_and_cooldown():
    z = ZonePresence("r", "z", ZONE, PERSON, min_duration_s=0.0, cooldown_s=5.0)
    assert len(z.update(person_at(0.6, 0.6), 0.0)) == 1
    assert z.update(person_at(0.6, 0.6), 1.0) == []
    z.update(person_at(0.1, 0.1), 2.0)
    assert z.update(person_at(0.6, 0.6), 3.0) == []  # re-entry inside the cooldown
    z.update(person_at(0.1, 0.1), 4.0)
    assert len(z.update(person_at(0.6, 0.6), 6.0)) == 1


@pytest.mark.req("EX-036")
@pytest.mark.parametrize(
    ("direction", "path", "alerts"),
    [
        # the line is drawn downwards at x=0.5: walker's left-hand side is screen-right
        ("any", [0.3, 0.45, 0.55, 0.7], 1),
        ("left_to_right", [0.7, 0.55, 0.45, 0.3], 1),
        ("left_to_right", [0.3, 0.45, 0.55, 0.7], 0),
        ("right_to_left", [0.3, 0.45, 0.55, 0.7], 1),
        ("any", [0.3, 0.45, 0.48, 0.4], 0),  # turns back before the line
    ],
)
def test_line_crossing_direction(direction, path, alerts):
    line = LineCrossing("r", "l", np.array([0.5, 0.0]), np.array([0.5, 1.0]), PERSON, direction)
    n = sum(len(line.update(person_at(x, 0.6), t * 0.2)) for t, x in enumerate(path))
    assert n == alerts


def test_line_crossing_outside_segment_is_ignored():
    line = LineCrossing("r", "l", np.array([0.5, 0.0]), np.array([0.5, 0.5]), PERSON)
    assert sum(len(line.update(person_at(x, 0.9), t)) for t, x in enumerate([0.3, 0.7])) == 0


@pytest.mark.req("EX-042")
def test_density_needs_count_and_duration_and_rearms():
    dz = ZoneDensity("d", "z", ZONE, PERSON, max_count=2, min_duration_s=1.0, cooldown_s=0.0)

    def crowd(n: int) -> Detections:
        xs = np.linspace(0.45, 0.75, max(n, 1))[:n]
        boxes = [[x - 0.01, 0.5, x + 0.01, 0.6] for x in xs]
        return Detections.from_arrays(boxes, [0.7] * n, [0] * n, list(range(n)))

    seq = [3, 3, 3, 3, 1, 3, 3, 3]
    fired = [i for i, n in enumerate(seq) if dz.update(crowd(n), i * 0.5)]
    assert fired == [2, 7]
    assert dz.last_count == 3


@pytest.mark.parametrize(
    ("dx", "alerts"),
    [(-0.05, 1), (0.05, 0), (0.0, 0)],
)
def test_wrong_way(dx, alerts):
    ww = WrongWay("s", "c", ZONE, PERSON, np.array([1.0, 0.0]), min_duration_s=0.5, min_speed=0.02)
    n = 0
    for i in range(15):
        n += len(
            ww.update(
                person_at(0.75 + dx * i * 0.5 if dx < 0 else 0.45 + dx * i * 0.5, 0.6), i * 0.2
            )
        )
    assert n == alerts


@pytest.mark.parametrize(("min_distance_m", "alert_times"), [(0.0, [0.6]), (2.0, [2.4])])
def test_wrong_way_min_distance_in_metres(min_distance_m: float, alert_times: list[float]) -> None:
    """Boxes 0.1 tall: a 1.7 m person gives 17 m per frame height (aspect 1), so a step of
    0.01 every 0.2 s is 0.17 m. Without a distance, 0.5 s of wrong way suffices (t = 0.6 s);
    2 m from the first wrong-way position (x = 0.78) is reached at x = 0.66, t = 2.4 s
    (0.12 × 17 = 2.04 m; one step earlier, 1.87 m)."""
    ww = WrongWay(
        "s", "c", ZONE, PERSON, np.array([1.0, 0.0]), min_duration_s=0.5, min_speed=0.02,
        min_distance_m=min_distance_m, frame_aspect=1.0,
    )  # fmt: skip
    times = [
        round(i * 0.2, 1) for i in range(30) if ww.update(person_at(0.78 - 0.01 * i, 0.6), i * 0.2)
    ]
    assert times == alert_times


def test_density_count_correction_raises_the_count_of_merged_crowds() -> None:
    from veilleur.runtime.analytics.zones import corrected_count

    corr = ((2.0, 3.0), (4.0, 7.0), (6.0, 11.0))
    assert corrected_count(0, corr) == 0.0
    assert corrected_count(1, corr) == 1.5  # below the first point: through the origin
    assert corrected_count(3, corr) == 5.0
    assert corrected_count(8, corr) == 15.0  # beyond: last slope (2 per detected person)
    assert corrected_count(5, None) == 5.0
    # 4 boxes detected in a zone whose limit is 5: only the corrected count (7) alerts
    plain = ZoneDensity("d", "z", ZONE, PERSON, max_count=5, min_duration_s=0.0)
    fixed = ZoneDensity("d", "z", ZONE, PERSON, max_count=5, min_duration_s=0.0,
                        count_correction=corr)  # fmt: skip
    four = Detections.from_arrays(
        [[0.5 + 0.05 * k, 0.5, 0.52 + 0.05 * k, 0.6] for k in range(4)], [0.8] * 4, [0] * 4,
        [1, 2, 3, 4],
    )  # fmt: skip
    assert plain.update(four, 0.0) == []
    assert len(fixed.update(four, 0.0)) == 1
    assert (fixed.last_detected, fixed.last_count) == (4, 7.0)
