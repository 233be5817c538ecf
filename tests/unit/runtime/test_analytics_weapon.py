from __future__ import annotations

import numpy as np
import pytest

from veilleur.runtime.analytics.base import RuleHit
from veilleur.runtime.analytics.weapon import WeaponPresence
from veilleur.runtime.core.detections import Detections
from veilleur.runtime.core.events import EventType

ZONE = np.array([[0.2, 0.2], [0.8, 0.2], [0.8, 0.8], [0.2, 0.8]], dtype=np.float32)
WEAPON = 4


def guns(*items: tuple[float, float, int], conf: float = 0.8, cls: int = WEAPON) -> Detections:
    """Weapon boxes (0.04 × 0.03) centred at ``(x, y)`` with tracker id ``tid``."""
    boxes = [[x - 0.02, y - 0.015, x + 0.02, y + 0.015] for x, y, _ in items]
    n = len(items)
    return Detections.from_arrays(
        np.reshape(boxes, (n, 4)), [conf] * n, [cls] * n, [tid for *_, tid in items]
    )


def feed(w: WeaponPresence, frames: list[Detections], dt: float = 0.2) -> list[tuple[int, RuleHit]]:
    """Frame index and hit of every alert."""
    out = []
    for i, d in enumerate(frames):
        out += [(i, h) for h in w.update(d, i * dt)]
    return out


NONE = Detections.empty()


def rule(**kw: object) -> WeaponPresence:
    return WeaponPresence("r", "z", ZONE, frozenset({WEAPON}), **kw)  # type: ignore[arg-type]


@pytest.mark.req("EX-003")
def test_a_weapon_seen_in_k_of_n_frames_alerts():
    hits = feed(rule(), [guns((0.5, 0.5, -1))] * 3)
    assert [i for i, _ in hits] == [2]
    h = hits[0][1]
    assert (h.event, h.zone, h.start_s, h.t) == (EventType.ARME, "z", 0.0, 0.4)
    assert h.track_ids == ()
    assert h.boxes == ((0.48, 0.485, 0.52, 0.515),)
    assert h.confidence == pytest.approx(0.8)


def test_the_tracker_first_unconfirmed_frame_joins_its_track():
    # the tracker gives -1 on first sight, then an id: one sighting, by proximity then by id
    frames = [guns((0.5, 0.5, -1)), guns((0.51, 0.5, 5)), guns((0.52, 0.5, 5))]
    hits = feed(rule(), frames)
    assert [(i, h.track_ids) for i, h in hits] == [(2, (5,))]


def test_a_moving_weapon_keeps_its_track_and_gaps_are_tolerated():
    frames = [guns((0.3 + 0.05 * i, 0.5, 3)) if i != 1 else NONE for i in range(4)]
    assert [i for i, _ in feed(rule(), frames)] == [3]  # frames 0, 2, 3: 3 of 4


@pytest.mark.parametrize(
    ("pattern", "k", "n"),
    [
        ("x", 3, 5),  # a single-frame blip
        ("x....x....x....x", 3, 5),  # rare blips
        ("x..x..x..x..x..x", 3, 5),  # flickers: at most 2 of any 5 frames
        ("x.x.x.x.x.x.x.x", 4, 5),  # alternating: 3 of 5, below k=4
        ("xx...xx...xx...", 3, 5),
    ],
)
def test_hard_negative_flickers_below_k_never_alert(pattern, k, n):
    frames = [guns((0.5, 0.5, -1)) if c == "x" else NONE for c in pattern]
    assert feed(rule(k=k, n=n), frames) == []


def test_alternating_flicker_at_exactly_k_of_n_does_alert():
    frames = [guns((0.5, 0.5, -1)) if i % 2 == 0 else NONE for i in range(5)]
    assert [i for i, _ in feed(rule(k=3, n=5), frames)] == [4]


def test_blips_in_different_places_do_not_add_up():
    # one false detection per frame, each time somewhere else: 5 of 5 frames for the zone,
    # but each place only 2 of 5
    places = [(0.3, 0.3), (0.7, 0.3), (0.5, 0.7)]
    frames = [guns((*places[i % 3], -1)) for i in range(9)]
    assert feed(rule(), frames) == []


def test_two_tracked_weapons_side_by_side_stay_apart():
    frames = [guns((0.5, 0.5, 1), (0.53, 0.5, 2))] * 3
    hits = feed(rule(), frames)
    assert len(hits) == 1
    assert hits[0][1].track_ids == (1, 2)
    assert len(hits[0][1].boxes) == 2


def test_outside_the_zone_low_confidence_and_other_classes_are_ignored():
    assert feed(rule(), [guns((0.9, 0.5, 1))] * 5) == []
    assert feed(rule(), [guns((0.5, 0.5, 1), conf=0.4)] * 5) == []
    assert feed(rule(), [guns((0.5, 0.5, 1), cls=3)] * 5) == []
    assert len(feed(rule(min_confidence=0.3), [guns((0.5, 0.5, 1), conf=0.4)] * 5)) == 1


def test_a_weapon_whose_centre_is_above_a_ground_zone_counts_by_its_base():
    # held low: the box's bottom-centre is in the zone, its centre just above it
    d = Detections.from_arrays([[0.48, 0.16, 0.52, 0.21]], [0.9], [WEAPON], [1])
    assert len(feed(rule(), [d] * 3)) == 1


def test_a_persistent_weapon_alerts_once_then_cooldown_gates_new_ones():
    w = rule(cooldown_s=30.0)
    hits: list[tuple[float, RuleHit]] = []
    for i in range(300):  # 60 s at 5 fps
        t = i * 0.2
        items = [(0.3, 0.5, 1)]
        if t >= 10.0:
            items.append((0.7, 0.5, 2))  # a second weapon appears at 10 s
        hits += [(t, h) for h in w.update(guns(*items), t)]
    assert [round(t, 1) for t, _ in hits] == [0.4, 30.4]
    assert hits[1][1].track_ids == (1, 2)  # lists every weapon then persistent


def test_track_loss_then_reacquisition_within_and_after_the_cooldown():
    w = rule(cooldown_s=30.0)
    n_hits = []
    for t0, tid in ((0.0, 1), (10.0, 7), (40.0, 9)):
        n_hits.append(sum(len(w.update(guns((0.5, 0.5, tid)), t0 + 0.2 * i)) for i in range(3)))
        w.update(NONE, t0 + 1.0)
    assert n_hits == [1, 0, 1]


def test_hits_minutes_apart_are_not_persistence():
    # three analysed frames (k=3 of n=5) but with stream pauses: not one sighting
    w = rule()
    assert [w.update(guns((0.5, 0.5, -1)), t) for t in (0.0, 100.0, 200.0)] == [[], [], []]


def test_k_must_not_exceed_n():
    with pytest.raises(ValueError, match="k"):
        rule(k=6, n=5)
