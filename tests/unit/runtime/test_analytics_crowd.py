from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from veilleur.runtime.analytics.base import RuleHit
from veilleur.runtime.analytics.crowd import CrowdMovement
from veilleur.runtime.core.calibration import GroundPlane
from veilleur.runtime.core.detections import Detections
from veilleur.runtime.core.events import EventType

# The image's unit square is a 20 m × 20 m square of ground (a camera looking straight down).
GROUND = GroundPlane([[0, 0], [1, 0], [1, 1], [0, 1]], [[0, 0], [20, 0], [20, 20], [0, 20]])
FULL = np.array([[0, 0], [1, 0], [1, 1], [0, 1]], dtype=np.float32)
PERSON = frozenset({0})
BOX_H = 0.1  # uncalibrated: a 1.7 m person 0.1 frame heights tall → 17 m per frame height

Script = Callable[[float], dict[int, tuple[float, float]]]


def frame(pos: dict[int, tuple[float, float]], calibrated: bool, aspect: float) -> Detections:
    """People at ground positions (metres) → tracked, normalised detections."""
    boxes = []
    for x_m, y_m in pos.values():
        if calibrated:
            fx, fy = x_m / 20, y_m / 20
        else:
            fx, fy = x_m / (17 * aspect), y_m / 17
        boxes.append([fx - 0.01, fy - BOX_H, fx + 0.01, fy])
    n = len(pos)
    return Detections.from_arrays(np.reshape(boxes, (n, 4)), [0.8] * n, [0] * n, list(pos.keys()))


def run(
    crowd: CrowdMovement,
    script: Script,
    t_end: float,
    dt: float = 0.1,
    aspect: float = 1.0,
) -> list[RuleHit]:
    hits: list[RuleHit] = []
    for i in range(round(t_end / dt) + 1):
        t = round(i * dt, 6)
        hits += crowd.update(frame(script(t), crowd.ground is not None, aspect), t)
    return hits


def crowd(**kw: object) -> CrowdMovement:
    kw.setdefault("ground", GROUND)
    return CrowdMovement("r", "z", FULL, PERSON, **kw)  # type: ignore[arg-type]


def jitter(t: float, k: int) -> float:
    return 0.03 * math.sin(7.0 * t + k)


def standing_then(n: int, t0: float, speed: float, t1: float = math.inf) -> Script:
    """``n`` people standing in a 3-wide block, who run along x at ``speed`` from t0 to t1."""

    def script(t: float) -> dict[int, tuple[float, float]]:
        moving = max(0.0, min(t, t1) - t0)
        out = {}
        for k in range(n):
            x = 6 + (k % 3) * 1.0 + speed * moving + jitter(t, k)
            out[k + 1] = (x, 8 + (k // 3) * 1.5 + jitter(t, k + 10))
        return out

    return script


def ring(n: int, t0: float, r0: float, rate: float, r_min: float = 0.5) -> Script:
    """``n`` people on a circle around (10, 10) m whose radius changes at ``rate`` from t0."""

    def script(t: float) -> dict[int, tuple[float, float]]:
        r = max(r_min, r0 + rate * max(0.0, t - t0))
        return {
            k + 1: (
                10 + r * math.cos(k * 2 * math.pi / n) + jitter(t, k),
                10 + r * math.sin(k * 2 * math.pi / n) + jitter(t, k + 10),
            )
            for k in range(n)
        }

    return script


@pytest.mark.req("EX-002", "EX-008")
def test_a_standing_crowd_that_suddenly_runs_alerts_once():
    c = crowd()
    hits = run(c, standing_then(6, t0=12.0, speed=4.0), t_end=14.0)
    assert len(hits) == 1
    h = hits[0]
    assert (h.event, h.zone, h.rule_id) == (EventType.MOUVEMENT_FOULE, "z", "r")
    assert h.track_ids == (1, 2, 3, 4, 5, 6)
    assert len(h.boxes) == 6
    # running ≥ 2.5 m/s over a 1 s window is reached ~0.6 s after the start, then 0.5 s more
    assert 12.3 <= h.start_s <= 12.8
    assert h.t - h.start_s == pytest.approx(0.5, abs=0.11)
    assert 0.0 < h.confidence <= 1.0
    assert c.baseline_mps is not None and c.baseline_mps < 0.3  # frozen: the rush is not normal
    assert not c.degraded


@pytest.mark.req("EX-002", "EX-008")
def test_uncalibrated_rush_alerts_in_degraded_mode_with_the_frame_aspect():
    c = crowd(ground=None, frame_aspect=16 / 9)
    hits = run(c, standing_then(6, t0=12.0, speed=4.0), t_end=14.0, aspect=16 / 9)
    assert c.degraded
    assert len(hits) == 1 and 12.3 <= hits[0].start_s <= 12.8
    assert c.last_mean_speed_mps == pytest.approx(4.0, rel=0.05)


def test_uncalibrated_without_the_aspect_correction_would_misjudge_speed():
    # same scene, analyser told a 1:1 frame: x speeds come out 16/9 too slow (4 → 2.25 m/s)
    c = crowd(ground=None, frame_aspect=1.0)
    assert run(c, standing_then(6, t0=12.0, speed=4.0), t_end=14.0, aspect=16 / 9) == []
    assert c.last_mean_speed_mps == pytest.approx(2.25, rel=0.05)


def steady_flow(speed: float, period: float = 0.6) -> Script:
    """People entering at x=1 m every ``period`` s on two lanes, crossing at constant speed."""

    def script(t: float) -> dict[int, tuple[float, float]]:
        out = {}
        for k in range(int(t / period) + 1):
            x = 1 + speed * (t - k * period)
            if x <= 19:
                out[k + 1] = (x + jitter(t, k), 8.0 + 2.0 * (k % 2))
        return out

    return script


@pytest.mark.parametrize("speed", [3.0, 5.0])
def test_hard_negative_a_steady_fast_flow_never_alerts(speed):
    # joggers since the first frame: they set the baseline, no change, no event
    c = crowd()
    assert run(c, steady_flow(speed), t_end=40.0) == []
    assert c.baseline_mps == pytest.approx(speed, rel=0.05)
    assert c.last_running_share == 1.0


def test_hard_negative_a_single_runner_in_a_standing_crowd():
    def script(t: float) -> dict[int, tuple[float, float]]:
        out = standing_then(6, t0=math.inf, speed=0.0)(t)
        out[99] = (2 + 5.0 * max(0.0, t - 12.0), 14.0)  # one person sprints at 5 m/s
        return out

    assert run(crowd(), script, t_end=15.0) == []


def test_hard_negative_a_lone_runner_is_not_a_crowd():
    assert run(crowd(), standing_then(1, t0=5.0, speed=5.0), t_end=7.0) == []


def test_hard_negative_a_small_group_running_is_below_min_tracks():
    assert run(crowd(), standing_then(3, t0=12.0, speed=4.0), t_end=14.0) == []
    # the same three are enough when the rule asks for three
    assert len(run(crowd(min_tracks=3), standing_then(3, t0=12.0, speed=4.0), t_end=14.0)) == 1


def test_hard_negative_a_crowd_starting_to_walk_briskly_in_one_direction():
    # 2 m/s: nobody runs, the group neither spreads nor gathers
    assert run(crowd(), standing_then(6, t0=12.0, speed=2.0), t_end=16.0) == []


def test_a_run_that_is_too_brief_does_not_alert():
    # everybody bolts for 0.8 s, then stops: running for less than min_duration_s
    script = standing_then(6, t0=12.0, speed=6.0, t1=12.8)
    assert run(crowd(min_duration_s=1.0), script, t_end=16.0) == []


@pytest.mark.req("EX-002")
@pytest.mark.parametrize(
    ("r0", "rate"),
    [(1.0, 2.0), (7.0, -2.0)],
    ids=["scatter", "converge"],
)
def test_a_standing_group_that_scatters_or_converges_alerts(r0, rate):
    # 2 m/s radial: below the running speed, so only the spread criterion can fire
    c = crowd()
    hits = run(c, ring(6, t0=12.0, r0=r0, rate=rate), t_end=14.5)
    assert len(hits) == 1
    assert hits[0].start_s >= 12.0
    assert c.last_running_share == 0.0


def test_hard_negative_a_group_walking_around_a_fixed_ring():
    # people circling at constant radius: moving, but the spread does not change
    def script(t: float) -> dict[int, tuple[float, float]]:
        a = 0.6 * max(0.0, t - 12.0)  # 3 m radius, 1.8 m/s tangential
        return {
            k + 1: (10 + 3 * math.cos(a + k * math.pi / 3), 10 + 3 * math.sin(a + k * math.pi / 3))
            for k in range(6)
        }

    assert run(crowd(), script, t_end=20.0) == []


def test_one_alert_per_episode_and_the_cooldown():
    def script(t: float) -> dict[int, tuple[float, float]]:
        # runs (+x, then back) at 12-14 s, 20-22 s and 50-52 s, standing in between
        v = 0.0
        for t0, sign in ((12.0, 1.0), (20.0, -1.0), (50.0, 1.0)):
            v += sign * 4.0 * min(2.0, max(0.0, t - t0))
        return {
            k + 1: (5 + (k % 3) + v + jitter(t, k), 8 + (k // 3) * 1.5 + jitter(t, k + 10))
            for k in range(6)
        }

    hits = run(crowd(cooldown_s=30.0), script, t_end=55.0)
    assert [round(h.start_s) for h in hits] == [13, 51]  # the 20 s run is within the cooldown


def test_the_crowd_is_judged_even_when_every_id_changes():
    # the tracker loses everybody as they bolt (0.3 s without boxes), then new ids appear
    base = standing_then(6, t0=12.0, speed=4.0)

    def script(t: float) -> dict[int, tuple[float, float]]:
        if 12.0 < t < 12.35:
            return {}
        pos = base(t)
        return {tid + (10 if t >= 12.35 else 0): p for tid, p in pos.items()}

    hits = run(crowd(), script, t_end=15.0)
    assert len(hits) == 1
    assert hits[0].track_ids == (11, 12, 13, 14, 15, 16)
    assert hits[0].start_s >= 12.85  # new tracks need half a speed window first


def test_people_outside_the_zone_and_untracked_boxes_are_ignored():
    left_half = np.array([[0, 0], [0.2, 0], [0.2, 1], [0, 1]], dtype=np.float32)  # x < 4 m
    c = CrowdMovement("r", "z", left_half, PERSON, ground=GROUND)
    assert run(c, standing_then(6, t0=12.0, speed=4.0), t_end=14.0) == []
    untracked = crowd()
    for i in range(141):
        t = i * 0.1
        d = frame(standing_then(6, 12.0, 4.0)(t), True, 1.0)
        assert untracked.update(d.with_tracker_ids(np.full(6, -1)), t) == []


def test_other_classes_are_ignored():
    c = CrowdMovement("r", "z", FULL, frozenset({1}), ground=GROUND)  # vehicles only
    assert run(c, standing_then(6, t0=12.0, speed=4.0), t_end=14.0) == []
    assert c.baseline_mps is None


def test_rush_out_of_a_small_zone_still_alerts() -> None:
    """Six people in a 4 m × 4 m zone run out at 4 m/s: everyone leaves it within 0.5 s, less
    than min_duration_s. They stay the zone's crowd for one speed window after leaving."""
    small = np.array([[0.4, 0.4], [0.6, 0.4], [0.6, 0.6], [0.4, 0.6]], dtype=np.float32)
    spots = {k: (9.0 + (k % 3), 9.0 + (k // 3)) for k in range(6)}

    def script(t: float) -> dict[int, tuple[float, float]]:
        out = {}
        for k, (x, y) in spots.items():
            run_s = max(0.0, t - 3.0)
            ang = k * math.pi / 3
            out[k] = (x + 4.0 * run_s * math.cos(ang), y + 4.0 * run_s * math.sin(ang))
        return out

    zone_only = CrowdMovement("r", "z", small, PERSON, ground=GROUND, min_duration_s=0.5)
    hits = run(zone_only, script, 6.0)
    assert len(hits) == 1
    assert 3.0 < hits[0].start_s < 4.0 and hits[0].t - hits[0].start_s >= 0.5
    assert len(hits[0].track_ids) >= 4
