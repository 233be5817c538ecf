from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from veilleur.runtime.analytics.base import RuleHit
from veilleur.runtime.analytics.fire import FireGrowth, union_area
from veilleur.runtime.core.detections import Detections
from veilleur.runtime.core.events import EventType

ZONE = np.array([[0.2, 0.2], [0.8, 0.2], [0.8, 0.8], [0.2, 0.8]], dtype=np.float32)
FIRE, SMOKE = 5, 6
DT = 0.2  # 5 analysed frames per second: n=8 frames is 1.6 s


def flame(side: float, cls: int = FIRE, conf: float = 0.7, x: float = 0.5) -> Detections:
    """A square box of ``side`` standing on y=0.7, centred on ``x`` (normalised)."""
    return Detections.from_arrays([[x - side / 2, 0.7 - side, x + side / 2, 0.7]], [conf], [cls])


def fire_and_smoke(side: float) -> Detections:
    """Flames and the smoke above them, overlapping."""
    smoke = [0.5 - side, 0.7 - 2.5 * side, 0.5 + side, 0.7 - 0.5 * side]
    f = flame(side)
    return Detections.from_arrays(np.vstack([f.xyxy, [smoke]]), [0.7, 0.6], [FIRE, SMOKE], [3, -1])


def rule(**kw: object) -> FireGrowth:
    return FireGrowth("r", "z", ZONE, frozenset({FIRE, SMOKE}), **kw)  # type: ignore[arg-type]


def play(
    a: FireGrowth, scene: Callable[[int, float], Detections | None], t_end: float
) -> list[RuleHit]:
    hits: list[RuleHit] = []
    for i in range(round(t_end / DT) + 1):
        t = round(i * DT, 6)
        d = scene(i, t)
        hits += a.update(d if d is not None else Detections.empty(), t)
    return hits


def growing(rate: float = 0.1, side0: float = 0.04) -> Callable[[int, float], Detections]:
    """Area × (1 + rate) per second (the side grows by its square root)."""
    return lambda i, t: flame(side0 * math.sqrt((1 + rate) ** t))


def test_union_area_counts_overlaps_once():
    boxes = np.array([[0, 0, 2, 2], [1, 1, 3, 3], [5, 5, 6, 6], [0, 0, 1, 1]], dtype=np.float32)
    assert union_area(boxes) == pytest.approx(8.0)
    assert union_area(np.zeros((0, 4), dtype=np.float32)) == 0.0
    assert union_area(np.array([[1, 1, 1, 3]], dtype=np.float32)) == 0.0  # degenerate


@pytest.mark.req("EX-003")
def test_a_growing_fire_alerts_once_the_window_is_seen():
    a = rule()
    hits = play(a, growing(0.1), t_end=20.0)
    assert len(hits) == 1
    h = hits[0]
    assert (h.event, h.zone, h.start_s) == (EventType.FEU, "z", 0.0)
    assert h.t == pytest.approx(3.0)  # growth needs 3/4 of the 4 s window
    assert len(h.boxes) == 1 and h.confidence == pytest.approx(0.7)
    assert a.last_growth is not None and a.last_growth > 1.15


def test_fire_with_its_smoke_grows_as_one_area():
    hits = play(rule(), lambda i, t: fire_and_smoke(0.03 * math.sqrt(1.1**t)), t_end=10.0)
    assert len(hits) == 1
    assert hits[0].track_ids == (3,)
    assert len(hits[0].boxes) == 2


def test_a_fire_growing_too_slowly_does_not_alert():
    # 3 %/s: about 6 % between the halves of the window, under min_growth
    assert play(rule(), growing(0.03), t_end=30.0) == []
    assert len(play(rule(min_growth=1.05), growing(0.03), t_end=30.0)) == 1


def test_a_growing_fire_with_missed_frames_still_alerts():
    # 2 frames in 8 missed: still persistent (6 ≥ 5), medians ignore the holes
    g = growing(0.1)
    hits = play(rule(), lambda i, t: None if i % 4 == 1 else g(i, t), t_end=10.0)
    assert len(hits) == 1


def test_hard_negative_a_flashing_light_every_other_frame():
    g = growing(0.3)  # even growing, it is never persistent: 4 of 8 < 5
    assert play(rule(), lambda i, t: g(i, t) if i % 2 == 0 else None, t_end=30.0) == []


def test_hard_negative_a_steady_lamp_with_box_jitter():
    # constant area ± 8 % jitter, for a minute: persistent, not growing, no smoke
    a = rule()
    assert play(a, lambda i, t: flame(0.05 * (1 + 0.04 * math.sin(3 * i))), t_end=60.0) == []
    assert a.last_growth is not None and abs(a.last_growth - 1) < 0.1


def test_hard_negative_one_frame_blip():
    assert play(rule(), lambda i, t: flame(0.1) if i == 3 else None, t_end=10.0) == []


@pytest.mark.parametrize(
    ("scene", "fires"),
    [
        (lambda i, t: fire_and_smoke(0.05), True),
        (lambda i, t: flame(0.08, cls=SMOKE), True),  # smoke alone
        (lambda i, t: flame(0.05), False),  # same steady fire without smoke
    ],
    ids=["fire-and-smoke", "smoke-only", "fire-only"],
)
def test_steady_but_smoking_alerts_after_twice_the_window(scene, fires):
    hits = play(rule(), scene, t_end=20.0)
    if fires:
        assert len(hits) == 1 and hits[0].t == pytest.approx(8.0) and hits[0].start_s == 0.0
    else:
        assert hits == []


def test_outside_the_zone_and_low_confidence_are_ignored():
    def low(i: int, t: float) -> Detections:
        return flame(0.04 * math.sqrt(1.1**t), conf=0.2)

    assert play(rule(), lambda i, t: flame(0.04 * math.sqrt(1.1**t), x=0.9), t_end=10.0) == []
    assert play(rule(), low, t_end=10.0) == []
    assert len(play(rule(min_confidence=0.1), low, t_end=10.0)) == 1


def test_one_alert_per_episode_and_the_cooldown():
    g = growing(0.1, side0=0.02)

    def scene(i: int, t: float) -> Detections | None:
        # burning 0-20 s, out 20-25 s, again 25-45 s (cooldown), out, again from 90 s
        if 20 <= t < 25 or 45 <= t < 90:
            return None
        start = 0.0 if t < 20 else 25.0 if t < 45 else 90.0
        return g(i, t - start)

    hits = play(rule(cooldown_s=60.0), scene, t_end=100.0)
    assert [round(h.start_s) for h in hits] == [0, 90]


def test_growth_is_measured_within_the_episode_only():
    # a small blip sequence then a big, steady fire: no "growth" across episodes
    def scene(i: int, t: float) -> Detections | None:
        if t < 2.0:
            return flame(0.02)
        if t < 4.0:
            return None
        return flame(0.1)

    assert play(rule(), scene, t_end=30.0) == []


def test_k_must_not_exceed_n():
    with pytest.raises(ValueError, match="k"):
        rule(k=9, n=8)
